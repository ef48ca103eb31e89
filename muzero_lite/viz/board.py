"""Boards to play against an agent in Jupyter: ``TicTacToeBoard`` (chapter 00) and
``Connect4Board`` (chapter 08, at the end of this file).

    from muzero_lite.agent import load_agent
    from muzero_lite.viz import TicTacToeBoard
    TicTacToeBoard(load_agent("data/checkpoints/tictactoe.pt"))   # last line of a cell

Nine ``ipywidgets`` buttons, row by row, numbered like the actions (``games/tictactoe.py``):

    0 1 2
    3 4 5
    6 7 8

An empty cell shows its number (so "the agent played 6" can be found on the board), a stone
shows X (blue) or O (red) at full strength; the last move has a yellow background and a
winning line a green one. Above the board a turn line says whose move it is; below it a status
line says what happened. The side toggle starts a new game at once with the chosen side.

Nothing a user does raises: a click on a taken cell, after the end, or while the agent still
thinks (a fast double click queues a second click behind the first), and even an agent that
fails, all end up as a message on the status line, never as a traceback in the log console.
The cells are never disabled (ipywidgets fades disabled buttons); clicks are checked instead.

Each part has a CSS class for browser tests: ``mzl-board`` (the whole), ``mzl-board-cell`` and
``mzl-board-cell-<i>`` (the cells), ``mzl-board-turn``, ``mzl-board-status``,
``mzl-board-side``, ``mzl-board-new``.
"""

from __future__ import annotations

from typing import Any, Protocol

import ipywidgets as widgets

from muzero_lite import games

CELL_NAMES = (
    "top left",
    "top",
    "top right",
    "left",
    "centre",
    "right",
    "bottom left",
    "bottom",
    "bottom right",
)
LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
SYMBOL = {0: "X", 1: "O"}
STONE_COLOUR = {0: "#1f5fbf", 1: "#c62828"}  # X blue, O red
NUMBER_COLOUR = "#9e9e9e"  # an empty cell's number: grey, small
EMPTY_FILL = "#f5f5f5"
LAST_MOVE_FILL = "#ffe38a"  # yellow
WIN_FILL = "#a8e6a1"  # green
CELL_SIZE = "72px"


class Agent(Protocol):
    def act(self, game: games.Game) -> int: ...


def cell_name(cell: int) -> str:
    """``"6 (bottom left)"``: a cell's number and where it is."""
    return f"{cell} ({CELL_NAMES[cell]})"


def winning_line(board: list[int]) -> tuple[int, ...] | None:
    """The three cells of a completed line on a flat board (-1 empty, 0 X, 1 O), or None."""
    for line in LINES:
        first = board[line[0]]
        if first != -1 and all(board[cell] == first for cell in line):
            return line
    return None


class _PlayBoard(widgets.VBox):
    """What both boards share: the side toggle and 'new game' button, the turn and status
    lines, the agent's reply, and the rule that no click ever raises. A subclass builds its
    grid (``_build``), says how it paints (``_paint``) and how the agent picks its move
    (``_reply``), and names its game and its clicks (``GAME``, ``WHAT``)."""

    GAME = ""  # games.make name
    WHAT = ""  # what the user clicks: "a cell", "a column"
    CSS = ""  # the CSS class prefix of its parts

    def __init__(self, agent: Any, you_play: int, children: list[widgets.Widget]) -> None:
        turn = widgets.HTML()
        status = widgets.Label(layout=widgets.Layout(width="auto"))
        side = widgets.ToggleButtons(
            options=[("you play X", 0), ("you play O", 1)],
            value=you_play,
            tooltips=["X moves first", "the agent plays X and opens"],
            style={"button_width": "100px"},
        )
        new_game = widgets.Button(description="new game", icon="refresh")
        for part, name in [(turn, "turn"), (status, "status"), (side, "side"),
                           (new_game, "new")]:
            part.add_class(f"{self.CSS}-{name}")
        super().__init__(children=[turn, *children, status, widgets.HBox([side, new_game])])
        self.add_class(self.CSS)
        self.agent, self.turn, self.status = agent, turn, status
        self.side, self.new_game_button = side, new_game
        self._busy = False  # True while the agent searches
        new_game.on_click(lambda _button: self.new_game())
        side.observe(lambda _change: self.new_game(), names="value")

    @staticmethod
    def _check_side(you_play: object) -> None:
        if isinstance(you_play, bool) or you_play not in (0, 1):
            raise ValueError(f"you_play must be 0 (X, moves first) or 1 (O), got {you_play!r}")

    # -- what the buttons do -----------------------------------------------------------------

    def new_game(self) -> None:
        """Start over with the side chosen in the toggle (the agent opens if you play O)."""
        self.you = self.side.value
        self.game = games.make(self.GAME)
        self._reset()
        if self.you == 1:
            self._guarded(lambda: self._agent_move("You are O. {} Your move."))
        else:
            self._show(f"You are X. Your move: click {self.WHAT}.")

    def click(self, action: int) -> None:
        """Your move, then the agent's reply. Never raises: whatever goes wrong is said on
        the status line."""
        self._guarded(lambda: self._click(action))

    # -- the work ----------------------------------------------------------------------------

    def _reset(self) -> None:
        """A new game begins (the subclass forgets what it showed of the last one)."""

    def _guarded(self, action) -> None:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - a widget callback must not raise
            self._busy = False
            self._show(f"Something went wrong: {type(error).__name__}: {error}")

    def _click(self, action: int) -> None:
        if self._busy:
            self._show("Wait: the agent is still thinking.", keep_board=True)
            return
        problem = self._refuse(action)
        if problem:
            self._show(problem)
            return
        if self.game.terminal():
            self._show(f"The game is over. {self._outcome()} Press 'new game' to play again.")
            return
        if action not in self.game.legal_actions():
            self._show(self._illegal(action))
            return
        self.game.step(action)
        if self.game.terminal():
            self._show(f"You played {self._name(action)}.")
            return
        self._agent_move(f"You played {self._name(action)}. {{}}" + " Your move.")

    def _agent_move(self, template: str) -> None:
        """The agent searches and plays; ``template``'s ``{}`` becomes "The agent played ..."."""
        self._busy = True
        self._show("The agent is thinking...", keep_board=True)
        try:
            reply = self._reply()
        finally:
            self._busy = False
        self.game.step(reply)
        message = template.format(f"The agent played {self._name(reply)}.")
        if self.game.terminal():
            message = message.removesuffix(" Your move.")
        self._show(message)

    def _outcome(self) -> str:
        winner = self.game.winner()
        if winner is None:
            return "Draw."
        return "You win!" if winner == self.you else "The agent wins."

    def _show(self, message: str, keep_board: bool = False) -> None:
        """Paint the board (unless ``keep_board``), the turn line and the status line."""
        over = self.game.terminal()
        if not keep_board:
            self._paint()
        self.turn.value = self._turn_html(over)
        if over and not message.endswith("Press 'new game' to play again."):
            message = f"{message} {self._outcome()} Press 'new game' to play again.".strip()
        self.status.value = message

    def _turn_html(self, over: bool) -> str:
        you = SYMBOL[self.you]
        if over:
            return f"<b>Game over</b> after {len(self.game.moves)} moves (you are {you})"
        mover = self.game.to_play()
        who = "you" if mover == self.you else "the agent"
        colour = STONE_COLOUR[mover]
        return (
            f"Move {len(self.game.moves) + 1}: "
            f'<b style="color:{colour}">{SYMBOL[mover]}</b> to play ({who})'
        )

    def __repr__(self) -> str:
        # Jupyter shows repr() as the widget's plain-text output: keep it short and stable.
        return (
            f"{type(self).__name__}(you={SYMBOL[self.you]}, moves={list(self.game.moves)}, "
            f"status={self.status.value!r})"
        )


class TicTacToeBoard(_PlayBoard):
    """A clickable tic-tac-toe board: you click a cell, the agent answers with ``agent.act``.

    agent: anything with ``act(game) -> action`` (``muzero_lite.agent.Agent``, a checkpoint
    loaded with ``load_agent``); you_play: 0 to play X (moves first) or 1 to play O.

    ``click(cell)`` is exactly what a button runs; ``new_game()`` what the button and the side
    toggle run. ``game`` is the game now; ``status.value`` the status line.
    """

    GAME, WHAT, CSS = "tictactoe", "a cell", "mzl-board"

    def __init__(self, agent: Agent, you_play: int = 0) -> None:
        self._check_side(you_play)
        if not callable(getattr(agent, "act", None)):
            raise TypeError(
                f"agent must have an act(game) method (e.g. load_agent(...)), "
                f"got {type(agent).__name__}"
            )
        cells = [
            widgets.Button(
                tooltip=f"cell {cell_name(cell)}",
                layout=widgets.Layout(width=CELL_SIZE, height=CELL_SIZE, margin="0"),
            )
            for cell in range(9)
        ]
        for cell, button in enumerate(cells):
            button.add_class("mzl-board-cell")
            button.add_class(f"mzl-board-cell-{cell}")
        grid = widgets.GridBox(
            cells,
            layout=widgets.Layout(
                grid_template_columns=f"repeat(3, {CELL_SIZE})", grid_gap="4px", width="auto"
            ),
        )
        grid.add_class("mzl-board-grid")
        super().__init__(agent, you_play, [grid])
        self.cells = cells
        for cell, button in enumerate(cells):
            button.on_click(lambda _button, cell=cell: self.click(cell))
        self.new_game()

    def click(self, cell: int) -> None:
        """Your move in ``cell`` (0..8, row by row), then the agent's reply.

        Never raises: whatever goes wrong is said on the status line."""
        super().click(cell)

    def _refuse(self, cell: object) -> str | None:
        if isinstance(cell, bool) or not isinstance(cell, int) or not 0 <= cell < 9:
            return f"There is no cell {cell!r}: the cells are 0..8, row by row."
        return None

    def _illegal(self, cell: int) -> str:
        free = ", ".join(str(c) for c in self.game.legal_actions())
        last = self._last_agent_move()
        played = f" The agent's last move: {cell_name(last)}." if last is not None else ""
        return f"Cell {cell} is taken.{played} Your move: a free cell ({free})."

    def _name(self, cell: int) -> str:
        return cell_name(cell)

    def _reply(self) -> int:
        return int(self.agent.act(self.game))

    def _last_agent_move(self) -> int | None:
        agent_moves = self.game.moves[1 - self.you :: 2]
        return agent_moves[-1] if agent_moves else None

    def _paint(self) -> None:
        board = self.game.board.ravel().tolist()
        line = winning_line(board) or ()
        last = self.game.moves[-1] if self.game.moves else None
        for cell, (button, stone) in enumerate(zip(self.cells, board, strict=True)):
            if stone == -1:
                button.description = str(cell)
                button.style.text_color = NUMBER_COLOUR
                button.style.font_size = "14px"
                button.style.font_weight = "normal"
            else:
                button.description = SYMBOL[stone]
                button.style.text_color = STONE_COLOUR[stone]
                button.style.font_size = "30px"
                button.style.font_weight = "bold"
            fill = EMPTY_FILL
            if cell == last:
                fill = LAST_MOVE_FILL
            if cell in line:
                fill = WIN_FILL
            button.style.button_color = fill


# -- Connect Four -------------------------------------------------------------------------------

C4_ROWS, C4_COLS, C4_LINE = 6, 7, 4
C4_CELL_SIZE = "46px"
C4_GAP = "4px"
CHOSEN_FILL = "#ffe38a"  # the column the agent's search chose: yellow, like the last move


class SearchingAgent(Protocol):
    def search(self, game: games.Game, num_simulations: int | None = None) -> Any: ...


def four_in_a_row(board: Any) -> set[tuple[int, int]]:
    """Every (row, col) of a completed line of four on a Connect Four board (-1 empty, 0 X,
    1 O; row 0 at the top), or an empty set."""
    cells: set[tuple[int, int]] = set()
    for r in range(C4_ROWS):
        for c in range(C4_COLS):
            stone = int(board[r][c])
            if stone == -1:
                continue
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                line = [(r + i * dr, c + i * dc) for i in range(C4_LINE)]
                if all(0 <= rr < C4_ROWS and 0 <= cc < C4_COLS and int(board[rr][cc]) == stone
                       for rr, cc in line):
                    cells.update(line)
    return cells


class Connect4Board(_PlayBoard):
    """A clickable Connect Four board that shows what the agent's search found.

    agent: anything with ``search(game, num_simulations) -> SearchResult``
    (``muzero_lite.agent.Agent``, a checkpoint loaded with ``load_agent``); its move is the
    most visited column, ties to the lowest, exactly ``agent.act``. you_play: 0 to play X
    (moves first) or 1 to play O. num_simulations: None for the checkpoint's own.

    A click on any cell of a column, or on the column's number above the board, drops your
    stone there. Under the board, one box per column shows the agent's last search: the
    visits ``N`` each column got, and ``Q``, how good the search found that move for the agent
    (+1: a win, -1: a loss). The line below them gives ``V``, the search's value of the whole
    position for the agent. The chosen column is yellow.

    Like ``TicTacToeBoard``: a turn line above, a status line below, a side toggle and a new
    game button; nothing a user does raises (a full column, a click after the end or while
    the agent thinks, an agent that fails: each ends up on the status line). ``click(column)``
    is what a button runs; ``last_search`` holds the numbers shown (``column``, ``visits``,
    ``q``, ``value``, ``simulations``), or None before the agent's first move.

    CSS classes for browser tests: ``mzl-c4`` (the whole), ``mzl-c4-drop`` and
    ``mzl-c4-drop-<c>`` (the column numbers), ``mzl-c4-cell`` and ``mzl-c4-cell-<r>-<c>``,
    ``mzl-c4-visits-<c>`` (a column's search box), ``mzl-c4-value``, ``mzl-c4-turn``,
    ``mzl-c4-status``, ``mzl-c4-side``, ``mzl-c4-new``.
    """

    GAME, WHAT, CSS = "connect4", "a column", "mzl-c4"

    def __init__(self, agent: SearchingAgent, you_play: int = 0,
                 num_simulations: int | None = None) -> None:
        self._check_side(you_play)
        if not callable(getattr(agent, "search", None)):
            raise TypeError(
                f"agent must have a search(game) method (e.g. load_agent(...)), "
                f"got {type(agent).__name__}"
            )
        if num_simulations is not None and (
            isinstance(num_simulations, bool) or not isinstance(num_simulations, int)
            or num_simulations < 1
        ):
            raise ValueError(f"num_simulations must be None or >= 1, got {num_simulations!r}")
        columns = f"repeat({C4_COLS}, {C4_CELL_SIZE})"

        def grid(children: list, name: str) -> widgets.GridBox:
            box = widgets.GridBox(children, layout=widgets.Layout(
                grid_template_columns=columns, grid_gap=C4_GAP, width="auto"))
            box.add_class(name)
            return box

        # One Layout per kind of part, shared by its buttons: fewer widget models to sync
        # (and to store in a saved notebook) than one per button.
        drop_layout = widgets.Layout(width=C4_CELL_SIZE, height="28px", margin="0")
        cell_layout = widgets.Layout(width=C4_CELL_SIZE, height=C4_CELL_SIZE, margin="0")
        visits_layout = widgets.Layout(width=C4_CELL_SIZE)
        drops = [widgets.Button(description=str(col), tooltip=f"drop a stone in column {col}",
                                layout=drop_layout)
                 for col in range(C4_COLS)]
        cells = [[widgets.Button(tooltip=f"column {col}", layout=cell_layout)
                  for col in range(C4_COLS)] for _ in range(C4_ROWS)]
        visits = [widgets.HTML(layout=visits_layout) for _ in range(C4_COLS)]
        for col, button in enumerate(drops):
            button.add_class("mzl-c4-drop")
            button.add_class(f"mzl-c4-drop-{col}")
            button.style.font_weight = "bold"
        for row in range(C4_ROWS):
            for col, button in enumerate(cells[row]):
                button.add_class("mzl-c4-cell")
                button.add_class(f"mzl-c4-cell-{row}-{col}")
        for col, box in enumerate(visits):
            box.add_class(f"mzl-c4-visits-{col}")
        value = widgets.HTML()
        value.add_class("mzl-c4-value")
        board = grid([button for row in cells for button in row], "mzl-c4-grid")
        super().__init__(agent, you_play, [grid(drops, "mzl-c4-drops"), board,
                                           grid(visits, "mzl-c4-search"), value])
        self.num_simulations = num_simulations
        self.drops, self.cells, self.visits, self.value = drops, cells, visits, value
        self.last_search: dict[str, Any] | None = None
        for col, button in enumerate(drops):
            button.on_click(lambda _button, col=col: self.click(col))
        for row in cells:
            for col, button in enumerate(row):
                button.on_click(lambda _button, col=col: self.click(col))
        self.new_game()

    def click(self, column: int) -> None:
        """Your stone in ``column`` (0..6, left to right), then the agent's reply.

        Never raises: whatever goes wrong is said on the status line."""
        super().click(column)

    def _reset(self) -> None:
        self.last_search = None

    def _refuse(self, column: object) -> str | None:
        if (isinstance(column, bool) or not isinstance(column, int)
                or not 0 <= column < C4_COLS):
            return f"There is no column {column!r}: the columns are 0..6, left to right."
        return None

    def _illegal(self, column: int) -> str:
        free = ", ".join(str(c) for c in self.game.legal_actions())
        return f"Column {column} is full. Your move: a column with room ({free})."

    def _name(self, column: int) -> str:
        return f"column {column}"

    def _reply(self) -> int:
        """The most visited column of one search (ties: the lowest), kept in last_search."""
        result = self.agent.search(self.game, self.num_simulations)
        counts = [int(n) for n in result.visit_counts[0].tolist()]
        reply = max(range(len(counts)), key=lambda a: (counts[a], -a))
        self.last_search = {
            "column": reply,
            "visits": counts,
            "q": [round(float(q), 4) for q in result.q_values[0].tolist()],
            "value": round(float(result.root_value[0]), 4),
            "simulations": sum(counts),
        }
        return reply

    def _paint(self) -> None:
        self._paint_board()
        self._paint_search()

    def _paint_board(self) -> None:
        board = self.game.board
        line = four_in_a_row(board)
        last = None
        if self.game.moves:  # the top stone of the last move's column
            column = self.game.moves[-1]
            last = (int((board[:, column] == -1).sum()), column)
        for row in range(C4_ROWS):
            for col in range(C4_COLS):
                button, stone = self.cells[row][col], int(board[row, col])
                button.description = "" if stone == -1 else SYMBOL[stone]
                button.style.text_color = STONE_COLOUR.get(stone, NUMBER_COLOUR)
                button.style.font_size = "24px"
                button.style.font_weight = "bold"
                fill = EMPTY_FILL
                if (row, col) == last:
                    fill = LAST_MOVE_FILL
                if (row, col) in line:
                    fill = WIN_FILL
                button.style.button_color = fill

    def _paint_search(self) -> None:
        search = self.last_search
        if search is None:
            for box in self.visits:
                box.value = ""
            self.value.value = ("<span style='color:#757575'>The agent's search appears here "
                                "after its first move: N visits and Q per column.</span>")
            return
        for col, box in enumerate(self.visits):
            n, q = search["visits"][col], search["q"][col]
            chosen = col == search["column"]
            style = (f"background:{CHOSEN_FILL};" if chosen else "") + (
                "text-align:center;font-size:11px;line-height:1.3;border-radius:3px")
            q_text = f"{q:+.2f}" if n else "&ndash;"
            box.value = f"<div style='{style}'>N {n}<br>Q {q_text}</div>"
        self.value.value = (
            f"The agent's search before it played column {search['column']} "
            f"({search['simulations']} simulations): V = {search['value']:+.2f} for the agent "
            "(+1: it expects to win, &minus;1: to lose)."
        )
