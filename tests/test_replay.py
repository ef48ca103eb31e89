"""Tests for muzero_lite.replay: trajectories, n-step targets, prioritized sampling, save/load.

Every expected number is worked out by hand in a comment next to it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from muzero_lite.replay import (
    Batch,
    Chunk,
    ChunkStore,
    ReplayBuffer,
    SumTree,
    Targets,
    Trajectory,
    make_targets,
    n_step_value,
)

A = 3  # action space size of the small test games
UNIFORM = [1 / 3, 1 / 3, 1 / 3]


def one_player_game() -> Trajectory:
    """T = 5, rewards u_1..u_5 = 1..5, root values nu_0..nu_4 = 10..50, actions 0,1,2,0,1."""
    trajectory = Trajectory()
    for t in range(5):
        policy = np.zeros(A, dtype=np.float32)
        policy[t % A] = 1.0  # a different policy per step, so rows are recognisable
        trajectory.append(
            observation=np.full((2, 2), t, dtype=np.uint8),
            action=t % A,
            reward=float(t + 1),
            root_value=float(10 * (t + 1)),
            policy=policy,
        )
    return trajectory.finish(done=True)


def board_game(rewards: list[float], to_plays: list[int], root_values=None) -> Trajectory:
    """A two-player game with the given rewards (mover's view) and players to move."""
    length = len(rewards)
    if root_values is None:
        root_values = [0.0] * length
    return Trajectory.from_arrays(
        observations=np.zeros((length, 3, 3), dtype=np.float32),
        actions=np.arange(length) % A,
        rewards=rewards,
        root_values=root_values,
        policies=np.tile(UNIFORM, (length, 1)),
        to_plays=to_plays,
        done=True,
    )


def game_of_length(length: int, value: float = 0.0) -> Trajectory:
    return Trajectory.from_arrays(
        observations=np.zeros((length, 2), dtype=np.float32),
        actions=np.zeros(length, dtype=np.int64),
        rewards=np.zeros(length),
        root_values=np.full(length, value),
        policies=np.tile(UNIFORM, (length, 1)),
    )


# ------------------------------------------------------------------------------ Trajectory


def test_trajectory_stores_steps_as_stacked_arrays_in_their_dtypes():
    trajectory = one_player_game()
    assert len(trajectory) == 5 and trajectory.done and trajectory.finished
    assert trajectory.observations.shape == (5, 2, 2)
    assert trajectory.observations.dtype == np.uint8  # frames stay uint8
    assert trajectory.observations[3, 0, 0] == 3
    np.testing.assert_array_equal(trajectory.actions, [0, 1, 2, 0, 1])
    assert trajectory.actions.dtype == np.int64
    np.testing.assert_array_equal(trajectory.rewards, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(trajectory.root_values, [10, 20, 30, 40, 50])
    assert trajectory.policies.shape == (5, A) and trajectory.policies.dtype == np.float32
    np.testing.assert_array_equal(trajectory.to_plays, [0, 0, 0, 0, 0])
    assert trajectory.action_space_size == A


def test_trajectory_arrays_are_readable_while_building_and_frozen_after_finish():
    trajectory = Trajectory()
    trajectory.append(np.zeros(2), 0, 0.0, 0.0, UNIFORM)
    assert trajectory.observations.dtype == np.float32  # float64 stored as float32
    trajectory.append(np.ones(2), 1, 1.0, 0.5, UNIFORM, to_play=1)
    assert len(trajectory) == 2 and trajectory.rewards.tolist() == [0.0, 1.0]
    assert not trajectory.finished and not trajectory.done
    trajectory.finish(done=False)  # cut off, not a real terminal state
    assert trajectory.finished and not trajectory.done
    with pytest.raises(ValueError, match="read-only"):
        trajectory.rewards[0] = 5.0
    with pytest.raises(ValueError, match="finished"):
        trajectory.append(np.zeros(2), 0, 0.0, 0.0, UNIFORM)
    with pytest.raises(ValueError, match="already finished"):
        trajectory.finish(True)


def test_trajectory_copies_the_observation_so_a_reused_buffer_does_not_leak_in():
    frame = np.zeros(4, dtype=np.uint8)
    trajectory = Trajectory()
    trajectory.append(frame, 0, 0.0, 0.0, UNIFORM)
    frame[:] = 9  # self-play overwrites its frame buffer for the next step
    assert trajectory.observations[0].tolist() == [0, 0, 0, 0]


def test_trajectory_accepts_torch_tensors():
    trajectory = Trajectory()
    trajectory.append(torch.zeros(2), 1, 0.5, 0.25, torch.tensor(UNIFORM))
    assert trajectory.observations.dtype == np.float32
    assert trajectory.policies.shape == (1, A)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"action": 3}, ValueError, "action must be in"),
        ({"action": -1}, ValueError, "action must be >= 0"),
        ({"action": 1.0}, TypeError, "action must be an int"),
        ({"reward": float("nan")}, ValueError, "reward must be finite"),
        ({"reward": "1"}, TypeError, "reward must be a real"),
        ({"root_value": float("inf")}, ValueError, "root_value must be finite"),
        ({"policy": [0.5, 0.5, 0.5]}, ValueError, "sum to 1"),
        ({"policy": [1.5, -0.5, 0.0]}, ValueError, "non-negative"),
        ({"policy": [[1.0]]}, ValueError, "policy must be 1-D"),
        ({"policy": [0.5, 0.5]}, ValueError, "first step's length 3"),
        ({"observation": np.zeros(3)}, ValueError, "observation must match"),
        ({"observation": np.zeros(2, dtype=np.uint8)}, ValueError, "observation must match"),
        ({"observation": np.array(["a", "b"])}, TypeError, "observations must be numeric"),
        ({"to_play": -1}, ValueError, "to_play must be >= 0"),
    ],
)
def test_trajectory_append_rejects_bad_steps_and_keeps_its_state(kwargs, error, message):
    trajectory = Trajectory()
    trajectory.append(np.zeros(2, dtype=np.float32), 0, 0.0, 0.0, UNIFORM)
    step = {
        "observation": np.zeros(2, dtype=np.float32),
        "action": 1,
        "reward": 0.0,
        "root_value": 0.0,
        "policy": UNIFORM,
    }
    with pytest.raises(error, match=message):
        trajectory.append(**(step | kwargs))
    assert len(trajectory) == 1
    assert trajectory.actions.tolist() == [0]


def test_trajectory_finish_and_from_arrays_reject_bad_input():
    with pytest.raises(ValueError, match="empty"):
        Trajectory().finish(True)
    with pytest.raises(ValueError, match="empty"):
        _ = Trajectory().rewards
    with pytest.raises(TypeError, match="done must be a bool"):
        Trajectory().finish(1)
    with pytest.raises(TypeError, match="done must be a bool"):
        Trajectory.from_arrays(np.zeros((1, 2)), [0], [0.0], [0.0], [UNIFORM], done="yes")
    with pytest.raises(ValueError, match="rewards must have len"):
        Trajectory.from_arrays(np.zeros((2, 2)), [0, 1], [0.0], [0.0, 0.0], [UNIFORM] * 2)
    with pytest.raises(ValueError, match="actions must be a 1-D int"):
        Trajectory.from_arrays(np.zeros((1, 2)), [0.5], [0.0], [0.0], [UNIFORM])
    with pytest.raises(ValueError, match="at least one step"):
        Trajectory.from_arrays(np.zeros((0, 2)), [], [], [], np.zeros((0, A)))
    with pytest.raises(ValueError, match="to_play must be an int"):
        Trajectory.from_arrays(np.zeros((1, 2)), [0], [0.0], [0.0], [UNIFORM], to_plays=[-1])
    with pytest.raises(ValueError, match="reward must be a finite"):
        Trajectory.from_arrays(np.zeros((1, 2)), [0], [[0.0]], [0.0], [UNIFORM])
    with pytest.raises(TypeError, match="policies must be array-like"):
        Trajectory.from_arrays(np.zeros((1, 2)), [0], [0.0], [0.0], [[0.5, 0.5], [1.0]])


# ---------------------------------------------------------------------------- value targets


def test_n_step_value_discounts_rewards_and_bootstraps_from_the_search_value():
    trajectory = one_player_game()  # u_1..u_5 = 1..5, nu_0..nu_4 = 10..50, T = 5
    # n = 2, gamma = 0.5:  z_i = u_{i+1} + 0.5 u_{i+2} + 0.25 nu_{i+2}   (if i + 2 < 5)
    # z_0 = 1 + 0.5*2 + 0.25*30 = 1 + 1 + 7.5   = 9.5
    # z_1 = 2 + 0.5*3 + 0.25*40 = 2 + 1.5 + 10  = 13.5
    # z_2 = 3 + 0.5*4 + 0.25*50 = 3 + 2 + 12.5  = 17.5
    # z_3 = 4 + 0.5*5           (3 + 2 = T: nothing to bootstrap from) = 6.5
    # z_4 = 5                   (only u_5 is left)                     = 5
    values = [n_step_value(trajectory, i, td_steps=2, discount=0.5) for i in range(5)]
    assert values == pytest.approx([9.5, 13.5, 17.5, 6.5, 5.0])


def test_n_step_value_with_zero_steps_is_the_search_value_itself():
    trajectory = one_player_game()
    # n = 0: no reward enters the sum, z_i = gamma^0 * nu_i
    values = [n_step_value(trajectory, i, td_steps=0, discount=0.9) for i in range(5)]
    assert values == pytest.approx([10, 20, 30, 40, 50])


def test_n_step_value_checks_its_arguments():
    with pytest.raises(ValueError, match=r"position must be in \[0, 5\)"):
        n_step_value(one_player_game(), 5, td_steps=2, discount=0.5)
    with pytest.raises(ValueError, match="td_steps must be >= 0"):
        n_step_value(one_player_game(), 0, td_steps=-1, discount=0.5)


def test_board_game_value_target_is_the_final_outcome_from_the_movers_view():
    # Tic-tac-toe, X (player 0) moves at t = 0, 2, 4 and wins with its move at t = 4:
    # u_5 = +1 from X's view, every other reward 0. n >= T, gamma = 1: z_i = s(i, 4) * 1.
    x_wins = board_game([0, 0, 0, 0, 1], [0, 1, 0, 1, 0])
    values = [n_step_value(x_wins, i, td_steps=9, discount=1.0) for i in range(5)]
    assert values == [1.0, -1.0, 1.0, -1.0, 1.0]  # X to move: +1, O to move: -1

    # O (player 1) wins with its 3rd move at t = 5: u_6 = +1 from O's view.
    o_wins = board_game([0, 0, 0, 0, 0, 1], [0, 1, 0, 1, 0, 1])
    values = [n_step_value(o_wins, i, td_steps=9, discount=1.0) for i in range(6)]
    assert values == [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0]

    draw = board_game([0.0] * 9, [0, 1] * 4 + [0])
    assert [n_step_value(draw, i, 9, 1.0) for i in range(9)] == [0.0] * 9


def test_two_player_bootstrap_flips_the_sign_of_the_opponents_search_value():
    game = board_game([0, 0, 0, 0, 1], [0, 1, 0, 1, 0], root_values=[0.1, 0.2, 0.3, 0.4, 0.5])
    # n = 1, gamma = 1: z_i = u_{i+1} + s(i, i+1) nu_{i+1}; the next mover is the opponent.
    # z_0 = 0 - 0.2, z_1 = 0 - 0.3, z_2 = 0 - 0.4, z_3 = 0 - 0.5, z_4 = u_5 = 1 (no bootstrap)
    values = [n_step_value(game, i, td_steps=1, discount=1.0) for i in range(5)]
    assert values == pytest.approx([-0.2, -0.3, -0.4, -0.5, 1.0])
    # n = 2: the player at i + 2 is the same player again, so its value keeps its sign.
    # z_0 = u_1 - u_2 + nu_2 = 0 - 0 + 0.3
    # z_2 = u_3 - u_4 + nu_4 = 0 - 0 + 0.5
    # z_3 = u_4 - u_5        = 0 - 1       (3 + 2 = T: no bootstrap)
    assert n_step_value(game, 0, 2, 1.0) == pytest.approx(0.3)
    assert n_step_value(game, 2, 2, 1.0) == pytest.approx(0.5)
    assert n_step_value(game, 3, 2, 1.0) == pytest.approx(-1.0)


def test_sign_follows_who_is_to_move_not_the_parity_of_the_step():
    # Player 0 moves twice in a row (an extra turn), then player 1.
    game = board_game([1.0, 2.0, 3.0], [0, 0, 1])
    # z_0 = +1 + 2 - 3 = 0;  z_1 = +2 - 3 = -1;  z_2 = +3
    values = [n_step_value(game, i, td_steps=3, discount=1.0) for i in range(3)]
    assert values == [0.0, -1.0, 3.0]


# ------------------------------------------------------------------------------ make_targets


def test_make_targets_inside_the_game_and_in_the_absorbing_state_after_it():
    trajectory = one_player_game()  # T = 5
    targets = make_targets(
        trajectory, index=2, num_unroll_steps=4, td_steps=2, discount=0.5,
        action_space_size=A, rng=np.random.default_rng(0),
    )  # fmt: skip
    assert isinstance(targets, Targets)
    # positions i = 2, 3, 4 are in the game; 5 and 6 are past its end (absorbing)
    # values: z_2, z_3, z_4 from the test above, then 0, 0
    np.testing.assert_allclose(targets.values, [17.5, 6.5, 5.0, 0.0, 0.0])
    # rewards: entry 0 unused; u_3 = rewards[2] = 3, u_4 = 4, u_5 = 5 (the last real
    # transition, into the end state i = T = 5), then 0 out of the absorbing state
    np.testing.assert_allclose(targets.rewards, [0.0, 3.0, 4.0, 5.0, 0.0])
    np.testing.assert_array_equal(targets.policy_mask, [1, 1, 1, 0, 0])
    # policies: one-hot on t % 3 for t = 2, 3, 4, zeros past the end
    expected_policies = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(targets.policies, expected_policies)
    # actions a_2, a_3, a_4 = 2, 0, 1 are real; the 4th (i = 5 = T) is random
    assert targets.actions.dtype == np.int64 and targets.actions.shape == (4,)
    assert targets.actions[:3].tolist() == [2, 0, 1]
    assert 0 <= targets.actions[3] < A
    assert targets.values.dtype == np.float32 and targets.policies.dtype == np.float32


def test_make_targets_without_unrolling_is_one_step():
    targets = make_targets(one_player_game(), 0, 0, 2, 0.5, A, np.random.default_rng(0))
    np.testing.assert_allclose(targets.values, [9.5])  # z_0 from above
    np.testing.assert_array_equal(targets.rewards, [0.0])
    assert targets.actions.shape == (0,)


def test_actions_past_the_end_are_uniformly_random_and_reproducible():
    trajectory = one_player_game()
    rng = np.random.default_rng(123)
    # From the last position t = 4 with K = 3: a_4 = 1 is real, the next two are random.
    draws = np.array([make_targets(trajectory, 4, 3, 2, 0.5, A, rng).actions for _ in range(3000)])
    assert np.all(draws[:, 0] == 1)
    random_part = draws[:, 1:].ravel()  # 6000 draws, each action expected 1/3 of the time
    frequencies = np.bincount(random_part, minlength=A) / random_part.size
    # std of one frequency: sqrt(1/3 * 2/3 / 6000) = 0.006; allow 4 std
    np.testing.assert_allclose(frequencies, [1 / 3] * 3, atol=0.025)
    again = make_targets(trajectory, 4, 3, 2, 0.5, A, np.random.default_rng(7)).actions
    assert again.tolist() == make_targets(trajectory, 4, 3, 2, 0.5, A,
                                          np.random.default_rng(7)).actions.tolist()  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"index": 5}, ValueError, r"index must be in \[0, 5\)"),
        ({"index": -1}, ValueError, "index must be >= 0"),
        ({"num_unroll_steps": -1}, ValueError, "num_unroll_steps must be >= 0"),
        ({"td_steps": 1.5}, TypeError, "td_steps must be an int"),
        ({"discount": 1.5}, ValueError, "discount must be in"),
        ({"discount": None}, TypeError, "discount must be a float"),
        ({"action_space_size": 4}, ValueError, "action_space_size must match"),
        ({"rng": 0}, TypeError, "rng must be a numpy.random.Generator"),
        ({"trajectory": "game"}, TypeError, "trajectory must be a Trajectory"),
        ({"trajectory": Trajectory()}, ValueError, "trajectory is empty"),
    ],
)
def test_make_targets_rejects_bad_arguments(kwargs, error, message):
    arguments = {
        "trajectory": one_player_game(),
        "index": 0,
        "num_unroll_steps": 2,
        "td_steps": 2,
        "discount": 0.5,
        "action_space_size": A,
        "rng": np.random.default_rng(0),
    }
    with pytest.raises(error, match=message):
        make_targets(**(arguments | kwargs))


# ------------------------------------------------------------------------- ReplayBuffer: add


def test_initial_priorities_are_the_distance_between_search_value_and_target():
    game = Trajectory.from_arrays(
        np.zeros((2, 1)), [0, 0], rewards=[1.0, 0.0], root_values=[0.5, 2.0],
        policies=[UNIFORM, UNIFORM],
    )  # fmt: skip
    buffer = ReplayBuffer(10, td_steps=1, discount=0.5, priority_eps=1e-3)
    game_id = buffer.add(game)
    # n = 1, gamma = 0.5:  z_0 = u_1 + 0.5 nu_1 = 1 + 1 = 2  ->  |nu_0 - z_0| = |0.5 - 2| = 1.5
    #                      z_1 = u_2 = 0 (no bootstrap)     ->  |nu_1 - z_1| = |2 - 0|   = 2.0
    np.testing.assert_allclose(buffer.priorities(game_id), [1.5 + 1e-3, 2.0 + 1e-3])
    np.testing.assert_allclose(buffer.initial_priorities(game), [1.5, 2.0])
    assert game_id == 0 and len(buffer) == 2 and buffer.num_games == 1
    assert buffer.game_ids == [0]
    stored = buffer.game(game_id)
    for name in ("observations", "actions", "rewards", "root_values", "policies", "to_plays",
                 "legal_masks"):
        np.testing.assert_array_equal(getattr(stored, name), getattr(game, name))


def test_add_accepts_given_priorities_and_checks_them():
    buffer = ReplayBuffer(100, priority_eps=0.5)
    game_id = buffer.add(game_of_length(2), priorities=torch.tensor([1.0, 0.0]))
    np.testing.assert_allclose(buffer.priorities(game_id), [1.5, 0.5])  # + eps 0.5
    with pytest.raises(ValueError, match=r"priorities must have shape \(2,\)"):
        buffer.add(game_of_length(2), priorities=[1.0])
    with pytest.raises(ValueError, match="finite and >= 0"):
        buffer.add(game_of_length(2), priorities=[1.0, -1.0])
    with pytest.raises(ValueError, match="must be finished"):
        unfinished = Trajectory()
        unfinished.append(np.zeros(2), 0, 0.0, 0.0, UNIFORM)
        buffer.add(unfinished)
    with pytest.raises(TypeError, match="trajectory must be a Trajectory"):
        buffer.add([1, 2, 3])
    with pytest.raises(ValueError, match="observations must match"):
        buffer.add(one_player_game())  # [2, 2] uint8 frames, the buffer holds [2] float32
    other_actions = Trajectory.from_arrays(np.zeros((1, 2)), [0], [0.0], [0.0], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="action_space_size must match"):
        buffer.add(other_actions)
    with pytest.raises(ValueError, match="does not fit a buffer of 100"):
        buffer.add(game_of_length(101))
    assert len(buffer) == 2 and buffer.num_games == 1  # none of the bad adds left a trace


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"capacity_positions": 0}, ValueError, "capacity_positions must be >= 1"),
        ({"capacity_positions": 2.5}, TypeError, "capacity_positions must be an int"),
        ({"alpha": -1.0}, ValueError, "alpha must be in"),
        ({"beta": "1"}, TypeError, "beta must be a float"),
        ({"discount": 2.0}, ValueError, "discount must be in"),
        ({"priority_eps": 0.0}, ValueError, "priority_eps must be > 0"),
        ({"num_unroll_steps": -1}, ValueError, "num_unroll_steps must be >= 0"),
        ({"frame_stack": (4, 18)}, TypeError, "frame_stack must be a FrameStack"),
    ],
)
def test_replay_buffer_rejects_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        ReplayBuffer(**({"capacity_positions": 10} | kwargs))


def test_the_ring_overwrites_the_oldest_steps():
    buffer = ReplayBuffer(5)
    buffer.add(game_of_length(3))  # steps 0-2
    buffer.add(game_of_length(2))  # steps 3-4: 5 positions, still fits
    assert buffer.game_ids == [0, 1] and len(buffer) == 5 and buffer.oldest == 0
    buffer.add(game_of_length(3))  # steps 5-7 overwrite 0-2: game 0 is gone
    assert buffer.game_ids == [1, 2] and len(buffer) == 5 and buffer.oldest == 3
    with pytest.raises(KeyError, match="game_id 0"):
        buffer.game(0)
    buffer.add(game_of_length(4))  # steps 8-11 overwrite 3-6: game 2 keeps only step 7
    assert buffer.game_ids == [3] and len(buffer) == 5 and buffer.oldest == 7
    # A game's last steps stay sampleable after its first ones were overwritten.
    assert buffer.num_sampleable == 5
    batch = buffer.sample(50, 2, rng=np.random.default_rng(0))
    assert set(batch.indices[:, 1].tolist()) <= set(range(7, 12))


# ---------------------------------------------------------------------- ReplayBuffer: sample


def buffer_with_priorities(alpha: float, beta: float) -> ReplayBuffer:
    """Two games: (game, step) (0, 0), (0, 1), (1, 2) with priorities 1, 3, 4 (eps 1e-9)."""
    buffer = ReplayBuffer(10, alpha=alpha, beta=beta, priority_eps=1e-9)
    buffer.add(game_of_length(2), priorities=[1.0, 3.0])
    buffer.add(game_of_length(1), priorities=[4.0])
    return buffer


def test_sampling_probabilities_follow_priorities_to_the_power_alpha():
    # alpha = 1:  P = [1, 3, 4] / 8
    np.testing.assert_allclose(
        buffer_with_priorities(1.0, 1.0).sampling_probabilities(), [0.125, 0.375, 0.5]
    )
    # alpha = 0.5: P = [1, sqrt 3, 2] / (3 + sqrt 3) = [0.21132, 0.36603, 0.42265]
    root3 = np.sqrt(3.0)
    np.testing.assert_allclose(
        buffer_with_priorities(0.5, 1.0).sampling_probabilities(),
        np.array([1.0, root3, 2.0]) / (3.0 + root3),
    )
    # alpha = 0: uniform
    np.testing.assert_allclose(
        buffer_with_priorities(0.0, 1.0).sampling_probabilities(), [1 / 3] * 3
    )


def test_sample_frequencies_and_importance_weights_on_a_tiny_buffer():
    buffer = buffer_with_priorities(alpha=1.0, beta=1.0)
    batch = buffer.sample(20_000, num_unroll_steps=0, rng=np.random.default_rng(0))
    keys = [tuple(row) for row in batch.indices.tolist()]
    frequencies = np.array([keys.count(k) for k in [(0, 0), (0, 1), (1, 2)]]) / len(keys)
    # P = [0.125, 0.375, 0.5]; std of a frequency <= sqrt(0.25 / 20000) = 0.0035
    np.testing.assert_allclose(frequencies, [0.125, 0.375, 0.5], atol=0.015)
    # w = 1 / (N P) with N = 3: [1/0.375, 1/1.125, 1/1.5] = [8/3, 8/9, 2/3];
    # divided by the batch max 8/3 (every position was drawn): [1, 1/3, 1/4]
    expected = {(0, 0): 1.0, (0, 1): 1 / 3, (1, 2): 1 / 4}
    np.testing.assert_allclose(batch.weights, [expected[k] for k in keys], rtol=1e-6)


def test_importance_weights_with_beta_a_half_and_the_batch_max():
    buffer = buffer_with_priorities(alpha=1.0, beta=0.5)
    batch = buffer.sample(200, num_unroll_steps=0, rng=np.random.default_rng(1))
    # (0, 0) is drawn (P(never) = 0.875^200 ~ 3e-12), so the max is w(0, 0) and
    # w(1, 2) / w(0, 0) = sqrt(0.125 / 0.5) = 0.5
    keys = [tuple(row) for row in batch.indices.tolist()]
    expected = {(0, 0): 1.0, (0, 1): np.sqrt(0.125 / 0.375), (1, 2): 0.5}
    np.testing.assert_allclose(batch.weights, [expected[k] for k in keys], rtol=1e-6)


def test_uniform_sampling_has_unit_weights():
    batch = buffer_with_priorities(alpha=0.0, beta=1.0).sample(50, 0, rng=np.random.default_rng(2))
    np.testing.assert_allclose(batch.weights, np.ones(50))


def test_sampled_batch_holds_the_targets_of_the_sampled_positions():
    buffer = ReplayBuffer(5, td_steps=2, discount=0.5, seed=3)
    buffer.add(one_player_game())
    batch = buffer.sample(8, num_unroll_steps=3)  # uses the buffer's td_steps, discount, rng
    assert isinstance(batch, Batch) and batch.batch_size == 8 and batch.num_unroll_steps == 3
    assert batch.observations.shape == (8, 2, 2) and batch.observations.dtype == np.uint8
    assert batch.actions.shape == (8, 3) and batch.actions.dtype == np.int64
    assert batch.target_values.shape == (8, 4) and batch.target_rewards.shape == (8, 4)
    assert batch.target_policies.shape == (8, 4, A) and batch.policy_mask.shape == (8, 4)
    assert batch.weights.shape == (8,) and batch.weights.dtype == np.float32
    assert batch.indices.shape == (8, 2) and batch.indices.dtype == np.int64
    game = buffer.game(0)
    for row, (_, position) in enumerate(batch.indices):  # one game: step = position
        expected = make_targets(game, int(position), 3, 2, 0.5, A, np.random.default_rng(0))
        assert batch.observations[row, 0, 0] == position  # frame t is filled with t
        np.testing.assert_array_equal(batch.target_values[row], expected.values)
        np.testing.assert_array_equal(batch.target_rewards[row], expected.rewards)
        np.testing.assert_array_equal(batch.target_policies[row], expected.policies)
        np.testing.assert_array_equal(batch.policy_mask[row], expected.policy_mask)
        real = int(expected.policy_mask[:3].sum())  # actions inside the game are real
        np.testing.assert_array_equal(batch.actions[row, :real], expected.actions[:real])
    # explicit n and gamma override the buffer's: n = 0 makes z_t = nu_t = 10 (t + 1)
    override = buffer.sample(4, 0, td_steps=0, discount=1.0, rng=np.random.default_rng(0))
    np.testing.assert_allclose(override.target_values[:, 0], 10 * (override.indices[:, 1] + 1))


def test_batch_to_torch_converts_every_field_and_keeps_uint8_frames():
    buffer = ReplayBuffer(5, td_steps=2, discount=0.5)
    buffer.add(one_player_game())
    batch = buffer.sample(4, 2, rng=np.random.default_rng(0)).to_torch("cpu")
    assert batch.observations.dtype == torch.uint8
    assert batch.actions.dtype == torch.int64 and batch.indices.dtype == torch.int64
    assert batch.target_values.dtype == torch.float32 and batch.weights.dtype == torch.float32
    assert batch.batch_size == 4 and batch.num_unroll_steps == 2
    again = batch.to_torch("cpu")  # tensors in, tensors out
    assert torch.equal(again.target_policies, batch.target_policies)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"num_unroll_steps": -1}, ValueError, "num_unroll_steps must be >= 0"),
        ({"td_steps": -2}, ValueError, "td_steps must be >= 0"),
        ({"discount": -0.1}, ValueError, "discount must be in"),
        ({"rng": 42}, TypeError, "rng must be a numpy.random.Generator"),
    ],
)
def test_sample_rejects_bad_arguments(kwargs, error, message):
    buffer = buffer_with_priorities(1.0, 1.0)
    with pytest.raises(error, match=message):
        buffer.sample(**({"batch_size": 2, "num_unroll_steps": 1} | kwargs))


def test_an_empty_buffer_cannot_be_sampled():
    buffer = ReplayBuffer(1)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(1, 1)
    with pytest.raises(ValueError, match="empty"):
        buffer.sampling_probabilities()


# ---------------------------------------------------------------- ReplayBuffer: priorities


def test_update_priorities_changes_the_sampling_distribution():
    buffer = buffer_with_priorities(alpha=1.0, beta=1.0)
    buffer.update_priorities(np.array([[0, 1], [1, 2]]), np.array([0.0, 1.0]))
    # priorities now [1, 0 + 1e-9, 1]: P ~ [0.5, 5e-10, 0.5]
    np.testing.assert_allclose(buffer.sampling_probabilities(), [0.5, 0.0, 0.5], atol=1e-8)
    # tensors straight from the loss are accepted too
    buffer.update_priorities(torch.tensor([[0, 0]]), torch.tensor([3.0]))
    np.testing.assert_allclose(buffer.sampling_probabilities(), [0.75, 0.0, 0.25], atol=1e-8)


def test_update_priorities_skips_overwritten_steps_and_rejects_bad_rows_without_writing():
    buffer = ReplayBuffer(2, priority_eps=1e-9)
    buffer.add(game_of_length(2))  # steps 0, 1
    buffer.add(game_of_length(2), priorities=[1.0, 1.0])  # steps 2, 3 overwrite game 0
    buffer.update_priorities(np.array([[0, 1], [1, 2]]), [5.0, 2.0])  # game 0 row: skipped
    np.testing.assert_allclose(buffer.priorities(1), [2.0, 1.0])
    with pytest.raises(ValueError, match="step 4 was never stored"):
        buffer.update_priorities(np.array([[1, 3], [1, 4]]), [9.0, 9.0])
    np.testing.assert_allclose(buffer.priorities(1), [2.0, 1.0])  # row 0 was not written
    with pytest.raises(ValueError, match="finite and >= 0"):
        buffer.update_priorities(np.array([[1, 2]]), [np.nan])
    with pytest.raises(ValueError, match=r"new_priorities must have shape \(1,\)"):
        buffer.update_priorities(np.array([[1, 2]]), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"indices must be an int array \[B, 2\]"):
        buffer.update_priorities(np.array([1, 0]), [1.0])
    with pytest.raises(ValueError, match=r"indices must be an int array \[B, 2\]"):
        buffer.update_priorities(np.array([[1.0, 0.0]]), [1.0])


# ----------------------------------------------------------------------------- the sum tree


def test_sum_tree_sums_and_samples_in_proportion():
    tree = SumTree(5)  # 8 leaves, 3 levels
    tree.set(np.array([0, 2, 4]), np.array([1.0, 3.0, 4.0]))
    assert tree.total == 8.0 and tree.nodes[1] == 8.0
    tree.set(np.array([2, 2]), np.array([9.0, 2.0]))  # a repeated index keeps its last weight
    assert tree.total == 7.0
    draws = tree.sample(np.random.default_rng(0), 70_000)
    frequencies = np.bincount(draws, minlength=5) / len(draws)
    # weights 1, 0, 2, 0, 4 of 7; std of a frequency <= sqrt(0.25 / 70000) = 0.002
    np.testing.assert_allclose(frequencies, np.array([1, 0, 2, 0, 4]) / 7, atol=0.01)
    assert not np.isin(draws, [1, 3]).any()  # a zero weight is never drawn


def test_sum_tree_never_lands_on_an_empty_leaf_at_a_boundary():
    tree = SumTree(4)
    tree.set(np.arange(4), np.array([0.1, 0.0, 0.2, 0.0]))

    class Edge:  # a draw of exactly the total (or just under) after rounding
        def random(self, count):
            return np.full(count, 1.0 - 1e-17)

    assert tree.sample(Edge(), 3).tolist() == [2, 2, 2]


# ----------------------------------------------------------------------- chunks on disk


def test_chunk_store_round_trip_rebuilds_the_same_buffer(tmp_path):
    cut_off = Trajectory.from_arrays(
        np.ones((2, 3, 3), dtype=np.float32), [1, 2], [0.5, 0.25], [1.0, 2.0],
        [UNIFORM, [0.0, 1.0, 0.0]], to_plays=[0, 0], done=False,
    )  # fmt: skip
    won = board_game([0, 0, 1], [0, 1, 0], root_values=[0.1, -0.2, 0.3])
    chunks = [Chunk.from_trajectory(0, won), Chunk.from_trajectory(1, cut_off)]
    store = ChunkStore(tmp_path / "replay")
    store.write(0, chunks)
    store.write(1, chunks[:1])
    assert store.numbers() == [0, 1]
    assert not [p for p in (tmp_path / "replay").iterdir() if p.name.endswith(".tmp")]

    def rebuild(numbers):
        buffer = ReplayBuffer(10, alpha=0.6, beta=0.4, td_steps=3, discount=0.9)
        for number in numbers:
            for chunk in store.read(number):
                buffer.add_chunk(chunk)
        return buffer

    original, loaded = rebuild([]), rebuild([0, 1])
    for chunk in chunks + chunks[:1]:
        original.add_chunk(chunk)
    assert loaded.game_ids == original.game_ids == [0, 1, 2]
    for game_id in loaded.game_ids:
        copy, source = loaded.game(game_id), original.game(game_id)
        assert copy.done == source.done
        for name in ("observations", "actions", "rewards", "root_values", "policies",
                     "to_plays", "legal_masks"):
            np.testing.assert_array_equal(getattr(copy, name), getattr(source, name))
            assert getattr(copy, name).dtype == getattr(source, name).dtype
    assert not loaded.game(1).done
    first = original.sample(6, 2, rng=np.random.default_rng(5))
    second = loaded.sample(6, 2, rng=np.random.default_rng(5))
    for name in ("indices", "actions", "target_values", "target_policies", "weights"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    # nothing in the file needs pickle
    with np.load(store.path(0), allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)
    assert store.remove_leftovers(keep_below=1) == [1] and store.numbers() == [0]


def test_a_damaged_chunk_file_is_named(tmp_path):
    store = ChunkStore(tmp_path)
    store.write(0, [Chunk.from_trajectory(0, one_player_game())])
    store.path(0).write_bytes(store.path(0).read_bytes()[:100])  # torn
    with pytest.raises(ValueError, match="chunks-000000000.npz is not a readable replay file"):
        store.read(0)
