"""A batch seen through the board's symmetries: more positions from the same games.

A tic-tac-toe position turned a quarter or mirrored is the same position for the rules, with
the same outcome, so it can be trained on as it is. AlphaGo Zero trained on the 8 symmetries
of the Go board this way (the MuZero paper does not say that it did); each row of a batch is
shown through one symmetry drawn at random, so over the run every stored position is seen in
all its forms. Connect Four has two (mirror left to right); games without symmetries, none.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from muzero_lite.games.base import Symmetry
from muzero_lite.replay.batch import Batch

__all__ = ["augment"]


def augment(batch: Batch, symmetries: Sequence[Symmetry], rng: np.random.Generator) -> Batch:
    """``batch`` (numpy, observations [B, C, rows, cols]) with row ``b`` and its K unrolled
    steps seen through ``symmetries[s_b]``, ``s_b`` uniform: the observation's cells and
    the policy targets' actions are reordered, the actions taken renamed. Values, rewards,
    masks, weights and indices stay: a symmetry changes no outcome."""
    cells = np.stack([s.cells for s in symmetries])  # [S, rows * cols]
    orders = np.stack([s.actions for s in symmetries])  # [S, A]
    observations = batch.observations
    size = observations.shape[0]
    flat = observations.reshape(size, observations.shape[1], -1)  # [B, C, rows * cols]
    if flat.shape[2] != cells.shape[1] or batch.target_policies.shape[2] != orders.shape[1]:
        raise ValueError(f"symmetries of {cells.shape[1]} cells and {orders.shape[1]} actions "
                         f"do not fit observations {observations.shape[1:]} and "
                         f"{batch.target_policies.shape[2]} actions")
    pick = rng.integers(len(symmetries), size=size)
    seen = np.take_along_axis(flat, cells[pick][:, None, :], axis=2).reshape(observations.shape)
    order = orders[pick]  # [B, A]: action j after the symmetry is action order[b, j] before
    policies = np.take_along_axis(batch.target_policies, order[:, None, :], axis=2)
    renamed = np.argsort(order, axis=1)  # the inverse: action a before is renamed[b, a] after
    actions = np.take_along_axis(renamed, batch.actions, axis=1)
    return dataclasses.replace(batch, observations=seen, actions=actions,
                               target_policies=policies)
