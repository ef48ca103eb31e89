"""The Connect Four alpha-beta opponent and the tactics check, on positions with known answers."""

import numpy as np
import pytest

from muzero_lite.alphabeta import (
    _WEIGHTS,
    WIN,
    WINDOWS,
    _heuristic,
    alphabeta_player,
    alphabeta_values,
    tactics_check,
    tactics_positions,
)
from muzero_lite.evaluate import play_match, random_player
from muzero_lite.games.connect4 import ConnectFour


def test_there_are_69_windows_of_four():
    assert len(WINDOWS) == 69  # 24 horizontal + 21 vertical + 12 + 12 diagonal


def test_heuristic_by_hand():
    # One X stone in the bottom-left corner: it lies in 3 windows (row, column, diagonal),
    # each open, each worth 1 with one stone.
    board = np.full((6, 7), -1, dtype=np.int8)
    board[5, 0] = 0
    assert _heuristic(board, 0, WINDOWS, _WEIGHTS) == 3.0
    assert _heuristic(board, 1, WINDOWS, _WEIGHTS) == -3.0
    board[5, 1] = 0  # two in the bottom row: windows c0-3 (2 stones: 10), c1-4 (1: 1) ...
    # X windows: row c0-3 = 10, row c1-4 = 1, col 0 = 1, col 1 = 1, diag from (5,0) = 1,
    # diag from (5,1) = 1 -> 15
    assert _heuristic(board, 0, WINDOWS, _WEIGHTS) == 15.0


def test_takes_an_immediate_win():
    game = ConnectFour.from_moves([0, 6, 1, 6, 2, 5])  # X: 0 1 2 on the bottom row
    values = alphabeta_values(game, depth=4)
    assert values[3] == WIN + 4 and max(values, key=values.get) == 3


def test_blocks_the_single_threat():
    game = ConnectFour.from_moves([0, 6, 1, 6, 2])  # O to move; X threatens 3
    assert alphabeta_player(depth=2, seed=0)(game) == 3


def test_finds_a_double_threat_two_moves_ahead():
    # X on c2, c3 of the bottom row, O on top of both; X to move. Playing c1 or c4 makes an
    # open three that O cannot stop on both ends: a win in 2 of X's moves (3 plies).
    game = ConnectFour.from_moves([2, 2, 3, 3])
    values = alphabeta_values(game, depth=3)
    best = max(values.values())
    assert best == WIN + 1  # the win lands at the last ply searched
    assert {c for c, v in values.items() if v == best} == {1, 4}


def test_random_tie_breaks_differ_by_seed():
    game = ConnectFour()
    moves = {alphabeta_player(depth=1, seed=s)(game) for s in range(20)}
    assert moves == {3}  # the centre column is worth most on an empty board
    values = alphabeta_values(ConnectFour.from_moves([3]), depth=1)
    assert values[2] == values[4]  # symmetric replies tie ...
    picks = {alphabeta_player(depth=1, seed=s)(ConnectFour.from_moves([3])) for s in range(30)}
    assert picks == {c for c, v in values.items() if v == max(values.values())}  # ... and both


def test_depth_4_beats_a_random_player():
    as_x = play_match(ConnectFour, alphabeta_player(4, seed=1), random_player(2), 20, 0)
    assert as_x.wins == 20


def test_tactics_check_separates_a_searcher_from_random():
    positions_win, positions_block = tactics_positions(30, seed=0)
    assert all(len(p.legal_actions()) > 0 for p in positions_win + positions_block)
    strong = tactics_check(alphabeta_player(2, seed=0), count=30).as_dict()
    assert strong["win_rate"] == 1.0 and strong["block_rate"] == 1.0
    weak = tactics_check(random_player(0), count=30).as_dict()
    assert weak["win_rate"] < 0.5 and weak["block_rate"] < 0.5


@pytest.mark.parametrize("depth", [0, -1, 2.5, True])
def test_bad_depth_is_refused(depth):
    with pytest.raises(ValueError, match="depth"):
        alphabeta_values(ConnectFour(), depth)


def test_evaluate_agent_reports_connect4_against_alphabeta_and_tactics():
    """An untrained connect4 agent (tiny net, few simulations) still gets the full report."""
    import torch

    from muzero_lite.agent import Agent, network_for
    from muzero_lite.config import preset
    from muzero_lite.evaluate import evaluate_agent, format_report

    torch.manual_seed(0)
    config = preset("connect4", channels=4, num_blocks=1, num_simulations=2)
    agent = Agent(network_for(config, (3, 6, 7), 7), config, 2)
    report = evaluate_agent(agent, games=2)
    assert set(report["table"]) == {"random", "alphabeta4"}
    assert report["opening_moves"] == 2
    assert report["tactics"]["win_positions"] == report["tactics"]["block_positions"] == 200
    text = format_report(report)
    assert "alphabeta4" in text and "blocked a single threat" in text
