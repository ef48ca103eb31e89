"""The column replay against the readable references, on random buffers.

Games arrive in interleaved chunks of random length, the ring wraps, some games end in a real
terminal state, some are cut off and some are still running. Every position the buffer lets
the learner sample must get exactly the targets ``make_targets`` gives on the whole game, and
exactly the stacked observation ``AtariGame`` would have shown.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from muzero_lite.games.atari import action_plane_value
from muzero_lite.replay import (
    Chunk,
    FrameStack,
    ReplayBuffer,
    Trajectory,
    aligned_zeros,
    batch_targets,
    make_targets,
)
from muzero_lite.replay._kernels import LINE, stack_frames

A = 4


def random_game(rng: np.random.Generator, two_player: bool, frames: bool,
                side: int = 2) -> Trajectory:
    length = int(rng.integers(1, 80))
    if frames:  # tiny RGB frames, side x side
        observations = rng.integers(0, 256, size=(length, 3, side, side), dtype=np.uint8)
    else:
        observations = rng.normal(size=(length, 3)).astype(np.float32)
    # Two players mostly alternate, with the odd extra turn: signs follow to_play, not parity.
    to_plays = (np.arange(length) + (rng.random(length) < 0.1).cumsum()) % 2 if two_player \
        else np.zeros(length, dtype=np.int64)
    return Trajectory.from_arrays(
        observations=observations, actions=rng.integers(0, A, length),
        rewards=rng.normal(size=length).round(2), root_values=rng.normal(size=length),
        policies=rng.dirichlet(np.ones(A), size=length), to_plays=to_plays,
        done=bool(rng.random() < 0.6))


def feed(buffer: ReplayBuffer, games: list[Trajectory], rng: np.random.Generator,
         total_steps: int) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """Hand the games to the buffer in interleaved chunks (4 games running at a time) until
    ``total_steps`` were stored; returns {global step: (game, position)} and {game: steps fed}
    for every game started."""
    where: dict[int, tuple[int, int]] = {}
    fed: dict[int, int] = {}
    running: list[int] = []
    next_game = 0
    while buffer.written < total_steps:
        while len(running) < 4 and next_game < len(games):
            running.append(next_game)
            fed[next_game] = 0
            next_game += 1
        if not running:
            break
        g = running[int(rng.integers(len(running)))]
        game, start = games[g], fed[g]
        stop = min(len(game), start + int(rng.integers(1, 8)))
        rows = slice(start, stop)
        over = stop == len(game)
        chunk = Chunk(g, game.observations[rows], game.actions[rows], game.rewards[rows],
                      game.root_values[rows], game.policies[rows], game.to_plays[rows],
                      game.legal_masks[rows], first=start == 0, game_over=over,
                      done=game.done)
        first_step = buffer.written
        buffer.add_chunk(chunk)
        for offset in range(stop - start):
            where[first_step + offset] = (g, start + offset)
        fed[g] = stop
        if over:
            running.remove(g)
    return where, fed


def sampleable_steps(buffer: ReplayBuffer) -> np.ndarray:
    steps = np.arange(buffer.oldest, buffer.written)
    return steps[buffer._tree.get(steps % buffer.capacity_positions) > 0]


@pytest.mark.parametrize("two_player", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_targets_equal_the_reference_on_random_chunked_buffers(two_player, seed):
    rng = np.random.default_rng(seed)
    num_unroll_steps, td_steps = 5, int(rng.integers(0, 12))
    discount = 1.0 if two_player else 0.9
    games = [random_game(rng, two_player, frames=False) for _ in range(40)]
    buffer = ReplayBuffer(150, td_steps=td_steps, discount=discount,
                          num_unroll_steps=num_unroll_steps)
    where, fed = feed(buffer, games, rng, total_steps=400)
    assert buffer.written > buffer.capacity_positions  # the ring wrapped

    # Sampleable: every stored position of a finished game; in a running game only those
    # with K + n stored steps after them, whose targets can no longer change.
    expected = [s for s in range(buffer.oldest, buffer.written)
                if fed[where[s][0]] == len(games[where[s][0]])
                or where[s][1] + num_unroll_steps + td_steps < fed[where[s][0]]]
    steps = sampleable_steps(buffer)
    np.testing.assert_array_equal(steps, expected)
    assert any(fed[where[s][0]] < len(games[where[s][0]]) for s in steps)  # live games too

    fast = batch_targets(buffer.columns(), steps, num_unroll_steps, td_steps, discount,
                         np.random.default_rng(7))
    reference_rng = np.random.default_rng(7)  # the same draws, one position at a time
    for row, step in enumerate(steps):
        game, position = where[int(step)]
        ref = make_targets(games[game], position, num_unroll_steps, td_steps, discount, A,
                           reference_rng)
        np.testing.assert_array_equal(fast.values[row], ref.values)
        np.testing.assert_array_equal(fast.rewards[row], ref.rewards)
        np.testing.assert_array_equal(fast.policies[row], ref.policies)
        np.testing.assert_array_equal(fast.policy_mask[row], ref.policy_mask)
        np.testing.assert_array_equal(fast.actions[row], ref.actions)


def reference_stack(game: Trajectory, position: int, history: int) -> np.ndarray:
    """What ``AtariGame.observation()`` shows at ``position``: ``history`` steps oldest first,
    each the frame then a plane of the action that led to it (0 at the start and before)."""
    channels, height, width = game.observations.shape[1:]
    steps = np.zeros((history, channels + 1, height, width), dtype=np.uint8)
    for slot in range(history):
        j = position - (history - 1 - slot)
        if j < 0:
            continue  # padding before the game's first frame
        steps[slot, :channels] = game.observations[j]
        led_here = None if j == 0 else int(game.actions[j - 1])
        steps[slot, channels] = action_plane_value(led_here, A)
    return steps.reshape(history * (channels + 1), height, width)


@pytest.mark.parametrize("seed", [0, 1])
def test_stacked_observations_are_rebuilt_from_single_frames(seed):
    rng = np.random.default_rng(seed)
    history = 4
    games = [random_game(rng, two_player=False, frames=True) for _ in range(40)]
    buffer = ReplayBuffer(120, td_steps=3, discount=0.99, num_unroll_steps=2,
                          frame_stack=FrameStack(history, A))
    where, _ = feed(buffer, games, rng, total_steps=300)
    steps = sampleable_steps(buffer)
    stacked = buffer.observations(steps)
    assert stacked.shape == (len(steps), history * 4, 2, 2) and stacked.dtype == np.uint8
    for row, step in enumerate(steps):
        game, position = where[int(step)]
        np.testing.assert_array_equal(stacked[row], reference_stack(games[game], position,
                                                                    history))
    # The compiled kernel and the numpy version agree, also writing into a given array.
    np.testing.assert_array_equal(buffer.observations_reference(steps), stacked)
    out = np.full(stacked.shape, 7, dtype=np.uint8)
    assert buffer.observations(steps, out=out) is out
    np.testing.assert_array_equal(out, stacked)
    # The kernel run by the Python interpreter (``py_func``, no numba) writes the same bytes.
    frames = buffer._columns["observations"]
    plain = np.empty((len(steps), history, 4 * 2 * 2), dtype=np.uint8)
    stack_frames.py_func(frames.reshape(len(frames), -1), buffer._columns["prev"],
                         buffer._columns["actions"], buffer.frame_stack.plane_values(), steps,
                         plain)
    np.testing.assert_array_equal(plain.reshape(stacked.shape), stacked)
    # The rows are split over numba's threads; on one thread the bytes are the same.
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        np.testing.assert_array_equal(buffer.observations(steps), stacked)
    finally:
        numba.set_num_threads(threads)
    with pytest.raises(ValueError, match="out must be a contiguous uint8 array"):
        buffer.observations(steps, out=np.zeros(stacked.shape, dtype=np.float32))
    # Positions whose older frames (or the action before the oldest) the ring overwrote are
    # never sampled.
    step_of = {place: step for step, place in where.items()}
    lost = [step for step in range(buffer.oldest, buffer.written)
            if any(step_of[(where[step][0], p)] < buffer.oldest
                   for p in range(max(0, where[step][1] - history), where[step][1]))]
    assert lost and not set(lost) & set(steps.tolist())
    # A frame per stored step, not a stack: 1.0 frame per position.
    assert buffer._columns["observations"].shape == (120, 3, 2, 2)


def test_the_kernels_streaming_stores_write_the_same_bytes_at_any_alignment():
    """Frames of 3 x 11 x 11 = 363 bytes (planes of 121) span several 64-byte cache lines and
    end mid-line; the output starts at every offset within a line: the plain stores before
    the first whole line and after the last one meet the streaming ones exactly."""
    rng = np.random.default_rng(3)
    history, side = 3, 11
    games = [random_game(rng, two_player=False, frames=True, side=side) for _ in range(20)]
    buffer = ReplayBuffer(200, td_steps=2, discount=0.99, num_unroll_steps=1,
                          frame_stack=FrameStack(history, A))
    feed(buffer, games, rng, total_steps=400)
    steps = sampleable_steps(buffer)
    expected = buffer.observations_reference(steps)
    assert expected[:, 3::4].any() and (expected[:, 3::4] == 0).any()  # planes, padding
    size = expected.size
    aligned = aligned_zeros((size + LINE,))
    assert aligned.ctypes.data % LINE == 0
    for offset in (0, 1, 17, 32, 63):
        out = aligned[offset:offset + size].reshape(expected.shape)
        out[:] = 7
        assert buffer.observations(steps, out=out) is out
        np.testing.assert_array_equal(out, expected)
    assert buffer.observations(steps).ctypes.data % LINE == 0  # fresh arrays start a line


def test_a_chunk_of_a_running_game_cannot_restart_it_and_a_frame_stack_checks_frames():
    game = random_game(np.random.default_rng(0), two_player=False, frames=False)
    buffer = ReplayBuffer(100)
    chunk = Chunk.from_trajectory(5, game)
    running = Chunk(5, *(getattr(chunk, f) for f in (
        "observations", "actions", "rewards", "root_values", "policies", "to_plays",
        "legal_masks")), first=True, game_over=False, done=False)
    buffer.add_chunk(running)
    with pytest.raises(ValueError, match="chunk key 5 names a game that is still running"):
        buffer.add_chunk(running)
    stacked = ReplayBuffer(100, frame_stack=FrameStack(4, A))
    with pytest.raises(ValueError, match="uint8 frames"):
        stacked.add_chunk(chunk)  # float observations, not frames
    # The running game closes as cut off; its last positions become sampleable.
    before = buffer.num_sampleable
    buffer.close_live_games()
    assert buffer.num_sampleable == len(game) > before and not buffer.game(0).done


def test_a_chunk_that_overwrites_its_own_games_tail_keeps_the_links_of_the_new_steps():
    """Capacity 4: a game's first chunk is steps 0-2; its next chunk of 4 steps (3-6)
    overwrites 0-2, its own tail (step 2) among them, and step 6 takes step 2's slot. Linking
    the old tail to the new chunk must not touch that slot: step 6 is the game's last step."""
    rng = np.random.default_rng(0)
    game = random_game(rng, two_player=False, frames=False)
    while len(game) < 7:
        game = random_game(rng, two_player=False, frames=False)
    buffer = ReplayBuffer(4, td_steps=0, num_unroll_steps=0)
    columns = ("observations", "actions", "rewards", "root_values", "policies", "to_plays",
               "legal_masks")
    for start, stop in ((0, 3), (3, 7)):
        rows = slice(start, stop)
        buffer.add_chunk(Chunk(0, *(getattr(game, c)[rows] for c in columns),
                               first=start == 0, game_over=False, done=False))
    next_steps = buffer.columns().next_steps
    assert buffer.oldest == 3
    assert [int(next_steps[s % 4]) for s in (3, 4, 5, 6)] == [4, 5, 6, -1]
