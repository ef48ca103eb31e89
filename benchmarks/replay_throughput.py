"""Replay throughput: bytes per stored position, and milliseconds per sampled batch.

Two buffers of ``--positions`` steps each, filled the way self-play fills them (16 games at a
time, handed over in chunks of 25 moves, interleaved):

* CartPole-sized: 4 float32 numbers per observation, 2 actions;
* Atari-sized: one 96x96 RGB uint8 frame per step, 6 actions (Pong), observations rebuilt as
  8 frames + 8 action planes (``FrameStack``), as the ``atari`` preset reads them.

For each, one batch (B = ``--batch``, K = ``--unroll``, n = ``--td``) is timed two ways in the
same run, on the same positions:

* fast: ``ReplayBuffer.sample`` (sum-tree draw, targets over the [B, K+1] grid, stacks by
  index arithmetic, the rows split over numba's threads: ``stacking_threads``, all cores
  unless ``--threads`` says fewer), writing Atari stacks into one reused array as the trainer
  does (also timed into fresh memory each time);
* reference: what the replay did before the column rebuild, kept readable in chapter 05:
  positions drawn with ``rng.choice`` over all N priorities, then per position one
  ``make_targets`` call on its game's ``Trajectory`` and its observation built one by one.

The two take turns, ``--repeats`` calls each after a warm-up, and are reported as the mean and
the median per batch. Taking turns is what a serial training loop does (a learner step runs
between two samples): timed in a series of its own, the fast path looked 1.1-1.5x faster (likely
the batch's memory still in cache; not measured), and a neighbour's burst of memory traffic on
this shared machine fell on one series only (it moved a series of 30 Atari batches by a fifth
from one minute to the next).

A plain copy of one batch's observations (``np.copyto``, one thread, ordinary stores) is timed
too: what one core's memory bandwidth allows for a batch of materialised Atari stacks (75 MB at
B = 256) when each output cache line is read before it is written; the kernel's streaming
stores skip that read.

Bytes per position count every column, the priority and the sum tree; for Atari they are
also given as a multiple of one preprocessed frame (27,648 bytes).

    python benchmarks/replay_throughput.py [--positions 100000] [--repeats 30]

Prints one JSON line (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numba
import numpy as np

from muzero_lite.games.atari import action_plane_value
from muzero_lite.replay import (
    Chunk,
    FrameStack,
    ReplayBuffer,
    Trajectory,
    aligned_zeros,
    make_targets,
)


def make_games(rng, positions: int, frame_shape, dtype, num_actions: int, length: int):
    """Games of about ``length`` moves, enough for ``positions`` steps."""
    games, total = [], 0
    while total < positions:
        n = int(min(positions - total, rng.integers(length // 2, 2 * length)))
        if dtype == np.uint8:
            observations = rng.integers(0, 256, size=(n, *frame_shape), dtype=np.uint8)
        else:
            observations = rng.normal(size=(n, *frame_shape)).astype(dtype)
        games.append(Trajectory.from_arrays(
            observations=observations, actions=rng.integers(0, num_actions, n),
            rewards=rng.normal(size=n), root_values=rng.normal(size=n),
            policies=rng.dirichlet(np.ones(num_actions), size=n), done=True))
        total += n
    return games


def fill(buffer: ReplayBuffer, games, rng, chunk_moves: int = 25, running: int = 16):
    """Chunks of ``running`` games at a time, interleaved; returns {step: (game, position)}."""
    where, fed, live, next_game = {}, {}, [], 0
    while live or next_game < len(games):
        while len(live) < running and next_game < len(games):
            live.append(next_game)
            fed[next_game] = 0
            next_game += 1
        g = live[int(rng.integers(len(live)))]
        game, start = games[g], fed[g]
        stop = min(len(game), start + chunk_moves)
        rows = slice(start, stop)
        first = buffer.written
        buffer.add_chunk(Chunk(g, game.observations[rows], game.actions[rows],
                               game.rewards[rows], game.root_values[rows], game.policies[rows],
                               game.to_plays[rows], game.legal_masks[rows], first=start == 0,
                               game_over=stop == len(game), done=True))
        for offset in range(stop - start):
            where[first + offset] = (g, start + offset)
        fed[g] = stop
        if stop == len(game):
            live.remove(g)
    return where


def reference_observation(game: Trajectory, position: int, history: int | None,
                          num_actions: int) -> np.ndarray:
    if history is None:
        return game.observations[position]
    channels, height, width = game.observations.shape[1:]
    stacked = np.zeros((history, channels + 1, height, width), dtype=np.uint8)
    for slot in range(history):
        j = position - (history - 1 - slot)
        if j >= 0:
            stacked[slot, :channels] = game.observations[j]
            led_here = None if j == 0 else int(game.actions[j - 1])
            stacked[slot, channels] = action_plane_value(led_here, num_actions)
    return stacked.reshape(history * (channels + 1), height, width)


def reference_batch(buffer, games, where, batch, unroll, td, rng, history, num_actions):
    """The per-sample path: rng.choice over all priorities, make_targets one at a time."""
    steps = np.arange(buffer.oldest, buffer.written)
    priorities = buffer._priority[steps % buffer.capacity_positions] ** buffer.alpha
    chosen = rng.choice(len(steps), size=batch, replace=True, p=priorities / priorities.sum())
    targets, observations = [], []
    for step in steps[chosen]:
        game, position = where[int(step)]
        targets.append(make_targets(games[game], position, unroll, td, buffer.discount,
                                    num_actions, rng))
        observations.append(reference_observation(games[game], position, history,
                                                  num_actions))
    return np.stack(observations), [np.stack([getattr(t, f) for t in targets])
                                    for f in ("values", "rewards", "policies", "actions")]


def measure(name, frame_shape, dtype, num_actions, history, args, rng):
    print(f"{name}: filling {args.positions:,} positions ...", file=sys.stderr)
    games = make_games(rng, args.positions, frame_shape, dtype, num_actions,
                       length=200 if history is None else 1000)
    buffer = ReplayBuffer(args.positions, td_steps=args.td, discount=0.997,
                          num_unroll_steps=args.unroll, seed=0,
                          frame_stack=None if history is None
                          else FrameStack(history, num_actions))
    where = fill(buffer, games, rng)
    assert len(buffer) == args.positions

    def times_ms(*calls):
        """Milliseconds of each call, ``--repeats`` rounds after a warm-up round; the calls take
        turns, so a neighbour's burst of memory traffic on this shared machine falls on all of
        them alike instead of on one series."""
        for call in calls:
            call()
        times = [[] for _ in calls]
        for _ in range(args.repeats):
            for call, series in zip(calls, times, strict=True):
                started = time.perf_counter()
                call()
                series.append(1000 * (time.perf_counter() - started))
        return [np.array(series) for series in times]

    def timed(call):
        return float(times_ms(call)[0].mean())

    out = None
    if history is not None:  # the trainer samples Atari stacks into one reused array
        out = aligned_zeros((args.batch, history * (frame_shape[0] + 1), *frame_shape[1:]))

    def fast():
        return buffer.sample(args.batch, args.unroll, rng=rng, observations_out=out)

    def reference():
        return reference_batch(buffer, games, where, args.batch, args.unroll, args.td, rng,
                               history, num_actions)

    fast_times, reference_times = times_ms(fast, reference)
    fresh_ms = timed(lambda: buffer.sample(args.batch, args.unroll, rng=rng))
    # For scale: one plain copy of a batch of observations into memory already touched.
    observations = buffer.sample(args.batch, args.unroll, rng=rng).observations
    copy = np.empty_like(observations)
    copy[:] = 0
    copy_ms = timed(lambda: np.copyto(copy, observations))
    fast_ms, fast_median_ms = fast_times.mean(), np.median(fast_times)
    reference_ms, reference_median_ms = reference_times.mean(), np.median(reference_times)
    columns = buffer._columns
    stored = sum(column.nbytes for column in columns.values())
    stored += buffer._priority.nbytes + buffer._tree.nodes.nbytes
    per_position = stored / buffer.capacity_positions
    frame_bytes = int(np.prod(frame_shape)) * np.dtype(dtype).itemsize
    observation_bytes = columns["observations"].nbytes / buffer.capacity_positions
    result = {
        "bytes_per_position": round(per_position, 1),
        "observation_bytes_per_position": round(observation_bytes, 1),
        "small_field_bytes_per_position": round(per_position - observation_bytes, 1),
        "fast_ms_per_batch": round(fast_ms, 2),
        "fast_into_fresh_memory_ms_per_batch": round(fresh_ms, 2),
        "copy_of_the_batch_observations_ms": round(copy_ms, 2),
        "reference_ms_per_batch": round(reference_ms, 2),
        "fast_over_reference": round(reference_ms / fast_ms, 1),
        "fast_median_ms_per_batch": round(fast_median_ms, 2),
        "reference_median_ms_per_batch": round(reference_median_ms, 2),
        "fast_over_reference_by_medians": round(reference_median_ms / fast_median_ms, 1),
    }
    if history is not None:
        stacked = history * (frame_shape[0] + 1) * frame_shape[1] * frame_shape[2]
        result |= {"frame_bytes": frame_bytes,
                   "observation_bytes_per_position_in_frames": round(observation_bytes
                                                                     / frame_bytes, 3),
                   "stacked_observation_bytes": stacked}
    print(f"{name}: {result}", file=sys.stderr)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--positions", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--unroll", type=int, default=5)
    p.add_argument("--td", type=int, default=10)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--threads", type=int, default=None,
                   help="numba threads for the stacking (default: all cores)")
    args = p.parse_args()
    if args.threads is not None:
        numba.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    line = {"benchmark": "replay_throughput", "positions": args.positions,
            "batch_size": args.batch, "num_unroll_steps": args.unroll, "td_steps": args.td,
            "repeats": args.repeats, "stacking_threads": numba.get_num_threads(),
            "timing": "fast and reference calls take turns"}
    line["cartpole"] = measure("cartpole", (4,), np.float32, 2, None, args, rng)
    line["atari"] = measure("atari", (3, 96, 96), np.uint8, 6, 8, args, rng)
    print(json.dumps(line))


if __name__ == "__main__":
    main()
