"""The learner's step recorded once as a CUDA graph and replayed: ``unrolled_loss`` and its
backward pass as one launch instead of 1,800 to 3,200 operations.

Why: a learner step of the workbook's networks is bound by the cost of launching its
kernels, not by their arithmetic. On the 2-core CPU of the project's CI, a step whose
arithmetic is made trivial (2 channels, batch 4) still takes 29 ms for the Connect Four
ResNet of 2 blocks and 53 ms for the Atari network (``benchmarks/learner_overhead.py``):
the Python and dispatch cost of the 1,810 and 2,677 operations of a K = 5 unroll, forward and
backward. On one H200 the full-size learner made 17.5 (that Connect Four network) and 9.2
(Pong) steps/s, i.e. 57 and 109 ms a step: at those floors, not at the GPU's arithmetic.
Recording the step once and replaying it removes that cost, as ``SearchInference`` does for
the search.

What the replay does and does not do, so that the learner stays the same algorithm:

* each call copies the batch into the graph's fixed input tensors, then replays forward and
  backward; the gradients land in every parameter's ``.grad``, fixed tensors that each replay
  *overwrites* (so the caller must not zero them, nor set them to None, between steps);
* the optimizer step runs outside the graph, eagerly: the learning rate decays, and a batch
  with a non-finite loss is still skipped before any weight changes;
* the returned ``LossOutput`` lives in fixed tensors too: read it before the next call;
* BatchNorm's running statistics move at each call as in one eager step: the warm-up
  passes before the capture leave them as they were.

CUDA only; ``tests/test_pipeline.py`` checks on a GPU that it gives the eager gradients.
"""

from __future__ import annotations

import dataclasses

import torch

from muzero_lite.inference import CAPTURE_LOCK, Autocast
from muzero_lite.losses import LossOutput, unrolled_loss
from muzero_lite.networks import MuZeroNetwork
from muzero_lite.replay import Batch

__all__ = ["GraphedLoss"]

# The batch fields unrolled_loss reads; the rest (indices) stay with the caller.
_INPUTS = ("observations", "actions", "target_values", "target_rewards", "target_policies",
           "policy_mask", "weights")


class GraphedLoss:
    """``unrolled_loss(network, batch)`` plus ``.backward()``, recorded for one batch shape.

    ``GraphedLoss(network, example, bf16=..., value_loss_weight=..., reward_loss_weight=...)``
    records with ``example`` (a torch batch on the network's CUDA device); then
    ``graphed(batch)`` returns the batch's ``LossOutput`` with the gradients in ``.grad``.
    """

    def __init__(self, network: MuZeroNetwork, example: Batch, bf16: bool,
                 value_loss_weight: float = 1.0, reward_loss_weight: float = 1.0):
        device = next(network.parameters()).device
        if device.type != "cuda":
            raise ValueError(f"GraphedLoss needs a network on a CUDA device, not on {device}")
        model = Autocast(network) if bf16 else network

        def step(batch: Batch) -> LossOutput:
            losses = unrolled_loss(model, batch, value_loss_weight=value_loss_weight,
                                   reward_loss_weight=reward_loss_weight)
            losses.total.backward()
            return losses

        self.network = network
        self.shapes = {name: (tuple(getattr(example, name).shape), getattr(example, name).dtype)
                       for name in _INPUTS}
        self.inputs = dataclasses.replace(
            example, **{name: getattr(example, name).clone() for name in _INPUTS})
        kept = {name: b.clone() for name, b in network.named_buffers()}
        network.train()
        # torch's recipe: warm up on a side stream (cuDNN picks its algorithms, the
        # allocator fills its pool), then capture. Gradients are freed before the capture so
        # that the captured backward allocates them in the graph's memory and writes them.
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(3):
                network.zero_grad(set_to_none=True)
                step(self.inputs)
        torch.cuda.current_stream(device).wait_stream(side)
        network.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        # thread_local: the actor's thread may launch its own work meanwhile (not capture it:
        # CAPTURE_LOCK); the graph's own stream, not the capture stream torch shares.
        with CAPTURE_LOCK, torch.cuda.graph(self.graph, stream=torch.cuda.Stream(device),
                                            capture_error_mode="thread_local"):
            self.output = step(self.inputs)
        with torch.no_grad():  # the warm-up moved BatchNorm's statistics: put them back
            for name, buffer in network.named_buffers():
                buffer.copy_(kept[name])
        self.grads = [p.grad for p in network.parameters()]

    def __call__(self, batch: Batch) -> LossOutput:
        for name in _INPUTS:
            value = getattr(batch, name)
            if (tuple(value.shape), value.dtype) != self.shapes[name]:
                raise ValueError(f"batch.{name} is {value.dtype} {tuple(value.shape)}; this "
                                 f"graph was recorded for {self.shapes[name][1]} "
                                 f"{self.shapes[name][0]}")
            getattr(self.inputs, name).copy_(value, non_blocking=True)
        # A caller that freed the gradients would make the optimizer read stale ones.
        assert all(p.grad is g for p, g in zip(self.network.parameters(), self.grads,
                                                strict=True)), "the graph's .grad was replaced"
        self.graph.replay()
        return self.output
