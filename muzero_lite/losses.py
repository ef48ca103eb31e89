"""The unrolled K-step MuZero loss, with the paper's two gradient-scaling tricks.

Paper: Schrittwieser et al. 2020, Appendix G "Training", and the pseudocode's
``update_weights``. From a sampled position ``t`` the model is unrolled ``K`` steps along
the actions really taken (random ones past the end of the game)::

    out_0 = initial_inference(o_t)                         # representation + prediction
    out_k = recurrent_inference(latent_{k-1}, a_{t+k-1})   # dynamics + prediction, k = 1..K

and every step's predictions are compared with the targets ``replay.make_targets`` built::

    l_k = value_loss_weight  * l^v(z_{t+k}, v^k)
        + reward_loss_weight * l^r(u_{t+k}, r^k)          (k >= 1 only)
        + policy_mask_k      * l^p(pi_{t+k}, p^k)

Two gradient scalings keep the learning signal balanced (Appendix G):

* the loss of each unrolled step ``k >= 1`` has its *gradient* scaled by ``1/K``, so the
  total gradient does not grow with the unroll length;
* the hidden state's gradient is halved "at the start of the dynamics function", so the
  total gradient reaching the dynamics function stays constant however far it is unrolled.

Both use ``scale_gradient``, which leaves the forward value alone.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from muzero_lite.replay import Batch
from muzero_lite.support import h, scalar_to_support


def scale_gradient(x: Tensor, scale: float) -> Tensor:
    """Identity on the forward pass; multiplies the gradient flowing back by ``scale``.

    ``x * scale + x.detach() * (1 - scale)`` equals ``x`` in value, but only the first term
    carries a gradient (pseudocode ``scale_gradient``).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(f"scale must be a float, got {type(scale).__name__}")
    return x * scale + x.detach() * (1 - scale)


def value_or_reward_loss(
    prediction: Tensor, logits: Tensor | None, target: Tensor, support_size: int, eps: float
) -> Tensor:
    """Per-sample loss of a value or reward head, shape ``[B]``.

    Scalar heads (``support_size == 0``): squared error ``(prediction - target)^2`` (the
    pseudocode's ``scalar_loss`` for board games). Categorical heads: cross-entropy between
    the two-hot encoding of ``h(target)`` over ``-S..S`` and ``softmax(logits)``
    (paper Appendix F: Atari value and reward heads, ``h`` with ``eps = 0.001``).
    """
    if support_size == 0:
        return (prediction - target) ** 2
    if logits is None:
        raise ValueError("network.support_size > 0 but the network returned no logits")
    target_probs = scalar_to_support(h(target, eps), support_size)
    return -(target_probs * F.log_softmax(logits, dim=-1)).sum(-1)


def policy_loss(logits: Tensor, target_policy: Tensor) -> Tensor:
    """Per-sample cross-entropy ``-sum_a pi(a) log softmax(p)(a)``, shape ``[B]``."""
    return -(target_policy * F.log_softmax(logits, dim=-1)).sum(-1)


@dataclass(frozen=True)
class LossOutput:
    """What one call of ``unrolled_loss`` returns.

    ``total`` is the tensor to ``backward()``. Its *number* is the batch mean, weighted by
    the importance weights, of the plain sum over all ``K + 1`` steps of every loss term
    (plus ``l2``). The ``1/K`` of the steps ``k >= 1`` scales only their gradient, as in
    the pseudocode, so it does not show in the number: the gradient of ``total`` is the
    gradient of ``mean_b w_b (l_0 + (1/K) sum_{k>=1} l_k)``.

    ``value + reward + policy == total`` (the parts are detached 0-d tensors, so
    logging them costs no device sync until you call ``.item()``).
    ``new_priorities`` is ``|v^0 - z_0|`` per sample, ``[B]`` detached, for
    ``ReplayBuffer.update_priorities`` (paper Appendix G).
    ``value_spread`` is the standard deviation of ``v^0`` over the batch, detached: next to
    nothing while the targets differ means the value head no longer tells positions apart.
    """

    total: Tensor
    value: Tensor
    reward: Tensor
    policy: Tensor
    new_priorities: Tensor
    value_spread: Tensor


def _check_weight(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not (math.isfinite(float(value)) and value >= 0):
        raise ValueError(f"{name} must be a finite float >= 0, got {value}")
    return float(value)


def _check_batch(batch: Batch) -> tuple[int, int, int]:
    """Shapes of a torch batch; returns ``(B, K, A)``."""
    for name in (
        "observations",
        "actions",
        "target_values",
        "target_rewards",
        "target_policies",
        "policy_mask",
        "weights",
    ):
        if not isinstance(getattr(batch, name, None), Tensor):
            raise TypeError(f"batch.{name} must be a torch.Tensor (call batch.to_torch(device))")
    if batch.actions.dim() != 2 or batch.actions.dtype != torch.int64:
        raise ValueError(
            f"batch.actions must be int64 [B, K], got {batch.actions.dtype} "
            f"{tuple(batch.actions.shape)}"
        )
    size, unroll = batch.actions.shape
    if batch.target_policies.dim() != 3:
        raise ValueError(
            f"batch.target_policies must be [B, K+1, A], got {tuple(batch.target_policies.shape)}"
        )
    num_actions = batch.target_policies.shape[2]
    expected = {
        "observations": (size,),
        "target_values": (size, unroll + 1),
        "target_rewards": (size, unroll + 1),
        "target_policies": (size, unroll + 1, num_actions),
        "policy_mask": (size, unroll + 1),
        "weights": (size,),
    }
    for name, shape in expected.items():
        actual = tuple(getattr(batch, name).shape)
        if actual[: len(shape)] != shape or (name != "observations" and len(actual) != len(shape)):
            shown = "[B, ...]" if name == "observations" else list(shape)
            raise ValueError(f"batch.{name} must have shape {shown}, got {list(actual)}")
    return size, unroll, num_actions


def _check_output(out: Any, k: int, size: int, num_actions: int, support_size: int) -> None:
    """A wrong head shape would broadcast silently ([B, 1] - [B] is [B, B]): refuse it."""
    where = "initial_inference" if k == 0 else f"recurrent_inference (step {k})"
    shapes = {"value": [size], "policy_logits": [size, num_actions]}
    if k > 0:
        shapes["reward"] = [size]
    if support_size > 0:
        shapes["value_logits"] = [size, 2 * support_size + 1]
        if k > 0:
            shapes["reward_logits"] = [size, 2 * support_size + 1]
    for name, shape in shapes.items():
        tensor = getattr(out, name, None)
        if not isinstance(tensor, Tensor) or list(tensor.shape) != shape:
            got = list(tensor.shape) if isinstance(tensor, Tensor) else repr(tensor)
            raise ValueError(f"{where} returned {name} of shape {got}; the loss needs {shape}")


def unrolled_loss(
    network: Any,
    batch: Batch,
    value_loss_weight: float = 1.0,
    reward_loss_weight: float = 1.0,
    eps: float = 0.001,
) -> LossOutput:
    """The MuZero training loss of one batch (pseudocode ``update_weights``).

    Args:
        network: has ``initial_inference(obs)``, ``recurrent_inference(latent, action)``
            (both return a ``NetworkOutput``) and ``support_size`` (0 = scalar heads).
        batch: a ``replay.Batch`` of torch tensors (``Batch.to_torch``).
        value_loss_weight: 1 normally; 0.25 with Reanalyze (paper Appendix H).
        reward_loss_weight: 1 normally; 0 for board games, which have no
            intermediate rewards to learn (the final outcome sits in the value).
        eps: of the value transform ``h`` for categorical heads (paper: 0.001).

    The pseudocode's L2 term, ``weight_decay * tf.nn.l2_loss(theta)``, is not here: it is
    the optimizer's ``weight_decay`` (SGD's ``weight_decay=lambda`` is the gradient of
    ``(lambda / 2) ||theta||^2``, which is exactly ``tf.nn.l2_loss``'s).

    Unroll, per Appendix G: before each dynamics step the latent passes through
    ``scale_gradient(latent, 0.5)``, so what reaches the representation from step ``k``
    is halved ``k`` times. (The pseudocode halves *after* each recurrent step instead,
    which leaves the very first dynamics input unscaled; the forward values agree.)
    Each sample's loss is multiplied by its importance weight, then averaged over the batch.
    """
    value_loss_weight = _check_weight("value_loss_weight", value_loss_weight)
    reward_loss_weight = _check_weight("reward_loss_weight", reward_loss_weight)
    eps = _check_weight("eps", eps)
    support_size = getattr(network, "support_size", None)
    if isinstance(support_size, bool) or not isinstance(support_size, int) or support_size < 0:
        raise TypeError(f"network.support_size must be an int >= 0, got {support_size!r}")
    size, unroll, num_actions = _check_batch(batch)

    def step_losses(out: Any, k: int) -> tuple[Tensor, Tensor, Tensor]:
        """Value, reward and policy loss of unrolled step ``k``, each ``[B]``."""
        _check_output(out, k, size, num_actions, support_size)
        value = value_loss_weight * value_or_reward_loss(
            out.value, out.value_logits, batch.target_values[:, k], support_size, eps
        )
        if k == 0:  # initial_inference predicts no reward: nothing to learn at k = 0
            reward = torch.zeros_like(value)
        else:
            reward = reward_loss_weight * value_or_reward_loss(
                out.reward, out.reward_logits, batch.target_rewards[:, k], support_size, eps
            )
        policy = batch.policy_mask[:, k] * policy_loss(
            out.policy_logits, batch.target_policies[:, k]
        )
        return value, reward, policy

    out = network.initial_inference(batch.observations)
    value_sum, reward_sum, policy_sum = step_losses(out, 0)
    new_priorities = (out.value.detach() - batch.target_values[:, 0]).abs()
    value_spread = out.value.detach().std(correction=0)
    latent = out.latent
    for k in range(1, unroll + 1):
        latent = scale_gradient(latent, 0.5)  # Appendix G: halve the gradient into g
        out = network.recurrent_inference(latent, batch.actions[:, k - 1])
        latent = out.latent
        # 1/K on this step's gradient only (pseudocode: scale_gradient(l, 1 / len(actions))).
        value, reward, policy = (scale_gradient(loss, 1.0 / unroll) for loss in step_losses(out, k))
        value_sum = value_sum + value
        reward_sum = reward_sum + reward
        policy_sum = policy_sum + policy

    def weighted_mean(per_sample: Tensor) -> Tensor:
        return (batch.weights * per_sample).mean()

    value_part = weighted_mean(value_sum)
    reward_part = weighted_mean(reward_sum)
    policy_part = weighted_mean(policy_sum)
    total = value_part + reward_part + policy_part
    return LossOutput(
        total=total,
        value=value_part.detach(),
        reward=reward_part.detach(),
        policy=policy_part.detach(),
        new_priorities=new_priorities,
        value_spread=value_spread,
    )
