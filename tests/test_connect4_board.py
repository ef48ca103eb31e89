"""Tests of ``muzero_lite.viz.Connect4Board``, in the style of the tic-tac-toe board's tests in
``tests/test_viz.py``: no browser, the board driven through its buttons' click handlers
(``Button.click()``, what a browser click runs in the kernel). A stand-in agent with a
hand-made search result checks what is shown; the shipped agent plays one whole game.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from muzero_lite import games
from muzero_lite.viz import Connect4Board
from muzero_lite.viz import board as board_viz

ROOT = Path(__file__).resolve().parents[1]


class Columns:
    """A stand-in agent: its search gives the first open column of ``order`` 10 visits, the
    other open columns 1 each, Q = +0.5 to its choice and -0.25 to the others; it counts its
    calls and the simulations asked for."""

    def __init__(self, order=(3, 2, 4, 1, 5, 0, 6)):
        self.order, self.calls, self.asked = order, 0, []

    def search(self, game, num_simulations=None):
        self.calls += 1
        self.asked.append(num_simulations)
        legal = game.legal_actions()
        best = next(c for c in self.order if c in legal)
        visits = torch.zeros(1, 7, dtype=torch.int64)
        q = torch.zeros(1, 7)
        visits[0, legal], q[0, legal] = 1, -0.25
        visits[0, best], q[0, best] = 10, 0.5
        return SimpleNamespace(visit_counts=visits, q_values=q, root_value=torch.tensor([0.125]))


class Broken:
    def search(self, game, num_simulations=None):
        raise RuntimeError("no network")


def press(board: Connect4Board, column: int, row: int | None = None) -> None:
    """A click on the column's number, or on the cell (row, column) if ``row`` is given."""
    button = board.drops[column] if row is None else board.cells[row][column]
    button.click()  # runs the on_click handlers, as a browser click does


def descriptions(board: Connect4Board) -> list[str]:
    return ["".join(button.description or "." for button in row) for row in board.cells]


def test_a_click_drops_to_the_bottom_and_the_agent_replies_with_its_search() -> None:
    agent = Columns()
    board = Connect4Board(agent, num_simulations=7)
    assert [button.description for button in board.drops] == [str(c) for c in range(7)]
    assert board.last_search is None and "after its first move" in board.value.value
    assert "X</b> to play (you)" in board.turn.value and "Move 1" in board.turn.value
    press(board, 3, row=0)  # a click on the top cell of column 3 drops to its bottom
    assert board.game.moves == (3, 3) and agent.asked == [7]
    assert board.status.value == "You played column 3. The agent played column 3. Your move."
    assert descriptions(board)[-2:] == ["...O...", "...X..."]
    assert board.cells[4][3].style.button_color == board_viz.LAST_MOVE_FILL  # O's stone
    assert board.cells[5][3].style.button_color == board_viz.EMPTY_FILL
    assert board.cells[5][3].style.text_color == board_viz.STONE_COLOUR[0]
    assert board.last_search == {"column": 3, "visits": [1, 1, 1, 10, 1, 1, 1],
                                 "q": [-0.25, -0.25, -0.25, 0.5, -0.25, -0.25, -0.25],
                                 "value": 0.125, "simulations": 16}
    assert "N 10<br>Q +0.50" in board.visits[3].value
    assert board_viz.CHOSEN_FILL in board.visits[3].value
    assert "N 1<br>Q -0.25" in board.visits[0].value
    assert board_viz.CHOSEN_FILL not in board.visits[0].value
    assert "before it played column 3 (16 simulations): V = +0.12" in board.value.value
    assert "Move 3" in board.turn.value
    assert "mzl-c4" in board._dom_classes
    assert "mzl-c4-cell-5-3" in board.cells[5][3]._dom_classes
    assert "mzl-c4-drop-6" in board.drops[6]._dom_classes
    assert "mzl-c4-visits-3" in board.visits[3]._dom_classes


def test_unvisited_columns_show_a_dash() -> None:
    board = Connect4Board(Columns())
    for _ in range(3):
        press(board, 3)  # column 3 fills up: 3 stones each
    assert board.game.legal_actions() == [0, 1, 2, 4, 5, 6]
    press(board, 0)  # the agent's search now skips the full column 3
    assert board.last_search["visits"][3] == 0
    assert "Q &ndash;" in board.visits[3].value


def test_a_full_game_marks_the_four_and_says_who_won() -> None:
    board = Connect4Board(Columns(order=(6, 5, 4, 3, 2, 1, 0)))
    for column in (0, 0, 0):  # X stacks column 0; the agent plays 6 each time
        press(board, column)
    assert not board.game.terminal()
    press(board, 0)  # four X stones in column 0
    assert board.game.winner() == 0 and board.game.moves == (0, 6, 0, 6, 0, 6, 0)
    assert board.status.value == "You played column 0. You win! Press 'new game' to play again."
    for row in range(2, 6):
        assert board.cells[row][0].style.button_color == board_viz.WIN_FILL
    assert board.cells[5][6].style.button_color == board_viz.EMPTY_FILL
    assert "Game over" in board.turn.value
    press(board, 1)  # after the end: a message, no exception
    assert board.status.value == "The game is over. You win! Press 'new game' to play again."

    lost = Connect4Board(Columns(order=(6,)))  # the agent stacks column 6 and wins
    for column in (0, 1, 0, 1):  # the agent's fourth stone in column 6 wins
        press(lost, column)
    assert lost.game.winner() == 1
    assert lost.status.value.endswith("The agent played column 6. The agent wins. "
                                      "Press 'new game' to play again.")


def test_four_in_a_row_finds_every_direction() -> None:
    diagonal = games.ConnectFour.from_moves([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3])
    assert diagonal.winner() == 0
    assert board_viz.four_in_a_row(diagonal.board) == {(5, 0), (4, 1), (3, 2), (2, 3)}
    row = games.ConnectFour.from_moves([0, 0, 1, 1, 2, 2, 3])
    assert board_viz.four_in_a_row(row.board) == {(5, 0), (5, 1), (5, 2), (5, 3)}
    assert board_viz.four_in_a_row(games.ConnectFour.from_moves([3, 3, 3]).board) == set()


def test_errors_go_to_the_status_line() -> None:
    agent = Columns()
    board = Connect4Board(agent)
    for _ in range(3):
        press(board, 3)
    calls = agent.calls
    press(board, 3)
    assert board.status.value == ("Column 3 is full. "
                                  "Your move: a column with room (0, 1, 2, 4, 5, 6).")
    assert agent.calls == calls and len(board.game.moves) == 6
    board.click(7)
    assert "There is no column 7" in board.status.value
    board.click(True)
    assert "There is no column True" in board.status.value
    board._busy = True  # a click while the agent searches
    board.click(0)
    assert board.status.value == "Wait: the agent is still thinking." and 0 not in board.game.moves
    board._busy = False
    broken = Connect4Board(Broken())
    press(broken, 2)
    assert broken.status.value == "Something went wrong: RuntimeError: no network"
    press(broken, 2)  # still usable: no stuck "thinking" state
    assert "Something went wrong" in broken.status.value


def test_side_toggle_restarts_and_new_game() -> None:
    board = Connect4Board(Columns())
    press(board, 0)
    board.side.value = 1  # no 'new game' needed
    assert board.you == 1 and board.game.moves == (3,)
    assert board.status.value == "You are O. The agent played column 3. Your move."
    assert "O</b> to play (you)" in board.turn.value
    press(board, 4)
    board.new_game_button.click()
    assert board.game.moves == (3,) and board.last_search["column"] == 3
    board.side.value = 0
    assert board.game.moves == () and board.last_search is None
    assert board.status.value == "You are X. Your move: click a column."
    assert repr(board) == (
        "Connect4Board(you=X, moves=[], status='You are X. Your move: click a column.')"
    )


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="you_play must be 0"):
        Connect4Board(Columns(), you_play=2)
    with pytest.raises(ValueError, match="you_play must be 0"):
        Connect4Board(Columns(), you_play=True)
    with pytest.raises(TypeError, match="agent must have a search"):
        Connect4Board(object())
    with pytest.raises(ValueError, match="num_simulations must be None or >= 1"):
        Connect4Board(Columns(), num_simulations=0)


def test_the_shipped_agent_plays_a_whole_game() -> None:
    from muzero_lite.agent import load_agent

    agent = load_agent(ROOT / "data" / "checkpoints" / "connect4.pt")
    board = Connect4Board(agent, you_play=1, num_simulations=8)
    while not board.game.terminal():
        before = board.game.clone()
        search = board.last_search
        assert search["visits"][search["column"]] == max(search["visits"])
        assert search["simulations"] == 8 and -1.5 < search["value"] < 1.5
        press(board, next(c for c in (3, 2, 4, 1, 5, 0, 6) if c in board.game.legal_actions()))
        if not board.game.terminal():  # the agent's reply is its act()
            replay = before.clone()
            replay.step(board.game.moves[len(before.moves)])
            assert board.game.moves[-1] == agent.act(replay, 8)
    assert board.status.value.endswith("Press 'new game' to play again.")


def test_play_on_the_command_line_shows_the_column_numbers(capsys) -> None:
    """``python -m muzero_lite play`` on a Connect Four checkpoint prints every board with the
    column numbers under it, and asks for a column."""
    from muzero_lite.__main__ import main

    def middle_column(prompt: str) -> str:
        legal = [int(c) for c in prompt[prompt.index("[") + 1:prompt.index("]")].split(",")]
        return str(next(c for c in (3, 2, 4, 1, 5, 0, 6) if c in legal))

    checkpoint = str(ROOT / "data" / "checkpoints" / "connect4.pt")
    assert main(["play", checkpoint, "--simulations", "2"], input_fn=middle_column) == 0
    text = capsys.readouterr().out
    assert text.startswith("You are X. Moves are numbered:\n0 1 2 3 4 5 6  (columns)\n")
    boards = text.count("\n0 1 2 3 4 5 6\n")  # the column numbers under a board
    assert boards >= 8  # the start, then one board after each move
    assert text.count("agent plays") >= 3
    assert text.rstrip().endswith(("draw", "you win", "the agent wins"))
