"""Replay: recorded games, their training targets, and the prioritized buffer (chapter 05).

    trajectory.py  ``Trajectory``: one game, step by step, as readable arrays
    targets.py     ``make_targets`` (one position, the reference) and ``batch_targets``
                   (a whole batch as array arithmetic; tested equal to the reference)
    batch.py       ``Batch``: what the learner consumes
    sum_tree.py    ``SumTree``: priority sampling in O(log N)
    buffer.py      ``ReplayBuffer``: steps stored once as columns, games added in chunks
    store.py       ``ChunkStore``: each chunk written to disk once; a run resumes from them
    augment.py     ``augment``: a batch seen through random symmetries of the board
"""

from muzero_lite.replay._kernels import aligned_zeros
from muzero_lite.replay.augment import augment
from muzero_lite.replay.batch import Batch
from muzero_lite.replay.buffer import Chunk, FrameStack, ReplayBuffer
from muzero_lite.replay.store import ChunkStore
from muzero_lite.replay.sum_tree import SumTree
from muzero_lite.replay.targets import (
    StepColumns,
    Targets,
    batch_targets,
    make_targets,
    n_step_value,
)
from muzero_lite.replay.trajectory import Trajectory

__all__ = [
    "Batch",
    "Chunk",
    "ChunkStore",
    "FrameStack",
    "ReplayBuffer",
    "StepColumns",
    "SumTree",
    "Targets",
    "Trajectory",
    "aligned_zeros",
    "augment",
    "batch_targets",
    "make_targets",
    "n_step_value",
]
