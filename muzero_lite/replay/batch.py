"""A training batch: what the learner consumes, built by ``ReplayBuffer.sample``."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

__all__ = ["Batch"]


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
    indices: np.ndarray | torch.Tensor  # [B, 2] int64 (game id, position in the game)

    def to_torch(self, device: torch.device | str = "cpu") -> Batch:
        """The same batch as torch tensors on ``device``.

        Observations keep their dtype, except floats become float32: uint8 frames travel
        4x smaller and the network casts them (and scales them) itself.
        """
        converted = {}
        # Asynchronous from page-locked memory (the trainer samples Atari stacks into some).
        non_blocking = torch.device(device).type == "cuda"
        for field in fields(self):
            value = getattr(self, field.name)
            tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(value)
            if tensor.is_floating_point():
                tensor = tensor.float()
            converted[field.name] = tensor.to(device, non_blocking=non_blocking)
        return Batch(**converted)

    @property
    def batch_size(self) -> int:
        return int(self.actions.shape[0])

    @property
    def num_unroll_steps(self) -> int:
        return int(self.actions.shape[1])
