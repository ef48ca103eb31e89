"""Board symmetries (games) and a batch seen through them (replay.augment)."""

from __future__ import annotations

import numpy as np
import pytest

from muzero_lite.config import preset
from muzero_lite.games.connect4 import ConnectFour
from muzero_lite.games.tictactoe import TicTacToe
from muzero_lite.replay import Batch, augment
from muzero_lite.training import Trainer


@pytest.mark.parametrize("game_class, count", [(TicTacToe, 8), (ConnectFour, 2)])
def test_symmetries_map_every_game_to_a_game_with_the_same_outcome(game_class, count) -> None:
    """Replay random games with each symmetry's renamed actions: every stone lands on the
    transformed cell and the same player wins, so the rules do not tell the two apart."""
    symmetries = game_class.symmetries()
    assert len(symmetries) == count
    assert len({tuple(s.cells) for s in symmetries}) == count  # all different
    np.testing.assert_array_equal(symmetries[0].cells, np.arange(game_class.rows
                                                                 * game_class.cols))
    rng = np.random.default_rng(0)
    for _ in range(40):
        game, moves = game_class(), []
        while not game.terminal():
            moves.append(int(rng.choice(game.legal_actions())))
            game.step(moves[-1])
        for symmetry in symmetries:
            renamed = np.argsort(symmetry.actions)
            image = game_class.from_moves(int(renamed[a]) for a in moves)
            np.testing.assert_array_equal(image.board.ravel(),
                                          game.board.ravel()[symmetry.cells])
            assert image.winner() == game.winner()


def _batch(observations: np.ndarray, actions: np.ndarray, policies: np.ndarray) -> Batch:
    size, steps = actions.shape
    return Batch(observations=observations, actions=actions,
                 target_values=np.arange(size * (steps + 1), dtype=np.float32).reshape(size, -1),
                 target_rewards=np.ones((size, steps + 1), np.float32),
                 target_policies=policies, policy_mask=np.ones((size, steps + 1), np.float32),
                 weights=np.full(size, 0.5, np.float32), indices=np.zeros((size, 2), np.int64))


def test_a_quarter_turn_by_hand() -> None:
    """np.rot90 turns the board a quarter to the left: the top-left corner (cell 0) goes to
    the bottom-left (cell 6), the top-right (2) to the top-left (0), the centre stays."""
    quarter = TicTacToe.symmetries()[1]
    np.testing.assert_array_equal(quarter.cells, [2, 5, 8, 1, 4, 7, 0, 3, 6])
    board = np.zeros((1, 3, 3, 3), np.float32)
    board[0, 0, 0, 0] = 1.0  # the mover's stone in the top-left corner
    board[0, 1, 0, 2] = 1.0  # the opponent's in the top-right
    board[0, 2] = 1.0  # X to move: the whole plane, unchanged by any turn
    policies = np.zeros((1, 3, 9), np.float32)
    policies[0, 0, 4] = 0.75  # the centre
    policies[0, 0, 1] = 0.25  # top edge -> left edge (cell 3)
    policies[0, 1, 8] = 1.0  # bottom-right -> top-right (cell 2)
    batch = _batch(board, np.array([[0, 8]]), policies)

    seen = augment(batch, [quarter], np.random.default_rng(0))

    expected = np.zeros((3, 3, 3), np.float32)
    expected[0, 2, 0] = 1.0
    expected[1, 0, 0] = 1.0
    expected[2] = 1.0
    np.testing.assert_array_equal(seen.observations[0], expected)
    np.testing.assert_array_equal(seen.actions, [[6, 2]])
    np.testing.assert_array_equal(np.nonzero(seen.target_policies[0, 0])[0], [3, 4])
    assert seen.target_policies[0, 0, 3] == 0.25 and seen.target_policies[0, 0, 4] == 0.75
    np.testing.assert_array_equal(np.nonzero(seen.target_policies[0, 1])[0], [2])
    for name in ("target_values", "target_rewards", "policy_mask", "weights", "indices"):
        np.testing.assert_array_equal(getattr(seen, name), getattr(batch, name))
    assert batch.observations[0, 0, 0, 0] == 1.0  # the input batch is left as it was


def test_connect_four_mirror_and_random_draws() -> None:
    """The mirror reverses the columns; with both symmetries on offer each row gets one of
    them, about half of a large batch each, and the identity changes nothing."""
    rng = np.random.default_rng(1)
    size = 400
    observations = rng.integers(0, 2, (size, 3, 6, 7)).astype(np.float32)
    actions = rng.integers(0, 7, (size, 5))
    policies = rng.dirichlet(np.ones(7), (size, 6)).astype(np.float32)
    seen = augment(_batch(observations, actions, policies), ConnectFour.symmetries(), rng)
    mirrored = (seen.actions != actions).any(axis=1)  # a column other than the middle moved
    assert 150 < mirrored.sum() < 250
    np.testing.assert_array_equal(seen.observations[mirrored], observations[mirrored][..., ::-1])
    np.testing.assert_array_equal(seen.actions[mirrored], 6 - actions[mirrored])
    np.testing.assert_array_equal(seen.target_policies[mirrored],
                                  policies[mirrored][..., ::-1])
    np.testing.assert_array_equal(seen.observations[~mirrored], observations[~mirrored])


def test_symmetries_that_do_not_fit_the_batch_are_refused() -> None:
    batch = _batch(np.zeros((2, 3, 3, 3), np.float32), np.zeros((2, 1), np.int64),
                   np.zeros((2, 2, 9), np.float32))
    with pytest.raises(ValueError, match="42 cells and 7 actions do not fit"):
        augment(batch, ConnectFour.symmetries(), np.random.default_rng(0))


def test_a_game_without_symmetries_refuses_the_field(tmp_path) -> None:
    with pytest.raises(ValueError, match="'augment_symmetries' is on, but gym:CartPole-v1 has"):
        Trainer(preset("cartpole", augment_symmetries=True), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_the_trainer_turns_every_batch_when_on(monkeypatch, tmp_path) -> None:
    """With augment_symmetries on, each learner step's batch goes through ``augment`` with
    the game's 8 symmetries, and the loss sees what it returns; off, it is never called."""
    from muzero_lite import training

    turned, seen_by_loss = [], []
    real_augment, real_loss = training.augment, training.unrolled_loss

    def spy_augment(batch, symmetries, rng):
        turned.append((len(symmetries), real_augment(batch, symmetries, rng)))
        return turned[-1][1]

    def spy_loss(network, batch, **kwargs):
        seen_by_loss.append(batch)
        return real_loss(network, batch, **kwargs)

    monkeypatch.setattr(training, "augment", spy_augment)
    monkeypatch.setattr(training, "unrolled_loss", spy_loss)
    tiny = dict(num_simulations=4, num_envs=4, batch_size=16, training_steps=3,
                replay_capacity=2_000, hidden_size=16, latent_size=8)
    Trainer(preset("tictactoe", **tiny), tmp_path / "on", progress=False).train()
    assert [count for count, _ in turned] == [8, 8, 8] and len(seen_by_loss) == 3
    for (_, batch), used in zip(turned, seen_by_loss, strict=True):
        np.testing.assert_array_equal(used.observations.numpy(), batch.observations)
        np.testing.assert_array_equal(used.actions.numpy(), batch.actions)
    turned.clear()
    Trainer(preset("tictactoe", **tiny, augment_symmetries=False), tmp_path / "off",
            progress=False).train()
    assert turned == []
