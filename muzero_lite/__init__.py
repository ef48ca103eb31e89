"""muzero_lite: a small, readable, correct MuZero that the workbook's chapters build.

The names most programs need are importable from the package itself::

    from muzero_lite import games, load_agent, preset, Trainer

They are loaded on first use, so ``import muzero_lite.config`` alone stays light (no torch).
ARCHITECTURE.md maps the modules.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {  # name -> the module that defines it
    "Agent": "muzero_lite.agent",
    "load_agent": "muzero_lite.agent",
    "MuZeroConfig": "muzero_lite.config",
    "preset": "muzero_lite.config",
    "Trainer": "muzero_lite.training",
    "evaluate_agent": "muzero_lite.evaluate",
    "search": "muzero_lite.search",
}

__all__ = ["__version__", "games", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name == "games":
        return importlib.import_module("muzero_lite.games")
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'muzero_lite' has no attribute {name!r}")
