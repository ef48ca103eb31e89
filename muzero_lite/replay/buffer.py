"""The replay buffer: steps stored once, as columns, sampled by priority (paper Appendix G).

Self-play hands the buffer its games in *chunks* of a few hundred moves while they are still
being played (``Chunk``), so a 27,000-move Atari game is learned from long before it ends.
Each step is written once into a ring of ``capacity_positions`` slots, one column per field:

    observation   the observation (small games), or the newest frame alone (Atari, with a
                  ``FrameStack``: the stacked input is rebuilt at sample time)
    action, reward, root value, policy, player to move, legal-move bits
    game          the id of the step's game
    next / prev   global numbers of the game's next and previous step (chunks of different
                  games interleave in the ring, so the next step is not simply ``g + 1``)

A sampled batch is built without per-sample Python: one walk of ``K + n`` links gives every
step the targets need (``targets.batch_targets``), and a ``FrameStack`` walks ``history - 1``
links back for the frames. Positions are drawn with probability ``P(i) = p_i^alpha /
sum_k p_k^alpha`` from a ``SumTree`` (O(log N) per draw), where the first priority of a
position is ``|nu_i - z_i|`` (Schaul et al. 2016, "Prioritized Experience Replay"), and
importance weights ``w_i = (1 / (N P(i)))^beta`` undo the bias.

Positions near the live end of a running game are *not yet sampled*: position ``t`` enters
the sampling tree once steps ``t .. t + K + n`` are all stored (or its game has ended), so
its targets are exactly those the finished game will give, never a bootstrap cut short.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

import numpy as np

from muzero_lite.checks import check_float, check_int, check_rng, to_numpy
from muzero_lite.replay._kernels import aligned_zeros, stack_frames
from muzero_lite.replay.batch import Batch
from muzero_lite.replay.sum_tree import SumTree
from muzero_lite.replay.targets import StepColumns, _n_step_value, batch_targets
from muzero_lite.replay.trajectory import Trajectory, _check_columns

__all__ = ["Chunk", "FrameStack", "ReplayBuffer"]

NO_STEP = -1  # a link past the game's first or last step
LOST = -2  # a link to a step whose chunk was not kept (pruned from disk before a resume)


@dataclass(frozen=True)
class Chunk:
    """Consecutive steps of one game, as self-play hands them over (columns, first axis = step).

    ``key`` names the game across its chunks (self-play numbers its games; unique for the
    whole run). ``first``: the chunk starts the game. ``game_over``: the game ended with the
    last step here; ``done``: ... in a real terminal state (False when it was cut off).
    """

    key: int
    observations: np.ndarray  # [L, ...]: observations, or single frames with a FrameStack
    actions: np.ndarray  # [L] int64
    rewards: np.ndarray  # [L] float32
    root_values: np.ndarray  # [L] float32
    policies: np.ndarray  # [L, A] float32
    to_plays: np.ndarray  # [L] int64
    legal_masks: np.ndarray  # [L, A] bool
    first: bool
    game_over: bool
    done: bool

    def __len__(self) -> int:
        return len(self.actions)

    @classmethod
    def from_trajectory(cls, key: int, trajectory: Trajectory) -> Chunk:
        """A finished trajectory as one chunk holding the whole game."""
        return cls(key, trajectory.observations, trajectory.actions, trajectory.rewards,
                   trajectory.root_values, trajectory.policies, trajectory.to_plays,
                   trajectory.legal_masks, first=True, game_over=True, done=trajectory.done)


@dataclass(frozen=True)
class FrameStack:
    """How an Atari observation is rebuilt from single stored frames (``AtariGame``'s layout).

    The observation at step ``t`` is ``history`` steps, oldest first; each step is the frame's
    channels, then one plane filled with ``round(255 (a + 1) / num_actions)`` for the action
    that led to that frame (0: the game's first frame, and the zero padding before it).
    """

    history: int
    num_actions: int

    def plane_values(self) -> np.ndarray:
        """``[A + 1]`` uint8: entry ``a + 1`` is action ``a``'s plane value, entry 0 is 0."""
        actions = np.arange(self.num_actions)
        return np.concatenate([[0], np.round(255 * (actions + 1) / self.num_actions)]).astype(
            np.uint8)


class ReplayBuffer:
    """A ring of ``capacity_positions`` steps, sampled by priority (module docstring).

    Args:
        capacity_positions: steps kept; past it the oldest steps are overwritten.
        alpha: priority exponent, ``P(i) = p_i^alpha / sum_k p_k^alpha``; 0 = uniform.
        beta: importance-weight exponent, ``w_i = (1 / (N P(i)))^beta``; 0 = no correction.
        td_steps, discount: ``n`` and ``gamma`` of the value target used for the initial
            priorities ``|nu_i - z_i|``, and the defaults of ``sample``.
            Board games: ``td_steps`` >= the longest game and ``discount=1``.
        num_unroll_steps: the largest ``K`` that ``sample`` will be asked for; positions of
            a running game wait until ``K + n`` steps after them are stored.
        priority_eps: added to every stored priority so that no position has probability
            0 (Schaul et al. 2016 add a small epsilon for the same reason).
        seed: seeds the generator ``sample`` uses when it is given no ``rng``.
        frame_stack: store single frames and rebuild stacked observations (Atari).
    """

    def __init__(
        self,
        capacity_positions: int,
        *,
        alpha: float = 1.0,
        beta: float = 1.0,
        td_steps: int = 10,
        discount: float = 0.997,
        num_unroll_steps: int = 5,
        priority_eps: float = 1e-6,
        seed: int | None = None,
        frame_stack: FrameStack | None = None,
    ) -> None:
        self.capacity_positions = check_int("capacity_positions", capacity_positions, minimum=1)
        self.alpha = check_float("alpha", alpha, 0.0)
        self.beta = check_float("beta", beta, 0.0)
        self.td_steps = check_int("td_steps", td_steps, minimum=0)
        self.discount = check_float("discount", discount, 0.0, 1.0)
        self.num_unroll_steps = check_int("num_unroll_steps", num_unroll_steps, minimum=0)
        self.priority_eps = check_float("priority_eps", priority_eps, 0.0)
        if self.priority_eps == 0.0:
            raise ValueError("priority_eps must be > 0, got 0 (a zero priority is never sampled)")
        if frame_stack is not None and not isinstance(frame_stack, FrameStack):
            raise TypeError(f"frame_stack must be a FrameStack, got {type(frame_stack).__name__}")
        self.frame_stack = frame_stack
        self._rng = np.random.default_rng(seed)
        self._columns: dict[str, np.ndarray] | None = None  # allocated by the first chunk
        self._tree = SumTree(self.capacity_positions)  # p^alpha of every sampleable step
        self._priority = np.zeros(self.capacity_positions, dtype=np.float64)  # p + eps
        self._written = 0  # global number of the next step to be written
        self._next_game_id = 0
        # Per game: its chunks as (first global step, length); games in creation order.
        self._game_chunks: dict[int, list[tuple[int, int]]] = {}
        self._game_done: dict[int, bool] = {}
        self._live: dict[int, int] = {}  # chunk key -> game id, for games still running
        self._pending: dict[int, np.ndarray] = {}  # game id -> steps not yet sampleable
        self._tail: dict[int, int] = {}  # game id -> its last stored step, while running

    # -- contents -------------------------------------------------------------------------

    @property
    def oldest(self) -> int:
        """Global number of the oldest stored step."""
        return max(0, self._written - self.capacity_positions)

    def __len__(self) -> int:
        """Number of stored positions (steps)."""
        return self._written - self.oldest

    @property
    def written(self) -> int:
        """Steps ever written (the global number the next step will get)."""
        return self._written

    @property
    def can_sample(self) -> bool:
        """Whether at least one position can be drawn."""
        return self._tree.total > 0

    def stored(self, steps: np.ndarray) -> np.ndarray:
        """Whether each global step is still in the ring."""
        steps = np.asarray(steps, dtype=np.int64)
        return (steps >= self.oldest) & (steps < self._written)

    @property
    def num_sampleable(self) -> int:
        """Stored positions that ``sample`` can draw (all but the live ends of running games)."""
        return int(np.count_nonzero(self._tree.get(np.arange(self.capacity_positions))))

    @property
    def game_ids(self) -> list[int]:
        """Ids of the games whose first step is still stored, oldest first."""
        oldest = self.oldest
        return [g for g, chunks in self._game_chunks.items() if chunks[0][0] >= oldest]

    @property
    def num_games(self) -> int:
        return len(self.game_ids)

    def game(self, game_id: int) -> Trajectory:
        """The stored steps of one game as a finished ``Trajectory`` (stacked observations);
        a game still running comes back as if cut off at its last stored step."""
        if game_id not in self._game_chunks or self._game_chunks[game_id][0][0] < self.oldest:
            raise KeyError(f"game_id {game_id} is not in the buffer (evicted or never added)")
        steps = self._game_steps(game_id)
        slots = steps % self.capacity_positions
        columns = self._columns
        return Trajectory.from_arrays(
            observations=self.observations(steps), actions=columns["actions"][slots],
            rewards=columns["rewards"][slots], root_values=columns["root_values"][slots],
            policies=columns["policies"][slots], to_plays=columns["to_plays"][slots],
            legal_masks=columns["legal_masks"][slots], done=self._game_done.get(game_id, False))

    def game_steps(self, game_id: int) -> np.ndarray:
        """Global step numbers of a stored game, in order."""
        self.game(game_id)
        return self._game_steps(game_id)

    def _game_steps(self, game_id: int) -> np.ndarray:
        return np.concatenate([np.arange(s, s + n) for s, n in self._game_chunks[game_id]])

    def priorities(self, game_id: int) -> np.ndarray:
        """A copy of the stored priorities of one game (``eps`` included)."""
        steps = self.game_steps(game_id)
        return self._priority[steps % self.capacity_positions].copy()

    @staticmethod
    def bytes_per_position(observation_shape: tuple[int, ...], observation_dtype: np.dtype,
                           num_actions: int) -> int:
        """Bytes one stored step takes: its observation (or frame) and the small fields."""
        observation = int(np.prod(observation_shape)) * np.dtype(observation_dtype).itemsize
        # action, next, prev, game (8 each); reward, root value (4); to_play (1); policy (4 A);
        # legal bits (A); priority (8) and its sum-tree leaf and node (16).
        return observation + 8 * 4 + 4 * 2 + 1 + 5 * num_actions + 8 + 16

    def columns(self) -> StepColumns:
        """The columns ``targets.batch_targets`` reads (views, not copies)."""
        if self._columns is None:
            raise ValueError("the buffer is empty: add a game or chunk first")
        c = self._columns
        return StepColumns(c["actions"], c["rewards"], c["root_values"], c["policies"],
                           c["to_plays"], c["next"])

    # -- adding ---------------------------------------------------------------------------

    def add(self, trajectory: Trajectory, priorities: np.ndarray | None = None) -> int:
        """Store a finished game whole and return its id.

        ``priorities`` (``[T]``, >= 0) default to ``|nu_i - z_i|`` with the buffer's
        ``td_steps`` and ``discount``; ``priority_eps`` is added either way.
        """
        if not isinstance(trajectory, Trajectory):
            raise TypeError(f"trajectory must be a Trajectory, got {type(trajectory).__name__}")
        if not trajectory.finished:
            raise ValueError("trajectory must be finished (call trajectory.finish(done)) first")
        if priorities is not None:
            priorities = to_numpy("priorities", priorities).astype(np.float64)
            if priorities.shape != (len(trajectory),):
                raise ValueError(
                    f"priorities must have shape ({len(trajectory)},), got {priorities.shape}")
            _check_priority_values(priorities)
        chunk = Chunk.from_trajectory(key=-1, trajectory=trajectory)
        return self.add_chunk(chunk, priorities=priorities)

    def add_chunk(self, chunk: Chunk, priorities: np.ndarray | None = None) -> int:
        """Store the next steps of a game (or a whole game); returns the game's id.

        Everything is checked before anything is written, so a bad chunk leaves no trace.
        """
        if not isinstance(chunk, Chunk):
            raise TypeError(f"chunk must be a Chunk, got {type(chunk).__name__}")
        checked = _check_columns(
            observations=to_numpy("observations", chunk.observations),
            actions=to_numpy("actions", chunk.actions), rewards=chunk.rewards,
            root_values=chunk.root_values, policies=to_numpy("policies", chunk.policies),
            to_plays=chunk.to_plays, legal_masks=to_numpy("legal_masks", chunk.legal_masks))
        length = len(chunk)
        if length == 0:
            raise ValueError("a chunk needs at least one step, got 0")
        if length > self.capacity_positions:
            raise ValueError(f"a chunk of {length} steps does not fit a buffer of "
                             f"{self.capacity_positions} positions")
        if self._columns is not None:
            self._check_compatible(checked)
        continues = chunk.key in self._live
        if chunk.first and continues:
            raise ValueError(f"chunk key {chunk.key} names a game that is still running")
        if self._columns is None:
            self._allocate(checked)

        if continues:
            game_id = self._live[chunk.key]
        else:
            game_id = self._next_game_id
            self._next_game_id += 1
            self._game_chunks[game_id] = []
        steps = np.arange(self._written, self._written + length, dtype=np.int64)
        slots = steps % self.capacity_positions
        old_oldest = self.oldest
        new_oldest = max(0, self._written + length - self.capacity_positions)
        # Read the links of the steps about to be overwritten before their slots are reused.
        evicted = np.arange(old_oldest, new_oldest)
        following = self._columns["next"][evicted % self.capacity_positions]
        # The slots about to be reused lose their old step: out of the sampling tree first.
        self._tree.set(slots, np.zeros(length))
        self._priority[slots] = 0.0
        columns = self._columns
        for name in ("observations", "actions", "rewards", "root_values", "policies",
                     "to_plays", "legal_masks"):
            columns[name][slots] = checked[name]
        columns["game"][slots] = game_id
        columns["next"][slots] = np.append(steps[1:], NO_STEP)
        columns["prev"][slots] = np.concatenate([[NO_STEP], steps[:-1]])
        if continues:  # link the game's previous chunk to this one
            tail = self._tail[game_id]
            if tail >= new_oldest:  # (an overwritten tail's slot now holds a new step)
                columns["next"][tail % self.capacity_positions] = steps[0]
            columns["prev"][slots[0]] = tail
        elif not chunk.first:  # the game's earlier chunks were not kept
            columns["prev"][slots[0]] = LOST
        self._written += length
        self._game_chunks[game_id].append((int(steps[0]), length))
        self._forget_evicted(old_oldest, following)

        pending = np.concatenate([self._pending.get(game_id, np.empty(0, np.int64)), steps])
        if chunk.game_over:
            self._live.pop(chunk.key, None)
            self._tail.pop(game_id, None)
            self._pending.pop(game_id, None)
            self._game_done[game_id] = bool(chunk.done)
            ready = pending
        else:
            self._live[chunk.key] = game_id
            self._tail[game_id] = int(steps[-1])
            wait = self.num_unroll_steps + self.td_steps
            ready, self._pending[game_id] = pending[:max(0, len(pending) - wait)], pending[
                max(0, len(pending) - wait):]
        if priorities is not None:
            assert chunk.first and chunk.game_over and len(priorities) == length
            self._enable(steps, priorities)
        else:
            self._enable(ready)
        return game_id

    def close_live_games(self, keys: Container[int] | None = None) -> None:
        """End every running game (or those whose chunk keys are in ``keys``) as cut off
        (``done`` False): a resumed run, or a self-play process or actor that stopped, cannot
        go on playing them, and their last positions become sampleable as a cut-off game's are."""
        for key in [k for k in self._live if keys is None or k in keys]:
            game_id = self._live.pop(key)
            self._tail.pop(game_id)
            self._game_done[game_id] = False
            self._enable(self._pending.pop(game_id))

    def initial_priorities(self, trajectory: Trajectory) -> np.ndarray:
        """``|nu_i - z_i|`` for every position of a trajectory (without ``eps``), ``[T]``,
        by the reference formula one position at a time."""
        targets = np.array([_n_step_value(trajectory, i, self.td_steps, self.discount)
                            for i in range(len(trajectory))])
        return np.abs(trajectory.root_values.astype(np.float64) - targets)

    def _allocate(self, checked: dict[str, np.ndarray]) -> None:
        # np.zeros maps untouched pages lazily: memory grows as the ring fills, then stays.
        n = self.capacity_positions
        observations = checked["observations"]
        num_actions = checked["policies"].shape[1]
        if self.frame_stack is not None:
            if observations.ndim != 4 or observations.dtype != np.uint8:
                raise ValueError("with a FrameStack, observations must be uint8 frames "
                                 f"[L, C, H, W], got {observations.dtype} {observations.shape}")
            if self.frame_stack.num_actions != num_actions:
                raise ValueError(f"frame_stack.num_actions {self.frame_stack.num_actions} "
                                 f"must match the policies' {num_actions} actions")
        self._columns = {
            "observations": np.zeros((n, *observations.shape[1:]), dtype=observations.dtype),
            "actions": np.zeros(n, dtype=np.int64),
            "rewards": np.zeros(n, dtype=np.float32),
            "root_values": np.zeros(n, dtype=np.float32),
            "policies": np.zeros((n, num_actions), dtype=np.float32),
            "to_plays": np.zeros(n, dtype=np.int8),
            "legal_masks": np.zeros((n, num_actions), dtype=bool),
            "game": np.full(n, -1, dtype=np.int64),
            "next": np.full(n, NO_STEP, dtype=np.int64),
            "prev": np.full(n, NO_STEP, dtype=np.int64),
        }

    def _check_compatible(self, checked: dict[str, np.ndarray]) -> None:
        stored = self._columns["observations"]
        observations = checked["observations"]
        if observations.shape[1:] != stored.shape[1:] or observations.dtype != stored.dtype:
            raise ValueError(
                f"observations must match the buffer's {stored.shape[1:]} {stored.dtype}, "
                f"got {observations.shape[1:]} {observations.dtype}")
        stored_actions = self._columns["policies"].shape[1]
        if checked["policies"].shape[1] != stored_actions:
            raise ValueError(f"action_space_size must match the buffer's {stored_actions}, "
                             f"got {checked['policies'].shape[1]}")

    def _enable(self, steps: np.ndarray, priorities: np.ndarray | None = None) -> None:
        """Put positions into the sampling tree with their first priority."""
        keep = steps >= self.oldest
        if self.frame_stack is not None:
            keep &= self._history_intact(steps)
        steps = steps[keep]
        if not len(steps):
            return
        if priorities is None:
            values = batch_targets(self.columns(), steps, 0, self.td_steps, self.discount,
                                   np.random.default_rng(0)).values[:, 0]
            stored = self._columns["root_values"][steps % self.capacity_positions]
            priorities = np.abs(stored.astype(np.float64) - values.astype(np.float64))
        else:
            priorities = priorities[keep]
        self._set_priorities(steps % self.capacity_positions, priorities + self.priority_eps)

    def _set_priorities(self, slots: np.ndarray, priorities: np.ndarray) -> None:
        self._priority[slots] = priorities
        self._tree.set(slots, priorities**self.alpha)

    def _history_intact(self, steps: np.ndarray) -> np.ndarray:
        """Whether every step a stacked observation reads is still stored: ``history`` frames,
        and the step before the oldest of them (its action fills that frame's plane)."""
        intact = np.ones(len(steps), dtype=bool)
        here = steps.copy()
        prev = self._columns["prev"]
        for _ in range(self.frame_stack.history):
            alive = here >= 0
            here = np.where(alive, prev[np.maximum(here, 0) % self.capacity_positions], NO_STEP)
            intact &= ~((here == LOST) | ((here >= 0) & (here < self.oldest)))
            here = np.where(here == LOST, NO_STEP, here)
        return intact

    def _forget_evicted(self, old_oldest: int, following: np.ndarray) -> None:
        """Bookkeeping after the ring moved on from ``old_oldest`` to ``oldest``;
        ``following`` holds the ``next`` links the overwritten steps had."""
        oldest = self.oldest
        if oldest == old_oldest:
            return
        if self.frame_stack is not None:
            # The steps right after an overwritten one lose part of their history: the
            # frames, and the action planes (each the action one step before its frame).
            following = following[following >= oldest]
            for _ in range(self.frame_stack.history):
                if not len(following):
                    break
                slots = following % self.capacity_positions
                self._tree.set(slots, np.zeros(len(slots)))
                self._priority[slots] = 0.0
                following = self._columns["next"][slots]
                following = following[following >= 0]
        # Games whose every step is gone leave the game table (oldest first).
        while self._game_chunks:
            game_id = next(iter(self._game_chunks))
            start, length = self._game_chunks[game_id][-1]
            if start + length > oldest or game_id in self._tail:
                break
            del self._game_chunks[game_id]
            self._game_done.pop(game_id, None)

    # -- reading --------------------------------------------------------------------------

    def observations(self, steps: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The observations the network reads at these global steps ``[B, ...]``: stored
        observations, or stacks rebuilt from single frames (the compiled ``stack_frames``;
        ``observations_reference`` is the same in numpy).

        ``out`` (stacks only): an array ``[B, ...]`` uint8 to write into and return. A batch
        of Atari stacks is tens of MB, and fresh memory costs a page fault per 4 KB on first
        touch (measured: more than the copy itself), so the trainer reuses one array, made by
        ``aligned_zeros`` (rows that start on a cache line are written fastest)."""
        steps = np.asarray(steps, dtype=np.int64)
        frames = self._columns["observations"]
        if self.frame_stack is None:
            return frames[steps % self.capacity_positions]
        history = self.frame_stack.history
        channels, height, width = frames.shape[1:]
        shape = (len(steps), history * (channels + 1), height, width)
        if out is None:
            out = aligned_zeros(shape)
        if out.shape != shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
            raise ValueError(f"out must be a contiguous uint8 array {shape}, got {out.dtype} "
                             f"{out.shape}")
        stacked = out.reshape(len(steps), history, (channels + 1) * height * width)
        stack_frames(frames.reshape(len(frames), -1), self._columns["prev"],
                     self._columns["actions"], self.frame_stack.plane_values(), steps, stacked)
        return out

    def observations_reference(self, steps: np.ndarray) -> np.ndarray:
        """``observations`` for a ``FrameStack``, written with numpy: walk back one link per
        history slot, gather that slot's frames and action planes for the whole batch."""
        steps = np.asarray(steps, dtype=np.int64)
        frames = self._columns["observations"]
        history = self.frame_stack.history
        channels, height, width = frames.shape[1:]
        stacked = np.zeros((len(steps), history, channels + 1, height, width), dtype=np.uint8)
        planes = self.frame_stack.plane_values()
        prev, actions = self._columns["prev"], self._columns["actions"]
        here = steps.copy()
        for slot in range(history - 1, -1, -1):  # newest first, walking back
            assert np.all((here < 0) | (here >= self.oldest)), "a frame was overwritten"
            alive = here >= 0
            rows = np.flatnonzero(alive)
            stacked[rows, slot, :channels] = frames[here[rows] % self.capacity_positions]
            before = np.where(alive, prev[np.maximum(here, 0) % self.capacity_positions],
                              NO_STEP)
            # The plane holds the action that led to this frame: a_{t-1}, 0 at the start.
            led_here = np.where(before >= 0, actions[np.maximum(before, 0)
                                                     % self.capacity_positions] + 1, 0)
            stacked[rows, slot, channels] = planes[led_here[rows]][:, None, None]
            here = np.where(before == LOST, NO_STEP, before)
        return stacked.reshape(len(steps), history * (channels + 1), height, width)

    def legal_masks(self, steps: np.ndarray) -> np.ndarray:
        """``[B, A]`` bool: the legal actions stored with these global steps."""
        return self._columns["legal_masks"][np.asarray(steps) % self.capacity_positions]

    # -- sampling -------------------------------------------------------------------------

    def sampling_probabilities(self) -> np.ndarray:
        """``P(i) = p_i^alpha / sum_k p_k^alpha`` over all stored positions, oldest first."""
        if self._tree.total <= 0:
            raise ValueError("the buffer is empty (no position can be sampled yet)")
        steps = np.arange(self.oldest, self._written)
        return self._tree.get(steps % self.capacity_positions) / self._tree.total

    def _global_steps(self, slots: np.ndarray) -> np.ndarray:
        last = self._written - 1
        return last - (last - slots) % self.capacity_positions

    def sample(
        self,
        batch_size: int,
        num_unroll_steps: int,
        td_steps: int | None = None,
        discount: float | None = None,
        rng: np.random.Generator | None = None,
        observations_out: np.ndarray | None = None,
    ) -> Batch:
        """Sample ``batch_size`` positions (with replacement) with probability ``P(i)``.

        Importance weights ``w_i = (1 / (N P(i)))^beta`` are divided by their maximum in
        the batch, so the largest is 1 and they only ever scale the loss down (Schaul et
        al. 2016; the per-batch maximum is what common MuZero implementations use).
        ``td_steps`` / ``discount`` default to the buffer's; ``rng`` to its own generator.
        ``Batch.indices`` holds (game id, global step) per row. ``observations_out``: see
        ``observations`` (the batch's observations are then that array).
        """
        batch_size = check_int("batch_size", batch_size, minimum=1)
        num_unroll_steps = check_int("num_unroll_steps", num_unroll_steps, minimum=0)
        td_steps = self.td_steps if td_steps is None else check_int("td_steps", td_steps, 0)
        discount = (
            self.discount if discount is None else check_float("discount", discount, 0.0, 1.0)
        )
        rng = self._rng if rng is None else check_rng(rng)
        if self._live and (num_unroll_steps + td_steps
                           > self.num_unroll_steps + self.td_steps):
            raise ValueError(
                f"num_unroll_steps + td_steps = {num_unroll_steps + td_steps} is more than the "
                f"{self.num_unroll_steps + self.td_steps} the buffer holds back at the live end "
                "of running games; build the buffer with a larger num_unroll_steps")
        if self._tree.total <= 0:
            raise ValueError("the buffer is empty: add a trajectory before sampling")

        slots = self._tree.sample(rng, batch_size)
        steps = self._global_steps(slots)
        probabilities = self._tree.get(slots) / self._tree.total
        weights = (1.0 / (len(self) * probabilities)) ** self.beta
        weights = weights / weights.max()
        targets = batch_targets(self.columns(), steps, num_unroll_steps, td_steps, discount, rng)
        indices = np.stack([self._columns["game"][slots], steps], axis=1)
        return Batch(
            observations=self.observations(steps, out=observations_out),
            actions=targets.actions,
            target_values=targets.values,
            target_rewards=targets.rewards,
            target_policies=targets.policies,
            policy_mask=targets.policy_mask,
            weights=weights.astype(np.float32),
            indices=indices.astype(np.int64),
        )

    def update_priorities(self, indices: np.ndarray, new_priorities: np.ndarray) -> None:
        """Set the priorities of sampled positions (``Batch.indices``) to ``new + eps``.

        Rows whose step was overwritten since sampling are skipped (the learner may lag
        behind self-play); a step never written is an error. Nothing is written unless every
        row checks out. A position listed twice keeps the last value.
        """
        indices = to_numpy("indices", indices)
        new_priorities = to_numpy("new_priorities", new_priorities).astype(np.float64)
        if (
            indices.ndim != 2
            or indices.shape[1] != 2
            or not np.issubdtype(indices.dtype, np.integer)
        ):
            raise ValueError(
                f"indices must be an int array [B, 2] of (game id, step), got "
                f"{indices.dtype} {indices.shape}"
            )
        if new_priorities.shape != (indices.shape[0],):
            raise ValueError(
                f"new_priorities must have shape ({indices.shape[0]},), got {new_priorities.shape}"
            )
        _check_priority_values(new_priorities)
        game_ids, steps = indices[:, 0].astype(np.int64), indices[:, 1].astype(np.int64)
        outside = (steps < 0) | (steps >= self._written)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise ValueError(f"indices row {row}: step {steps[row]} was never stored "
                             f"(the buffer has written {self._written} steps)")
        slots = steps % self.capacity_positions
        live = (steps >= self.oldest) & (self._columns["game"][slots] == game_ids)
        live &= self._tree.get(slots) > 0  # a position not sampleable stays so
        self._set_priorities(slots[live], new_priorities[live] + self.priority_eps)


def _check_priority_values(priority: np.ndarray) -> None:
    if not np.all(np.isfinite(priority)) or np.any(priority < 0):
        raise ValueError("priorities must be finite and >= 0")

