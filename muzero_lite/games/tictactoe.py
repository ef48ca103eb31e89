"""Tic-tac-toe: the smallest two-player game MuZero can learn on a laptop CPU in minutes.

Actions are the cells 0..8, row-major:

    0 1 2
    3 4 5
    6 7 8

X (player 0) moves first; three in a row, column or diagonal wins (+1 to the mover); a full
board without a line is a draw. Everything else (turns, win detection, observation planes,
rendering) is shared with Connect Four in `base.BoardGame`.
"""

from __future__ import annotations

import numpy as np

from muzero_lite.games.base import EMPTY, BoardGame, Symmetry


class TicTacToe(BoardGame):
    """3x3 noughts and crosses. `observation()` is float32 [3, 3, 3] (see BoardGame)."""

    name = "tictactoe"
    rows = 3
    cols = 3
    line_length = 3
    num_actions = 9

    def legal_actions(self) -> list[int]:
        if self._winner is not None:
            return []
        return [int(cell) for cell in (self._board.ravel() == EMPTY).nonzero()[0]]

    @classmethod
    def symmetries(cls) -> tuple[Symmetry, ...]:
        """The 8 symmetries of the square: 4 rotations, each also mirrored. An action is the
        cell it fills, so actions move exactly as cells do."""
        grid = np.arange(9).reshape(3, 3)
        found = []
        for board in (grid, grid.T):  # .T: the mirror image in the main diagonal
            for quarter_turns in range(4):
                cells = np.rot90(board, quarter_turns).ravel()
                found.append(Symmetry(cells, cells))
        return tuple(found)

    def _cell_of(self, action: int) -> tuple[int, int]:
        return divmod(action, self.cols)
