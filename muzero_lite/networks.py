"""MuZero's three learned functions: representation h, dynamics g, prediction f.

Schrittwieser et al. 2020, Section 3 and Appendix F ("Network Architecture"):

    s^0          = h(o_1..o_t)            representation: observation -> hidden state
    r^k, s^k     = g(s^{k-1}, a^k)         dynamics: hidden state + action -> reward, next state
    p^k, v^k     = f(s^k)                  prediction: hidden state -> policy logits, value

The search only ever calls two bundles of these (the pseudocode's names):
``initial_inference(o) = f(h(o))`` at the root and ``recurrent_inference(s, a) = f(g(s, a))``
for each simulation. Both return a ``NetworkOutput``.

Two architectures share that interface:

* ``MLPNetwork``: one hidden layer per function, for vector observations (CartPole, and
  small boards flattened). Small enough to train on a laptop CPU in minutes.
* ``ResNetNetwork``: the paper's residual tower (AlphaZero style, conv3x3-BN-ReLU blocks)
  for image-like observations, optionally with the paper's Atari downsampling 96x96 -> 6x6.

Hidden states are min-max scaled to [0, 1] per example after h and after g (Appendix G,
"Training": "we scale the hidden state to the same range as the action input"). That
happens here, in the base class, so no architecture can forget it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from muzero_lite.checks import check_int
from muzero_lite.support import ValueSupport

# Floor for the denominator of the min-max scaling: a latent whose entries are all equal
# (max == min) would otherwise divide 0 by 0. See scale_hidden_state.
HIDDEN_STATE_RANGE_FLOOR = 1e-5


@dataclass(frozen=True)
class NetworkOutput:
    """What one network call returns, for a batch of B positions.

    value:         [B] value of the state, from the view of the player to move. Decoded to a
                   scalar (``h_inv`` of the expectation) when the heads are categorical.
    reward:        [B] reward of the transition into this state. Zeros from
                   ``initial_inference``: no transition led to the root.
    policy_logits: [B, A] unnormalised log-probabilities over all actions (no legal mask).
    latent:        [B, ...] hidden state, min-max scaled to [0, 1] per example.
    value_logits:  [B, 2S+1] raw categorical value head (what the cross-entropy loss wants);
                   None for scalar heads.
    reward_logits: [B, 2S+1] raw categorical reward head; None for scalar heads, and always
                   None from ``initial_inference`` (there is no reward at the root; a loss
                   that tried to train one at k = 0 fails loudly instead of silently).
    """

    value: Tensor
    reward: Tensor
    policy_logits: Tensor
    latent: Tensor
    value_logits: Tensor | None
    reward_logits: Tensor | None


def scale_hidden_state(latent: Tensor) -> Tensor:
    """Min-max scale each example's hidden state to [0, 1] over all its non-batch entries.

    Paper, Appendix G: "we scale the hidden state to the same range as the action input
    ([0, 1])", so that the dynamics function sees state and action on the same scale, and
    the hidden state cannot drift in magnitude along an unroll.

    When all entries of an example are equal (max == min, e.g. a dead ReLU layer at init)
    the plain formula divides 0 by 0. We divide by ``max(max - min, 1e-5)`` instead: such an
    example becomes all zeros rather than NaN, and every other example still spans exactly
    [0, 1] (adding the epsilon to every denominator would leave the top at 0.99999).
    """
    if not isinstance(latent, Tensor):
        raise TypeError(f"latent must be a torch.Tensor, got {type(latent).__name__}")
    if latent.dim() < 2:
        raise ValueError(f"latent must have shape [B, ...] with B first, got {tuple(latent.shape)}")
    flat = latent.flatten(start_dim=1)
    shifted = flat - flat.amin(dim=1, keepdim=True)  # x - min
    # max(x - min) is exactly max - min (rounding is monotonic), one operation fewer than
    # computing max separately: this runs at every simulation of the search.
    scale = shifted.amax(dim=1, keepdim=True).clamp_min(HIDDEN_STATE_RANGE_FLOOR)
    return (shifted / scale).reshape(latent.shape)


# ------------------------------------------------------------------------ argument checking


def _shape(name: str, value: object) -> tuple[int, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) == 0:
        raise TypeError(f"{name} must be a non-empty tuple of ints, got {value!r}")
    return tuple(check_int(f"{name}[{i}]", d, 1) for i, d in enumerate(value))


# ----------------------------------------------------------------------------- the interface


class MuZeroNetwork(nn.Module):
    """Base class: subclasses define h, g, f; this class bundles them for the search.

    Subclasses set ``self.latent_shape`` and implement

    * ``representation(observation) -> latent``               (h, unscaled)
    * ``dynamics(latent, action) -> (next_latent, reward_out)``   (g, unscaled next latent)
    * ``prediction(latent) -> (policy_logits, value_out)``     (f)

    where ``reward_out`` / ``value_out`` are the heads' raw outputs, ``[B, num_outputs]``
    (1 for scalar heads, 2S+1 for categorical ones). ``value_support`` turns them into
    scalars here and into training targets in the loss.

    BatchNorm (ResNet): the search calls the network in ``eval()`` mode, where BatchNorm uses
    its running statistics and any batch size, 1 included, gives the same per-example
    answer. Training runs in ``train()`` mode on large batches.
    """

    latent_shape: tuple[int, ...]

    def __init__(
        self,
        observation_shape: Sequence[int],
        action_space_size: int,
        support_size: int = 0,
    ) -> None:
        super().__init__()
        self.observation_shape = _shape("observation_shape", observation_shape)
        self.action_space_size = check_int("action_space_size", action_space_size, 1)
        self.value_support = ValueSupport(support_size)  # checks support_size
        self.support_size = self.value_support.support_size

    def representation(self, observation: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def dynamics(self, latent: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover
        raise NotImplementedError

    def prediction(self, latent: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover
        raise NotImplementedError

    def initial_inference(self, observation: Tensor) -> NetworkOutput:
        """Root of the search: ``s^0 = h(o)``, then ``p, v = f(s^0)``. Reward is zero."""
        self._check_observation(observation)
        latent = scale_hidden_state(self.representation(observation))
        policy_logits, value_out = self.prediction(latent)
        value = self._decode(value_out)
        return NetworkOutput(
            value=value,
            reward=torch.zeros_like(value),
            policy_logits=policy_logits,
            latent=latent,
            value_logits=value_out if self.value_support.categorical else None,
            reward_logits=None,
        )

    def recurrent_inference(self, latent: Tensor, action: Tensor) -> NetworkOutput:
        """One step inside the tree: ``r, s' = g(s, a)``, then ``p, v = f(s')``.

        ``latent`` is a hidden state from a previous call, ``[B, *latent_shape]``; ``action``
        an integer tensor ``[B]`` with entries in ``[0, action_space_size)``.

        Types and shapes are checked here (no values read). The actions' range is checked
        where actions enter: the replay's columns, ``Game.step``; the search picks one of
        the network's own logits. Reading them here would cost a device sync per call.
        """
        self._check_latent_and_action(latent, action)
        next_latent_raw, reward_out = self.dynamics(latent, action)
        next_latent = scale_hidden_state(next_latent_raw)
        policy_logits, value_out = self.prediction(next_latent)
        categorical = self.value_support.categorical
        return NetworkOutput(
            value=self._decode(value_out),
            reward=self._decode(reward_out),
            policy_logits=policy_logits,
            latent=next_latent,
            value_logits=value_out if categorical else None,
            reward_logits=reward_out if categorical else None,
        )

    def _decode(self, head_out: Tensor) -> Tensor:
        """A value or reward head's raw output ``[B, num_outputs]`` as scalars ``[B]``.

        A scalar head needs only its size-1 axis dropped; that skips ``decode``'s input
        checks, which the head's own output (``num_outputs`` wide by construction) cannot
        fail, and which cost about 2 µs a call each on the search's hot path.
        """
        if self.value_support.categorical:
            # The expectation over 2S+1 bins and h^-1 in float32 even under bf16 autocast.
            with torch.autocast(head_out.device.type, enabled=False):
                return self.value_support.decode(head_out.float())
        return head_out.squeeze(-1)

    def _weights_dtype(self) -> torch.dtype:
        """float32 unless the model was converted (``.double()``): observations follow it."""
        return next(self.parameters()).dtype

    def _check_observation(self, observation: Tensor) -> None:
        if not isinstance(observation, Tensor):
            raise TypeError(
                f"observation must be a torch.Tensor (use torch.as_tensor), "
                f"got {type(observation).__name__}"
            )
        if observation.dim() == 0 or tuple(observation.shape[1:]) != self.observation_shape:
            raise ValueError(
                f"observation must have shape [B, {', '.join(map(str, self.observation_shape))}]"
                f", got {tuple(observation.shape)}"
            )
        if observation.is_complex():
            raise TypeError(f"observation must be real-valued, got dtype {observation.dtype}")

    def _check_latent_and_action(self, latent: Tensor, action: Tensor) -> None:
        if not isinstance(latent, Tensor):
            raise TypeError(f"latent must be a torch.Tensor, got {type(latent).__name__}")
        if latent.dim() == 0 or tuple(latent.shape[1:]) != self.latent_shape:
            raise ValueError(
                f"latent must have shape [B, {', '.join(map(str, self.latent_shape))}], "
                f"got {tuple(latent.shape)}"
            )
        if not isinstance(action, Tensor):
            raise TypeError(f"action must be a torch.Tensor, got {type(action).__name__}")
        if action.is_floating_point() or action.is_complex() or action.dtype == torch.bool:
            raise TypeError(f"action must be an integer tensor, got dtype {action.dtype}")
        if tuple(action.shape) != (latent.shape[0],):
            raise ValueError(
                f"action must have shape [B] = ({latent.shape[0]},) to match latent, "
                f"got {tuple(action.shape)}"
            )


# ----------------------------------------------------------------------------------- MLP


class MLPNetwork(MuZeroNetwork):
    """One hidden layer per function; dynamics and prediction share a trunk between heads.

    With an 8-number observation and the defaults this is exactly the benchmark network:

        h: obs 8 -> 64 -> ReLU -> 32                       (latent)
        g: [latent 32, one-hot action A] -> 64 -> ReLU -> (latent 32, reward 1)
        f: latent 32 -> 64 -> ReLU -> (A policy logits, value 1)

    Categorical heads (``support_size = S > 0``) output 2S+1 logits instead of 1.
    Observations of any shape are flattened; any real dtype (uint8, float64, bool) is cast
    to the weights' dtype (float32) with no rescaling: vector features are used as they are.
    Actions enter g one-hot, which lies in [0, 1] like the scaled hidden state.

    The layers are ordinary modules (their names are the state_dict keys, and chapter 01 loads
    its own layers from them), but the forward passes apply their weights directly with
    ``F.linear``: same operations, same bits, without nn.Module's per-call overhead; see
    ``representation`` below.
    """

    def __init__(
        self,
        observation_shape: Sequence[int],
        action_space_size: int,
        latent_size: int = 32,
        hidden_size: int = 64,
        support_size: int = 0,
    ) -> None:
        super().__init__(observation_shape, action_space_size, support_size)
        latent_size = check_int("latent_size", latent_size, 1)
        hidden_size = check_int("hidden_size", hidden_size, 1)
        observation_size = math.prod(self.observation_shape)
        head_size = self.value_support.num_outputs
        self.latent_shape = (latent_size,)

        # h: representation
        self.representation_net = nn.Sequential(
            nn.Linear(observation_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, latent_size)
        )
        # g: dynamics, a shared trunk with two linear heads
        self.dynamics_trunk = nn.Sequential(
            nn.Linear(latent_size + self.action_space_size, hidden_size), nn.ReLU()
        )
        self.next_latent_head = nn.Linear(hidden_size, latent_size)
        self.reward_head = nn.Linear(hidden_size, head_size)
        # f: prediction, a shared trunk with two linear heads
        self.prediction_trunk = nn.Sequential(nn.Linear(latent_size, hidden_size), nn.ReLU())
        self.policy_head = nn.Linear(hidden_size, self.action_space_size)
        self.value_head = nn.Linear(hidden_size, head_size)
        # Row a is the one-hot code of action a. Looking rows up costs 5 us a call where
        # F.one_hot, which first scans the actions for their range, cost 40 (B = 32, CPU).
        # Not saved with the weights; it follows the module's .to() and .double().
        self.register_buffer("action_codes", torch.eye(self.action_space_size),
                             persistent=False)

    # The three functions below spell out what the modules above compute, layer by layer:
    # ``F.linear(x, weight, bias)`` is exactly ``nn.Linear.forward`` and ``torch.relu`` is
    # ``nn.ReLU``, so the numbers are the same to the bit. Calling the modules would add
    # nn.Module's per-call machinery (``__call__``, hooks, ``__getattr__`` for every
    # attribute): at the search's sizes (B = 64, hidden 64) that was about 20 µs of a 70 µs
    # recurrent step on the benchmark CPU, more than the arithmetic of most layers. (Forward
    # hooks registered on these layers therefore do not fire.)

    def representation(self, observation: Tensor) -> Tensor:
        """h: observation -> 64 -> ReLU -> latent (unscaled)."""
        w_hidden, b_hidden = _weight_and_bias(self, "representation_net", "0")
        w_latent, b_latent = _weight_and_bias(self, "representation_net", "2")
        x = observation.flatten(start_dim=1).to(w_hidden.dtype)
        return F.linear(torch.relu(F.linear(x, w_hidden, b_hidden)), w_latent, b_latent)

    def dynamics(self, latent: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        """g: [latent, one-hot action] -> 64 -> ReLU -> (next latent unscaled, reward head)."""
        w_trunk, b_trunk = _weight_and_bias(self, "dynamics_trunk", "0")
        w_latent, b_latent = _weight_and_bias(self, "next_latent_head")
        w_reward, b_reward = _weight_and_bias(self, "reward_head")
        action_one_hot = self.action_codes.index_select(0, action.long()).to(latent.dtype)
        x = torch.cat([latent, action_one_hot], dim=1)
        trunk = torch.relu(F.linear(x, w_trunk, b_trunk))
        return F.linear(trunk, w_latent, b_latent), F.linear(trunk, w_reward, b_reward)

    def prediction(self, latent: Tensor) -> tuple[Tensor, Tensor]:
        """f: latent -> 64 -> ReLU -> (policy logits, value head)."""
        w_trunk, b_trunk = _weight_and_bias(self, "prediction_trunk", "0")
        w_policy, b_policy = _weight_and_bias(self, "policy_head")
        w_value, b_value = _weight_and_bias(self, "value_head")
        trunk = torch.relu(F.linear(latent, w_trunk, b_trunk))
        return F.linear(trunk, w_policy, b_policy), F.linear(trunk, w_value, b_value)


def _weight_and_bias(network: nn.Module, *path: str) -> tuple[Tensor, Tensor]:
    """The ``(weight, bias)`` Parameters of the ``nn.Linear`` at ``path`` below ``network``,
    e.g. ``("dynamics_trunk", "0")`` for ``network.dynamics_trunk[0]``.

    Read straight from the dicts where nn.Module keeps them (``_modules``, ``_parameters``):
    ``network.dynamics_trunk[0].weight`` runs ``nn.Module.__getattr__`` (a Python function
    searching three dicts) at each dot and ``Sequential.__getitem__`` at the index, about
    14 µs for the twelve tensors of one recurrent step on the benchmark CPU; this is 0.5 µs.
    They are the very Parameter objects (``.to()``, ``load_state_dict`` and
    ``torch.func.functional_call`` all update these dicts), so autograd sees no difference.
    """
    module = network
    for name in path:
        module = module._modules[name]
    parameters = module._parameters
    return parameters["weight"], parameters["bias"]


# ---------------------------------------------------------------------------------- ResNet


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    # No conv bias: the BatchNorm right after it has its own shift.
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
    )


class ResidualBlock(nn.Module):
    """AlphaZero's block: conv3x3-BN-ReLU-conv3x3-BN, add the input, ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(x + y)


def _tower(channels: int, num_blocks: int) -> nn.Sequential:
    return nn.Sequential(*(ResidualBlock(channels) for _ in range(num_blocks)))


class Downsample(nn.Module):
    """The paper's Atari stem (Appendix F), 96x96 -> 6x6, with ``channels`` out:

        conv3x3 stride 2 -> channels/2 planes (48x48); 2 residual blocks;
        conv3x3 stride 2 -> channels planes (24x24);   3 residual blocks;
        average pool stride 2 (12x12);                 3 residual blocks;
        average pool stride 2 (6x6).

    (The paper: 128 then 256 planes.) Each stride-2 step maps a side n to ceil(n / 2).
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.layers = nn.Sequential(
            _conv_bn_relu(in_channels, half, stride=2),
            _tower(half, 2),
            _conv_bn_relu(half, channels, stride=2),
            _tower(channels, 3),
            nn.AvgPool2d(kernel_size=3, stride=2, padding=1),
            _tower(channels, 3),
            nn.AvgPool2d(kernel_size=3, stride=2, padding=1),
        )

    @staticmethod
    def output_side(side: int) -> int:
        for _ in range(4):  # two stride-2 convs and two stride-2 pools
            side = (side + 1) // 2
        return side

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class _Head(nn.Module):
    """1x1 conv down to a few planes, BN, ReLU, flatten, linear (AlphaZero's heads)."""

    def __init__(self, channels: int, reduced_channels: int, side: tuple[int, int], out: int):
        super().__init__()
        self.reduce = nn.Sequential(
            nn.Conv2d(channels, reduced_channels, 1, bias=False),
            nn.BatchNorm2d(reduced_channels),
            nn.ReLU(),
        )
        self.linear = nn.Linear(reduced_channels * side[0] * side[1], out)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.reduce(x).flatten(start_dim=1))


class ResNetNetwork(MuZeroNetwork):
    """The paper's residual network (Appendix F), scaled by ``channels`` and ``num_blocks``.

    * h: [downsample stem, if ``downsample``] or conv3x3-BN-ReLU to ``channels`` planes;
      then ``num_blocks`` residual blocks. (Paper: 16 blocks of 256 planes.)
    * g: the latent planes plus one action plane, conv3x3-BN-ReLU back to ``channels``
      planes, residual blocks -> next latent; a reward head on that.
    * f: residual blocks, then a policy head and a value head.

    Heads: 1x1 conv to ``reduced_channels`` planes, BN, ReLU, flatten, one linear layer.

    The action plane is filled with ``(a + 1) / A``: one plane whatever the number of actions,
    in (0, 1] like the scaled hidden state (the + 1 keeps action 0 apart from an all-zero
    plane). The paper gives g the action one-hot, tiled into planes; its a/18 bias planes are
    the action history that h reads. Chapter 01 says what this choice costs.

    uint8 observations are taken to be image pixels and divided by 255 (the paper's Atari
    frames); other dtypes are only cast to float32. Give board planes as float or bool.

    ``num_blocks`` is one int for all three functions or a tuple
    ``(representation, dynamics, prediction)``.
    """

    def __init__(
        self,
        observation_shape: Sequence[int],
        action_space_size: int,
        channels: int = 64,
        num_blocks: int | Sequence[int] = 6,
        support_size: int = 0,
        downsample: bool = False,
        reduced_channels: int = 2,
    ) -> None:
        super().__init__(observation_shape, action_space_size, support_size)
        if len(self.observation_shape) != 3:
            raise ValueError(
                f"observation_shape must be (channels, height, width) for ResNetNetwork, "
                f"got {self.observation_shape}"
            )
        if not isinstance(downsample, bool):
            raise TypeError(f"downsample must be a bool, got {type(downsample).__name__}")
        channels = check_int("channels", channels, 2 if downsample else 1)
        reduced_channels = check_int("reduced_channels", reduced_channels, 1)
        blocks = self._blocks_per_function(num_blocks)
        in_planes, height, width = self.observation_shape
        if downsample:
            height, width = Downsample.output_side(height), Downsample.output_side(width)
        self.latent_shape = (channels, height, width)
        self.num_blocks = blocks
        self.downsample = downsample
        head_size = self.value_support.num_outputs
        side = (height, width)

        # h: representation
        stem = Downsample(in_planes, channels) if downsample else _conv_bn_relu(in_planes, channels)
        self.representation_net = nn.Sequential(stem, _tower(channels, blocks[0]))
        # g: dynamics, latent planes + 1 action plane in
        self.dynamics_net = nn.Sequential(
            _conv_bn_relu(channels + 1, channels), _tower(channels, blocks[1])
        )
        self.reward_head = _Head(channels, reduced_channels, side, head_size)
        # f: prediction
        self.prediction_tower = _tower(channels, blocks[2])
        self.policy_head = _Head(channels, reduced_channels, side, self.action_space_size)
        self.value_head = _Head(channels, reduced_channels, side, head_size)

    @staticmethod
    def _blocks_per_function(num_blocks: int | Sequence[int]) -> tuple[int, int, int]:
        if isinstance(num_blocks, Integral) and not isinstance(num_blocks, bool):
            num_blocks = (num_blocks,) * 3
        if not isinstance(num_blocks, Sequence) or len(num_blocks) != 3:
            raise TypeError(
                "num_blocks must be an int or a tuple (representation, dynamics, prediction), "
                f"got {num_blocks!r}"
            )
        blocks = tuple(check_int(f"num_blocks[{i}]", n, 0) for i, n in enumerate(num_blocks))
        return blocks  # type: ignore[return-value]

    def representation(self, observation: Tensor) -> Tensor:
        dtype = self._weights_dtype()
        if observation.dtype == torch.uint8:
            x = observation.to(dtype) / 255.0  # pixels 0..255 -> [0, 1]
        else:
            x = observation.to(dtype)
        return self.representation_net(x)

    def dynamics(self, latent: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        batch, _, height, width = latent.shape
        action_value = (action.to(latent.dtype) + 1) / self.action_space_size
        action_plane = action_value.view(batch, 1, 1, 1).expand(batch, 1, height, width)
        next_latent = self.dynamics_net(torch.cat([latent, action_plane], dim=1))
        return next_latent, self.reward_head(next_latent)

    def prediction(self, latent: Tensor) -> tuple[Tensor, Tensor]:
        x = self.prediction_tower(latent)
        return self.policy_head(x), self.value_head(x)


# --------------------------------------------------------------------------------- factory

NETWORK_KINDS: dict[str, type[MuZeroNetwork]] = {"mlp": MLPNetwork, "resnet": ResNetNetwork}


def make_network(
    kind: str, observation_shape: Sequence[int], action_space_size: int, **kwargs: object
) -> MuZeroNetwork:
    """Build a network by name: ``make_network("mlp", (4,), 2, hidden_size=64)``.

    ``kind`` is "mlp" (``MLPNetwork``) or "resnet" (``ResNetNetwork``); ``kwargs`` go to
    that class (an unknown keyword raises TypeError there).
    """
    if not isinstance(kind, str) or kind not in NETWORK_KINDS:
        raise ValueError(f"kind must be one of {sorted(NETWORK_KINDS)}, got {kind!r}")
    return NETWORK_KINDS[kind](observation_shape, action_space_size, **kwargs)
