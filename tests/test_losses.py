"""Tests for muzero_lite.losses: gradient scaling and the unrolled K-step loss.

The networks here are tiny toys defined in this file, with the two methods and the
``support_size`` attribute of ``muzero_lite.networks``, so every number can be worked out
by hand (or by the plain-Python reference below).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from muzero_lite.losses import (
    LossOutput,
    policy_loss,
    scale_gradient,
    unrolled_loss,
    value_or_reward_loss,
)
from muzero_lite.replay import Batch


@dataclass(frozen=True)
class ToyOutput:
    """Same fields as networks.NetworkOutput."""

    value: Tensor
    reward: Tensor
    policy_logits: Tensor
    latent: Tensor
    value_logits: Tensor | None = None
    reward_logits: Tensor | None = None


class LinearToy(nn.Module):
    """Scalar latent s, shape [B, 1]:

    representation  s_0 = w_r * o
    dynamics        s'  = w_d * s + w_a * a,    reward r = w_rew * s'
    prediction      v   = w_v * s,              policy logits = s * w_p   ([A])
    """

    support_size = 0

    def __init__(self, w_r=0.5, w_d=0.8, w_a=0.3, w_v=1.2, w_rew=-0.7, w_p=(1.0, -0.5, 0.2)):
        super().__init__()
        self.w_r = nn.Parameter(torch.tensor(w_r))
        self.w_d = nn.Parameter(torch.tensor(w_d))
        self.w_a = nn.Parameter(torch.tensor(w_a))
        self.w_v = nn.Parameter(torch.tensor(w_v))
        self.w_rew = nn.Parameter(torch.tensor(w_rew))
        self.w_p = nn.Parameter(torch.tensor(w_p))

    def _predict(self, latent: Tensor, reward: Tensor) -> ToyOutput:
        return ToyOutput(
            value=self.w_v * latent[:, 0],
            reward=reward,
            policy_logits=latent * self.w_p,
            latent=latent,
        )

    def initial_inference(self, observation: Tensor) -> ToyOutput:
        latent = self.w_r * observation
        return self._predict(latent, torch.zeros(len(observation)))

    def recurrent_inference(self, latent: Tensor, action: Tensor) -> ToyOutput:
        next_latent = self.w_d * latent + self.w_a * action.float()[:, None]
        return self._predict(next_latent, self.w_rew * next_latent[:, 0])


def make_batch(observations, actions, values, rewards, policies, mask=None, weights=None) -> Batch:
    values = torch.tensor(values, dtype=torch.float32)
    size, steps = values.shape
    return Batch(
        observations=torch.tensor(observations, dtype=torch.float32),
        actions=torch.tensor(actions, dtype=torch.int64).reshape(size, steps - 1),
        target_values=values,
        target_rewards=torch.tensor(rewards, dtype=torch.float32),
        target_policies=torch.tensor(policies, dtype=torch.float32),
        policy_mask=torch.ones(size, steps) if mask is None else torch.tensor(mask).float(),
        weights=torch.ones(size) if weights is None else torch.tensor(weights).float(),
        indices=torch.zeros(size, 2, dtype=torch.int64),
    )


# ---------------------------------------------------------------------------- scale_gradient


def test_scale_gradient_is_the_identity_forward_and_scales_the_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = scale_gradient(x, 0.25)
    assert torch.equal(y, x.detach())  # forward: x * 0.25 + x * 0.75 = x
    (y**2).sum().backward()
    # d/dx sum(y^2) = 2 y * dy/dx = 2 * [1, 2] * 0.25 = [0.5, 1.0]
    assert torch.allclose(x.grad, torch.tensor([0.5, 1.0]))


def test_scale_gradient_rejects_non_tensors_and_non_numbers():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        scale_gradient([1.0], 0.5)
    with pytest.raises(TypeError, match="scale must be a float"):
        scale_gradient(torch.ones(1), "0.5")


# ------------------------------------------------------------------ hand-checked loss values


def test_one_sample_one_step_loss_worked_out_by_hand():
    network = LinearToy(w_r=1.0, w_d=1.0, w_a=1.0, w_v=1.0, w_rew=1.0, w_p=(1.0, -1.0))
    batch = make_batch(
        observations=[[0.5]], actions=[[1]], values=[[1.0, 0.0]], rewards=[[0.0, 1.0]],
        policies=[[[1.0, 0.0], [0.5, 0.5]]],
    )  # fmt: skip
    out = unrolled_loss(network, batch)
    # k = 0: s_0 = 0.5, v^0 = 0.5, logits [0.5, -0.5]
    #   value  (0.5 - 1)^2 = 0.25
    #   policy -log softmax([0.5, -0.5])[0] = log(1 + e^-1) = 0.3132617
    # k = 1: s_1 = 1 * 0.5 + 1 * action 1 = 1.5, r^1 = 1.5, v^1 = 1.5, logits [1.5, -1.5]
    #   value  (1.5 - 0)^2 = 2.25,  reward (1.5 - 1)^2 = 0.25
    #   policy -0.5 log p_0 - 0.5 log p_1 with log p_0 = -log(1 + e^-3) = -0.0485874,
    #          log p_1 = -3 - 0.0485874  ->  0.5 * 0.0485874 + 0.5 * 3.0485874 = 1.5485874
    # the number does not show the 1/K (it scales only the gradient; K = 1 here anyway)
    policy = math.log(1 + math.exp(-1)) + 0.5 * math.log(1 + math.exp(-3)) * 2 + 0.5 * 3
    assert out.value.item() == pytest.approx(0.25 + 2.25)
    assert out.reward.item() == pytest.approx(0.25)
    assert out.policy.item() == pytest.approx(policy)
    assert policy == pytest.approx(0.3132617 + 1.5485874)
    assert out.total.item() == pytest.approx(2.5 + 0.25 + 1.8618491)
    # priority |v^0 - z_0| = |0.5 - 1| = 0.5
    assert out.new_priorities.tolist() == pytest.approx([0.5])
    assert out.value_spread.item() == 0.0  # one sample: nothing to spread
    assert not out.new_priorities.requires_grad and not out.value.requires_grad


def reference_loss(network: LinearToy, batch: Batch) -> float:
    """The same loss in plain Python floats: no autograd, no gradient tricks, no vectors.

    Sum over k of value + reward (k >= 1) + masked policy loss, times the sample's
    importance weight, averaged over the batch.
    """
    w = {name: p.detach().tolist() for name, p in network.named_parameters()}
    size, unroll = batch.actions.shape
    total = 0.0
    for b in range(size):
        s = w["w_r"] * batch.observations[b, 0].item()
        sample = 0.0
        for k in range(unroll + 1):
            if k > 0:
                s = w["w_d"] * s + w["w_a"] * batch.actions[b, k - 1].item()
                sample += (w["w_rew"] * s - batch.target_rewards[b, k].item()) ** 2
            sample += (w["w_v"] * s - batch.target_values[b, k].item()) ** 2
            logits = [s * p for p in w["w_p"]]
            log_z = math.log(sum(math.exp(x) for x in logits))
            target = batch.target_policies[b, k].tolist()
            cross_entropy = -sum(pi * (x - log_z) for pi, x in zip(target, logits, strict=True))
            sample += batch.policy_mask[b, k].item() * cross_entropy
        total += batch.weights[b].item() * sample
    return total / size


def fixed_batch(**changes) -> Batch:
    """B = 2, K = 2, A = 3; sample 1's last step is past the end of its game (mask 0)."""
    batch = make_batch(
        observations=[[1.0], [-2.0]],
        actions=[[0, 2], [1, 1]],
        values=[[0.5, -0.2, 0.1], [1.0, 0.0, 0.0]],
        rewards=[[0.0, 0.3, -0.1], [0.0, 1.0, 0.0]],
        policies=[
            [[0.2, 0.5, 0.3], [1.0, 0.0, 0.0], [0.1, 0.1, 0.8]],
            [[0.0, 0.5, 0.5], [0.6, 0.4, 0.0], [0.0, 0.0, 0.0]],
        ],
        mask=[[1, 1, 1], [1, 1, 0]],
        weights=[1.0, 0.6],
    )
    return replace(batch, **changes)


def test_b2_k2_loss_matches_a_plain_python_reimplementation():
    network = LinearToy()
    batch = fixed_batch()
    out = unrolled_loss(network, batch)
    assert isinstance(out, LossOutput)
    assert out.total.item() == pytest.approx(reference_loss(network, batch), rel=1e-6)
    parts = out.value + out.reward + out.policy
    assert out.total.item() == pytest.approx(parts.item(), rel=1e-6)
    # priorities |v^0 - z_0|: v^0 = 1.2 * 0.5 * o = [0.6, -1.2]  ->  [|0.6 - 0.5|, |-1.2 - 1|]
    assert out.new_priorities.tolist() == pytest.approx([0.1, 2.2], rel=1e-6)
    # value_spread: the standard deviation of v^0 over the batch, around its mean -0.3: 0.9
    assert out.value_spread.item() == pytest.approx(0.9, rel=1e-6)
    assert not out.value_spread.requires_grad


def test_loss_weights_scale_their_parts():
    network, batch = LinearToy(), fixed_batch()
    plain = unrolled_loss(network, batch)
    reanalyze = unrolled_loss(network, batch, value_loss_weight=0.25, reward_loss_weight=0.0)
    assert reanalyze.value.item() == pytest.approx(0.25 * plain.value.item(), rel=1e-6)
    assert reanalyze.reward.item() == 0.0
    assert reanalyze.policy.item() == pytest.approx(plain.policy.item(), rel=1e-6)


def test_policy_loss_is_masked_past_the_end_of_the_game():
    network = LinearToy()
    # sample 1, step 2 has mask 0: whatever policy target sits there changes nothing
    one = fixed_batch()
    policies = one.target_policies.clone()
    policies[1, 2] = torch.tensor([0.0, 0.0, 1.0])
    other = fixed_batch(target_policies=policies)
    assert unrolled_loss(network, one).total.item() == unrolled_loss(network, other).total.item()
    # ... and with the mask set to 1 that target counts again
    unmasked = fixed_batch(target_policies=policies, policy_mask=torch.ones(2, 3))
    difference = unrolled_loss(network, unmasked).policy - unrolled_loss(network, other).policy
    # the extra term: weight 0.6 * CE([0, 0, 1], logits of s_2 of sample 1) / B = 2
    s = 0.5 * -2.0  # s_0 = -1
    s = 0.8 * s + 0.3 * 1  # s_1 = -0.5
    s = 0.8 * s + 0.3 * 1  # s_2 = -0.1
    logits = [s * 1.0, s * -0.5, s * 0.2]
    cross_entropy = -(logits[2] - math.log(sum(math.exp(x) for x in logits)))
    assert difference.item() == pytest.approx(0.6 * cross_entropy / 2, rel=1e-5)


def test_importance_weights_scale_each_samples_loss():
    network = LinearToy()
    batch = fixed_batch(weights=torch.ones(2))

    def single(row: int) -> float:  # the loss of one sample alone, weight 1
        rows = slice(row, row + 1)
        alone = Batch(**{name: getattr(batch, name)[rows] for name in batch.__dataclass_fields__})
        return unrolled_loss(network, alone).total.item()

    first, second = single(0), single(1)
    assert unrolled_loss(network, batch).total.item() == pytest.approx((first + second) / 2)
    weighted = unrolled_loss(network, fixed_batch(weights=torch.tensor([0.5, 1.0])))
    # mean of 0.5 * L_0 and 1.0 * L_1
    assert weighted.total.item() == pytest.approx((0.5 * first + second) / 2, rel=1e-6)


def test_policy_loss_is_the_cross_entropy_with_the_visit_distribution():
    # logits [0, ln 3]: softmax = [1/4, 3/4];  CE with [0.5, 0.5] = -0.5 ln(1/4) - 0.5 ln(3/4)
    loss = policy_loss(torch.tensor([[0.0, math.log(3)]]), torch.tensor([[0.5, 0.5]]))
    assert loss.item() == pytest.approx(0.5 * math.log(4) + 0.5 * math.log(4 / 3))


# ---------------------------------------------------------------------------- gradient scale


class ChainToy(nn.Module):
    """s_0 = theta * o, s_k = 3 s_{k-1}, v = s; no reward, constant policy (no gradient)."""

    support_size = 0

    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(1.0))

    def _predict(self, latent: Tensor) -> ToyOutput:
        size = len(latent)
        return ToyOutput(latent[:, 0], torch.zeros(size), torch.zeros(size, 2), latent)

    def initial_inference(self, observation: Tensor) -> ToyOutput:
        return self._predict(self.theta * observation)

    def recurrent_inference(self, latent: Tensor, action: Tensor) -> ToyOutput:
        return self._predict(3.0 * latent)


@pytest.mark.parametrize(
    ("step", "expected_gradient"),
    [
        # d/dtheta of the step-k value loss (v_k - z_k)^2 with v_k = 3^k theta o, o = theta = 1,
        # and a residual v_k - z_k = 1: unscaled 2 * 1 * 3^k.
        # Scaled: halved once per dynamics step on the way back (0.5^k), and 1/K (K = 3)
        # for k >= 1:  2 * 3^k * 0.5^k / 3
        (0, 2.0),  # k = 0: no scaling,     2 * 1
        (1, 1.0),  # 2 * 3 * 0.5 / 3       = 1
        (2, 1.5),  # 2 * 9 * 0.25 / 3      = 1.5
        (3, 2.25),  # 2 * 27 * 0.125 / 3   = 2.25
    ],
)
def test_gradient_into_the_representation_is_halved_per_unroll_step(step, expected_gradient):
    unroll = 3
    targets = [3.0**k for k in range(unroll + 1)]  # v_k exactly: zero loss ...
    targets[step] -= 1.0  # ... except at `step`, where v - z = 1
    batch = make_batch(
        observations=[[1.0]], actions=[[0] * unroll], values=[targets],
        rewards=[[0.0] * (unroll + 1)], policies=[[[0.5, 0.5]] * (unroll + 1)],
    )  # fmt: skip
    network = ChainToy()
    unrolled_loss(network, batch).total.backward()
    assert network.theta.grad.item() == pytest.approx(expected_gradient)

    # the same with autograd and no tricks: the unscaled gradient, 2 * 3^k
    theta = torch.tensor(1.0, requires_grad=True)
    ((3.0**step * theta - targets[step]) ** 2).backward()
    unscaled = theta.grad.item()
    assert unscaled == pytest.approx(2 * 3.0**step)
    ratio = 1.0 if step == 0 else 0.5**step / unroll
    assert network.theta.grad.item() == pytest.approx(ratio * unscaled)


def test_loss_value_and_gradient_without_unrolling():
    network = ChainToy()
    batch = make_batch([[2.0]], [[]], [[1.0]], [[0.0]], [[[0.5, 0.5]]])
    out = unrolled_loss(network, batch)
    # v = 2, z = 1: value 1; policy CE of uniform logits = ln 2
    assert out.total.item() == pytest.approx(1.0 + math.log(2))
    out.total.backward()
    assert network.theta.grad.item() == pytest.approx(2 * 1.0 * 2.0)  # 2 (v - z) * o


# ------------------------------------------------------------------------ categorical heads


class CategoricalToy(nn.Module):
    """Fixed logits over the support -2..2 for value and reward; uniform policy over 2."""

    support_size = 2

    def __init__(self):
        super().__init__()
        # value: softmax([0, 0, 0, ln 3, ln 2]) = [1, 1, 1, 3, 2] / 8
        self.value_logits = nn.Parameter(torch.tensor([1.0, 1.0, 1.0, 3.0, 2.0]).log())
        # reward: softmax([0, 0, ln 6, 0, 0]) = [1, 1, 6, 1, 1] / 10
        self.reward_logits = nn.Parameter(torch.tensor([1.0, 1.0, 6.0, 1.0, 1.0]).log())

    def _predict(self, latent: Tensor, with_reward: bool) -> ToyOutput:
        size = len(latent)
        return ToyOutput(
            value=torch.full((size,), 0.5),  # the decoded scalar: only priorities read it
            reward=torch.zeros(size),
            policy_logits=torch.zeros(size, 2),
            latent=latent,
            value_logits=self.value_logits.expand(size, 5),
            reward_logits=self.reward_logits.expand(size, 5) if with_reward else None,
        )

    def initial_inference(self, observation: Tensor) -> ToyOutput:
        return self._predict(observation, with_reward=False)

    def recurrent_inference(self, latent: Tensor, action: Tensor) -> ToyOutput:
        return self._predict(latent, with_reward=True)


def test_categorical_loss_is_the_cross_entropy_with_the_two_hot_of_h():
    batch = make_batch(
        observations=[[0.0]], actions=[[0]], values=[[3.0, 0.0]], rewards=[[0.0, 0.0]],
        policies=[[[0.5, 0.5], [0.5, 0.5]]],
    )  # fmt: skip
    out = unrolled_loss(CategoricalToy(), batch)
    # value k = 0: h(3) = sign(3) (sqrt(3 + 1) - 1) + 0.001 * 3 = 1 + 0.003 = 1.003
    #   two-hot over -2..2: 0.997 on bin "1" (index 3), 0.003 on bin "2" (index 4)
    #   CE = -0.997 ln(3/8) - 0.003 ln(2/8) = 0.997 * 0.9808293 + 0.003 * 1.3862944 = 0.9820456
    value_0 = -0.997 * math.log(3 / 8) - 0.003 * math.log(2 / 8)
    assert value_0 == pytest.approx(0.9820456, abs=1e-7)
    # value k = 1: h(0) = 0 -> all mass on bin "0" (index 2): CE = -ln(1/8) = 2.0794415
    assert out.value.item() == pytest.approx(value_0 + math.log(8), rel=1e-6)
    # reward k = 1: h(0) = 0 -> bin "0": CE = -ln(6/10) = 0.5108256
    assert out.reward.item() == pytest.approx(-math.log(0.6), rel=1e-6)
    # policy: uniform logits vs uniform target, ln 2 per step, two steps
    assert out.policy.item() == pytest.approx(2 * math.log(2), rel=1e-6)
    # priority: |decoded v^0 - z_0| = |0.5 - 3| = 2.5
    assert out.new_priorities.tolist() == pytest.approx([2.5])


def test_value_or_reward_loss_on_its_own():
    # scalar heads: squared error, per sample: (0.5 - 1)^2, (-1 - 1)^2
    prediction, target = torch.tensor([0.5, -1.0]), torch.tensor([1.0, 1.0])
    mse = value_or_reward_loss(prediction, None, target, support_size=0, eps=0.001)
    assert mse.tolist() == [0.25, 4.0]
    # categorical, S = 1: h(0) = 0 -> one-hot on the middle bin; uniform logits: CE = ln 3
    logits = torch.zeros(1, 3)
    ce = value_or_reward_loss(torch.zeros(1), logits, torch.zeros(1), support_size=1, eps=0.001)
    assert ce.item() == pytest.approx(math.log(3))
    with pytest.raises(ValueError, match="returned no logits"):
        value_or_reward_loss(torch.zeros(1), None, torch.zeros(1), support_size=1, eps=0.001)


def test_categorical_heads_need_logits():
    class NoLogits(CategoricalToy):
        def initial_inference(self, observation):
            return replace(super().initial_inference(observation), value_logits=None)

    batch = make_batch([[0.0]], [[]], [[3.0]], [[0.0]], [[[0.5, 0.5]]])
    with pytest.raises(ValueError, match="value_logits of shape None"):
        unrolled_loss(NoLogits(), batch)


# ----------------------------------------------------------------------------- bad input


def test_unrolled_loss_rejects_bad_batches_networks_and_weights():
    network, batch = LinearToy(), fixed_batch()
    numpy_batch = replace(batch, weights=np.ones(2, dtype=np.float32))
    with pytest.raises(TypeError, match=r"batch.weights must be a torch.Tensor"):
        unrolled_loss(network, numpy_batch)
    with pytest.raises(ValueError, match="batch.actions must be int64"):
        unrolled_loss(network, replace(batch, actions=batch.actions.float()))
    with pytest.raises(ValueError, match=r"batch.target_policies must be \[B, K\+1, A\]"):
        unrolled_loss(network, replace(batch, target_policies=torch.zeros(2, 3)))
    with pytest.raises(ValueError, match=r"batch.target_values must have shape \[2, 3\]"):
        unrolled_loss(network, replace(batch, target_values=torch.zeros(2, 4)))
    with pytest.raises(ValueError, match=r"batch.weights must have shape \[2\]"):
        unrolled_loss(network, replace(batch, weights=torch.ones(2, 1)))
    with pytest.raises(ValueError, match=r"batch.observations must have shape \[B, ...\]"):
        unrolled_loss(network, replace(batch, observations=torch.zeros(3, 1)))
    with pytest.raises(ValueError, match="value_loss_weight must be a finite float >= 0"):
        unrolled_loss(network, batch, value_loss_weight=-1.0)
    with pytest.raises(TypeError, match="eps must be a float"):
        unrolled_loss(network, batch, eps=None)


def test_unrolled_loss_rejects_networks_without_the_interface():
    batch = fixed_batch()

    class NoSupport:
        pass

    with pytest.raises(TypeError, match="network.support_size must be an int >= 0"):
        unrolled_loss(NoSupport(), batch)

    class PlainObject:  # not an nn.Module: the interface is all the loss needs
        support_size = 0

        def __init__(self):
            self.toy = LinearToy()

        def initial_inference(self, observation):
            return self.toy.initial_inference(observation)

        def recurrent_inference(self, latent, action):
            return self.toy.recurrent_inference(latent, action)

    assert unrolled_loss(PlainObject(), batch).total.item() > 0

    class ColumnValue(LinearToy):  # value [B, 1] would broadcast to [B, B] against [B]
        def recurrent_inference(self, latent, action):
            out = super().recurrent_inference(latent, action)
            return replace(out, value=out.value[:, None])

    with pytest.raises(ValueError, match=r"recurrent_inference \(step 1\) returned value"):
        unrolled_loss(ColumnValue(), batch)
