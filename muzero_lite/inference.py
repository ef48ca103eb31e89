"""How the search and the learner call the network on a given device: eager or captured,
float32 or bfloat16. The algorithm is the same either way; only the way the kernels are
launched changes.

The workbook's networks are small, so on a GPU one call is bound by kernel launches, not by
arithmetic: a ResNet of a few blocks launches a few hundred kernels of a few microseconds
each. Two remedies, both standard torch:

* **CUDA graphs.** The search calls ``recurrent_inference`` with the same shapes at every
  simulation, so the whole call is recorded once (``torch.cuda.CUDAGraph``) and replayed as
  one launch. Inputs are copied into the graph's fixed input tensors; its outputs live in
  fixed tensors too, overwritten by the next replay (the search reads each call's outputs
  once, before the next). A graph reads the weights where they live, so an optimizer step or
  ``load_state_dict`` (both write in place) is seen by the next replay.
* **bfloat16 autocast.** Convolutions and matrix products in bf16, everything the search and
  the losses read back cast to float32 (the network decodes its value/reward support in
  float32 itself). Alone it is slower on these nets (the casts are extra launches); inside a
  graph the casts are free.

``mode``: "eager" (plain calls), "graph" (CUDA only), "compile" (``torch.compile`` with
``mode="reduce-overhead"``, which also captures graphs), or "auto": graphs on CUDA, eager
elsewhere. ``precision``: "fp32", "bf16", or "auto": bf16 on CUDA, fp32 elsewhere.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import torch

from muzero_lite.networks import MuZeroNetwork, NetworkOutput

__all__ = ["CAPTURE_LOCK", "MODES", "PRECISIONS", "Autocast", "SearchInference", "resolve"]

MODES = ("auto", "eager", "graph", "compile")
PRECISIONS = ("auto", "fp32", "bf16")
_MAX_GRAPHS = 8  # one per (call, batch shape); more shapes than this run eagerly
# One capture at a time in this process: torch.cuda.graph empties the allocator's cache as it
# starts, which torch refuses while another thread is capturing (the actor's search graphs
# and the learner's, loss_graph.py, may otherwise start together in pipeline="overlap").
CAPTURE_LOCK = threading.Lock()


def resolve(mode: str, precision: str, device: torch.device) -> tuple[str, bool]:
    """The concrete mode ("eager" | "graph" | "compile") and whether to use bf16."""
    if mode not in MODES:
        raise ValueError(f"inference mode {mode!r} is not one of {', '.join(MODES)}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    cuda = device.type == "cuda"
    if mode == "graph" and not cuda:
        raise ValueError(f"inference='graph' needs a CUDA device, and this run is on {device}: "
                         "use inference='auto' (graphs on CUDA, eager elsewhere)")
    if mode == "auto":
        mode = "graph" if cuda else "eager"
    bf16 = precision == "bf16" or (precision == "auto" and cuda)
    return mode, bf16


def _each_tensor(out: NetworkOutput, change: Callable[[torch.Tensor], torch.Tensor]
                 ) -> NetworkOutput:
    return NetworkOutput(**{f.name: None if (t := getattr(out, f.name)) is None else change(t)
                            for f in dataclasses.fields(out)})


def _float32(out: NetworkOutput) -> NetworkOutput:
    """Every tensor of an output as float32 (what the search's arrays and the losses expect)."""
    return _each_tensor(out, torch.Tensor.float)


class Autocast:
    """A network whose two calls run under bf16 autocast and return float32 outputs: what
    the learner hands ``unrolled_loss`` (the losses, the support and the targets stay fp32)."""

    def __init__(self, network: MuZeroNetwork):
        self.network = network
        self.support_size = network.support_size
        self._device = next(network.parameters()).device.type

    def initial_inference(self, observation: torch.Tensor) -> NetworkOutput:
        with torch.autocast(self._device, dtype=torch.bfloat16):
            return _float32(self.network.initial_inference(observation))

    def recurrent_inference(self, latent: torch.Tensor, action: torch.Tensor,
                            **kwargs: bool) -> NetworkOutput:
        with torch.autocast(self._device, dtype=torch.bfloat16):
            return _float32(self.network.recurrent_inference(latent, action, **kwargs))


class SearchInference:
    """The search's two network calls, run the way ``mode`` and ``precision`` say.

    ``initial(observations)`` returns fresh tensors; ``recurrent(latent, action)`` may return
    tensors that the next call overwrites (graphs): read them before calling again.
    """

    def __init__(self, network: MuZeroNetwork, mode: str = "auto", precision: str = "auto"):
        self.network = network
        self.device = next(network.parameters()).device
        self.mode, self.bf16 = resolve(mode, precision, self.device)
        self._graphs: dict[tuple, _Graph] = {}
        self._compiled: dict[str, Callable] = {}
        self._pool = None  # one memory pool shared by every graph of this network

    def __repr__(self) -> str:
        return (f"SearchInference(mode={self.mode!r}, "
                f"precision={'bf16' if self.bf16 else 'fp32'}, device={self.device})")

    def _initial_eager(self, observations: torch.Tensor) -> NetworkOutput:
        if not self.bf16:
            return self.network.initial_inference(observations)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return _float32(self.network.initial_inference(observations))

    def _recurrent_eager(self, latent: torch.Tensor, action: torch.Tensor) -> NetworkOutput:
        if not self.bf16:
            return self.network.recurrent_inference(latent, action)
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return _float32(self.network.recurrent_inference(latent, action))

    def initial(self, observations: torch.Tensor) -> NetworkOutput:
        out = self._call("initial", self._initial_eager, observations)
        return out if self.mode == "eager" else _clone(out)

    def recurrent(self, latent: torch.Tensor, action: torch.Tensor) -> NetworkOutput:
        return self._call("recurrent", self._recurrent_eager, latent, action)

    def _call(self, name: str, eager: Callable, *inputs: torch.Tensor) -> NetworkOutput:
        if self.mode == "eager":
            return eager(*inputs)
        if self.mode == "compile":
            if name not in self._compiled:
                self._compiled[name] = torch.compile(eager, mode="reduce-overhead",
                                                     dynamic=False)
            return self._compiled[name](*inputs)
        key = (name, *((tuple(x.shape), x.dtype) for x in inputs))
        graph = self._graphs.get(key)
        if graph is None:
            if len(self._graphs) >= _MAX_GRAPHS:
                return eager(*inputs)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()
            graph = self._graphs[key] = _Graph(eager, inputs, self._pool)
        return graph(*inputs)


def _clone(out: NetworkOutput) -> NetworkOutput:
    """A copy the next replay of a captured graph cannot overwrite."""
    return _each_tensor(out, torch.Tensor.clone)


class _Graph:
    """One call recorded as a CUDA graph for fixed input shapes (torch's recipe: warm up on a
    side stream, then capture)."""

    def __init__(self, fn: Callable, example: tuple[torch.Tensor, ...], pool: object):
        self.inputs = tuple(x.clone() for x in example)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):  # cuDNN picks its algorithms and allocates outside the capture
                fn(*self.inputs)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        # thread_local: the learner's thread may allocate while the actor's thread captures.
        with CAPTURE_LOCK, torch.cuda.graph(self.graph, pool=pool,
                                            capture_error_mode="thread_local"):
            self.output = fn(*self.inputs)

    def __call__(self, *inputs: torch.Tensor) -> NetworkOutput:
        for fixed, x in zip(self.inputs, inputs, strict=True):
            fixed.copy_(x, non_blocking=True)
        self.graph.replay()
        return self.output
