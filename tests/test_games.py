"""Tests for muzero_lite.games: board rules, the gym adapter and the `make` registry.

Board positions are written as move lists; each test spells out the board they make
(row 0 printed first; in Connect Four row 5 is the bottom, where stones land first).
Atari is tested in tests/test_atari.py.
"""

from __future__ import annotations

import random

import gymnasium as gym
import numpy as np
import pytest
import torch

from muzero_lite import games
from muzero_lite.games import ConnectFour, Game, GymGame, IllegalMoveError, TicTacToe
from muzero_lite.games.base import BoardGame, as_action_index, check_seed


def snapshot(game: BoardGame) -> tuple:
    """Everything observable about a board game, to compare before/after a refused move."""
    return (
        game.board.tolist(),
        game.to_play(),
        game.moves,
        game.winner(),
        game.terminal(),
        game.legal_actions(),
        game.observation().tolist(),
    )


def brute_force_winner(board: np.ndarray, line_length: int) -> int | None:
    """Scan every window of `line_length` cells in every direction (slow, obviously right)."""
    rows, cols = board.shape
    winners = set()
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                cells = [(r + i * dr, c + i * dc) for i in range(line_length)]
                if all(0 <= rr < rows and 0 <= cc < cols for rr, cc in cells):
                    values = {int(board[rr, cc]) for rr, cc in cells}
                    if len(values) == 1 and values != {-1}:
                        winners |= values
    assert len(winners) <= 1, "both players have a line: impossible in a real game"
    return winners.pop() if winners else None


# ----------------------------------------------------------------------------- tic-tac-toe


def test_tictactoe_start_position() -> None:
    game = games.make("tictactoe")
    assert isinstance(game, TicTacToe) and isinstance(game, Game)
    assert (game.name, game.num_actions, game.num_players) == ("tictactoe", 9, 2)
    assert game.observation_shape == (3, 3, 3)
    assert game.legal_actions() == list(range(9))
    assert game.legal_mask().tolist() == [True] * 9
    assert game.to_play() == 0
    assert not game.terminal() and game.winner() is None
    assert game.render() == ". . .\n. . .\n. . ."


@pytest.mark.parametrize(
    ("moves", "line"),
    [
        ([0, 3, 1, 4, 2], "row 0: X at 0 1 2, O at 3 4"),
        ([3, 0, 4, 1, 5], "row 1: X at 3 4 5, O at 0 1"),
        ([0, 1, 3, 2, 6], "column 0: X at 0 3 6, O at 1 2"),
        ([2, 0, 5, 1, 8], "column 2: X at 2 5 8, O at 0 1"),
        ([0, 1, 4, 2, 8], "diagonal: X at 0 4 8, O at 1 2"),
        ([2, 0, 4, 1, 6], "anti-diagonal: X at 2 4 6, O at 0 1"),
    ],
)
def test_tictactoe_x_wins_every_direction(moves: list[int], line: str) -> None:
    game = TicTacToe.from_moves(moves[:-1])
    assert not game.terminal(), line
    reward = game.step(moves[-1])
    assert reward == 1.0, line  # +1 to X, the player who completed the line
    assert game.winner() == 0 and game.terminal(), line
    assert game.legal_actions() == [] and not game.legal_mask().any()


def test_tictactoe_o_wins() -> None:
    # X 0 1 8, O 3 4 5: O completes row 1 on the 6th move.
    #   X X .
    #   O O O
    #   . . X
    game = TicTacToe.from_moves([0, 3, 1, 4, 8])
    assert game.to_play() == 1
    assert game.step(5) == 1.0  # from O's view: O moved and won
    assert game.winner() == 1
    assert game.render() == "X X .\nO O O\n. . X"


def test_tictactoe_no_win_across_row_ends() -> None:
    # X at cells 1 2 3 are consecutive in row-major order but not a line:
    #   O X X
    #   X O .
    #   . . .
    game = TicTacToe.from_moves([1, 0, 2, 4])
    assert game.step(3) == 0.0
    assert game.winner() is None and not game.terminal()


def test_tictactoe_draw_full_board() -> None:
    # X 0 2 3 7 8, O 1 4 5 6:
    #   X O X
    #   X O O
    #   O X X      no row, column or diagonal of one colour
    game = TicTacToe()
    rewards = [game.step(move) for move in [0, 1, 2, 4, 3, 5, 7, 6, 8]]
    assert rewards == [0.0] * 9
    assert game.terminal() and game.winner() is None
    assert game.legal_actions() == []
    assert game.render() == "X O X\nX O O\nO X X"


def test_observation_planes_flip_with_to_play() -> None:
    game = TicTacToe()
    start = game.observation()
    assert start.dtype == np.float32 and start.shape == (3, 3, 3)
    assert start[0].sum() == 0 and start[1].sum() == 0 and (start[2] == 1).all()

    game.step(4)  # X in the centre; O to move, so X's stone is the *opponent's* plane
    seen_by_o = game.observation()
    assert game.to_play() == 1
    assert seen_by_o[0].sum() == 0
    assert seen_by_o[1].tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert (seen_by_o[2] == 0).all()  # plane 2 is all zeros when player 1 moves

    game.step(0)  # O in the corner; X to move
    seen_by_x = game.observation()
    assert seen_by_x[0].tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]  # X's own stone
    assert seen_by_x[1].tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]  # O's stone
    assert (seen_by_x[2] == 1).all()


def test_legal_mask_and_actions_after_moves() -> None:
    game = TicTacToe.from_moves([4, 0, 8])
    assert game.legal_actions() == [1, 2, 3, 5, 6, 7]
    # mask: cells 0, 4, 8 taken
    assert game.legal_mask().tolist() == [False, True, True, True, False, True, True, True, False]
    assert game.legal_mask().dtype == bool


@pytest.mark.parametrize(
    ("move", "reason"),
    [
        (4, "occupied"),
        (9, "out of range"),
        (-1, "out of range"),
        (1.0, "a float"),
        ("3", "a string"),
        (None, "None"),
        (True, "a bool"),
    ],
)
def test_tictactoe_illegal_move_leaves_game_unchanged(move: object, reason: str) -> None:
    game = TicTacToe.from_moves([4, 0])
    before = snapshot(game)
    with pytest.raises(IllegalMoveError) as info:
        game.step(move)
    message = str(info.value)
    assert repr(move) in message, reason  # names the move ...
    assert "[1, 2, 3, 5, 6, 7, 8]" in message, reason  # ... and the legal ones
    assert isinstance(info.value, ValueError)
    assert snapshot(game) == before, reason


def test_move_after_game_over_is_illegal() -> None:
    game = TicTacToe.from_moves([0, 3, 1, 4, 2])  # X won on row 0
    before = snapshot(game)
    with pytest.raises(IllegalMoveError, match="game is over"):
        game.step(8)
    assert snapshot(game) == before


def test_numpy_and_torch_integers_are_moves() -> None:
    game = TicTacToe()
    game.step(np.int64(4))
    game.step(torch.tensor(0))
    assert game.moves == (4, 0)
    assert all(type(move) is int for move in game.moves)


def test_as_action_index() -> None:
    assert as_action_index(np.int32(3)) == 3
    assert as_action_index(np.bool_(True)) is None
    assert as_action_index(2.5) is None


def test_clone_is_independent() -> None:
    game = TicTacToe.from_moves([4])
    copy = game.clone()
    assert isinstance(copy, TicTacToe) and copy is not game
    assert snapshot(copy) == snapshot(game)

    copy.step(0)
    assert game.moves == (4,) and game.to_play() == 1  # original untouched
    assert game.board[0, 0] == -1

    game.step(8)
    assert copy.moves == (4, 0) and copy.board[2, 2] == -1  # and the other way round


def test_clone_copies_the_winner() -> None:
    game = TicTacToe.from_moves([0, 3, 1, 4, 2])
    assert game.clone().winner() == 0


def test_board_property_is_a_copy() -> None:
    game = TicTacToe()
    board = game.board
    board[0, 0] = 0
    assert game.board[0, 0] == -1 and game.legal_actions()[0] == 0


def test_reset_and_seed_checks() -> None:
    game = TicTacToe.from_moves([4, 0, 8])
    game.reset(seed=3)  # board games have no randomness; a seed is accepted and ignored
    assert snapshot(game) == snapshot(TicTacToe())
    with pytest.raises(TypeError, match="seed"):
        game.reset(seed="3")
    with pytest.raises(TypeError, match="seed"):
        game.reset(seed=True)
    assert check_seed(np.int64(5)) == 5 and check_seed(None) is None


def test_repr_str_and_close() -> None:
    game = TicTacToe.from_moves([4, 0])
    assert repr(game) == "TicTacToe.from_moves([4, 0])"
    assert str(game) == "O . .\n. X .\n. . ."
    game.close()  # nothing to free; must not fail


@pytest.mark.parametrize("game_class", [TicTacToe, ConnectFour])
def test_random_games_agree_with_brute_force_scan(game_class: type[BoardGame]) -> None:
    """Fast last-move win detection == scanning the whole board, over 200 random games."""
    rng = random.Random(0)
    outcomes = set()
    for _ in range(200):
        game = game_class()
        while not game.terminal():
            mover = game.to_play()
            reward = game.step(rng.choice(game.legal_actions()))
            expected = brute_force_winner(game.board, game.line_length)
            assert game.winner() == expected
            assert reward == (1.0 if expected == mover else 0.0)
        outcomes.add(game.winner())
    assert {0, 1} <= outcomes  # wins by both players were exercised (draws: tests above)


# ----------------------------------------------------------------------------- Connect Four


def test_connect4_start_and_gravity() -> None:
    game = games.make("connect4")
    assert isinstance(game, ConnectFour)
    assert (game.num_actions, game.observation_shape) == (7, (3, 6, 7))
    assert game.legal_actions() == list(range(7))
    game.step(3)  # X drops to the bottom row (row 5) of column 3
    game.step(3)  # O lands on top of it (row 4)
    assert game.board[5, 3] == 0 and game.board[4, 3] == 1
    assert game.render() == (
        ". . . . . . .\n"
        ". . . . . . .\n"
        ". . . . . . .\n"
        ". . . . . . .\n"
        ". . . O . . .\n"
        ". . . X . . .\n"
        "0 1 2 3 4 5 6"
    )
    obs = game.observation()  # X to move: X's stone in plane 0, O's in plane 1
    assert obs[0, 5, 3] == 1 and obs[1, 4, 3] == 1 and obs[0].sum() == 1 and obs[1].sum() == 1
    assert (obs[2] == 1).all()


@pytest.mark.parametrize(
    ("moves", "line", "cells"),
    [
        # X 0 1 2 3 along the bottom, O stacked on 0 1 2 (O's three in row 4 is no win).
        ([0, 0, 1, 1, 2, 2, 3], "horizontal, left edge", [(5, 0), (5, 1), (5, 2), (5, 3)]),
        ([3, 3, 4, 4, 5, 5, 6], "horizontal, right edge", [(5, 3), (5, 4), (5, 5), (5, 6)]),
        # X stacks column 0 while O stacks three in column 1 (no win for O).
        ([0, 1, 0, 1, 0, 1, 0], "vertical, left edge", [(5, 0), (4, 0), (3, 0), (2, 0)]),
        # O fills the bottom two of column 6 (X elsewhere), then X stacks rows 3..0: top edge.
        (
            [0, 6, 1, 6, 6, 0, 6, 1, 6, 0, 6],
            "vertical, top-right corner",
            [(3, 6), (2, 6), (1, 6), (0, 6)],
        ),
        # Rising diagonal from the bottom-left corner; O has three along the bottom (1 2 3).
        #   . . . X . . .    row 2
        #   . . X X . . .    row 3
        #   . X X O . . .    row 4
        #   X O O O . . O    row 5
        (
            [0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3],
            "diagonal up-right",
            [(5, 0), (4, 1), (3, 2), (2, 3)],
        ),
        # The mirror image: falling diagonal to the bottom-right corner.
        (
            [6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3],
            "diagonal up-left",
            [(5, 6), (4, 5), (3, 4), (2, 3)],
        ),
    ],
)
def test_connect4_x_wins_every_direction(
    moves: list[int], line: str, cells: list[tuple[int, int]]
) -> None:
    game = ConnectFour.from_moves(moves[:-1])
    assert not game.terminal() and game.to_play() == 0, line
    assert game.step(moves[-1]) == 1.0, line
    assert game.winner() == 0 and game.terminal(), line
    assert all(game.board[r, c] == 0 for r, c in cells), line
    assert game.legal_actions() == [], line


def test_connect4_diagonal_from_the_top_left_corner_won_in_its_middle() -> None:
    # X's last move (column 1) lands at (1, 1), in the MIDDLE of the falling diagonal
    # (0,0) (1,1) (2,2) (3,3), so the run must be counted both ways from the new stone.
    moves = [1, 2, 3, 2, 1, 4, 1, 2, 3, 0, 2, 0, 0, 4, 3, 0, 0, 6, 0, 1, 1]
    game = ConnectFour.from_moves(moves[:-1])
    assert game.winner() is None and game.to_play() == 0
    assert game.step(moves[-1]) == 1.0
    assert game.winner() == 0
    assert game.render() == (
        "X . . . . . .\n"
        "X X . . . . .\n"
        "O O X . . . .\n"
        "X X O X . . .\n"
        "O X O X O . .\n"
        "O X O X O . O\n"
        "0 1 2 3 4 5 6"
    )


def test_connect4_three_in_a_row_is_no_win() -> None:
    # X X X . . . .  along the bottom, O stacked on 0 and 1: nobody has four.
    game = ConnectFour.from_moves([0, 0, 1, 1])
    assert game.step(2) == 0.0
    assert game.winner() is None and not game.terminal()
    # ... and no wrap-around: X on 4 5 6 of the bottom row and 0 of the row above is no line.
    game = ConnectFour.from_moves([4, 0, 5, 1, 6, 2])  # O on 0 1 2 of the bottom row
    assert game.step(0) == 0.0  # X at (4, 0): (5,4) (5,5) (5,6) (4,0) are not a line
    assert game.winner() is None


def test_connect4_full_column_is_illegal() -> None:
    game = ConnectFour.from_moves([0] * 6)  # X O X O X O up column 0: no four of one colour
    assert game.winner() is None
    assert game.legal_actions() == [1, 2, 3, 4, 5, 6]
    assert game.legal_mask().tolist() == [False] + [True] * 6
    before = snapshot(game)
    with pytest.raises(IllegalMoveError, match=r"illegal move 0 .*legal moves are \[1, 2, 3"):
        game.step(0)
    with pytest.raises(IllegalMoveError, match="7"):
        game.step(7)
    assert snapshot(game) == before


def test_connect4_draw_on_full_board() -> None:
    # A random game (seed 344) that filled the board with no line of four:
    moves = [3, 3, 0, 2, 5, 4, 5, 6, 4, 2, 2, 3, 3, 5, 5, 2, 2, 4, 3, 3, 1,
             1, 2, 1, 5, 5, 0, 4, 0, 4, 4, 6, 6, 6, 6, 0, 1, 0, 6, 0, 1, 1]  # fmt: skip
    game = ConnectFour()
    rewards = [game.step(move) for move in moves]
    assert rewards == [0.0] * 42
    assert game.terminal() and game.winner() is None and game.legal_actions() == []
    assert game.render() == (
        "O O X O X O X\n"
        "O X X X O X X\n"
        "O X O X O X O\n"
        "X O X O O O X\n"
        "X O O O X X O\n"
        "X X O X O X O\n"
        "0 1 2 3 4 5 6"
    )
    with pytest.raises(IllegalMoveError, match="game is over"):
        game.step(0)


def test_connect4_clone_is_independent() -> None:
    game = ConnectFour.from_moves([3, 3])
    copy = game.clone()
    copy.step(3)
    assert game.board[3, 3] == -1 and copy.board[3, 3] == 0
    assert game.moves == (3, 3) and copy.moves == (3, 3, 3)


# ----------------------------------------------------------------------------- make()


def test_make_names_and_case() -> None:
    assert games.names() == ["tictactoe", "connect4", "cartpole", "gym:<id>", "atari:<Game>"]
    assert isinstance(games.make("TicTacToe"), TicTacToe)  # plain names ignore case
    assert isinstance(games.make("connect4", seed=1), ConnectFour)


def test_make_unknown_name_lists_valid_ones_and_the_closest() -> None:
    with pytest.raises(ValueError, match="unknown game 'conect4'") as info:
        games.make("conect4")
    assert "'tictactoe', 'connect4', 'cartpole'" in str(info.value)
    assert "Did you mean 'connect4'?" in str(info.value)
    with pytest.raises(ValueError) as info:
        games.make("zzzz")
    assert "Did you mean" not in str(info.value)  # nothing close: no guess
    with pytest.raises(TypeError, match="name must be a str"):
        games.make(3)


# ----------------------------------------------------------------------------- gym adapter


def test_cartpole_basics() -> None:
    game = games.make("cartpole", seed=0)
    assert isinstance(game, GymGame)
    assert (game.name, game.num_actions, game.num_players) == ("gym:CartPole-v1", 2, 1)
    assert game.observation_shape == (4,)
    obs = game.observation()
    assert obs.dtype == np.float32 and obs.shape == (4,)
    assert game.to_play() == 0 and game.legal_actions() == [0, 1]
    assert game.legal_mask().tolist() == [True, True]
    assert game.winner() is None
    assert game.step(1) == 1.0  # CartPole pays +1 for every step the pole stays up
    assert game.render() == "gym:CartPole-v1  step 1  return 1"
    assert repr(game) == "GymGame('CartPole-v1')"
    game.close()


def test_gym_seeding_is_reproducible() -> None:
    first, second = GymGame("CartPole-v1", seed=7), GymGame("CartPole-v1", seed=7)
    for action in [0, 1, 1, 0]:
        first.step(action)
        second.step(action)
    assert np.array_equal(first.observation(), second.observation())
    first.reset(seed=7)
    assert np.array_equal(first.observation(), GymGame("CartPole-v1", seed=7).observation())


def test_gym_observation_is_a_copy() -> None:
    game = games.make("cartpole", seed=0)
    game.observation()[:] = 99.0
    assert (game.observation() != 99.0).all()


def test_cartpole_terminates_and_refuses_more_moves() -> None:
    game = games.make("gym:CartPole-v1", seed=0)
    steps = 0
    while not game.terminal():  # always pushing right tips the pole over in ~10 steps
        game.step(1)
        steps += 1
    assert 5 < steps < 50
    assert game.terminated and not game.truncated
    assert game.legal_actions() == []
    assert game.render().endswith("(terminated)")
    with pytest.raises(IllegalMoveError, match="game is over"):
        game.step(0)
    assert game.episode_steps == steps  # unchanged by the refused move
    game.reset()
    assert not game.terminal() and game.episode_steps == 0 and game.episode_return == 0.0


def test_gym_time_limit_sets_truncated() -> None:
    game = GymGame("CartPole-v1", seed=0, max_episode_steps=3)  # make_kwargs reach gym.make
    rewards = [game.step(action) for action in [0, 1, 0]]
    assert rewards == [1.0, 1.0, 1.0]
    assert game.terminal() and game.truncated and not game.terminated
    assert game.render() == "gym:CartPole-v1  step 3  return 3 (truncated)"


def test_gym_illegal_actions() -> None:
    game = games.make("cartpole", seed=0)
    before = game.observation()
    for action in (2, -1, 0.5, "1"):
        with pytest.raises(IllegalMoveError, match=r"legal moves are \[0, 1\]"):
            game.step(action)
    assert np.array_equal(game.observation(), before) and game.episode_steps == 0


def test_gym_rejects_non_discrete_action_space() -> None:
    with pytest.raises(ValueError, match=r"Box\(.*only Discrete action spaces are supported"):
        games.make("gym:Pendulum-v1")


def test_gym_bad_ids() -> None:
    with pytest.raises(ValueError, match="cannot make env_id 'NoSuchEnv-v0'"):
        games.make("gym:NoSuchEnv-v0")
    with pytest.raises(TypeError, match="env_id must be a str"):
        GymGame(None)


def test_gym_clone_is_refused() -> None:
    with pytest.raises(NotImplementedError, match="cannot be cloned"):
        games.make("cartpole").clone()


def test_gym_discrete_observation_is_one_hot() -> None:
    game = games.make("gym:FrozenLake-v1", seed=0, is_slippery=False)
    assert game.observation_shape == (16,)  # 4x4 lake, state 0 one-hot
    assert game.observation().tolist() == [1.0] + [0.0] * 15
    game.step(2)  # RIGHT on a non-slippery lake: state 0 -> state 1
    assert game.observation().argmax() == 1 and game.observation().sum() == 1.0


class ShiftedActionsEnv(gym.Env):
    """A one-step env whose Discrete actions are numbered -1, 0, 1 (start=-1)."""

    action_space = gym.spaces.Discrete(3, start=-1)
    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        # reward = the env's own action number, so the test can see the shift
        return np.array([action], dtype=np.float32), float(action), True, False, {}


def test_gym_discrete_start_is_shifted_to_zero() -> None:
    gym.register(id="MuZeroLiteShiftedActions-v0", entry_point=ShiftedActionsEnv)
    try:
        game = games.make("gym:MuZeroLiteShiftedActions-v0")
        assert game.legal_actions() == [0, 1, 2]
        assert game.step(0) == -1.0  # our action 0 is the env's action -1
    finally:
        gym.registry.pop("MuZeroLiteShiftedActions-v0")
