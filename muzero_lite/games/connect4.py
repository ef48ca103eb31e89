"""Connect Four: 6 rows x 7 columns, stones drop to the lowest empty cell of a column.

Actions are the columns 0..6. Row 0 is the TOP of the board (as printed), so a stone dropped
into an empty column lands in row 5. X (player 0) moves first; four in a row horizontally,
vertically or diagonally wins (+1 to the mover); a full board without a line is a draw.
Turns, win detection, observation planes and rendering are shared with tic-tac-toe in
`base.BoardGame`.
"""

from __future__ import annotations

import numpy as np

from muzero_lite.games.base import EMPTY, BoardGame, Symmetry


class ConnectFour(BoardGame):
    """Connect Four. `observation()` is float32 [3, 6, 7] (see BoardGame)."""

    name = "connect4"
    rows = 6
    cols = 7
    line_length = 4
    num_actions = 7

    def legal_actions(self) -> list[int]:
        """Columns whose top cell is still empty (none once someone has won)."""
        if self._winner is not None:
            return []
        return [int(col) for col in (self._board[0] == EMPTY).nonzero()[0]]

    @classmethod
    def symmetries(cls) -> tuple[Symmetry, ...]:
        """The identity and the mirror image left to right (stones fall down, so no turn or
        upside-down flip keeps the rules); the mirror reverses the columns, the actions."""
        grid = np.arange(cls.rows * cls.cols).reshape(cls.rows, cls.cols)
        columns = np.arange(cls.cols)
        return (Symmetry(grid.ravel(), columns), Symmetry(grid[:, ::-1].ravel(), columns[::-1]))

    def _cell_of(self, action: int) -> tuple[int, int]:
        """The lowest empty row of column `action` (legal, so one exists)."""
        empty_rows = (self._board[:, action] == EMPTY).nonzero()[0]
        return int(empty_rows[-1]), action

    def render(self) -> str:
        """The board, then the column numbers to play."""
        return super().render() + "\n" + " ".join(str(col) for col in range(self.cols))
