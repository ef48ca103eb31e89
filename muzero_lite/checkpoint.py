"""Checkpoints: written atomically, read back with ``weights_only=True``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so
``torch.load(..., weights_only=True)`` can read it without running any pickled code:

    format       int, bumped when the layout changes
    config       MuZeroConfig.to_dict()
    game         {"name", "observation_shape", "num_actions", "num_players"}
    network      the network's state_dict
    optimizer    the optimizer's state_dict (absent in a published agent)
    counters     {"train_step", "env_steps", "episodes", "wall_s"}
    rng          {"torch", "numpy", "search"}: generator states, so a resumed run
                 draws the same numbers it would have drawn
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CHECKPOINT_FORMAT", "save_checkpoint", "load_checkpoint", "atomic_write"]

CHECKPOINT_FORMAT = 1


def atomic_write(path: str | Path, write: Any) -> None:
    """Call ``write(tmp_path)``, then rename onto ``path``: a reader (or a crash mid-write)
    never sees half a file, because a rename within one folder is atomic."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (see the module docstring) atomically."""
    state = {"format": CHECKPOINT_FORMAT, **state}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely (``weights_only=True``: no pickled code runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # a truncated file, or not a checkpoint at all
        # torch's own message may advise retrying with weights_only=False, which would run
        # whatever code the file holds: never pass that advice on. Say what kind of damage.
        what = ("it is truncated or not a checkpoint file (no readable archive)"
                if "zip archive" in str(err) or isinstance(err, EOFError)
                else "it holds something other than tensors and plain values")
        raise ValueError(f"{path} is not a readable muzero-lite checkpoint: {what}; use "
                         "another checkpoint, or start a new run") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a muzero-lite checkpoint of format {CHECKPOINT_FORMAT}")
    missing = [key for key in ("config", "game", "network") if key not in state]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}: not a complete muzero-lite "
                         "checkpoint")
    return state
