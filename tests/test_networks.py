"""Tests for muzero_lite.networks: h, g, f for the MLP and the ResNet, and the shared contract."""

import dataclasses

import pytest
import torch
from torch import nn

from muzero_lite.networks import (
    Downsample,
    MLPNetwork,
    MuZeroNetwork,
    NetworkOutput,
    ResNetNetwork,
    make_network,
    scale_hidden_state,
)
from muzero_lite.support import ValueSupport

BATCH = 4


def small_resnet(**kwargs) -> ResNetNetwork:
    """A ResNet small enough for a fast test: 8 planes, 1 block per function, 5x5 boards."""
    options = {"channels": 8, "num_blocks": 1, "reduced_channels": 2}
    options.update(kwargs)
    return ResNetNetwork((3, 5, 5), action_space_size=4, **options)


def observations(shape: tuple[int, ...], batch: int = BATCH, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, *shape, generator=torch.Generator().manual_seed(seed))


NETWORKS = {
    "mlp": lambda support: MLPNetwork(
        (4,), 2, latent_size=16, hidden_size=32, support_size=support
    ),
    "resnet": lambda support: small_resnet(support_size=support),
}


def build(kind: str, support: int) -> tuple[MuZeroNetwork, torch.Tensor]:
    torch.manual_seed(0)
    net = NETWORKS[kind](support)
    return net, observations(net.observation_shape)


# ---------------------------------------------------------------------- scale_hidden_state


def test_scale_hidden_state_hand_values():
    # row 1: min 1, max 5, range 4 -> (1-1)/4, (3-1)/4, (5-1)/4 = 0, 0.5, 1
    # row 2: min -2, max 2, range 4 -> 0, 0.5, 1; row 3: min 0, max 10 -> 0, 0.1, 1
    latent = torch.tensor([[1.0, 3.0, 5.0], [-2.0, 0.0, 2.0], [10.0, 0.0, 1.0]])
    expected = torch.tensor([[0.0, 0.5, 1.0], [0.0, 0.5, 1.0], [1.0, 0.0, 0.1]])
    assert torch.allclose(scale_hidden_state(latent), expected)


def test_scale_hidden_state_uses_all_non_batch_dims_per_example():
    # example 0 planes [[0, 2], [4, 8]]: min 0, max 8 over both planes -> [[0, .25], [.5, 1]]
    latent = torch.tensor([[[0.0, 2.0], [4.0, 8.0]], [[1.0, 1.0], [1.0, 3.0]]])
    expected = torch.tensor([[[0.0, 0.25], [0.5, 1.0]], [[0.0, 0.0], [0.0, 1.0]]])
    assert torch.allclose(scale_hidden_state(latent), expected)


def test_scale_hidden_state_constant_example_gives_zeros_not_nan():
    # max == min: (7 - 7) / max(0, 1e-5) = 0; the other example is untouched by the floor.
    latent = torch.tensor([[7.0, 7.0, 7.0], [0.0, 1.0, 2.0]], requires_grad=True)
    scaled = scale_hidden_state(latent)
    assert torch.equal(scaled, torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.5, 1.0]]))
    (scaled * torch.arange(3.0)).sum().backward()
    assert torch.isfinite(latent.grad).all()


def test_scale_hidden_state_equals_the_plain_formula_bit_for_bit():
    # It computes (x - min) / max(x - min) rather than (x - min) / (max - min): the same
    # float, because rounding is monotonic, so the max of the rounded differences is the
    # rounded difference of the max. Checked on wide-ranging random latents.
    latent = torch.randn(500, 7, 3, generator=torch.Generator().manual_seed(0)) * 1000.0
    flat = latent.flatten(1)
    low, high = flat.amin(1, keepdim=True), flat.amax(1, keepdim=True)
    plain = ((flat - low) / (high - low).clamp_min(1e-5)).reshape(latent.shape)
    assert torch.equal(scale_hidden_state(latent), plain)


def test_scale_hidden_state_bad_input():
    with pytest.raises(TypeError, match="latent must be a torch.Tensor"):
        scale_hidden_state([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"latent must have shape \[B, ...\]"):
        scale_hidden_state(torch.tensor([1.0, 2.0]))


# ----------------------------------------------------------------------------- the contract


@pytest.mark.parametrize("kind", ["mlp", "resnet"])
def test_scalar_heads_shapes(kind):
    net, obs = build(kind, support=0)
    root = net.initial_inference(obs)
    assert isinstance(root, NetworkOutput)
    assert root.value.shape == (BATCH,)
    assert torch.equal(root.reward, torch.zeros(BATCH))
    assert root.policy_logits.shape == (BATCH, net.action_space_size)
    assert root.latent.shape == (BATCH, *net.latent_shape)
    assert root.value_logits is None and root.reward_logits is None

    step = net.recurrent_inference(root.latent, torch.tensor([0, 1, 1, 0]))
    assert step.value.shape == step.reward.shape == (BATCH,)
    assert step.policy_logits.shape == (BATCH, net.action_space_size)
    assert step.latent.shape == root.latent.shape
    assert step.value_logits is None and step.reward_logits is None


@pytest.mark.parametrize("kind", ["mlp", "resnet"])
def test_categorical_heads_shapes_and_decoding(kind):
    net, obs = build(kind, support=5)  # 2 * 5 + 1 = 11 bins
    root = net.initial_inference(obs)
    assert root.value_logits.shape == (BATCH, 11)
    assert root.reward_logits is None  # no reward head at the root, see NetworkOutput
    assert torch.equal(root.reward, torch.zeros(BATCH))
    step = net.recurrent_inference(root.latent, torch.tensor([1, 0, 1, 1]))
    assert step.value_logits.shape == step.reward_logits.shape == (BATCH, 11)
    support = ValueSupport(5)
    assert torch.allclose(step.value, support.decode(step.value_logits))
    assert torch.allclose(step.reward, support.decode(step.reward_logits))


def test_scalar_value_is_the_raw_head_output():
    net, obs = build("mlp", support=0)
    root = net.initial_inference(obs)
    expected = net.value_head(net.prediction_trunk(root.latent)).squeeze(-1)
    assert torch.allclose(root.value, expected)


@pytest.mark.parametrize("kind", ["mlp", "resnet"])
def test_latent_spans_exactly_zero_to_one_after_both_inferences(kind):
    net, obs = build(kind, support=0)
    latent = net.initial_inference(obs).latent
    for action in ([0, 1, 0, 1], [1, 1, 0, 0], None):
        flat = latent.flatten(1)
        assert torch.allclose(flat.amin(1), torch.zeros(BATCH))
        assert torch.allclose(flat.amax(1), torch.ones(BATCH))
        if action is not None:
            latent = net.recurrent_inference(latent, torch.tensor(action)).latent


@pytest.mark.parametrize("kind", ["mlp", "resnet"])
def test_constant_latent_gives_no_nan(kind):
    net, obs = build(kind, support=3)
    constant = torch.full((BATCH, *net.latent_shape), 0.5)
    out = net.recurrent_inference(constant, torch.zeros(BATCH, dtype=torch.long))
    assert all(torch.isfinite(t).all() for t in (out.value, out.reward, out.latent))


def test_representation_collapsing_to_a_constant_gives_zeros_not_nan():
    net, obs = build("mlp", support=0)
    with torch.no_grad():  # last layer of h outputs exactly 0 everywhere: max == min
        net.representation_net[-1].weight.zero_()
        net.representation_net[-1].bias.zero_()
    root = net.initial_inference(obs)
    assert torch.equal(root.latent, torch.zeros(BATCH, 16))
    assert torch.isfinite(root.value).all()


@pytest.mark.parametrize("kind", ["mlp", "resnet"])
@pytest.mark.parametrize("support", [0, 3])
def test_gradients_reach_every_parameter(kind, support):
    net, obs = build(kind, support)
    net.train()
    outputs = [net.initial_inference(obs)]
    for step in range(2):
        action = torch.tensor([step % 2, 1, 0, 1])
        outputs.append(net.recurrent_inference(outputs[-1].latent, action))
    # Random weights on every output: a plain sum would cancel through BatchNorm (the
    # batch-normalised outputs always sum to the same value) and through the min-max scaling.
    generator = torch.Generator().manual_seed(1)
    loss = torch.zeros(())
    for out in outputs:
        for field in dataclasses.fields(out):
            tensor = getattr(out, field.name)
            if tensor is not None:
                loss = loss + (tensor * torch.randn(tensor.shape, generator=generator)).sum()
    loss.backward()
    for name, param in net.named_parameters():
        assert param.grad is not None, f"{name} got no gradient"
        assert bool((param.grad != 0).any()), f"{name} has an all-zero gradient"


def test_recurrent_inference_uses_the_action():
    net, obs = build("mlp", support=0)
    latent = net.initial_inference(obs).latent
    a = net.recurrent_inference(latent, torch.zeros(BATCH, dtype=torch.long))
    b = net.recurrent_inference(latent, torch.ones(BATCH, dtype=torch.long))
    assert not torch.allclose(a.latent, b.latent)


# ------------------------------------------------------------------------------------- MLP


def test_mlp_is_exactly_the_benchmark_network():
    net = MLPNetwork(observation_shape=(8,), action_space_size=4)  # defaults 32 / 64
    linear_shapes = [
        (m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)
    ]
    assert linear_shapes == [
        (8, 64), (64, 32),            # h: 8 -> 64 -> ReLU -> 32
        (32 + 4, 64), (64, 32), (64, 1),  # g: [latent, one-hot] -> 64 -> ReLU -> (32, reward 1)
        (32, 64), (64, 4), (64, 1),   # f: 32 -> 64 -> ReLU -> (4 logits, value 1)
    ]  # fmt: skip
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == 3
    # parameters = weights + biases:
    # h: 8*64+64 = 576,   64*32+32 = 2080                         -> 2656
    # g: 36*64+64 = 2368, 64*32+32 = 2080, 64*1+1 = 65            -> 4513
    # f: 32*64+64 = 2112, 64*4+4 = 260,    64*1+1 = 65            -> 2437
    # total 2656 + 4513 + 2437 = 9606
    assert sum(p.numel() for p in net.parameters()) == 9606


def test_mlp_categorical_heads_have_2s_plus_1_outputs():
    net = MLPNetwork((8,), 4, support_size=10)
    assert net.value_head.out_features == net.reward_head.out_features == 21


def test_mlp_feeds_one_hot_actions_to_dynamics():
    # The lean forward calls no module (so a forward hook would see nothing): check instead
    # that g's outputs are the layers applied to this input, bit for bit.
    net, obs = build("mlp", support=0)
    latent = net.initial_inference(obs).latent
    # input = [latent (16), one-hot over A = 2]
    one_hot = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    trunk = net.dynamics_trunk(torch.cat([latent, one_hot], dim=1))
    next_latent, reward = net.dynamics(latent, torch.tensor([1, 0, 0, 1]))
    assert torch.equal(next_latent, net.next_latent_head(trunk))
    assert torch.equal(reward, net.reward_head(trunk))
    step = net.recurrent_inference(latent, torch.tensor([1, 0, 0, 1]))
    assert torch.equal(step.latent, scale_hidden_state(net.next_latent_head(trunk)))


def plain_mlp_forward(net: MLPNetwork, observation: torch.Tensor, action: torch.Tensor):
    """The straightforward forward: call every nn.Module, one-hot by cat, the paper's scaling
    written out as (x - min) / max(max - min, 1e-5). What the lean methods must equal."""

    def scale(x):
        low, high = x.amin(1, keepdim=True), x.amax(1, keepdim=True)
        return (x - low) / (high - low).clamp_min(1e-5)

    latent = scale(net.representation_net(observation.flatten(1).float()))
    root_trunk = net.prediction_trunk(latent)
    one_hot = nn.functional.one_hot(action, net.action_space_size).float()
    trunk = net.dynamics_trunk(torch.cat([latent, one_hot], dim=1))
    next_latent = scale(net.next_latent_head(trunk))
    step_trunk = net.prediction_trunk(next_latent)
    return {
        "root latent": latent,
        "root logits": net.policy_head(root_trunk),
        "root value": net.value_head(root_trunk).squeeze(1),
        "reward": net.reward_head(trunk).squeeze(1),
        "latent": next_latent,
        "logits": net.policy_head(step_trunk),
        "value": net.value_head(step_trunk).squeeze(1),
    }


@pytest.mark.parametrize("batch", [1, 64])
def test_lean_mlp_forward_equals_the_plain_module_forward_bit_for_bit(batch):
    # F.linear is nn.Linear.forward and max(x - min) = max - min exactly (rounding is
    # monotonic), so every number must be identical, not merely close.
    torch.manual_seed(1)
    net = MLPNetwork((8,), 9).eval()
    obs = torch.randn(batch, 8)
    action = torch.randint(0, 9, (batch,))
    plain = plain_mlp_forward(net, obs, action)
    root = net.initial_inference(obs)
    step = net.recurrent_inference(root.latent, action)
    lean = {
        "root latent": root.latent,
        "root logits": root.policy_logits,
        "root value": root.value,
        "reward": step.reward,
        "latent": step.latent,
        "logits": step.policy_logits,
        "value": step.value,
    }
    for name, expected in plain.items():
        assert torch.equal(lean[name], expected), name


def test_mlp_keeps_its_parameter_names():
    # The state_dict keys are the checkpoint format, and chapter 01 loads layers by these names.
    net = MLPNetwork((8,), 4)
    layers = [
        "representation_net.0", "representation_net.2", "dynamics_trunk.0", "next_latent_head",
        "reward_head", "prediction_trunk.0", "policy_head", "value_head",
    ]  # fmt: skip
    expected = [f"{layer}.{tensor}" for layer in layers for tensor in ("weight", "bias")]
    assert list(net.state_dict()) == expected


def test_mlp_forward_uses_the_parameters_functional_call_swaps_in():
    # The lean forward reads the layers' Parameters from nn.Module's own dicts; functional_call
    # (like load_state_dict and .to()) updates those dicts, so the forward must see the swap.
    class Root(nn.Module):  # functional_call needs a forward; the network has none
        def __init__(self, network: MLPNetwork) -> None:
            super().__init__()
            self.network = network

        def forward(self, observation: torch.Tensor):
            return self.network.initial_inference(observation)

    net, obs = build("mlp", support=0)
    # policy weights 0 and biases 2: every logit is 0 * trunk + 2 = 2
    swapped = {
        "network.policy_head.weight": torch.zeros_like(net.policy_head.weight),
        "network.policy_head.bias": torch.full_like(net.policy_head.bias, 2.0),
    }
    out = torch.func.functional_call(Root(net), swapped, (obs,), strict=False)
    assert torch.equal(out.policy_logits, torch.full((BATCH, 2), 2.0))
    assert not torch.equal(net.initial_inference(obs).policy_logits, out.policy_logits)


def test_mlp_casts_uint8_and_float64_without_rescaling():
    net = MLPNetwork((2, 3), 3)  # any shape is flattened: 2 * 3 = 6 inputs
    pixels = torch.randint(0, 256, (BATCH, 2, 3), dtype=torch.uint8)
    as_float = net.initial_inference(pixels.float())
    for obs in (pixels, pixels.double()):
        out = net.initial_inference(obs)
        assert out.value.dtype == torch.float32
        assert torch.allclose(out.policy_logits, as_float.policy_logits)


def test_double_network_takes_float32_observations():
    net = MLPNetwork((4,), 2).double()
    out = net.initial_inference(torch.randn(3, 4))
    assert out.value.dtype == torch.float64
    assert net.recurrent_inference(out.latent, torch.tensor([0, 1, 0])).value.dtype == torch.float64


# ---------------------------------------------------------------------------------- ResNet


def test_resnet_dynamics_gets_one_action_plane_of_a_plus_1_over_a():
    net, obs = build("resnet", support=0)
    net.eval()
    seen = []
    first_conv = net.dynamics_net[0][0]
    first_conv.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    latent = net.initial_inference(obs).latent
    net.recurrent_inference(latent, torch.tensor([0, 1, 2, 3]))
    planes = seen[0]
    assert planes.shape == (BATCH, 8 + 1, 5, 5)  # 8 latent planes + 1 action plane
    assert torch.equal(planes[:, :8], latent)
    # A = 4: (a + 1) / 4 = 0.25, 0.5, 0.75, 1.0
    for example, value in enumerate([0.25, 0.5, 0.75, 1.0]):
        assert torch.equal(planes[example, 8], torch.full((5, 5), value))


def test_resnet_blocks_per_function():
    net = small_resnet(num_blocks=(2, 0, 3))
    assert net.num_blocks == (2, 0, 3)
    assert len(net.representation_net[1]) == 2
    assert len(net.dynamics_net[1]) == 0
    assert len(net.prediction_tower) == 3
    assert small_resnet(num_blocks=1).num_blocks == (1, 1, 1)


def test_downsample_takes_96x96_to_6x6():
    # conv s2: 96 -> 48, conv s2: 48 -> 24, pool s2: 24 -> 12, pool s2: 12 -> 6
    net = ResNetNetwork((3, 96, 96), 6, channels=4, num_blocks=1, downsample=True)
    net.eval()
    assert net.latent_shape == (4, 6, 6)
    frames = torch.randint(0, 256, (2, 3, 96, 96), dtype=torch.uint8)
    with torch.no_grad():
        root = net.initial_inference(frames)
        step = net.recurrent_inference(root.latent, torch.tensor([5, 0]))
    assert root.latent.shape == step.latent.shape == (2, 4, 6, 6)
    assert root.policy_logits.shape == (2, 6)
    half = net.representation_net[0].layers[0][0]
    assert (half.out_channels, half.stride) == (2, (2, 2))  # channels / 2 = 2 planes, stride 2


def test_downsample_output_side_rounds_up_at_each_halving():
    # 84 -> 42 -> 21 -> 11 -> 6;  10 -> 5 -> 3 -> 2 -> 1
    assert [Downsample.output_side(n) for n in (96, 84, 10)] == [6, 6, 1]


def test_resnet_divides_uint8_by_255():
    net, _ = build("resnet", support=0)
    net.eval()
    pixels = torch.randint(0, 256, (BATCH, 3, 5, 5), dtype=torch.uint8)
    with torch.no_grad():
        from_uint8 = net.initial_inference(pixels)
        from_float = net.initial_inference(pixels.float() / 255.0)
        from_double = net.initial_inference(pixels.double() / 255.0)
    assert torch.allclose(from_uint8.policy_logits, from_float.policy_logits, atol=1e-6)
    assert torch.allclose(from_double.value, from_float.value, atol=1e-6)


def test_resnet_batch_of_one_in_eval_mode_matches_the_batch():
    # eval(): BatchNorm uses running statistics, so each example's answer is independent of
    # the rest of the batch; this is how the search calls the network.
    net, obs = build("resnet", support=3)
    net.eval()
    with torch.no_grad():
        batch = net.initial_inference(obs)
        single = net.initial_inference(obs[2:3])
        step_batch = net.recurrent_inference(batch.latent, torch.tensor([0, 1, 2, 3]))
        step_single = net.recurrent_inference(single.latent, torch.tensor([2]))
    assert torch.allclose(single.value, batch.value[2:3], atol=1e-5)
    assert torch.allclose(single.latent, batch.latent[2:3], atol=1e-5)
    assert torch.allclose(step_single.reward, step_batch.reward[2:3], atol=1e-5)


def test_resnet_batch_of_one_in_train_mode_runs():
    # train(): BatchNorm averages over batch and the 5x5 positions, so B = 1 still works.
    net, obs = build("resnet", support=0)
    net.train()
    out = net.initial_inference(obs[:1])
    assert net.recurrent_inference(out.latent, torch.tensor([3])).value.shape == (1,)


def test_mlp_batch_of_one():
    net, obs = build("mlp", support=0)
    assert net.initial_inference(obs[:1]).value.shape == (1,)


# --------------------------------------------------------------------------------- factory


def test_make_network_builds_each_kind_with_its_options():
    mlp = make_network("mlp", (8,), 4, hidden_size=16, support_size=2)
    assert isinstance(mlp, MLPNetwork) and mlp.support_size == 2
    assert mlp.value_head.in_features == 16
    resnet = make_network("resnet", (2, 3, 3), 9, channels=4, num_blocks=0)
    assert isinstance(resnet, ResNetNetwork) and resnet.latent_shape == (4, 3, 3)


def test_make_network_unknown_kind_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"kind must be one of \['mlp', 'resnet'\], got 'cnn'"):
        make_network("cnn", (8,), 4)
    with pytest.raises(ValueError, match="kind must be one of"):
        make_network(["mlp"], (8,), 4)


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "build_bad, error, words",
    [
        (lambda: MLPNetwork((4,), 0), ValueError, "action_space_size must be >= 1"),
        (lambda: MLPNetwork((4,), 2.0), TypeError, "action_space_size must be an int"),
        (lambda: MLPNetwork((), 2), TypeError, "observation_shape must be a non-empty tuple"),
        (lambda: MLPNetwork("4", 2), TypeError, "observation_shape"),
        (lambda: MLPNetwork((4, 0), 2), ValueError, r"observation_shape\[1\] must be >= 1"),
        (lambda: MLPNetwork((4,), 2, latent_size=True), TypeError, "latent_size must be an int"),
        (lambda: MLPNetwork((4,), 2, hidden_size=0), ValueError, "hidden_size must be >= 1"),
        (lambda: MLPNetwork((4,), 2, support_size=-1), ValueError, "support_size must be >= 0"),
        (lambda: ResNetNetwork((5, 5), 2), ValueError, r"\(channels, height, width\)"),
        (lambda: small_resnet(downsample=1), TypeError, "downsample must be a bool"),
        (lambda: small_resnet(channels=1, downsample=True), ValueError, "channels must be >= 2"),
        (lambda: small_resnet(num_blocks=(1, 2)), TypeError, "num_blocks must be an int or"),
        (lambda: small_resnet(num_blocks=-1), ValueError, r"num_blocks\[0\] must be >= 0"),
        (lambda: small_resnet(reduced_channels=0), ValueError, "reduced_channels must be >= 1"),
        (lambda: make_network("mlp", (4,), 2, channels=3), TypeError, "channels"),
    ],
)
def test_bad_constructor_arguments(build_bad, error, words):
    with pytest.raises(error, match=words):
        build_bad()


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda n, o, lat: n.initial_inference(o.numpy()), TypeError, "torch.as_tensor"),
        (lambda n, o, lat: n.initial_inference(o[:, :2]), ValueError, r"shape \[B, 3, 5, 5\]"),
        (lambda n, o, lat: n.initial_inference(o[0]), ValueError, "observation must have shape"),
        (lambda n, o, lat: n.initial_inference(o.to(torch.cfloat)), TypeError, "real-valued"),
        (lambda n, o, lat: n.recurrent_inference(lat.numpy(), torch.zeros(4).long()), TypeError,
         "latent must be a torch.Tensor"),
        (lambda n, o, lat: n.recurrent_inference(lat[:, :3], torch.zeros(4).long()), ValueError,
         r"latent must have shape \[B, 8, 5, 5\]"),
        (lambda n, o, lat: n.recurrent_inference(lat, [0, 1, 2, 3]), TypeError,
         "action must be a torch.Tensor"),
        (lambda n, o, lat: n.recurrent_inference(lat, torch.zeros(4)), TypeError,
         "action must be an integer tensor"),
        (lambda n, o, lat: n.recurrent_inference(lat, torch.zeros(4, dtype=torch.bool)),
         TypeError, "integer"),
        (lambda n, o, lat: n.recurrent_inference(lat, torch.zeros(3).long()), ValueError,
         r"action must have shape \[B\] = \(4,\)"),
    ],
)  # fmt: skip
def test_bad_inference_input_raises_and_leaves_batchnorm_statistics_unchanged(call, error, words):
    net, obs = build("resnet", support=0)
    net.eval()
    with torch.no_grad():
        latent = net.initial_inference(obs).latent
    net.train()  # in train mode a forward pass would update the running statistics
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(error, match=words):
        call(net, obs, latent)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_an_empty_batch_gives_empty_outputs():
    # B = 0: no game left to search.
    net, _ = build("mlp", support=0)
    out = net.recurrent_inference(torch.zeros(0, 16), torch.zeros(0, dtype=torch.long))
    assert out.latent.shape == (0, 16) and out.value.shape == out.reward.shape == (0,)


def test_network_output_is_frozen():
    net, obs = build("mlp", support=0)
    out = net.initial_inference(obs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.value = out.reward  # type: ignore[misc]
