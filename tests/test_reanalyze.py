"""Tests for muzero_lite.reanalyze: fresh policy and value targets from the latest network."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from muzero_lite.agent import run_search, search_config
from muzero_lite.config import MuZeroConfig
from muzero_lite.networks import MLPNetwork
from muzero_lite.reanalyze import (
    PAPER_REANALYZE_FRACTION,
    PAPER_TD_STEPS,
    PAPER_VALUE_LOSS_WEIGHT,
    choose_samples,
    paper_reanalyze_config,
    reanalyze_batch,
)
from muzero_lite.replay import Batch, ReplayBuffer, Trajectory, make_targets

NUM_ACTIONS = 3
# Stored policies the search cannot reproduce: with 7 simulations every fresh probability
# is a multiple of 1/7, and 0.3 is not (2.1 / 7), so a changed row is always visible.
STORED_POLICY = [0.3, 0.3, 0.4]
NUM_SIMULATIONS = 7
STORED_ROOT_VALUE = 9.0  # stale on purpose: Reanalyze must not read it


def one_player_game() -> Trajectory:
    """T = 4; rewards u_1..u_4 = 1, 2, 3, 4 (rewards[t] = u_{t+1})."""
    return Trajectory.from_arrays(
        observations=np.arange(12, dtype=np.float32).reshape(4, 3) / 10,
        actions=[0, 1, 2, 0],
        rewards=[1.0, 2.0, 3.0, 4.0],
        root_values=[STORED_ROOT_VALUE] * 4,
        policies=np.array([STORED_POLICY] * 4),
    )


def two_player_game() -> Trajectory:
    """T = 3; players 0, 1, 0 move; player 0's last move wins (+1 from the mover's view)."""
    return Trajectory.from_arrays(
        observations=-np.arange(9, dtype=np.float32).reshape(3, 3) / 10,
        actions=[1, 2, 0],
        rewards=[0.0, 0.0, 1.0],
        root_values=[STORED_ROOT_VALUE] * 3,
        policies=np.array([STORED_POLICY] * 3),
        to_plays=[0, 1, 0],
    )


@pytest.fixture
def buffer() -> ReplayBuffer:
    replay = ReplayBuffer(100, td_steps=2, discount=0.5, num_unroll_steps=3, seed=0)
    assert replay.add(one_player_game()) == 0  # global steps 0..3
    assert replay.add(two_player_game()) == 1  # global steps 4..6
    return replay


@pytest.fixture
def network() -> MLPNetwork:
    torch.manual_seed(0)
    return MLPNetwork((3,), NUM_ACTIONS, latent_size=4, hidden_size=8)


def config(discount: float = 0.5) -> MuZeroConfig:
    return MuZeroConfig(discount=discount, num_simulations=NUM_SIMULATIONS)


def batch_for(buffer: ReplayBuffer, rows: list[tuple[int, int]], unroll: int) -> Batch:
    """What ``buffer.sample`` returns, for positions chosen by hand."""
    rng = np.random.default_rng(0)
    targets = [
        make_targets(buffer.game(g), p, unroll, 2, 0.5, NUM_ACTIONS, rng) for g, p in rows
    ]
    return Batch(
        observations=np.stack([buffer.game(g).observations[p] for g, p in rows]),
        actions=np.stack([t.actions for t in targets]),
        target_values=np.stack([t.values for t in targets]),
        target_rewards=np.stack([t.rewards for t in targets]),
        target_policies=np.stack([t.policies for t in targets]),
        policy_mask=np.stack([t.policy_mask for t in targets]),
        weights=np.ones(len(rows), dtype=np.float32),
        indices=np.array([(g, buffer.game_steps(g)[p]) for g, p in rows], dtype=np.int64),
    )


def set_value(network: MLPNetwork, value: float) -> None:
    """Make v_fresh(o) = ``value`` for every observation: zero weights, bias = value."""
    with torch.no_grad():
        network.value_head.weight.zero_()
        network.value_head.bias.fill_(value)


def reanalyze(batch, buffer, network, cfg=None, fraction=0.0, td_steps=2, seed=0,
              generator=None, two_player=False, **options) -> Batch:
    return reanalyze_batch(batch, buffer, network, cfg or config(), fraction, td_steps,
                           np.random.default_rng(seed), generator, two_player, **options)


# --------------------------------------------------------------------------------------
# Value targets: bootstrapped from the latest network.
# --------------------------------------------------------------------------------------


def test_value_bootstrap_uses_the_fresh_network(buffer, network):
    batch = batch_for(buffer, [(0, 0), (0, 3)], unroll=2)
    set_value(network, 1.0)
    first = reanalyze(batch, buffer, network, td_steps=2)
    # gamma = 0.5, n = 2, v_fresh = 1 everywhere:
    # (0,0) k=0, i=0: 1 + 0.5*2 + 0.25*v(o_2) = 2 + 0.25 = 2.25
    #       k=1, i=1: 2 + 0.5*3 + 0.25*v(o_3) = 3.5 + 0.25 = 3.75
    #       k=2, i=2: 3 + 0.5*4 (i+n = 4 = T: no bootstrap) = 5
    # (0,3) k=0, i=3: 4 (no bootstrap); k=1,2: past the end -> 0
    np.testing.assert_allclose(first.target_values, [[2.25, 3.75, 5.0], [4.0, 0.0, 0.0]])
    assert first.target_values.dtype == np.float32

    set_value(network, 3.0)  # the value head's bias +2: bootstrapped entries move by 0.25*2
    second = reanalyze(batch, buffer, network, td_steps=2)
    np.testing.assert_allclose(second.target_values, [[2.75, 4.25, 5.0], [4.0, 0.0, 0.0]])
    np.testing.assert_array_equal(second.policy_mask, [[1, 1, 1], [1, 0, 0]])


def test_value_bootstrap_with_zero_td_steps_is_the_network_value(buffer, network):
    batch = batch_for(buffer, [(0, 3)], unroll=1)
    set_value(network, 2.0)
    # n = 0: no rewards, z_3 = gamma^0 * v_fresh(o_3) = 2; k=1 is past the end -> 0.
    out = reanalyze(batch, buffer, network, td_steps=0)
    np.testing.assert_allclose(out.target_values, [[2.0, 0.0]])


def test_value_bootstrap_two_player_sign(buffer, network):
    batch = batch_for(buffer, [(1, 0)], unroll=2)
    set_value(network, 0.5)
    out = reanalyze(batch, buffer, network, cfg=config(discount=1.0), td_steps=1,
                    two_player=True)
    # gamma = 1, n = 1, to_plays 0, 1, 0; v_fresh = 0.5 from the view of its own mover:
    # i=0: u_1 = 0, bootstrap at o_1 (player 1 to move): -0.5  -> -0.5
    # i=1: u_2 = 0, bootstrap at o_2 (player 0, not 1):   -0.5  -> -0.5
    # i=2: u_3 = +1 (same mover), i+n = 3 = T: no bootstrap     ->  1
    np.testing.assert_allclose(out.target_values, [[-0.5, -0.5, 1.0]])
    set_value(network, 1.5)  # +1 on v_fresh moves the bootstrapped entries by -1
    out = reanalyze(batch, buffer, network, cfg=config(discount=1.0), td_steps=1,
                    two_player=True)
    np.testing.assert_allclose(out.target_values, [[-1.5, -1.5, 1.0]])


def test_values_match_replay_when_the_network_agrees_with_the_stored_values(buffer, network):
    # If v_fresh equals the stored search value nu (9 everywhere) the n-step targets must be
    # exactly replay.make_targets', in both games (signs included).
    set_value(network, STORED_ROOT_VALUE)
    batch = buffer.sample(16, 3, td_steps=2, discount=0.5, rng=np.random.default_rng(1))
    out = reanalyze(batch, buffer, network, td_steps=2)
    np.testing.assert_allclose(out.target_values, batch.target_values, rtol=1e-6)


# --------------------------------------------------------------------------------------
# Policy targets: a fresh batched search.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("two_player", [False, True])
def test_fresh_policies_equal_a_direct_search(buffer, network, noise, two_player):
    rows = [(0, 0), (0, 3), (1, 1)]
    batch = batch_for(buffer, rows, unroll=2)
    out = reanalyze(batch, buffer, network, fraction=1.0, generator=torch.Generator()
                    .manual_seed(5), two_player=two_player, noise=noise)

    # Real positions, row by row: (0,0) -> 0,1,2; (0,3) -> 3; (1,1) -> 1,2 (3 = T is past).
    targets = [(0, 0), (0, 1), (0, 2), (1, 0), (2, 0), (2, 1)]
    observations = np.stack([buffer.game(rows[r][0]).observations[rows[r][1] + k]
                             for r, k in targets])
    direct = run_search(network, observations, np.ones((6, NUM_ACTIONS), dtype=bool),
                        search_config(config(), two_player, noise),
                        torch.Generator().manual_seed(5))
    counts = direct.visit_counts.double()
    expected = (counts / counts.sum(dim=1, keepdim=True)).numpy()
    for (row, k), policy in zip(targets, expected, strict=True):
        np.testing.assert_allclose(out.target_policies[row, k], policy, rtol=1e-6)
        assert out.target_policies[row, k].sum() == pytest.approx(1.0)
    # Past the end: still zeros with mask 0.
    np.testing.assert_array_equal(out.target_policies[1, 1:], 0.0)
    np.testing.assert_array_equal(out.target_policies[2, 2], 0.0)
    np.testing.assert_array_equal(out.policy_mask, batch.policy_mask)


def test_fraction_zero_keeps_every_policy_and_field(buffer, network):
    batch = batch_for(buffer, [(0, 0), (0, 1), (1, 0), (1, 2)], unroll=2)
    out = reanalyze(batch, buffer, network, fraction=0.0)
    assert out is not batch
    for field in dataclasses.fields(Batch):
        if field.name != "target_values":  # the only field refreshed for every sample
            np.testing.assert_array_equal(getattr(out, field.name), getattr(batch, field.name))


def test_fraction_one_re_searches_every_real_position(buffer, network):
    batch = batch_for(buffer, [(0, 0), (0, 1), (1, 0), (1, 2)], unroll=2)
    out = reanalyze(batch, buffer, network, fraction=1.0)
    real = batch.policy_mask == 1
    changed = np.any(out.target_policies != batch.target_policies, axis=2)
    np.testing.assert_array_equal(changed, real)  # every real position, nothing past the end
    # Fresh probabilities are visit counts / 7.
    np.testing.assert_allclose(out.target_policies[real] * NUM_SIMULATIONS,
                               np.round(out.target_policies[real] * NUM_SIMULATIONS), atol=1e-5)


def test_fraction_half_re_searches_the_chosen_half(buffer, network):
    batch = batch_for(buffer, [(0, 0), (0, 1), (1, 0), (1, 2)], unroll=2)
    out = reanalyze(batch, buffer, network, fraction=0.5, seed=3)
    changed_rows = np.flatnonzero(np.any(out.target_policies != batch.target_policies,
                                         axis=(1, 2)))
    # round(0.5 * 4) = 2 rows, the ones choose_samples draws from the same rng state.
    np.testing.assert_array_equal(changed_rows,
                                  choose_samples(4, 0.5, np.random.default_rng(3)))
    assert len(changed_rows) == 2


@pytest.mark.parametrize(
    ("batch_size", "fraction", "count"),
    [(3, 0.5, 2),  # 1.5 rounds half up to 2
     (5, 0.8, 4),  # the paper's 80%: 4.0
     (4, 0.1, 0),  # 0.4 rounds down to 0
     (10, 1.0, 10)],
)
def test_choose_samples_count(batch_size, fraction, count):
    chosen = choose_samples(batch_size, fraction, np.random.default_rng(0))
    assert len(chosen) == count
    assert len(set(chosen.tolist())) == count
    assert list(chosen) == sorted(chosen) and all(0 <= c < batch_size for c in chosen)


def test_the_stored_legal_moves_restrict_the_root(buffer, network):
    only_one = Trajectory.from_arrays(
        observations=np.ones((3, 3), dtype=np.float32), actions=[1, 1, 1],
        rewards=[0.0, 0.0, 0.0], root_values=[0.0] * 3, policies=np.array([[0.0, 1.0, 0.0]] * 3),
        legal_masks=np.array([[False, True, False]] * 3))
    game_id = buffer.add(only_one)
    batch = batch_for(buffer, [(game_id, 1)], unroll=2)
    out = reanalyze(batch, buffer, network, fraction=1.0)
    # Positions 1 and 2 are real: all 7 visits go to the one legal action.
    np.testing.assert_allclose(out.target_policies[0, :2], [[0, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(out.target_policies[0, 2], 0.0)


def test_network_runs_in_eval_mode_and_its_mode_is_restored(buffer, network):
    batch = batch_for(buffer, [(0, 0)], unroll=1)
    seen = []
    original = network.initial_inference

    def spy(observations):
        seen.append(network.training)
        return original(observations)

    network.initial_inference = spy
    network.train()
    reanalyze(batch, buffer, network, fraction=1.0)
    assert seen == [False, False]  # value bootstrap, then the search's root
    assert network.training
    network.eval()
    reanalyze(batch, buffer, network, fraction=1.0)
    assert not network.training


def test_input_batch_is_not_modified(buffer, network):
    batch = batch_for(buffer, [(0, 0), (1, 1)], unroll=2)
    policies, values = batch.target_policies.copy(), batch.target_values.copy()
    reanalyze(batch, buffer, network, fraction=1.0)
    np.testing.assert_array_equal(batch.target_policies, policies)
    np.testing.assert_array_equal(batch.target_values, values)


def test_paper_reanalyze_config():
    cfg = paper_reanalyze_config(MuZeroConfig())
    assert (cfg.reanalyze_fraction, cfg.td_steps, cfg.value_loss_weight) == (0.8, 5, 0.25)
    assert (PAPER_REANALYZE_FRACTION, PAPER_TD_STEPS, PAPER_VALUE_LOSS_WEIGHT) == (0.8, 5, 0.25)
    with pytest.raises(TypeError, match="config"):
        paper_reanalyze_config({"td_steps": 5})


# --------------------------------------------------------------------------------------
# Bad arguments: a clear error naming the argument.
# --------------------------------------------------------------------------------------


def _bad_calls(buffer, network):
    batch = batch_for(buffer, [(0, 0), (1, 0)], unroll=1)
    args = dict(batch=batch, buffer=buffer, network=network, config=config(), fraction=0.5,
                td_steps=2, rng=np.random.default_rng(0), generator=None, two_player=False)
    ragged = dataclasses.replace(batch, indices=np.zeros((3, 2), dtype=np.int64))
    flat = dataclasses.replace(batch, target_values=np.zeros(2, dtype=np.float32))
    outside = dataclasses.replace(batch, indices=np.array([[0, 40], [1, 4]], dtype=np.int64))
    return args, [
        ({"batch": "batch"}, TypeError, "batch"),
        ({"batch": batch.to_torch()}, TypeError, "batch.observations"),
        ({"batch": ragged}, ValueError, "batch"),
        ({"batch": flat}, ValueError, "batch"),
        ({"batch": outside}, ValueError, "step 40 of game 0 is not in the buffer"),
        ({"buffer": [one_player_game()]}, TypeError, "buffer"),
        ({"network": "net"}, TypeError, "network"),
        ({"network": MLPNetwork((3,), 4)}, ValueError, "network must have the batch's 3"),
        ({"config": {}}, TypeError, "config"),
        ({"fraction": 1.5}, ValueError, "fraction"),
        ({"fraction": -0.1}, ValueError, "fraction"),
        ({"fraction": True}, TypeError, "fraction"),
        ({"fraction": "0.8"}, TypeError, "fraction"),
        ({"td_steps": -1}, ValueError, "td_steps"),
        ({"td_steps": 2.0}, TypeError, "td_steps"),
        ({"rng": 0}, TypeError, "rng"),
        ({"generator": 0}, TypeError, "generator"),
        ({"two_player": 1}, TypeError, "two_player"),
        ({"noise": "yes"}, TypeError, "noise"),
    ]


def test_bad_arguments_raise_naming_them(buffer, network):
    args, cases = _bad_calls(buffer, network)
    for override, error, message in cases:
        with pytest.raises(error, match=message):
            reanalyze_batch(**(args | override))


def test_choose_samples_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        choose_samples(0, 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="fraction"):
        choose_samples(4, 2.0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        choose_samples(4, 0.5, None)
