"""One recorded game, step by step: what self-play writes and chapter 05 reads.

MuZero learns from recorded games (Schrittwieser et al. 2020, Appendix G and the pseudocode's
``Game`` history). A ``Trajectory`` is that record for one game, as readable arrays; the
replay buffer stores its steps as columns (``replay.buffer``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from muzero_lite.checks import check_finite, check_int, to_numpy

__all__ = ["Trajectory"]


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
        legal_mask: Sequence[bool] | np.ndarray | None = None,
    ) -> None:
        """Record one move. Checks everything first, so a bad step leaves no trace.

        ``legal_mask`` (``[A]`` bool) defaults to every action legal."""
        if self.finished:
            raise ValueError("cannot append to a finished trajectory")
        step = _check_columns(
            observations=to_numpy("observation", observation)[None],
            actions=to_numpy("action", [check_int("action", action, minimum=0)]),
            rewards=[check_finite("reward", reward)],
            root_values=[check_finite("root_value", root_value)],
            policies=to_numpy("policy", policy)[None],
            to_plays=[check_int("to_play", to_play, minimum=0)],
            legal_masks=None if legal_mask is None else to_numpy("legal_mask", legal_mask)[None],
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
        legal_masks: np.ndarray | None = None,
    ) -> Trajectory:
        """A finished trajectory from whole arrays (first axis = step), checked as a whole."""
        if not isinstance(done, (bool, np.bool_)):
            raise TypeError(f"done must be a bool, got {type(done).__name__}")
        if len(actions) == 0:
            raise ValueError("a trajectory needs at least one step, got 0")
        if to_plays is None:
            to_plays = np.zeros(len(actions), dtype=np.int64)
        columns = _check_columns(
            observations=to_numpy("observations", observations),
            actions=to_numpy("actions", actions),
            rewards=rewards,
            root_values=root_values,
            policies=to_numpy("policies", policies),
            to_plays=to_plays,
            legal_masks=None if legal_masks is None else to_numpy("legal_masks", legal_masks),
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
    def legal_masks(self) -> np.ndarray:
        """The legal actions at ``t``, ``[T, A]`` bool (Reanalyze masks its re-searches)."""
        return self._array("legal_masks")

    @property
    def action_space_size(self) -> int:
        """``A``, the length of every policy."""
        return int(self.policies.shape[1])


_COLUMNS = (
    "observations", "actions", "rewards", "root_values", "policies", "to_plays", "legal_masks",
)


def _check_columns(
    observations: np.ndarray,
    actions: np.ndarray,
    rewards: Sequence[float] | np.ndarray,
    root_values: Sequence[float] | np.ndarray,
    policies: np.ndarray,
    to_plays: Sequence[int] | np.ndarray,
    legal_masks: np.ndarray | None = None,
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
    rewards = to_numpy("rewards", rewards).astype(np.float32)
    root_values = to_numpy("root_values", root_values).astype(np.float32)
    to_plays = to_numpy("to_plays", to_plays)
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
    if legal_masks is None:
        legal_masks = np.ones((length, num_actions), dtype=bool)
    if legal_masks.dtype != bool or legal_masks.shape != (length, num_actions):
        raise ValueError(
            f"legal_mask must be a bool array [{num_actions}] per step, got {legal_masks.dtype} "
            f"{legal_masks.shape[1:]}"
        )
    if not legal_masks[np.arange(length), actions].all():
        raise ValueError("every action played must be legal in its step's legal_mask")
    return {
        "observations": observations,
        "actions": actions.astype(np.int64),
        "rewards": rewards,
        "root_values": root_values,
        "policies": policies,
        "to_plays": to_plays.astype(np.int64),
        "legal_masks": legal_masks,
    }
