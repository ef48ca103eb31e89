"""A sum tree: sample an index with probability proportional to its weight in O(log N).

Prioritized replay (Schaul et al. 2016) draws position ``i`` with probability
``p_i^alpha / sum_k p_k^alpha``. Drawing from a flat array costs O(N) per batch (a cumulative
sum over a million positions); a binary tree whose every node holds the sum of its two
children turns both a draw and an update into a walk of ``log2 N`` levels, done here for a
whole batch at once with numpy (one vectorised step per level).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SumTree"]


class SumTree:
    """``capacity`` non-negative weights; ``sample`` draws indices proportionally to them.

    Node 1 is the root and node ``n`` has children ``2n`` and ``2n + 1``; leaf ``i`` is node
    ``size + i``, ``size`` the next power of two. Parents are recomputed from their children
    on every update (not nudged by differences), so float rounding never accumulates.
    """

    def __init__(self, capacity: int) -> None:
        assert capacity >= 1
        self.capacity = capacity
        self.size = 1 << max(0, (capacity - 1).bit_length())
        self.depth = self.size.bit_length() - 1
        self.nodes = np.zeros(2 * self.size, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.nodes[1])

    def get(self, indices: np.ndarray) -> np.ndarray:
        return self.nodes[self.size + np.asarray(indices, dtype=np.int64)]

    def set(self, indices: np.ndarray, weights: np.ndarray) -> None:
        """Set leaves (a repeated index keeps its last weight), then every ancestor."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size == 0:
            return
        assert np.all((indices >= 0) & (indices < self.capacity))
        self.nodes[self.size + indices] = weights
        parents = np.unique((self.size + indices) >> 1)
        while parents[0] >= 1:
            self.nodes[parents] = self.nodes[2 * parents] + self.nodes[2 * parents + 1]
            if parents[0] == 1:
                break
            parents = np.unique(parents >> 1)

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """``count`` leaf indices, each drawn with probability weight / total."""
        assert self.total > 0, "no weight to sample from"
        targets = rng.random(count) * self.total
        nodes = np.ones(count, dtype=np.int64)
        for _ in range(self.depth):
            left = 2 * nodes
            left_sum = self.nodes[left]
            # Right when the target lies past the left subtree; never into an empty subtree
            # (a target equal to a sum, after rounding, could otherwise reach a zero leaf).
            right = ((targets >= left_sum) & (self.nodes[left + 1] > 0)) | (left_sum <= 0)
            targets = np.where(right, targets - left_sum, targets)
            nodes = np.where(right, left + 1, left)
        return nodes - self.size
