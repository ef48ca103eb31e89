"""The frame-stacking loop, compiled with numba: one pass from the ring into the batch.

``ReplayBuffer.observations_reference`` is the readable numpy version (a gather per history
slot); this kernel writes each frame and plane straight into the output, with no temporary
arrays, which matters for Atari: a batch of 256 stacks is 75 MB, and memory bandwidth, not
arithmetic, sets its cost. ``tests/test_replay_columns.py`` checks that the two agree.

Two things make it fast:

* The batch rows are split over numba's threads (``prange``; ``numba.set_num_threads`` caps
  them, all cores by default): one core of this 2-core machine copies about 7 GB/s, so a
  second core nearly halves the time.
* The output is written with *streaming* (non-temporal) stores. An ordinary store first reads
  the cache line it writes into (to own it), so filling 75 MB of fresh output moves 75 MB more
  than the copy itself; a streaming store writes the line whole and skips that read (and does
  not keep the line in cache: the batch is read next by the learner or the copy to the GPU,
  not by this kernel). Measured on this machine: 5.9 -> 3.8 ms for the kernel on a batch of
  256 Pong stacks (``benchmarks/replay_throughput.py`` times the whole sample). ``_copy`` and
  ``_fill`` are a slice copy and a slice fill; only their aligned middle uses the streaming
  store, so they work for any address and length.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# Bytes per streaming store: one 64-byte cache line (LLVM splits it into two or four stores
# on CPUs with narrower vectors; where the target has no streaming store, it is a plain one).
LINE = 64


def aligned_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """A zeroed uint8 array whose first byte starts a cache line (``LINE`` bytes).

    numpy aligns large arrays to 16 bytes only; a batch that starts mid-line leaves every
    row's first and last line to ordinary stores (measured: 3.9 -> 4.3 ms a batch)."""
    size = int(np.prod(shape))
    raw = np.zeros(size + LINE, dtype=np.uint8)
    start = (-raw.ctypes.data) % LINE
    return raw[start:start + size].reshape(shape)


def _streaming_store(builder, value, pointer) -> None:
    """``*pointer = value`` with LLVM's ``!nontemporal`` hint (``movntdq`` and kin on x86)."""
    store = builder.store(value, builder.bitcast(pointer, value.type.as_pointer()), align=LINE)
    store.set_metadata("nontemporal", builder.module.add_metadata([ir.IntType(32)(1)]))


@intrinsic
def _stream_line(typingctx, dst, dst_at, src, src_at):
    """``dst[dst_at : dst_at + LINE] = src[src_at : src_at + LINE]``, the store streaming.
    ``dst_at`` must be where a cache line starts (the callers see to it)."""
    if not (isinstance(dst, types.Array) and isinstance(src, types.Array)
            and dst.layout == "C" and src.layout == "C"):
        return None
    signature = types.void(dst, types.intp, src, types.intp)

    def codegen(context, builder, sig, args):
        out = context.make_array(sig.args[0])(context, builder, args[0])
        data = context.make_array(sig.args[2])(context, builder, args[2])
        line = ir.VectorType(ir.IntType(8), LINE)
        source = builder.bitcast(builder.gep(data.data, [args[3]]), line.as_pointer())
        _streaming_store(builder, builder.load(source, align=1),
                         builder.gep(out.data, [args[1]]))
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _stream_fill_line(typingctx, dst, dst_at, byte):
    """``dst[dst_at : dst_at + LINE] = byte``, the store streaming (``dst_at`` line-aligned)."""
    if not (isinstance(dst, types.Array) and dst.layout == "C"):
        return None
    signature = types.void(dst, types.intp, types.uint8)

    def codegen(context, builder, sig, args):
        out = context.make_array(sig.args[0])(context, builder, args[0])
        line = ir.VectorType(ir.IntType(8), LINE)
        value = builder.insert_element(ir.Constant(line, None), args[2], ir.IntType(32)(0))
        spread = ir.Constant(ir.VectorType(ir.IntType(32), LINE), [0] * LINE)
        value = builder.shuffle_vector(value, ir.Constant(line, None), spread)
        _streaming_store(builder, value, builder.gep(out.data, [args[1]]))
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _store_fence(typingctx):
    """A full memory fence: streaming stores are weakly ordered, so a thread fences before
    the batch is handed on (x86: a locked instruction, which drains them)."""

    def codegen(context, builder, sig, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


@njit(inline="always", nogil=True)
def _fence() -> None:
    """``_store_fence`` (wrapped so that ``stack_frames.py_func`` can call it too)."""
    _store_fence()


@njit(inline="always", nogil=True)
def _copy(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[:] = src`` (1-D, contiguous, same length): plain stores up to the first cache
    line of ``dst``, streaming stores for whole lines, plain stores for the rest."""
    n = dst.shape[0]
    head = min((-dst.ctypes.data) % LINE, n)
    dst[:head] = src[:head]
    at = head
    while at + LINE <= n:
        _stream_line(dst, at, src, at)
        at += LINE
    dst[at:] = src[at:]


@njit(inline="always", nogil=True)
def _fill(dst: np.ndarray, byte: np.uint8) -> None:
    """``dst[:] = byte`` (1-D, contiguous), the whole lines with streaming stores."""
    n = dst.shape[0]
    head = min((-dst.ctypes.data) % LINE, n)
    dst[:head] = byte
    at = head
    while at + LINE <= n:
        _stream_fill_line(dst, at, byte)
        at += LINE
    dst[at:] = byte


@njit(cache=True, nogil=True, parallel=True)
def stack_frames(frames: np.ndarray, prev: np.ndarray, actions: np.ndarray,
                 planes: np.ndarray, steps: np.ndarray, out: np.ndarray) -> None:
    """``out[b, slot]`` = the frame ``history - 1 - slot`` steps before ``steps[b]`` (flat,
    ``C*H*W`` bytes), then a plane of the action that led to it (``planes[a + 1]``; 0 for a
    game's first frame), walking back through ``prev``; zeros before the game's start.

    ``frames`` is ``[N, C*H*W]``, ``out`` is ``[B, history, (C+1)*H*W]``, both uint8 and
    C-contiguous. Each row is written by one thread and reads only shared inputs, so the
    result does not depend on how the rows are split."""
    capacity, frame_size = frames.shape
    history = out.shape[1]
    for b in prange(steps.shape[0]):
        here = steps[b]
        for slot in range(history - 1, -1, -1):
            row = out[b, slot]
            if here < 0:  # before the game's first frame: zero padding
                _fill(row, np.uint8(0))
                continue
            ring = here % capacity
            _copy(row[:frame_size], frames[ring])
            before = prev[ring]
            _fill(row[frame_size:],
                  planes[actions[before % capacity] + 1] if before >= 0 else np.uint8(0))
            here = before if before >= 0 else -1
        _fence()
