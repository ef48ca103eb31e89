"""The `Game` interface every environment speaks, and the shared n-in-a-row board.

MuZero (Schrittwieser et al. 2020) never sees the rules of a game: it only reads observations,
picks actions and receives rewards (paper, Section 2 and Figure 1). So the interface is small:

    game.legal_actions()   the actions allowed now (the search masks the root with these)
    game.to_play()         whose turn it is (0 or 1; always 0 in one-player games)
    reward = game.step(a)  play a move; reward is from the view of the player who moved
    game.terminal()        is the episode over?
    game.observation()     the array the representation network h reads

The real rules are still handy outside MuZero's learned model: a minimax opponent and a search
that "cheats" with the true rules both need `clone()`, an independent copy of the game.

`BoardGame` below holds what tic-tac-toe and Connect Four share: a rows x cols board, two
players taking turns, and "first to get `line_length` stones in a line wins".
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np


class IllegalMoveError(ValueError):
    """A move the rules do not allow: occupied cell, full column, out of range, not an int,
    or any move after the game is over. The game is left exactly as it was."""


def check_seed(seed: int | None) -> int | None:
    """Return `seed` if it is None or an int (not a bool), else raise TypeError."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise TypeError(f"seed must be an int or None, got {seed!r} ({type(seed).__name__})")
    return None if seed is None else int(seed)


def as_action_index(action: object) -> int | None:
    """`action` as a plain int, or None if it is not an integer.

    Accepts Python ints, numpy integers and 0-d integer tensors (anything with __index__), so
    `game.step(int(tensor.argmax()))` and `game.step(np.argmax(counts))` both work; bools and
    floats are refused because `step(True)` or `step(2.0)` is almost certainly a bug.
    """
    if isinstance(action, bool | np.bool_):
        return None
    try:
        return operator.index(action)
    except TypeError:
        return None


class Game(ABC):
    """One episode of an environment, stepped one action at a time.

    Subclasses set these (as class attributes or in __init__):
        name               what `games.make` calls it, e.g. "tictactoe", "gym:CartPole-v1"
        num_actions        size of the action space; actions are 0 .. num_actions - 1
        num_players        1 (Atari, CartPole) or 2 (board games, zero-sum, alternating)
        observation_shape  shape of `observation()`
    """

    name: str
    num_actions: int
    num_players: int
    observation_shape: tuple[int, ...]
    truncated: bool = False  # the episode was cut by a time limit, not ended by the rules

    @abstractmethod
    def reset(self, seed: int | None = None) -> None:
        """Start a new episode (seed the environment's randomness if given)."""

    @abstractmethod
    def legal_actions(self) -> list[int]:
        """Actions allowed now, ascending; empty once the game is over."""

    @abstractmethod
    def step(self, action: int) -> float:
        """Play `action`; return the reward from the view of the player who moved.

        Raises IllegalMoveError (leaving the game unchanged) for a move the rules refuse.
        """

    @abstractmethod
    def terminal(self) -> bool:
        """True once the episode is over (a win, a full board, or the env said done)."""

    @abstractmethod
    def observation(self) -> np.ndarray:
        """What the representation network reads, shape `observation_shape`."""

    @abstractmethod
    def clone(self) -> Game:
        """An independent copy: stepping one leaves the other as it was."""

    @abstractmethod
    def render(self) -> str:
        """A text picture of the current state."""

    def to_play(self) -> int:
        """The player to move: 0 or 1. One-player games are always 0."""
        return 0

    def legal_mask(self) -> np.ndarray:
        """Bool array [num_actions], True where the action is legal (what the search takes)."""
        mask = np.zeros(self.num_actions, dtype=bool)
        mask[self.legal_actions()] = True
        return mask

    def winner(self) -> int | None:
        """The winning player (0 or 1) of a finished two-player game; None otherwise."""
        return None

    def close(self) -> None:  # noqa: B027 - deliberately a no-op default, not abstract
        """Free what the game holds (emulators, windows). Board games hold nothing."""

    def __str__(self) -> str:
        return self.render()

    def _check_move(self, action: object) -> int:
        """`action` as an int if it is legal now, else raise IllegalMoveError.

        Called before anything changes, so a refused move leaves the game exactly as it was.
        """
        index = as_action_index(action)
        legal = self.legal_actions()
        if self.terminal():
            raise IllegalMoveError(
                f"illegal move {action!r} in {self.name}: the game is over (no legal moves)"
            )
        if index is None:
            raise IllegalMoveError(
                f"illegal move {action!r} in {self.name}: a move must be an int, "
                f"got {type(action).__name__}; legal moves are {legal}"
            )
        if index not in legal:
            raise IllegalMoveError(
                f"illegal move {action!r} in {self.name}: legal moves are {legal}"
            )
        return index


BoardGameT = TypeVar("BoardGameT", bound="BoardGame")

EMPTY = -1  # board cell with no stone; otherwise a cell holds the player index 0 (X) or 1 (O)
SYMBOLS = {EMPTY: ".", 0: "X", 1: "O"}

# The four line directions through a stone, as (row step, column step); each is walked both
# ways, so together they cover rows, columns and both diagonals.
LINE_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


@dataclass(frozen=True, eq=False)  # eq=False: == on arrays has no single truth value
class Symmetry:
    """A rotation or mirror image of a board, as index arrays: cell ``i`` (row-major) of the
    transformed board is cell ``cells[i]`` of the original, and action ``j`` played on the
    transformed board is action ``actions[j]`` on the original. Training on the transformed
    positions too (AlphaGo Zero: the 8 of the Go board) shows the network each position
    in all its equivalent forms; ``replay.augment`` applies them to a batch."""

    cells: np.ndarray  # int [rows * cols], a permutation
    actions: np.ndarray  # int [num_actions], a permutation


class BoardGame(Game):
    """Two players alternate placing stones on a rows x cols board; `line_length` in a row
    (horizontally, vertically or diagonally) wins. Player 0 (X) moves first.

    Subclasses set `rows`, `cols`, `line_length`, `num_actions`, `name`, and say where a move
    puts its stone in `_cell_of` (and which rotations and mirror images keep the rules, in
    `symmetries`).

    Rewards: +1 to the player whose move completes a line, 0 for every other move (a draw
    included). Because the winning move ends the game, the loser never gets a -1; the search
    sees the loss as the opponent's +1 one ply later (negamax backup, ARCHITECTURE.md "Algorithm").
    """

    rows: int
    cols: int
    line_length: int
    num_players = 2

    def __init__(self, seed: int | None = None) -> None:
        self.observation_shape = (3, self.rows, self.cols)
        self.reset(seed)

    @classmethod
    def from_moves(cls: type[BoardGameT], moves: Iterable[int]) -> BoardGameT:
        """A new game after playing `moves` in order (handy for setting up positions)."""
        game = cls()
        for move in moves:
            game.step(move)
        return game

    def reset(self, seed: int | None = None) -> None:
        """Empty board, X to move. Board games have no randomness: `seed` is checked, unused."""
        check_seed(seed)
        self._board = np.full((self.rows, self.cols), EMPTY, dtype=np.int8)
        self._player = 0
        self._winner: int | None = None
        self._moves: list[int] = []

    @property
    def board(self) -> np.ndarray:
        """A copy of the board, int8 [rows, cols]: -1 empty, 0 for X (player 0), 1 for O."""
        return self._board.copy()

    @property
    def moves(self) -> tuple[int, ...]:
        """The moves played so far, in order."""
        return tuple(self._moves)

    @abstractmethod
    def _cell_of(self, action: int) -> tuple[int, int]:
        """The (row, col) where a legal `action` puts its stone."""

    @classmethod
    def symmetries(cls) -> tuple[Symmetry, ...]:
        """The board's symmetries that map every game to a game with the same outcome,
        the identity first. None but the identity here; subclasses say which they have."""
        return (Symmetry(np.arange(cls.rows * cls.cols), np.arange(cls.num_actions)),)

    def to_play(self) -> int:
        return self._player

    def terminal(self) -> bool:
        return self._winner is not None or len(self._moves) == self.rows * self.cols

    def winner(self) -> int | None:
        return self._winner

    def step(self, action: int) -> float:
        action = self._check_move(action)
        row, col = self._cell_of(action)
        self._board[row, col] = self._player
        self._moves.append(action)
        reward = 0.0
        if self._completes_line(row, col):
            self._winner = self._player
            reward = 1.0
        self._player = 1 - self._player
        return reward

    def _completes_line(self, row: int, col: int) -> bool:
        """Does the stone just placed at (row, col) finish a line of `line_length`?

        Only lines through the newest stone can be new, so we count its run of same-coloured
        neighbours along each direction, both ways, instead of scanning the whole board.
        """
        stone = self._board[row, col]
        for d_row, d_col in LINE_DIRECTIONS:
            run = 1  # the new stone itself
            for sign in (1, -1):
                r, c = row + sign * d_row, col + sign * d_col
                while 0 <= r < self.rows and 0 <= c < self.cols and self._board[r, c] == stone:
                    run += 1
                    r, c = r + sign * d_row, c + sign * d_col
            if run >= self.line_length:
                return True
        return False

    def observation(self) -> np.ndarray:
        """float32 [3, rows, cols] from the view of the player to move.

        plane 0: the mover's stones, plane 1: the opponent's stones, plane 2: all ones if the
        mover is player 0 (X), else all zeros. Seen from the mover, one network can play both
        sides; plane 2 still lets it tell the colours apart (who moved first matters).
        """
        mover = self._player
        planes = np.empty(self.observation_shape, dtype=np.float32)
        planes[0] = self._board == mover
        planes[1] = self._board == 1 - mover
        planes[2] = 1.0 if mover == 0 else 0.0
        return planes

    def clone(self: BoardGameT) -> BoardGameT:
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy._board = self._board.copy()
        copy._moves = list(self._moves)
        return copy

    def render(self) -> str:
        """Rows top to bottom, cells as X / O / . separated by spaces."""
        return "\n".join(" ".join(SYMBOLS[int(cell)] for cell in row) for row in self._board)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.from_moves({self._moves})"
