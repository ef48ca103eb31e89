"""Opponents and the perfect-play check, on positions whose answer is known."""

import pytest

from muzero_lite import games
from muzero_lite.evaluate import (
    Record,
    format_table,
    minimax_player,
    minimax_values,
    perfect_play_check,
    play_match,
    random_player,
)
from muzero_lite.games.tictactoe import TicTacToe


def test_empty_board_is_a_draw_under_best_play():
    values = minimax_values(TicTacToe())
    assert max(values.values()) == 0  # tic-tac-toe is a draw
    assert values[4] == 0 and values[0] == 0  # centre and corner openings both hold the draw


def test_minimax_takes_the_win_and_blocks_the_loss():
    # X: 0, 1 (row 0 two in a row); O: 3, 4 (row 1 two in a row); X to move.
    #  X X .
    #  O O .
    #  . . .
    game = TicTacToe.from_moves([0, 3, 1, 4])
    values = minimax_values(game)
    assert values[2] == 1  # completes the top row
    assert minimax_player()(game) == 2
    # O to move after X blunders with 8: O must win at 5.
    game.step(8)
    assert minimax_player()(game) == 5
    # Block: X: 0, O: 4, X: 8, O: 2 threatens 2-4-6; X must block at 6.
    game = TicTacToe.from_moves([0, 4, 8, 2])
    values = minimax_values(game)
    assert [a for a, v in values.items() if v == max(values.values())] == [6]


def test_minimax_never_loses_and_random_does():
    perfect = perfect_play_check(TicTacToe, minimax_player())
    assert perfect.perfect and perfect.optimal_moves == perfect.agent_moves
    assert perfect.games_as_x > 0 and perfect.games_as_o > 0
    sloppy = perfect_play_check(TicTacToe, random_player(0))
    assert not sloppy.perfect and sloppy.losses_as_x + sloppy.losses_as_o > 0
    assert sloppy.as_dict()["optimal_move_rate"] < 1.0


def test_match_records_and_table():
    x = play_match(TicTacToe, minimax_player(), random_player(1), games=20, agent_plays=0)
    o = play_match(TicTacToe, minimax_player(seed=3), random_player(2), games=20, agent_plays=1)
    assert x.games == o.games == 20 and x.losses == 0 and o.losses == 0
    assert x.wins > 10  # random O loses most games against perfect X
    table = format_table({"random": {"X": x, "O": o}})
    assert "random" in table and f"{x.wins}/{x.draws}/{x.losses}" in table
    assert Record(1, 2, 3).games == 6


def test_minimax_refuses_games_it_cannot_solve():
    with pytest.raises(TypeError, match="board game"):
        minimax_player()(games.make("cartpole"))


def test_perfect_play_check_rejects_an_illegal_agent_move():
    with pytest.raises(ValueError, match="illegal move"):
        perfect_play_check(TicTacToe, lambda game: 99)


def test_the_batched_perfect_play_check_matches_asking_position_by_position():
    from pathlib import Path

    from muzero_lite.agent import load_agent

    agent = load_agent(Path(__file__).parents[1] / "data" / "checkpoints" / "tictactoe.pt")
    agent.config = agent.config.replace(num_simulations=10)  # a weaker, faster agent
    batched = perfect_play_check(TicTacToe, agent)  # has act_many: one search per round
    one_by_one = perfect_play_check(TicTacToe, lambda game: agent.act(game))
    assert batched.as_dict() == one_by_one.as_dict()
