"""Which torch device a run uses, checked where the name enters (CLI ``--device``,
``Trainer(device=...)``), so a typo or a missing GPU is one clear line, not a traceback."""

from __future__ import annotations

import torch

__all__ = ["check_device"]

_CHOICES = "cpu, cuda, cuda:N (N = the GPU's number) or mps"


def check_device(name: str | torch.device) -> torch.device:
    """The torch device ``name``, if this machine has it; else a one-line ``ValueError``
    (``gpu`` is not a device name; ``cuda`` needs a GPU that torch can see)."""
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"{str(name)!r} is not a device name: use {_CHOICES}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{str(name)!r}: CUDA is not available on this machine "
                             f"(torch {torch.__version__} sees no GPU); use cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(f"{str(name)!r}: this machine has {count} CUDA GPU(s), "
                             f"numbered 0 to {count - 1}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{str(name)!r}: MPS (Apple GPU) is not available on this machine; "
                         "use cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{str(name)!r} is not supported here: use {_CHOICES}")
    return device
