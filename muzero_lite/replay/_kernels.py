"""The frame-stacking loop, compiled with numba: one pass from the ring into the batch.

``ReplayBuffer.observations_reference`` is the readable numpy version (a gather per history
slot); this kernel writes each frame and plane straight into the output, with no temporary
arrays, which matters for Atari: a batch of 256 stacks is 75 MB, and memory bandwidth, not
arithmetic, sets its cost. ``tests/test_replay_columns.py`` checks that the two agree.

The batch rows are split over numba's threads (``prange``; ``numba.set_num_threads`` caps
them, all cores by default): one core of this 2-core machine copies about 7 GB/s, so a second
core nearly halves the time (``benchmarks/replay_throughput.py`` times it).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def stack_frames(frames: np.ndarray, prev: np.ndarray, actions: np.ndarray,
                 planes: np.ndarray, steps: np.ndarray, out: np.ndarray) -> None:
    """``out[b, slot]`` = the frame ``history - 1 - slot`` steps before ``steps[b]`` (flat,
    ``C*H*W`` bytes), then a plane of the action that led to it (``planes[a + 1]``; 0 for a
    game's first frame), walking back through ``prev``; zeros before the game's start.

    ``frames`` is ``[N, C*H*W]``, ``out`` is ``[B, history, (C+1)*H*W]``, both uint8.
    Each row is written by one thread and reads only shared inputs, so the result does not
    depend on how the rows are split."""
    capacity, frame_size = frames.shape
    history = out.shape[1]
    for b in prange(steps.shape[0]):
        here = steps[b]
        for slot in range(history - 1, -1, -1):
            row = out[b, slot]
            if here < 0:  # before the game's first frame: zero padding
                row[:] = 0
                continue
            ring = here % capacity
            # Slices, not loops over bytes: numba makes these a memcpy and a memset (a sampled
            # batch 9.1 -> 6.9 ms on 2 cores, data/benchmarks/replay_throughput.jsonl).
            row[:frame_size] = frames[ring]
            before = prev[ring]
            row[frame_size:] = planes[actions[before % capacity] + 1] if before >= 0 else 0
            here = before if before >= 0 else -1
