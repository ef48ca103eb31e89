"""Tests for muzero_lite.games.atari on Breakout, whose ROM ships with ale-py.

Breakout's minimal action set has 4 actions (NOOP, FIRE, RIGHT, LEFT), so the action planes
hold round(255 * (a + 1) / 4): a=0 -> 63.75 -> 64, a=1 -> 127.5 -> 128, a=2 -> 191.25 -> 191,
a=3 -> 255. A few dozen emulator steps keep the file fast.
"""

from __future__ import annotations

import numpy as np
import pytest

from muzero_lite import games
from muzero_lite.games import AtariGame, IllegalMoveError
from muzero_lite.games.atari import action_plane_value, ale_env_id

HISTORY, CHANNELS, SIZE = 8, 3, 96
PLANES_PER_STEP = CHANNELS + 1  # RGB + one action plane


def step_planes(observation: np.ndarray, slot: int) -> tuple[np.ndarray, np.ndarray]:
    """(frame [3, 96, 96], action plane [96, 96]) of history slot `slot` (0 = oldest)."""
    start = slot * PLANES_PER_STEP
    return observation[start : start + CHANNELS], observation[start + CHANNELS]


@pytest.fixture(scope="module")
def breakout() -> AtariGame:
    game = games.make("atari:Breakout", seed=0)
    yield game
    game.close()


def test_shapes_and_dtype(breakout: AtariGame) -> None:
    breakout.reset(seed=0)
    assert breakout.name == "atari:Breakout" and breakout.env_id == "ALE/Breakout-v5"
    assert (breakout.num_actions, breakout.num_players, breakout.to_play()) == (4, 1, 0)
    # 8 steps x (3 RGB + 1 action) = 32 planes of 96 x 96
    assert breakout.observation_shape == (32, 96, 96)
    observation = breakout.observation()
    assert observation.shape == (32, 96, 96) and observation.dtype == np.uint8
    assert breakout.frame().shape == (3, 96, 96) and breakout.frame().dtype == np.uint8
    assert breakout.legal_actions() == [0, 1, 2, 3]
    assert breakout.render() == "atari:Breakout  step 0  return 0  lives 5"


def test_episode_start_is_zero_padded(breakout: AtariGame) -> None:
    breakout.reset(seed=0)
    observation = breakout.observation()
    # slots 0..6: no frames yet -> all zeros; slot 7: the first frame, action plane 0
    assert not observation[: 7 * PLANES_PER_STEP].any()
    frame, action_plane = step_planes(observation, 7)
    assert frame.any() and np.array_equal(frame, breakout.frame())
    assert not action_plane.any()


def test_history_shifts_and_action_planes(breakout: AtariGame) -> None:
    breakout.reset(seed=0)
    previous = breakout.observation()
    for action, plane_value in [(0, 64), (1, 128), (2, 191), (3, 255)]:
        breakout.step(action)
        observation = breakout.observation()
        # every step moves one slot towards the oldest end ...
        assert np.array_equal(observation[:-PLANES_PER_STEP], previous[PLANES_PER_STEP:])
        # ... and the newest slot holds the new frame and the action that led to it
        frame, action_plane = step_planes(observation, 7)
        assert np.array_equal(frame, breakout.frame())
        assert (action_plane == plane_value).all()
        previous = observation
    # after 4 steps: slots 0..2 padding, slot 3 the reset frame (no action), 4..7 actions
    assert not previous[: 3 * PLANES_PER_STEP].any()
    assert [int(step_planes(previous, slot)[1][0, 0]) for slot in range(3, 8)] == [
        0, 64, 128, 191, 255
    ]  # fmt: skip


def test_stepping_changes_frames_and_counts(breakout: AtariGame) -> None:
    breakout.reset(seed=0)
    first = breakout.frame()
    rewards = [breakout.step(action) for action in [1, 2, 2, 3, 3, 1, 2, 3, 0, 1]]
    assert all(isinstance(reward, float) and reward >= 0.0 for reward in rewards)
    assert not np.array_equal(breakout.frame(), first)  # the paddle moved, the ball came in
    assert breakout.episode_steps == 10 and breakout.episode_return == sum(rewards)
    # after 10 steps the 8 slots are all real frames: no zero padding left
    assert all(step_planes(breakout.observation(), slot)[0].any() for slot in range(8))


def test_same_seed_same_frames() -> None:
    first = AtariGame("Breakout", seed=3)
    second = AtariGame("Breakout", seed=3)
    for action in [1, 2, 3, 2, 1]:
        first.step(action)
        second.step(action)
    assert np.array_equal(first.observation(), second.observation())
    first.close()
    second.close()


def test_grayscale_small_history_and_names() -> None:
    game = games.make("atari:breakout", seed=0, history=2, grayscale=True, screen_size=48)
    assert game.env_id == "ALE/Breakout-v5"  # lower-case name accepted
    assert game.observation_shape == (4, 48, 48)  # 2 steps x (1 gray + 1 action)
    game.step(3)
    game.step(2)
    game.step(1)  # the oldest steps have fallen out of a 2-step history
    observation = game.observation()
    assert observation.shape == (4, 48, 48)
    assert (observation[1] == 191).all() and (observation[3] == 128).all()  # a=2, then a=1
    game.close()


def test_time_limit_truncates_and_refuses_more_moves() -> None:
    # 40 frames at frame skip 4 and no no-ops: the 10th step hits the limit.
    game = AtariGame("Breakout", seed=0, noop_max=0, max_episode_frames=40)
    for _ in range(9):
        game.step(0)
    assert not game.terminal()
    game.step(0)
    assert game.truncated and not game.terminated and game.terminal()
    assert game.legal_actions() == [] and game.render().endswith("(truncated)")
    before = game.observation()
    with pytest.raises(IllegalMoveError, match="game is over"):
        game.step(0)
    assert np.array_equal(game.observation(), before) and game.episode_steps == 10
    game.close()


def test_illegal_action_and_clone(breakout: AtariGame) -> None:
    breakout.reset(seed=0)
    with pytest.raises(IllegalMoveError, match=r"legal moves are \[0, 1, 2, 3\]"):
        breakout.step(4)
    assert breakout.episode_steps == 0
    with pytest.raises(NotImplementedError, match="cannot be cloned"):
        breakout.clone()
    assert repr(breakout) == "AtariGame('Breakout')"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"history": 0}, ValueError, "history must be >= 1"),
        ({"frame_skip": 1.5}, TypeError, "frame_skip must be an int"),
        ({"noop_max": -1}, ValueError, "noop_max must be >= 0"),
        ({"screen_size": True}, TypeError, "screen_size must be an int"),
        ({"grayscale": "yes"}, TypeError, "grayscale must be a bool"),
        ({"sticky_action_prob": 1.5}, ValueError, r"sticky_action_prob must be a float in \[0, 1"),
        ({"seed": "0"}, TypeError, "seed"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        AtariGame("Breakout", **kwargs)


def test_unknown_game() -> None:
    with pytest.raises(ValueError, match="no Atari game 'Breakot'.*Breakout"):
        games.make("atari:Breakot")
    with pytest.raises(TypeError, match="game_name"):
        AtariGame("")


def test_helpers() -> None:
    assert action_plane_value(None, 4) == 0
    assert action_plane_value(0, 18) == 14  # 255 * 1 / 18 = 14.17 -> 14
    assert action_plane_value(17, 18) == 255
    assert ale_env_id("space_invaders") == "ALE/SpaceInvaders-v5"
    assert ale_env_id("ALE/Pong-v5") == "ALE/Pong-v5"
