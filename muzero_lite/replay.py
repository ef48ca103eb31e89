"""Replay: stored self-play games, n-step training targets, prioritized sampling.

MuZero learns from whole recorded games (Schrittwieser et al. 2020, Appendix G "Training"
and the pseudocode's ``ReplayBuffer`` / ``Game.make_target``). Self-play writes one
``Trajectory`` per game; the learner samples positions ``t`` from the ``ReplayBuffer``,
and for each one unrolls the model ``K`` steps along the actions that were really taken.
For every unrolled step ``k = 0..K`` it needs three targets:

* a value target ``z_{t+k}``: the n-step return, bootstrapped from the search value
  ``nu`` stored ``n`` steps later (``make_targets`` writes the sum out);
* a reward target ``u_{t+k}``: the reward observed on the transition into step ``k``;
* a policy target ``pi_{t+k}``: the root visit distribution of the search at that step.

Past the end of a game the model sits in an *absorbing state*: value 0, reward 0, and no
policy loss (``policy_mask`` 0); the actions taken there are drawn at random.

Positions are sampled with priority ``P(i) = p_i^alpha / sum_k p_k^alpha`` where the first
priority of a position is ``|nu_i - z_i|`` (paper Appendix G, after Schaul et al. 2016,
"Prioritized Experience Replay"), and the bias this introduces is corrected with the
importance weights ``w_i = (1 / (N * P(i)))^beta``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, fields
from os import PathLike

import numpy as np
import torch

# --------------------------------------------------------------------------------------
# Small argument checks: every public entry point validates before it changes anything.
# --------------------------------------------------------------------------------------


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_float(name: str, value: object, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not (low <= float(value) <= high):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return float(value)


def _check_finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _to_numpy(name: str, value: object) -> np.ndarray:
    """Accept numpy arrays, sequences and torch tensors (on any device)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from error


# --------------------------------------------------------------------------------------
# Trajectory: one recorded game.
# --------------------------------------------------------------------------------------


class Trajectory:
    """One self-play game, step by step, as the pseudocode's ``Game`` history stores it.

    Step ``t`` holds (paper notation):

    * ``observation`` ``o_t``: what the representation network reads at ``t`` (uint8
      frames stay uint8, float64 is stored as float32, anything else as given);
    * ``action`` ``a_t``: the action played at ``t``;
    * ``reward`` ``u_{t+1}``: the reward received *after* ``a_t``, from the view of the
      player who played it (``Game.step`` returns exactly that);
    * ``root_value`` ``nu_t``: the search value of the root at ``t``, from the view of the
      player to move at ``t``;
    * ``policy`` ``pi_t``: the root visit distribution, shape ``[A]``, summing to 1;
    * ``to_play`` ``to_play_t``: the player to move at ``t`` (always 0 in one-player games).

    Build it with ``append`` once per move, then ``finish(done)``: ``done=True`` when the
    game ended in a real terminal state, ``False`` when it was cut off (a step limit). The
    targets treat both alike, as the paper's pseudocode does: nothing is stored about the
    state after the last step, so past the end every value is 0 (see ``make_targets``).
    ``done`` is kept for whoever wants to tell them apart (logging, Reanalyze).

    After ``finish`` the arrays are read-only (a replay buffer shares them) and ``append``
    raises. ``Trajectory.from_arrays`` builds a finished one in one call.
    """

    def __init__(self) -> None:
        # Growing lists while self-play appends; stacked into arrays on first read.
        self._steps: dict[str, list] = {name: [] for name in _COLUMNS}
        self._stacked: dict[str, np.ndarray] | None = None
        self.done: bool = False
        self.finished: bool = False

    # -- building -----------------------------------------------------------------------

    def append(
        self,
        observation: np.ndarray,
        action: int,
        reward: float,
        root_value: float,
        policy: Sequence[float] | np.ndarray,
        to_play: int = 0,
    ) -> None:
        """Record one move. Checks everything first, so a bad step leaves no trace."""
        if self.finished:
            raise ValueError("cannot append to a finished trajectory")
        step = _check_columns(
            observations=_to_numpy("observation", observation)[None],
            actions=_to_numpy("action", [_check_int("action", action, minimum=0)]),
            rewards=[_check_finite("reward", reward)],
            root_values=[_check_finite("root_value", root_value)],
            policies=_to_numpy("policy", policy)[None],
            to_plays=[_check_int("to_play", to_play, minimum=0)],
        )
        if len(self):
            first_observation = self._steps["observations"][0]
            observation = step["observations"][0]
            if (
                observation.shape != first_observation.shape
                or observation.dtype != first_observation.dtype
            ):
                raise ValueError(
                    f"observation must match the first step's shape {first_observation.shape} "
                    f"and dtype {first_observation.dtype}, got {observation.shape} "
                    f"{observation.dtype}"
                )
            first_width = self._steps["policies"][0].shape[0]
            if step["policies"].shape[1] != first_width:
                raise ValueError(
                    f"policy must have the first step's length {first_width}, "
                    f"got {step['policies'].shape[1]}"
                )
        for name, column in step.items():
            # copy(): self-play may reuse its observation buffer for the next step.
            self._steps[name].append(column[0].copy())
        self._stacked = None

    def finish(self, done: bool) -> Trajectory:
        """Close the game: ``done`` = ended in a real terminal state. Returns ``self``."""
        if not isinstance(done, (bool, np.bool_)):
            raise TypeError(f"done must be a bool, got {type(done).__name__}")
        if self.finished:
            raise ValueError("trajectory is already finished")
        if not len(self):
            raise ValueError("cannot finish an empty trajectory (append at least one step)")
        self._freeze(self._stack(), bool(done))
        return self

    @classmethod
    def from_arrays(
        cls,
        observations: np.ndarray,
        actions: Sequence[int] | np.ndarray,
        rewards: Sequence[float] | np.ndarray,
        root_values: Sequence[float] | np.ndarray,
        policies: np.ndarray,
        to_plays: Sequence[int] | np.ndarray | None = None,
        done: bool = True,
    ) -> Trajectory:
        """A finished trajectory from whole arrays (first axis = step), checked as a whole."""
        if not isinstance(done, (bool, np.bool_)):
            raise TypeError(f"done must be a bool, got {type(done).__name__}")
        if len(actions) == 0:
            raise ValueError("a trajectory needs at least one step, got 0")
        if to_plays is None:
            to_plays = np.zeros(len(actions), dtype=np.int64)
        columns = _check_columns(
            observations=_to_numpy("observations", observations),
            actions=_to_numpy("actions", actions),
            rewards=rewards,
            root_values=root_values,
            policies=_to_numpy("policies", policies),
            to_plays=to_plays,
        )
        trajectory = cls()
        trajectory._freeze({name: column.copy() for name, column in columns.items()}, bool(done))
        return trajectory

    def _freeze(self, stacked: dict[str, np.ndarray], done: bool) -> None:
        for array in stacked.values():
            array.setflags(write=False)
        self._stacked = stacked
        self._steps = {name: [] for name in _COLUMNS}  # the arrays hold everything now
        self.done = done
        self.finished = True

    # -- reading ------------------------------------------------------------------------

    def _stack(self) -> dict[str, np.ndarray]:
        return {name: np.stack(self._steps[name]) for name in _COLUMNS}

    def _array(self, name: str) -> np.ndarray:
        if not len(self):
            raise ValueError("trajectory is empty: append a step first")
        if self._stacked is None:
            self._stacked = self._stack()
        return self._stacked[name]

    def __len__(self) -> int:
        if self._stacked is not None:
            return len(self._stacked["actions"])
        return len(self._steps["actions"])

    @property
    def observations(self) -> np.ndarray:
        """``o_t`` for every step, ``[T, ...]``."""
        return self._array("observations")

    @property
    def actions(self) -> np.ndarray:
        """``a_t``, ``[T]`` int64."""
        return self._array("actions")

    @property
    def rewards(self) -> np.ndarray:
        """``u_{t+1}`` (reward after ``a_t``, mover's view), ``[T]`` float32."""
        return self._array("rewards")

    @property
    def root_values(self) -> np.ndarray:
        """``nu_t`` (search value, view of the player to move at ``t``), ``[T]`` float32."""
        return self._array("root_values")

    @property
    def policies(self) -> np.ndarray:
        """``pi_t`` (root visit distribution), ``[T, A]`` float32."""
        return self._array("policies")

    @property
    def to_plays(self) -> np.ndarray:
        """Player to move at ``t``, ``[T]`` int64."""
        return self._array("to_plays")

    @property
    def action_space_size(self) -> int:
        """``A``, the length of every policy."""
        return int(self.policies.shape[1])


_COLUMNS = ("observations", "actions", "rewards", "root_values", "policies", "to_plays")


def _check_columns(
    observations: np.ndarray,
    actions: np.ndarray,
    rewards: Sequence[float] | np.ndarray,
    root_values: Sequence[float] | np.ndarray,
    policies: np.ndarray,
    to_plays: Sequence[int] | np.ndarray,
) -> dict[str, np.ndarray]:
    """Check ``T`` steps given as arrays (first axis = step); return them in stored dtypes."""
    length = len(actions)
    if observations.dtype == object or not (
        np.issubdtype(observations.dtype, np.number) or observations.dtype == bool
    ):
        raise TypeError(f"observations must be numeric, got dtype {observations.dtype}")
    if observations.dtype == np.float64:
        observations = observations.astype(np.float32)  # half the memory, what torch uses
    if actions.ndim != 1 or not np.issubdtype(actions.dtype, np.integer):
        raise ValueError(f"actions must be a 1-D int array, got {actions.dtype} {actions.shape}")
    rewards = _to_numpy("rewards", rewards).astype(np.float32)
    root_values = _to_numpy("root_values", root_values).astype(np.float32)
    to_plays = _to_numpy("to_plays", to_plays)
    columns = {"observations": observations, "rewards": rewards, "root_values": root_values}
    columns |= {"policies": policies, "to_plays": to_plays}
    for name, column in columns.items():
        if len(column) != length:
            raise ValueError(f"{name} must have len(actions) = {length} rows, got {len(column)}")
    if policies.ndim != 2 or policies.shape[1] == 0:
        raise ValueError(f"policy must be 1-D [A] with A >= 1, got shape {policies.shape[1:]}")
    policies = policies.astype(np.float32)
    num_actions = policies.shape[1]
    if np.any(actions < 0) or np.any(actions >= num_actions):
        raise ValueError(f"action must be in [0, {num_actions}), got {actions.tolist()[:10]}")
    for name, column in (("reward", rewards), ("root_value", root_values)):
        if column.ndim != 1 or not np.all(np.isfinite(column)):
            raise ValueError(f"{name} must be a finite number per step")
    if not np.all(np.isfinite(policies)) or np.any(policies < 0):
        raise ValueError("policy must hold finite, non-negative probabilities")
    sums = policies.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > 1e-3):
        raise ValueError(f"policy must sum to 1 (normalised visit counts), got sums {sums[:10]}")
    if to_plays.ndim != 1 or not np.issubdtype(to_plays.dtype, np.integer) or np.any(to_plays < 0):
        raise ValueError("to_play must be an int >= 0 per step")
    return {
        "observations": observations,
        "actions": actions.astype(np.int64),
        "rewards": rewards,
        "root_values": root_values,
        "policies": policies,
        "to_plays": to_plays.astype(np.int64),
    }


# --------------------------------------------------------------------------------------
# Targets for one sampled position (pseudocode: Game.make_target).
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """Training targets for one position ``t`` unrolled ``K`` steps (numpy arrays).

    Entry ``k`` belongs to unrolled step ``k`` (game position ``t + k``).
    """

    values: np.ndarray  # [K+1] float32: z_{t+k}
    rewards: np.ndarray  # [K+1] float32: u_{t+k}; entry 0 is 0 and unused
    policies: np.ndarray  # [K+1, A] float32: pi_{t+k}; zeros past the end
    policy_mask: np.ndarray  # [K+1] float32: 1 where t+k < T, else 0 (absorbing)
    actions: np.ndarray  # [K] int64: a_{t+k}, uniformly random past the end


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
    position = _check_int("position", position, minimum=0)
    if position >= len(trajectory):
        raise ValueError(f"position must be in [0, {len(trajectory)}), got {position}")
    return _n_step_value(trajectory, position, td_steps, discount)


def _n_step_value(trajectory: Trajectory, position: int, td_steps: int, discount: float) -> float:
    """``n_step_value`` without the argument checks, for the loops that call it per step."""
    length = len(trajectory)
    end = min(position + td_steps, length)
    me = trajectory.to_plays[position]
    signs = np.where(trajectory.to_plays[position:end] == me, 1.0, -1.0)
    powers = discount ** np.arange(end - position, dtype=np.float64)
    value = float(np.sum(powers * signs * trajectory.rewards[position:end]))
    bootstrap = position + td_steps
    if bootstrap < length:
        sign = 1.0 if trajectory.to_plays[bootstrap] == me else -1.0
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
        _check_int("num_unroll_steps", num_unroll_steps, minimum=0),
        _check_int("td_steps", td_steps, minimum=0),
        _check_float("discount", discount, 0.0, 1.0),
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
    index = _check_int("index", index, minimum=0)
    if index >= length:
        raise ValueError(f"index must be in [0, {length}), got {index}")
    action_space_size = _check_int("action_space_size", action_space_size, minimum=1)
    if action_space_size != trajectory.action_space_size:
        raise ValueError(
            f"action_space_size must match the trajectory's policies "
            f"({trajectory.action_space_size}), got {action_space_size}"
        )
    rng = _check_rng(rng)

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
# Batch: what the learner consumes.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """A training batch of ``B`` positions unrolled ``K`` steps (numpy, or torch after
    ``to_torch``). Row ``b`` of each field belongs to the same sampled position."""

    observations: np.ndarray | torch.Tensor  # [B, ...] o_t, dtype as stored (uint8 stays)
    actions: np.ndarray | torch.Tensor  # [B, K] int64
    target_values: np.ndarray | torch.Tensor  # [B, K+1] float32
    target_rewards: np.ndarray | torch.Tensor  # [B, K+1] float32 (column 0 unused)
    target_policies: np.ndarray | torch.Tensor  # [B, K+1, A] float32
    policy_mask: np.ndarray | torch.Tensor  # [B, K+1] float32
    weights: np.ndarray | torch.Tensor  # [B] float32 importance weights, max 1
    indices: np.ndarray | torch.Tensor  # [B, 2] int64 (game id, position)

    def to_torch(self, device: torch.device | str = "cpu") -> Batch:
        """The same batch as torch tensors on ``device``.

        Observations keep their dtype, except floats become float32: uint8 frames travel
        4x smaller and the network casts them (and scales them) itself.
        """
        converted = {}
        for field in fields(self):
            value = getattr(self, field.name)
            tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(value)
            if tensor.is_floating_point():
                tensor = tensor.float()
            converted[field.name] = tensor.to(device)
        return Batch(**converted)

    @property
    def batch_size(self) -> int:
        return int(self.actions.shape[0])

    @property
    def num_unroll_steps(self) -> int:
        return int(self.actions.shape[1])


# --------------------------------------------------------------------------------------
# The prioritized replay buffer.
# --------------------------------------------------------------------------------------


_NO_CAPACITY = -1  # how save() writes "no limit" into the .npz


class ReplayBuffer:
    """A FIFO store of whole games, sampled by position with priorities (paper Appendix G).

    Args:
        capacity_positions: keep at most this many positions (steps), or None.
        capacity_games: keep at most this many games, or None. At least one capacity is
            required. Past capacity the oldest games are dropped; the newest game is
            always kept, even when it alone is longer than ``capacity_positions``.
        alpha: priority exponent, ``P(i) = p_i^alpha / sum_k p_k^alpha``; 0 = uniform.
        beta: importance-weight exponent, ``w_i = (1 / (N P(i)))^beta``; 0 = no correction.
        td_steps, discount: ``n`` and ``gamma`` of the value target used for the initial
            priorities ``|nu_i - z_i|``, and the defaults of ``sample``.
            Board games: ``td_steps`` >= the longest game and ``discount=1``.
        priority_eps: added to every stored priority so that no position has probability
            0 (Schaul et al. 2016 add a small epsilon for the same reason).
        seed: seeds the generator ``sample`` uses when it is given no ``rng``.
    """

    def __init__(
        self,
        capacity_positions: int | None = None,
        capacity_games: int | None = None,
        *,
        alpha: float = 1.0,
        beta: float = 1.0,
        td_steps: int = 10,
        discount: float = 0.997,
        priority_eps: float = 1e-6,
        seed: int | None = None,
    ) -> None:
        if capacity_positions is None and capacity_games is None:
            raise ValueError("give capacity_positions or capacity_games (or both)")
        if capacity_positions is not None:
            _check_int("capacity_positions", capacity_positions, minimum=1)
        if capacity_games is not None:
            _check_int("capacity_games", capacity_games, minimum=1)
        self.capacity_positions = capacity_positions
        self.capacity_games = capacity_games
        self.alpha = _check_float("alpha", alpha, 0.0)
        self.beta = _check_float("beta", beta, 0.0)
        self.td_steps = _check_int("td_steps", td_steps, minimum=0)
        self.discount = _check_float("discount", discount, 0.0, 1.0)
        self.priority_eps = _check_float("priority_eps", priority_eps, 0.0)
        if self.priority_eps == 0.0:
            raise ValueError("priority_eps must be > 0, got 0 (a zero priority is never sampled)")
        self._rng = np.random.default_rng(seed)
        # Games in insertion order (oldest first) under ever-increasing ids, so an id held
        # by the learner never points at a newer game after the old one was evicted.
        self._games: dict[int, Trajectory] = {}
        self._priorities: dict[int, np.ndarray] = {}  # game id -> [T] float64
        self._num_positions = 0
        self._next_game_id = 0

    # -- contents -----------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of stored positions (steps), summed over games."""
        return self._num_positions

    @property
    def num_games(self) -> int:
        return len(self._games)

    @property
    def game_ids(self) -> list[int]:
        """Ids of the stored games, oldest first."""
        return list(self._games)

    def game(self, game_id: int) -> Trajectory:
        """The stored trajectory with this id (e.g. for Reanalyze)."""
        if game_id not in self._games:
            raise KeyError(f"game_id {game_id} is not in the buffer (evicted or never added)")
        return self._games[game_id]

    def priorities(self, game_id: int) -> np.ndarray:
        """A copy of the stored priorities of one game (``eps`` included)."""
        self.game(game_id)
        return self._priorities[game_id].copy()

    # -- adding -------------------------------------------------------------------------

    def add(self, trajectory: Trajectory, priorities: np.ndarray | None = None) -> int:
        """Store a finished game and return its id.

        ``priorities`` (``[T]``, >= 0) default to ``|nu_i - z_i|`` with the buffer's
        ``td_steps`` and ``discount``; ``priority_eps`` is added either way.
        """
        if not isinstance(trajectory, Trajectory):
            raise TypeError(f"trajectory must be a Trajectory, got {type(trajectory).__name__}")
        if not trajectory.finished:
            raise ValueError("trajectory must be finished (call trajectory.finish(done)) first")
        if self._games:
            reference = next(iter(self._games.values()))
            self._check_compatible(reference, trajectory)
        length = len(trajectory)
        if priorities is None:
            priority = self.initial_priorities(trajectory)
        else:
            priority = _to_numpy("priorities", priorities).astype(np.float64)
            if priority.shape != (length,):
                raise ValueError(f"priorities must have shape ({length},), got {priority.shape}")
            self._check_priority_values(priority)
        game_id = self._next_game_id
        self._next_game_id += 1
        self._games[game_id] = trajectory
        self._priorities[game_id] = priority + self.priority_eps
        self._num_positions += length
        self._evict()
        return game_id

    def initial_priorities(self, trajectory: Trajectory) -> np.ndarray:
        """``|nu_i - z_i|`` for every position (without ``eps``), float64 ``[T]``."""
        targets = np.array(
            [
                _n_step_value(trajectory, i, self.td_steps, self.discount)
                for i in range(len(trajectory))
            ]
        )
        return np.abs(trajectory.root_values.astype(np.float64) - targets)

    @staticmethod
    def _check_compatible(reference: Trajectory, trajectory: Trajectory) -> None:
        ref_obs, obs = reference.observations, trajectory.observations
        if obs.shape[1:] != ref_obs.shape[1:] or obs.dtype != ref_obs.dtype:
            raise ValueError(
                f"trajectory observations must match the buffer's {ref_obs.shape[1:]} "
                f"{ref_obs.dtype}, got {obs.shape[1:]} {obs.dtype}"
            )
        if trajectory.action_space_size != reference.action_space_size:
            raise ValueError(
                f"trajectory action_space_size must match the buffer's "
                f"{reference.action_space_size}, got {trajectory.action_space_size}"
            )

    @staticmethod
    def _check_priority_values(priority: np.ndarray) -> None:
        if not np.all(np.isfinite(priority)) or np.any(priority < 0):
            raise ValueError("priorities must be finite and >= 0")

    def _evict(self) -> None:
        """Drop the oldest games while over capacity, never the newest one."""

        def over_capacity() -> bool:
            too_many_games = (
                self.capacity_games is not None and self.num_games > self.capacity_games
            )
            too_many_positions = (
                self.capacity_positions is not None
                and self._num_positions > self.capacity_positions
            )
            return too_many_games or too_many_positions

        while self.num_games > 1 and over_capacity():
            oldest = next(iter(self._games))
            self._num_positions -= len(self._games.pop(oldest))
            del self._priorities[oldest]

    # -- sampling -----------------------------------------------------------------------

    def _flat_view(self) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Game ids, start offset of each game, and all priorities in one flat array."""
        ids = list(self._games)
        lengths = np.array([len(self._games[g]) for g in ids], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        flat = np.concatenate([self._priorities[g] for g in ids])
        return ids, starts, flat

    def sampling_probabilities(self) -> np.ndarray:
        """``P(i) = p_i^alpha / sum_k p_k^alpha`` over all positions, oldest game first."""
        if not self._games:
            raise ValueError("the buffer is empty")
        _, _, flat = self._flat_view()
        scaled = flat**self.alpha
        return scaled / scaled.sum()

    def sample(
        self,
        batch_size: int,
        num_unroll_steps: int,
        td_steps: int | None = None,
        discount: float | None = None,
        rng: np.random.Generator | None = None,
    ) -> Batch:
        """Sample ``batch_size`` positions (with replacement) with probability ``P(i)``.

        Importance weights ``w_i = (1 / (N P(i)))^beta`` are divided by their maximum in
        the batch, so the largest is 1 and they only ever scale the loss down (Schaul et
        al. 2016; the per-batch maximum is what common MuZero implementations use).
        ``td_steps`` / ``discount`` default to the buffer's; ``rng`` to its own generator.
        """
        batch_size = _check_int("batch_size", batch_size, minimum=1)
        num_unroll_steps = _check_int("num_unroll_steps", num_unroll_steps, minimum=0)
        td_steps = self.td_steps if td_steps is None else _check_int("td_steps", td_steps, 0)
        discount = (
            self.discount if discount is None else _check_float("discount", discount, 0.0, 1.0)
        )
        rng = self._rng if rng is None else _check_rng(rng)
        if not self._games:
            raise ValueError("the buffer is empty: add a trajectory before sampling")

        ids, starts, flat = self._flat_view()
        scaled = flat**self.alpha
        probabilities = scaled / scaled.sum()
        flat_indices = rng.choice(len(flat), size=batch_size, replace=True, p=probabilities)
        weights = (1.0 / (len(flat) * probabilities[flat_indices])) ** self.beta
        weights = weights / weights.max()

        slots = np.searchsorted(starts, flat_indices, side="right") - 1
        indices = np.stack([np.asarray(ids)[slots], flat_indices - starts[slots]], axis=1)
        observations, per_sample = [], []
        for game_id, position in indices:
            trajectory = self._games[int(game_id)]
            observations.append(trajectory.observations[position])
            per_sample.append(
                make_targets(
                    trajectory,
                    int(position),
                    num_unroll_steps,
                    td_steps,
                    discount,
                    trajectory.action_space_size,
                    rng,
                )
            )
        return Batch(
            observations=np.stack(observations),
            actions=np.stack([t.actions for t in per_sample]),
            target_values=np.stack([t.values for t in per_sample]),
            target_rewards=np.stack([t.rewards for t in per_sample]),
            target_policies=np.stack([t.policies for t in per_sample]),
            policy_mask=np.stack([t.policy_mask for t in per_sample]),
            weights=weights.astype(np.float32),
            indices=indices.astype(np.int64),
        )

    def update_priorities(self, indices: np.ndarray, new_priorities: np.ndarray) -> None:
        """Set the priorities of sampled positions (``Batch.indices``) to ``new + eps``.

        Rows whose game was evicted since sampling are skipped (the learner may lag behind
        self-play); a position outside a stored game is an error. Nothing is written
        unless every row checks out. A position listed twice keeps the last value.
        """
        indices = _to_numpy("indices", indices)
        new_priorities = _to_numpy("new_priorities", new_priorities).astype(np.float64)
        if (
            indices.ndim != 2
            or indices.shape[1] != 2
            or not np.issubdtype(indices.dtype, np.integer)
        ):
            raise ValueError(
                f"indices must be an int array [B, 2] of (game id, position), got "
                f"{indices.dtype} {indices.shape}"
            )
        if new_priorities.shape != (indices.shape[0],):
            raise ValueError(
                f"new_priorities must have shape ({indices.shape[0]},), got {new_priorities.shape}"
            )
        self._check_priority_values(new_priorities)
        live = [row for row in range(len(indices)) if int(indices[row, 0]) in self._games]
        for row in live:
            game_id, position = int(indices[row, 0]), int(indices[row, 1])
            if not 0 <= position < len(self._games[game_id]):
                raise ValueError(
                    f"indices row {row}: position {position} is outside game {game_id} "
                    f"of length {len(self._games[game_id])}"
                )
        for row in live:
            game_id, position = int(indices[row, 0]), int(indices[row, 1])
            self._priorities[game_id][position] = new_priorities[row] + self.priority_eps

    # -- saving -------------------------------------------------------------------------

    def save(self, path: str | PathLike[str]) -> None:
        """Write the whole buffer to one ``.npz`` at exactly ``path`` (no pickle).

        Games are concatenated along the step axis; ``offsets[g]:offsets[g+1]`` are the
        rows of the ``g``-th stored game. The sampling generator's state is not saved.
        """
        ids = list(self._games)
        games = [self._games[g] for g in ids]
        offsets = np.cumsum([0] + [len(game) for game in games], dtype=np.int64)
        arrays = {
            name: (np.concatenate([getattr(game, name) for game in games]) if games else [])
            for name in _COLUMNS
        }
        arrays["priorities"] = np.concatenate([self._priorities[g] for g in ids]) if ids else []
        arrays |= {
            "offsets": offsets,
            "game_ids": np.asarray(ids, dtype=np.int64),
            "dones": np.asarray([game.done for game in games], dtype=bool),
            "capacity_positions": _NO_CAPACITY
            if self.capacity_positions is None
            else self.capacity_positions,
            "capacity_games": _NO_CAPACITY if self.capacity_games is None else self.capacity_games,
            "alpha": self.alpha,
            "beta": self.beta,
            "td_steps": self.td_steps,
            "discount": self.discount,
            "priority_eps": self.priority_eps,
            "next_game_id": self._next_game_id,
        }
        with open(path, "wb") as file:  # a file object: numpy adds no ".npz" suffix
            np.savez(file, **arrays)

    @classmethod
    def load(cls, path: str | PathLike[str]) -> ReplayBuffer:
        """Read a buffer written by ``save`` (``allow_pickle=False``: data only)."""
        with np.load(path, allow_pickle=False) as npz:
            data = {name: npz[name] for name in npz.files}  # each npz[name] re-reads the file

        def capacity(name: str) -> int | None:
            value = int(data[name])
            return None if value == _NO_CAPACITY else value

        buffer = cls(
            capacity_positions=capacity("capacity_positions"),
            capacity_games=capacity("capacity_games"),
            alpha=float(data["alpha"]),
            beta=float(data["beta"]),
            td_steps=int(data["td_steps"]),
            discount=float(data["discount"]),
            priority_eps=float(data["priority_eps"]),
        )
        offsets = data["offsets"]
        for slot, game_id in enumerate(data["game_ids"].tolist()):
            rows = slice(int(offsets[slot]), int(offsets[slot + 1]))
            columns = {name: data[name][rows] for name in _COLUMNS}
            trajectory = Trajectory.from_arrays(**columns, done=bool(data["dones"][slot]))
            buffer._games[game_id] = trajectory
            buffer._priorities[game_id] = data["priorities"][rows].astype(np.float64)
            buffer._num_positions += len(trajectory)
        buffer._next_game_id = int(data["next_game_id"])
        return buffer
