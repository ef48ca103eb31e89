"""An alpha-beta opponent for Connect Four, and the tactics a strong agent must not miss.

Connect Four is too big to solve in a notebook, so an agent is measured against a classical
player: negamax search with alpha-beta pruning to a fixed depth, scoring the positions at the
horizon with a heuristic (the usual one: every window of four cells that only one side
occupies counts for that side, more the fuller it is). A win found inside the depth scores
more the sooner it comes. At the root every move gets its exact value, and ties are broken at
random, so games against it differ.

The search runs in numba on a plain int8 board (-1 empty, 0 X, 1 O; row 0 at the top, as in
``games.ConnectFour``): depth 4 takes about a millisecond a move, so hundreds of games fit in
a test.

``tactics_check`` asks two questions the paper's agents answer without thinking: given a move
that wins at once, does the agent play it? Given an opponent's single immediate threat, does it
block? Positions come from random games.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from muzero_lite.games.connect4 import ConnectFour

__all__ = ["alphabeta_player", "alphabeta_values", "tactics_check", "tactics_positions",
           "TacticsReport"]

ROWS, COLS, LINE = 6, 7, 4
WIN = 1_000_000  # a win outscores any heuristic sum; + depth left, so sooner wins score more
_WEIGHTS = np.array([0.0, 1.0, 10.0, 50.0])  # one, two, three stones in an open window


def _windows() -> np.ndarray:
    """[W, 4, 2] (row, col) of every line of four cells: 69 on a 6 x 7 board."""
    found = []
    for r in range(ROWS):
        for c in range(COLS):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + i * dr, c + i * dc) for i in range(LINE)]
                if all(0 <= rr < ROWS and 0 <= cc < COLS for rr, cc in cells):
                    found.append(cells)
    return np.array(found, dtype=np.int64)


WINDOWS = _windows()


@numba.njit(cache=True)
def _heuristic(board, player, windows, weights):
    """Open-window score for `player` minus the same for the opponent."""
    score = 0.0
    for w in range(windows.shape[0]):
        mine = theirs = 0
        for i in range(LINE):
            cell = board[windows[w, i, 0], windows[w, i, 1]]
            if cell == player:
                mine += 1
            elif cell == 1 - player:
                theirs += 1
        if theirs == 0:
            score += weights[mine]
        elif mine == 0:
            score -= weights[theirs]
    return score


@numba.njit(cache=True)
def _wins(board, row, col):
    """Does the stone at (row, col) complete four in a row?"""
    stone = board[row, col]
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        run = 1
        for sign in (1, -1):
            r, c = row + sign * dr, col + sign * dc
            while 0 <= r < ROWS and 0 <= c < COLS and board[r, c] == stone:
                run += 1
                r += sign * dr
                c += sign * dc
        if run >= LINE:
            return True
    return False


@numba.njit(cache=True)
def _negamax(board, heights, player, depth, alpha, beta, windows, weights):
    """Value of the position for `player` (to move), searched `depth` plies deep.

    `heights[c]` is the number of stones in column c; the board is changed and restored."""
    if depth == 0:
        return _heuristic(board, player, windows, weights)
    best = -np.inf
    moved = False
    for offset in range(COLS):
        col = (COLS // 2 + (offset + 1) // 2 * (1 if offset % 2 else -1))  # centre first
        if heights[col] == ROWS:
            continue
        moved = True
        row = ROWS - 1 - heights[col]
        board[row, col] = player
        heights[col] += 1
        if _wins(board, row, col):
            value = WIN + depth
        else:
            value = -_negamax(board, heights, 1 - player, depth - 1, -beta, -alpha, windows,
                              weights)
        heights[col] -= 1
        board[row, col] = -1
        if value > best:
            best = value
        if best > alpha:
            alpha = best
        if alpha >= beta:
            break
    if not moved:
        return 0.0  # a full board: draw
    return best


def alphabeta_values(game: ConnectFour, depth: int) -> dict[int, float]:
    """The exact depth-limited negamax value of each legal move, for the player to move."""
    if not isinstance(game, ConnectFour):
        raise TypeError(f"alpha-beta plays Connect Four, not {type(game).__name__}")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a whole number >= 1, got {depth!r}")
    board = game.board
    heights = (board != -1).sum(axis=0).astype(np.int64)
    player = game.to_play()
    values = {}
    for col in game.legal_actions():
        row = ROWS - 1 - heights[col]
        board[row, col] = player
        heights[col] += 1
        if _wins(board, row, col):
            values[col] = float(WIN + depth)
        else:
            values[col] = -float(_negamax(board, heights, 1 - player, depth - 1, -np.inf,
                                          np.inf, WINDOWS, _WEIGHTS))
        heights[col] -= 1
        board[row, col] = -1
    return values


def alphabeta_player(depth: int = 4, seed: int | None = 0) -> Callable[[Any], int]:
    """A player: a move of highest depth-limited value, ties broken at random (``seed``)."""
    rng = np.random.default_rng(seed)

    def play(game: Any) -> int:
        values = alphabeta_values(game, depth)
        best = max(values.values())
        return int(rng.choice([a for a, v in values.items() if v == best]))

    return play


@dataclass(frozen=True)
class TacticsReport:
    """How often the agent took an immediate win, and blocked a single immediate threat."""

    win_positions: int
    wins_taken: int
    block_positions: int
    blocks_made: int

    def as_dict(self) -> dict[str, Any]:
        return {"win_positions": self.win_positions, "wins_taken": self.wins_taken,
                "win_rate": round(self.wins_taken / max(self.win_positions, 1), 4),
                "block_positions": self.block_positions, "blocks_made": self.blocks_made,
                "block_rate": round(self.blocks_made / max(self.block_positions, 1), 4)}


def winning_moves(game: ConnectFour, player: int) -> list[int]:
    """Columns where `player` would complete four at once."""
    board = game.board
    heights = (board != -1).sum(axis=0)
    found = []
    for col in game.legal_actions():
        row = ROWS - 1 - int(heights[col])
        board[row, col] = player
        if _wins(board, row, col):
            found.append(col)
        board[row, col] = -1
    return found


def _saving_block(game: ConnectFour) -> int | None:
    """The column that stops the opponent's one immediate win, if there is exactly one such
    threat and blocking it does not hand the opponent a new one (on top of the block)."""
    threats = winning_moves(game, 1 - game.to_play())
    if len(threats) != 1:
        return None
    after = game.clone()
    after.step(threats[0])
    return None if after.terminal() or winning_moves(after, after.to_play()) else threats[0]


def tactics_positions(count: int, seed: int = 0) -> tuple[list[ConnectFour], list[ConnectFour]]:
    """Positions from random games: ``count`` where the mover can win at once, and ``count``
    where the mover cannot, but the opponent threatens exactly one immediate win that a block
    stops (a block that only lets the opponent win on top of it is no test of blocking).

    At most one position of each kind per game, drawn at random among the game's: random
    players leave a threat standing for several moves, so one game holds a run of near-equal
    positions (200 winning positions came from 43 games when every one was kept).
    """
    rng = np.random.default_rng(seed)
    to_win: list[ConnectFour] = []
    to_block: list[ConnectFour] = []
    while len(to_win) < count or len(to_block) < count:
        game = ConnectFour()
        wins_here: list[ConnectFour] = []
        blocks_here: list[ConnectFour] = []
        while not game.terminal():
            if winning_moves(game, game.to_play()):
                wins_here.append(game.clone())
            elif _saving_block(game) is not None:
                blocks_here.append(game.clone())
            game.step(int(rng.choice(game.legal_actions())))
        for found, kept in ((wins_here, to_win), (blocks_here, to_block)):
            if found and len(kept) < count:
                kept.append(found[int(rng.integers(len(found)))])
    return to_win, to_block


def tactics_check(agent: Callable[[Any], int], count: int = 200, seed: int = 0) -> TacticsReport:
    """Ask ``agent`` (game -> column) for a move in ``count`` positions of each kind."""
    to_win, to_block = tactics_positions(count, seed)
    taken = sum(agent(game.clone()) in winning_moves(game, game.to_play()) for game in to_win)
    blocked = sum(agent(game.clone()) == _saving_block(game) for game in to_block)
    return TacticsReport(len(to_win), int(taken), len(to_block), int(blocked))
