"""Training targets: the readable one-position reference and the fast batched path.

For a sampled position ``t`` the learner unrolls the model ``K`` steps along the actions
really taken, and for every unrolled step ``k = 0..K`` (game position ``i = t + k``) needs
(paper Appendix G, pseudocode ``Game.make_target``):

* a value target ``z_i``: the n-step return bootstrapped from the search value ``nu_{i+n}``;
* a reward target ``u_i``: the reward observed on the transition into position ``i``;
* a policy target ``pi_i``: the root visit distribution of the search at ``i``.

Past the end of a game the model sits in an *absorbing state*: value 0, reward 0, and no
policy loss (``policy_mask`` 0); the actions taken there are drawn at random.

``make_targets`` writes these formulas out for one position of one ``Trajectory``: it is
what chapter 05 teaches, and the reference. ``batch_targets`` computes the same numbers for
a whole batch at once over a ``[B, K+1]`` grid of positions in the replay's columns, with no
per-sample Python; ``tests/test_replay_columns.py`` checks that the two agree exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from muzero_lite.checks import check_float, check_int, check_rng
from muzero_lite.replay.trajectory import Trajectory

__all__ = ["StepColumns", "Targets", "batch_targets", "make_targets", "n_step_value"]


@dataclass(frozen=True)
class Targets:
    """Training targets for positions ``t`` unrolled ``K`` steps (numpy arrays).

    ``make_targets`` returns one position (shapes below); ``batch_targets`` the same fields
    with a leading batch axis ``B``. Entry ``k`` belongs to unrolled step ``k`` (position
    ``t + k``).
    """

    values: np.ndarray  # [K+1] float32: z_{t+k}
    rewards: np.ndarray  # [K+1] float32: u_{t+k}; entry 0 is 0 and unused
    policies: np.ndarray  # [K+1, A] float32: pi_{t+k}; zeros past the end
    policy_mask: np.ndarray  # [K+1] float32: 1 where t+k < T, else 0 (absorbing)
    actions: np.ndarray  # [K] int64: a_{t+k}, uniformly random past the end


# --------------------------------------------------------------------------------------
# The reference: one position of one trajectory, the formulas written out.
# --------------------------------------------------------------------------------------


def n_step_value(trajectory: Trajectory, position: int, td_steps: int, discount: float) -> float:
    """The value target ``z_i`` of one position ``i < T`` (pseudocode ``make_target``)::

        z_i = sum_{j < n, i+j < T} gamma^j * s(i, i+j) * u_{i+j+1}
              + [i+n < T] * gamma^n * s(i, i+n) * nu_{i+n}

    ``s(i, m)`` is +1 when the player to move at ``m`` is the one to move at ``i``, else -1:
    rewards and search values are stored from their own player's view, and in a two-player
    zero-sum game the opponent's gain is our loss. One-player games: always +1.

    With ``n >= T`` and ``gamma = 1`` (board games) no bootstrap is left, and ``z_i`` is the
    game's outcome from the view of the player to move at ``i``. When ``i + n >= T`` nothing
    is bootstrapped: a finished game has value 0 after its end, and a cut-off game stores
    nothing to bootstrap from, so the pseudocode treats it the same way.
    """
    _check_target_args(trajectory, 0, td_steps, discount)
    position = check_int("position", position, minimum=0)
    if position >= len(trajectory):
        raise ValueError(f"position must be in [0, {len(trajectory)}), got {position}")
    return _n_step_value(trajectory, position, td_steps, discount)


def _n_step_value(trajectory: Trajectory, position: int, td_steps: int, discount: float) -> float:
    """``n_step_value`` without the argument checks: the sum, one term at a time."""
    length, to_plays = len(trajectory), trajectory.to_plays
    me = to_plays[position]
    value = 0.0
    for j in range(td_steps):
        m = position + j
        if m >= length:
            break
        sign = 1.0 if to_plays[m] == me else -1.0
        value += discount**j * sign * float(trajectory.rewards[m])
    bootstrap = position + td_steps
    if bootstrap < length:
        sign = 1.0 if to_plays[bootstrap] == me else -1.0
        value += discount**td_steps * sign * float(trajectory.root_values[bootstrap])
    return value


def _check_target_args(
    trajectory: Trajectory,
    num_unroll_steps: int,
    td_steps: int,
    discount: float,
) -> tuple[int, int, float]:
    if not isinstance(trajectory, Trajectory):
        raise TypeError(f"trajectory must be a Trajectory, got {type(trajectory).__name__}")
    if len(trajectory) == 0:
        raise ValueError("trajectory is empty")
    return (
        check_int("num_unroll_steps", num_unroll_steps, minimum=0),
        check_int("td_steps", td_steps, minimum=0),
        check_float("discount", discount, 0.0, 1.0),
    )


def make_targets(
    trajectory: Trajectory,
    index: int,
    num_unroll_steps: int,
    td_steps: int,
    discount: float,
    action_space_size: int,
    rng: np.random.Generator,
) -> Targets:
    """Targets for unrolling ``K = num_unroll_steps`` steps from position ``t = index``.

    For ``i = t + k``, ``k = 0..K`` (``T = len(trajectory)``):

    * ``values[k]``   = ``z_i`` (``n_step_value``) if ``i < T``, else 0 (absorbing state);
    * ``rewards[k]``  = ``u_i`` = ``trajectory.rewards[i - 1]`` for ``k >= 1`` and
      ``i <= T``, else 0. Note ``i == T`` still has a reward: it is the last real
      transition (the winning move of a board game), as in the pseudocode;
    * ``policies[k]`` = ``pi_i`` and ``policy_mask[k]`` = 1 if ``i < T``, else zeros and 0;
    * ``actions[k]``  = ``a_i`` for ``k < K``; past the end (``i >= T``) a uniformly random
      action from ``rng``. The pseudocode's history slice simply runs out there; drawing
      random actions (as common implementations do) teaches the dynamics that every action
      from an absorbing state leads to value 0 and reward 0.
    """
    num_unroll_steps, td_steps, discount = _check_target_args(
        trajectory, num_unroll_steps, td_steps, discount
    )
    length = len(trajectory)
    index = check_int("index", index, minimum=0)
    if index >= length:
        raise ValueError(f"index must be in [0, {length}), got {index}")
    action_space_size = check_int("action_space_size", action_space_size, minimum=1)
    if action_space_size != trajectory.action_space_size:
        raise ValueError(
            f"action_space_size must match the trajectory's policies "
            f"({trajectory.action_space_size}), got {action_space_size}"
        )
    rng = check_rng(rng)

    values = np.zeros(num_unroll_steps + 1, dtype=np.float32)
    rewards = np.zeros(num_unroll_steps + 1, dtype=np.float32)
    policies = np.zeros((num_unroll_steps + 1, action_space_size), dtype=np.float32)
    policy_mask = np.zeros(num_unroll_steps + 1, dtype=np.float32)
    for k in range(num_unroll_steps + 1):
        i = index + k
        if i < length:
            values[k] = _n_step_value(trajectory, i, td_steps, discount)
            policies[k] = trajectory.policies[i]
            policy_mask[k] = 1.0
        if k >= 1 and i <= length:
            rewards[k] = trajectory.rewards[i - 1]

    # Real actions while inside the game, random ones in the absorbing state after it.
    actions = rng.integers(0, action_space_size, size=num_unroll_steps, dtype=np.int64)
    real = trajectory.actions[index : index + num_unroll_steps]
    actions[: len(real)] = real
    return Targets(values, rewards, policies, policy_mask, actions)


# --------------------------------------------------------------------------------------
# The fast path: a batch of positions in the replay's columns, as array arithmetic.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepColumns:
    """The per-step columns ``batch_targets`` reads, in a ring of ``capacity`` slots.

    Step ``g`` (a global step number, counted from the first step ever stored) lives in slot
    ``g % capacity``. Games arrive in chunks that interleave with other games' chunks, so the
    next step of the same game is found through ``next_steps`` rather than at ``g + 1``.
    """

    actions: np.ndarray  # [N] int64: a_g
    rewards: np.ndarray  # [N] float32: u_{g+1}, mover's view
    root_values: np.ndarray  # [N] float32: nu_g, view of the player to move at g
    policies: np.ndarray  # [N, A] float32: pi_g
    to_plays: np.ndarray  # [N] int8: player to move at g
    next_steps: np.ndarray  # [N] int64: global number of the game's next step; -1 after the last

    @property
    def capacity(self) -> int:
        return len(self.actions)

    def walk(self, steps: np.ndarray, length: int) -> np.ndarray:
        """``[B, length]`` global step numbers ``t, t+1, ...`` of each game; -1 past its end
        (or past the last step stored so far, for a game still being played)."""
        walk = np.full((len(steps), length), -1, dtype=np.int64)
        if length:
            walk[:, 0] = steps
        for d in range(1, length):
            here = walk[:, d - 1]
            walk[:, d] = np.where(here >= 0, self.next_steps[here % self.capacity], -1)
        return walk


def batch_targets(
    columns: StepColumns,
    steps: np.ndarray,
    num_unroll_steps: int,
    td_steps: int,
    discount: float,
    rng: np.random.Generator,
    bootstrap_values: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Targets:
    """``make_targets`` for ``B`` positions at once: fields get a leading ``B`` axis.

    ``steps[b]`` is the global step number of position ``t_b``. One walk of ``K + n`` links
    per position gives every step the targets need (``walk[b, d]`` = step ``t_b + d``, -1
    past the end), and each target is then one gather over the ``[B, K+1]`` grid. The value
    sums run over ``j`` in the same order as ``n_step_value`` (one vectorised term per ``j``),
    so the two agree to the last bit.

    ``bootstrap_values(steps) -> [M] float64``, given, replaces the stored search values
    ``nu`` at the bootstrap steps (Reanalyze: the latest network's values there).
    Random actions past the end are drawn as ``rng.integers(0, A, (B, K))``: the same
    numbers ``make_targets`` draws for the B positions one after another.
    """
    num_unroll_steps = check_int("num_unroll_steps", num_unroll_steps, minimum=0)
    td_steps = check_int("td_steps", td_steps, minimum=0)
    discount = check_float("discount", discount, 0.0, 1.0)
    rng = check_rng(rng)
    steps = np.asarray(steps, dtype=np.int64)
    assert steps.ndim == 1 and np.all(steps >= 0)
    capacity, num_actions = columns.capacity, columns.policies.shape[1]
    K = num_unroll_steps  # noqa: N806 - the paper's name

    walk = columns.walk(steps, K + td_steps + 1)
    grid = walk[:, : K + 1]  # step t + k, or -1 past the end
    inside = grid >= 0
    # Each column read once over the whole walk; the sums below take [B, K+1] windows of it.
    walked, walk_slots = walk >= 0, walk % capacity
    walk_plays = columns.to_plays[walk_slots]
    walk_rewards = columns.rewards[walk_slots].astype(np.float64)
    me = walk_plays[:, : K + 1]

    values = np.zeros(grid.shape, dtype=np.float64)
    for j in range(td_steps):
        window = slice(j, j + K + 1)
        sign = np.where(walk_plays[:, window] == me, 1.0, -1.0)
        term = discount**j * sign * walk_rewards[:, window]
        values += np.where(inside & walked[:, window], term, 0.0)
    bootstrap = walk[:, td_steps : td_steps + K + 1]
    bootstrapped = inside & (bootstrap >= 0)
    sign = np.where(walk_plays[:, td_steps : td_steps + K + 1] == me, 1.0, -1.0)
    nu = np.zeros(grid.shape, dtype=np.float64)
    if bootstrap_values is None:
        nu[bootstrapped] = columns.root_values[bootstrap[bootstrapped] % capacity]
    elif bootstrapped.any():
        nu[bootstrapped] = bootstrap_values(bootstrap[bootstrapped])
    values += np.where(bootstrapped, discount**td_steps * sign * nu, 0.0)

    # u_{t+k} = rewards[t+k-1] for k >= 1 while step t+k-1 exists: the transition into the
    # end of the game still counts.
    rewards = np.zeros(grid.shape, dtype=np.float32)
    previous = grid[:, :K]
    rewards[:, 1:] = np.where(previous >= 0, columns.rewards[previous % capacity], 0.0)

    policy_mask = inside.astype(np.float32)
    policies = columns.policies[grid % capacity] * policy_mask[..., None]

    actions = rng.integers(0, num_actions, size=(len(steps), K), dtype=np.int64)
    actions = np.where(previous >= 0, columns.actions[previous % capacity], actions)
    return Targets(values.astype(np.float32), rewards, policies.astype(np.float32),
                   policy_mask, actions)
