"""MuZero Reanalyze: fresh training targets for stored games from the latest network.

Paper: Schrittwieser et al. 2020, Appendix H "Reanalyze". Self-play stores each position's
search policy ``pi_t`` and search value ``nu_t`` once, made by whatever network was current
then. As the network improves, those targets go stale. Reanalyze revisits sampled positions
with the *latest* network and remakes their targets:

* **policy** (for a fraction of the samples, 80% in the paper): re-run the search from the
  stored observation ``o_{t+k}`` and use its normalised visit counts as the new ``pi_{t+k}``;
* **value** (for every sample): bootstrap the n-step return from the latest network's value
  of the stored observation ``n`` steps later, instead of the stale stored ``nu``::

      z_i = sum_{j < n, i+j < T} gamma^j s(i, i+j) u_{i+j+1}
            + [i+n < T] gamma^n s(i, i+n) v_fresh(o_{i+n})

  with ``s`` the two-player sign of ``replay.n_step_value`` (+1 when the same player is to
  move, else -1; always +1 in one-player games), and 0 past the end of the game. The sum is
  the replay's own ``batch_targets`` with the fresh values in place of ``nu``: one rule.

The paper takes ``v`` from a *target network*, a copy with "recent parameters" θ⁻ that is
refreshed now and then for stable targets. Here θ⁻ is the latest network itself, as if the
copy were refreshed every step. A slower copy would need a second network argument for the
values (the search keeps the latest); that is not built or measured here.

The paper pairs this with ``n = 5`` and a value loss weight of 0.25 (the fresh targets are
sampled more often than new data, so the value head overfits them otherwise);
``paper_reanalyze_config`` sets those three numbers on a config.

Everything is batched: one ``initial_inference`` for all bootstrap observations, one
``run_search`` for all re-searched positions. The roots are masked with the legal moves the
replay stored with each step.

    batch = buffer.sample(cfg.batch_size, cfg.num_unroll_steps, rng=rng)
    batch = reanalyze_batch(batch, buffer, network, cfg, fraction=0.8, td_steps=5,
                            rng=rng, generator=generator, two_player=False)
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np
import torch

from muzero_lite.checks import check_int, check_rng
from muzero_lite.config import MuZeroConfig
from muzero_lite.networks import MuZeroNetwork
from muzero_lite.planning import run_search, search_config
from muzero_lite.replay import Batch, ReplayBuffer, batch_targets

__all__ = [
    "PAPER_REANALYZE_FRACTION",
    "PAPER_TD_STEPS",
    "PAPER_VALUE_LOSS_WEIGHT",
    "choose_samples",
    "paper_reanalyze_config",
    "reanalyze_batch",
]

# Paper, Appendix H: "fresh policy targets for 80% of samples", n = 5, value loss weight 0.25.
PAPER_REANALYZE_FRACTION = 0.8
PAPER_TD_STEPS = 5
PAPER_VALUE_LOSS_WEIGHT = 0.25

def paper_reanalyze_config(config: MuZeroConfig) -> MuZeroConfig:
    """``config`` with the paper's Reanalyze settings (Appendix H): fraction 0.8, n = 5, and
    value loss weight 0.25."""
    if not isinstance(config, MuZeroConfig):
        raise TypeError(f"config must be a MuZeroConfig, got {type(config).__name__}")
    return config.replace(
        reanalyze_fraction=PAPER_REANALYZE_FRACTION,
        td_steps=PAPER_TD_STEPS,
        value_loss_weight=PAPER_VALUE_LOSS_WEIGHT,
    )


def choose_samples(batch_size: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The rows to re-search: exactly ``floor(fraction * batch_size + 0.5)`` distinct rows
    (rounded half up), drawn uniformly, sorted.

    A fixed count rather than a coin flip per row: every batch gets the same share of fresh
    targets, so the loss does not swing with the draw, and a test can count them.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    fraction = _check_fraction(fraction)
    check_rng(rng)
    count = math.floor(fraction * batch_size + 0.5)
    return np.sort(rng.choice(batch_size, size=count, replace=False)).astype(np.int64)


def reanalyze_batch(
    batch: Batch,
    buffer: ReplayBuffer,
    network: MuZeroNetwork,
    config: MuZeroConfig,
    fraction: float,
    td_steps: int,
    rng: np.random.Generator,
    generator: torch.Generator | None,
    two_player: bool,
    *,
    noise: bool = False,
) -> Batch:
    """A copy of ``batch`` (numpy, from ``buffer.sample``) with Reanalyze targets.

    * ``target_policies``: for ``choose_samples(B, fraction, rng)`` rows, every unrolled step
      ``k`` whose position ``t + k`` lies inside its game is re-searched (one batched
      ``run_search`` with ``config``'s search settings, the root masked with the stored
      legal moves) and gets the normalised visit counts. Other rows, and steps past the end
      (zeros, ``policy_mask`` 0), are kept.
    * ``target_values``: for every row, the n-step return (``n = td_steps``,
      ``gamma = config.discount``) bootstrapped from ``network``'s value of the stored
      observation ``n`` steps later (module docstring); 0 past the end.

    Everything else (observations, actions, reward targets, mask, weights, indices) is kept.

    noise: mix Dirichlet noise into the root prior as self-play does (``generator`` feeds it).
        The trainer passes ``config.reanalyze_noise``, on in every preset: without it the
        re-searched CartPole policies collapsed to one action (config.py says more). Off when
        not given, so that a call on its own returns the search's plain estimate.

    The network runs in eval mode (BatchNorm uses its running statistics and does not update
    them from these batches) and is put back into the mode it was in.
    """
    _check_batch(batch)
    _check_args(network, config, td_steps, generator, two_player, noise, batch)
    fraction = _check_fraction(fraction)
    check_rng(rng)
    steps = _stored_steps(batch, buffer)
    num_rows, num_steps = batch.target_values.shape  # B, K + 1
    columns = buffer.columns()

    was_training = network.training
    network.eval()
    try:
        values = _fresh_value_targets(buffer, steps, num_steps - 1, td_steps, config.discount,
                                      network)
        chosen = choose_samples(num_rows, fraction, rng)
        # Every (row, k) of a chosen row whose position t + k is a real stored position.
        grid = columns.walk(steps[chosen], num_steps)  # [C, K+1] global steps, -1 past the end
        rows, ks = np.nonzero(grid >= 0)
        policies = batch.target_policies.copy()
        if len(rows):
            searched = grid[rows, ks]
            settings = search_config(config, two_player, noise)
            result = run_search(network, buffer.observations(searched),
                                buffer.legal_masks(searched), settings, generator)
            counts = result.visit_counts.cpu().to(torch.float64)
            fresh = (counts / counts.sum(dim=1, keepdim=True)).numpy()
            policies[chosen[rows], ks] = fresh
    finally:
        network.train(was_training)
    return dataclasses.replace(batch, target_values=values, target_policies=policies)


# --------------------------------------------------------------------------------------
# The value targets: n-step returns bootstrapped from the latest network.
# --------------------------------------------------------------------------------------


@torch.inference_mode()
def _fresh_value_targets(
    buffer: ReplayBuffer,
    steps: np.ndarray,
    num_unroll_steps: int,
    td_steps: int,
    discount: float,
    network: MuZeroNetwork,
) -> np.ndarray:
    """``[B, K+1]`` float32 value targets; one network call for all bootstrap positions."""
    device = next(network.parameters()).device

    def fresh_values(bootstrap_steps: np.ndarray) -> np.ndarray:
        observations = torch.as_tensor(buffer.observations(bootstrap_steps), device=device)
        return network.initial_inference(observations).value.cpu().double().numpy()

    # The random actions past the end are not used here: a private generator draws them.
    targets = batch_targets(buffer.columns(), steps, num_unroll_steps, td_steps, discount,
                            np.random.default_rng(0), bootstrap_values=fresh_values)
    return targets.values


# --------------------------------------------------------------------------------------
# Argument checks: all of them run before anything changes.
# --------------------------------------------------------------------------------------


def _check_fraction(fraction: object) -> float:
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"fraction must be a number in [0, 1], got {type(fraction).__name__}")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must be in [0, 1] (paper: 0.8), got {fraction}")
    return float(fraction)


def _check_batch(batch: object) -> None:
    if not isinstance(batch, Batch):
        raise TypeError(f"batch must be a replay.Batch, got {type(batch).__name__}")
    for field in dataclasses.fields(batch):
        if not isinstance(getattr(batch, field.name), np.ndarray):
            raise TypeError(
                f"batch.{field.name} must be a numpy array: reanalyse the batch before "
                f"batch.to_torch()"
            )
    rows, steps = batch.target_values.shape if batch.target_values.ndim == 2 else (-1, -1)
    if (
        rows < 1
        or batch.target_policies.shape[:2] != (rows, steps)
        or batch.target_policies.ndim != 3
        or batch.indices.shape != (rows, 2)
    ):
        raise ValueError(
            f"batch must have target_values [B, K+1], target_policies [B, K+1, A] and "
            f"indices [B, 2], got {batch.target_values.shape}, {batch.target_policies.shape} "
            f"and {batch.indices.shape}"
        )


def _check_args(
    network: object,
    config: object,
    td_steps: object,
    generator: object,
    two_player: object,
    noise: object,
    batch: Batch,
) -> None:
    if not isinstance(network, MuZeroNetwork):
        raise TypeError(f"network must be a MuZeroNetwork, got {type(network).__name__}")
    num_actions = batch.target_policies.shape[2]
    if network.action_space_size != num_actions:
        raise ValueError(
            f"network must have the batch's {num_actions} actions, "
            f"got action_space_size {network.action_space_size}"
        )
    if not isinstance(config, MuZeroConfig):
        raise TypeError(f"config must be a MuZeroConfig, got {type(config).__name__}")
    check_int("td_steps", td_steps, minimum=0)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__}"
        )
    for name, flag in (("two_player", two_player), ("noise", noise)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")


def _stored_steps(batch: Batch, buffer: ReplayBuffer) -> np.ndarray:
    """The global step of every row; a row whose step was overwritten is an error."""
    if not isinstance(buffer, ReplayBuffer):
        raise TypeError(f"buffer must be a ReplayBuffer, got {type(buffer).__name__}")
    steps = batch.indices[:, 1].astype(np.int64)
    gone = ~buffer.stored(steps)
    if gone.any():
        row = int(np.flatnonzero(gone)[0])
        raise ValueError(
            f"batch.indices row {row}: step {steps[row]} of game {batch.indices[row, 0]} is not "
            f"in the buffer (overwritten since sampling?); reanalyse a batch right after "
            f"sampling it")
    return steps
