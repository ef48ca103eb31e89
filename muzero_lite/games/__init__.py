"""Games MuZero plays, behind one small interface (`Game`), made by name with `make`.

    from muzero_lite import games
    game = games.make("tictactoe")      # or "connect4", "cartpole", "gym:<id>", "atari:<Game>"
    while not game.terminal():
        game.step(game.legal_actions()[0])

Games know nothing of networks or search (ARCHITECTURE.md, "Module map": dependencies go one way).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

# Importing atari.py is cheap: it loads ale-py (the emulator) only inside AtariGame(). Measured
# here: `import muzero_lite.games` takes ~0.15 s, almost all of it gymnasium itself.
from muzero_lite.games.atari import AtariGame
from muzero_lite.games.base import BoardGame, Game, IllegalMoveError, Symmetry
from muzero_lite.games.connect4 import ConnectFour
from muzero_lite.games.gym_env import GymGame
from muzero_lite.games.tictactoe import TicTacToe

__all__ = [
    "AtariGame",
    "BoardGame",
    "ConnectFour",
    "Game",
    "GymGame",
    "IllegalMoveError",
    "Symmetry",
    "TicTacToe",
    "make",
    "names",
]

GYM_PREFIX = "gym:"
ATARI_PREFIX = "atari:"

# Plain names; "gym:<id>" and "atari:<Game>" are handled by prefix in `make`.
_REGISTRY: dict[str, Callable[..., Game]] = {
    "tictactoe": TicTacToe,
    "connect4": ConnectFour,
    "cartpole": lambda seed=None, **kwargs: GymGame("CartPole-v1", seed=seed, **kwargs),
}


def names() -> list[str]:
    """The names `make` accepts (prefix forms written with a placeholder)."""
    return [*_REGISTRY, GYM_PREFIX + "<id>", ATARI_PREFIX + "<Game>"]


def make(name: str, seed: int | None = None, **kwargs: Any) -> Game:
    """A fresh game, reset (with `seed` if given).

    name: "tictactoe", "connect4", "cartpole" (= "gym:CartPole-v1"), "gym:<id>" for any
    gymnasium env with a Discrete action space, or "atari:<Game>" (e.g. "atari:Breakout").
    kwargs go to the game's constructor (e.g. `history=4` for Atari).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str such as 'tictactoe', got {type(name).__name__}")
    if name.startswith(GYM_PREFIX):
        return GymGame(name[len(GYM_PREFIX) :], seed=seed, **kwargs)
    if name.startswith(ATARI_PREFIX):
        return AtariGame(name[len(ATARI_PREFIX) :], seed=seed, **kwargs)
    key = name.strip().lower()
    if key not in _REGISTRY:
        closest = difflib.get_close_matches(key, [*_REGISTRY, "gym:", "atari:"], n=1)
        hint = f" Did you mean {closest[0]!r}?" if closest else ""
        raise ValueError(f"unknown game {name!r}; valid names are {names()}.{hint}")
    return _REGISTRY[key](seed=seed, **kwargs)
