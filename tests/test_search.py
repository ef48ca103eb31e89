"""Tests of muzero_lite.search: pUCT, min-max stats, backup signs, noise, known games.

Expected numbers are worked out by hand in the comments (c1 = 1.25, c2 = 19652, gamma = 0.997
unless a test says otherwise).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from muzero_lite import games
from muzero_lite.search import (
    MinMaxStats,
    RecurrentOutput,
    ReferenceSearch,
    RootOutput,
    SearchConfig,
    dirichlet_noise,
    masked_softmax,
    pucb_score,
    root_prior,
    search,
)
from muzero_lite.search.pucb import parent_view_return

C1, C2, GAMMA = 1.25, 19652.0, 0.997


def greedy_config(**changes: object) -> SearchConfig:
    """A config without root noise, so searches are deterministic."""
    fields = dict(num_simulations=10, discount=GAMMA, exploration_fraction=0.0)
    fields.update(changes)
    return SearchConfig(**fields)


# -- pUCT score -------------------------------------------------------------------------------


def test_pucb_score_small_parent_count() -> None:
    # N(s) = 1, N(s,a) = 0, P = 0.5, Q̄ = 0:
    # c2 term: log((1 + 19652 + 1) / 19652) = log(1.000101771...) = 1.0176563e-4
    # score = 0 + 0.5 * sqrt(1) / (1 + 0) * (1.25 + 1.0176563e-4) = 0.62505088
    assert pucb_score(1, 0, 0.5, 0.0, C1, C2) == pytest.approx(0.6250508828, abs=1e-9)


def test_pucb_score_c2_term_matters_at_large_parent_count() -> None:
    # N(s) = 100000, N(s,a) = 10, P = 0.2, Q̄ = 0.3:
    # log((100000 + 19652 + 1) / 19652) = log(6.0885915) = 1.8064168  -> weight 3.0564168
    # 0.2 * sqrt(100000) / 11 = 0.2 * 316.227766 / 11 = 5.7495957
    # score = 0.3 + 5.7495957 * 3.0564168 = 17.8731609
    assert pucb_score(100000, 10, 0.2, 0.3, C1, C2) == pytest.approx(17.8731609, abs=1e-6)
    # Without the c2 term (weight 1.25 only) it would be 0.3 + 5.7495957 * 1.25 = 7.4869946:
    assert pucb_score(100000, 10, 0.2, 0.3, C1, 1e30) == pytest.approx(7.4869946, abs=1e-6)


def test_pucb_score_more_child_visits_lower_the_prior_term() -> None:
    # N(s) = 100, P = 0.2, Q̄ = 0.3; weight 1.25 + log(19753 / 19652) = 1.2551263
    # N(s,a) = 10: 0.3 + 0.2 * 10 / 11 * 1.2551263 = 0.5282048
    # N(s,a) = 0:  0.3 + 0.2 * 10 / 1 * 1.2551263 = 2.8102525
    assert pucb_score(100, 10, 0.2, 0.3, C1, C2) == pytest.approx(0.5282048, abs=1e-6)
    assert pucb_score(100, 0, 0.2, 0.3, C1, C2) == pytest.approx(2.8102525, abs=1e-6)


# -- min-max statistics -----------------------------------------------------------------------


def test_min_max_stats_normalise_only_once_a_range_exists() -> None:
    stats = MinMaxStats()
    assert stats.normalize(0.7) == 0.7  # no range yet: unchanged (pseudocode)
    stats.update(2.0)
    assert stats.normalize(0.7) == 0.7  # max == min: still unchanged
    stats.update(-2.0)
    # range [-2, 2]: (1 - (-2)) / (2 - (-2)) = 3 / 4
    assert stats.normalize(1.0) == pytest.approx(0.75)
    assert (stats.minimum, stats.maximum) == (-2.0, 2.0)


def test_min_max_stats_start_at_known_bounds_and_widen() -> None:
    stats = MinMaxStats((-1.0, 1.0))
    assert stats.normalize(0.0) == pytest.approx(0.5)  # (0 + 1) / 2
    stats.update(3.0)  # beyond the bound: widens to [-1, 3]
    assert stats.normalize(0.0) == pytest.approx(0.25)  # (0 + 1) / 4
    stats.update(0.0)  # inside: no change
    assert (stats.minimum, stats.maximum) == (-1.0, 3.0)


# -- selection inside one reference tree ------------------------------------------------------


def two_action_tree(config: SearchConfig) -> ReferenceSearch:
    """Root with priors [0.5, 0.5], value 0; first simulation expands action 0 (tie -> first)
    with reward 1 and value 0.5, so Q(root, 0) = 1 + 0.997 * 0.5 = 1.4985."""
    tree = ReferenceSearch(config, [0.5, 0.5], 0.0, torch.zeros(1), [True, True])
    assert tree.select_leaf() == (tree.root, 0)
    tree.expand_and_backup(1.0, 0.5, [0.5, 0.5], torch.zeros(1))
    return tree


def test_visited_edge_scores_its_q_unvisited_scores_zero() -> None:
    tree = two_action_tree(greedy_config())
    # root: N = 1 (own value) + 1 = 2, value_sum = 0 + 1.4985
    assert tree.root.visit_count == 2
    assert tree.root.value() == pytest.approx(1.4985 / 2)
    # Only one Q seen (1.4985): max == min, so Q̄ = 1.4985 unchanged.
    # weight = 1.25 + log((2 + 19652 + 1) / 19652) = 1.2501526
    # action 0: 1.4985 + 0.5 * sqrt(2) / 2 * 1.2501526 = 1.4985 + 0.4419957 = 1.9404957
    # action 1: 0      + 0.5 * sqrt(2) / 1 * 1.2501526 = 0.8839914
    assert tree.select_action(tree.root) == 0


def test_value_bounds_seed_the_normaliser() -> None:
    tree = two_action_tree(greedy_config(value_bounds=(0.0, 10.0)))
    # Q̄(0) = (1.4985 - 0) / (10 - 0) = 0.14985; score 0.14985 + 0.4419957 = 0.5918457
    # Q̄(1) = 0 (unvisited);                      score 0.8839914  -> action 1 now wins
    assert tree.select_action(tree.root) == 1


def test_ties_go_to_first_legal_index_and_illegal_root_actions_are_skipped() -> None:
    config = greedy_config()
    tree = ReferenceSearch(config, [0.0, 0.5, 0.5], 0.0, torch.zeros(1), [False, True, True])
    # equal priors 0.5 on actions 1 and 2: tie -> 1; action 0 is illegal (score -inf)
    assert tree.select_action(tree.root) == 1
    with pytest.raises(RuntimeError, match="select_leaf"):
        tree.expand_and_backup(0.0, 0.0, [1 / 3] * 3, torch.zeros(1))


# -- backup along a 3-deep path ---------------------------------------------------------------


def chain_fn(latent: torch.Tensor, action: torch.Tensor) -> tuple[RecurrentOutput, torch.Tensor]:
    """One action only, so simulation s expands depth s + 1. latent = depth d of the parent;
    the new node at depth d + 1 gets reward d + 1 and value 10 * (d + 1)."""
    depth = latent + 1
    output = RecurrentOutput(
        reward=depth.float(), value=10.0 * depth.float(), prior_logits=torch.zeros(len(depth), 1)
    )
    return output, depth


def run_chain(two_player: bool):
    root = RootOutput(
        prior_logits=torch.zeros(1, 1), value=torch.tensor([5.0]), latent=torch.zeros(1)
    )
    return search(root, chain_fn, greedy_config(num_simulations=3, two_player=two_player))


def test_backup_one_player_three_deep() -> None:
    result = run_chain(two_player=False)
    tree = result.tree
    # Nodes: root (v=5), n1 (r=1, v=10), n2 (r=2, v=20), n3 (r=3, v=30); G = r + 0.997 * G.
    # sim 0: n1 += 10;                  root += 1 + .997*10 = 10.97
    # sim 1: n2 += 20; n1 += 2 + .997*20 = 21.94;  root += 1 + .997*21.94 = 22.87418
    # sim 2: n3 += 30; n2 += 3 + .997*30 = 32.91; n1 += 2 + .997*32.91 = 34.81127;
    #        root += 1 + .997*34.81127 = 35.70683619
    # n2: (20 + 32.91) / 2 = 26.455;  n1: (10 + 21.94 + 34.81127) / 3 = 22.25042333
    # root: (5 + 10.97 + 22.87418 + 35.70683619) / 4 = 74.55101619 / 4 = 18.63775405
    expected = torch.tensor([18.63775405, 22.25042333, 26.455, 30.0], dtype=torch.float64)
    torch.testing.assert_close(tree.node_values[0], expected, rtol=0, atol=1e-8)
    assert tree.node_visits[0].tolist() == [4, 3, 2, 1]
    assert tree.path_to(0, 3) == [0, 1, 2, 3]
    assert result.root_value.item() == pytest.approx(18.63775405, abs=1e-5)
    # Q(root, 0) = 1 + .997 * 22.25042333 = 23.18367206
    assert result.q_values[0, 0].item() == pytest.approx(23.18367206, abs=1e-5)
    assert result.visit_counts.tolist() == [[3]]
    assert tree.to_play_sign[0].tolist() == [1, 1, 1, 1]
    assert tree.depth[0].tolist() == [0, 1, 2, 3]
    assert (tree.batch_size, tree.num_nodes, tree.num_actions) == (1, 4, 1)


def test_backup_two_player_flips_sign_every_ply() -> None:
    result = run_chain(two_player=True)
    tree = result.tree
    # Negamax: G = r + .997 * (-G). Each node's value is its own mover's view.
    # sim 0: n1 += 10;                                root += 1 - .997*10 = -8.97
    # sim 1: n2 += 20; n1 += 2 - .997*20 = -17.94;     root += 1 + .997*17.94 = 18.88618
    # sim 2: n3 += 30; n2 += 3 - .997*30 = -26.91; n1 += 2 + .997*26.91 = 28.82927;
    #        root += 1 - .997*28.82927 = -27.74278219
    # n2: (20 - 26.91) / 2 = -3.455;  n1: (10 - 17.94 + 28.82927) / 3 = 6.96309
    # root: (5 - 8.97 + 18.88618 - 27.74278219) / 4 = -12.82660219 / 4 = -3.20665055
    expected = torch.tensor([-3.20665055, 6.96309, -3.455, 30.0], dtype=torch.float64)
    torch.testing.assert_close(tree.node_values[0], expected, rtol=0, atol=1e-8)
    # Q(root, 0) = 1 + .997 * (-6.96309) = -5.94220073
    assert result.q_values[0, 0].item() == pytest.approx(-5.94220073, abs=1e-5)
    assert tree.to_play_sign[0].tolist() == [1, -1, 1, -1]
    # Min-max saw every parent-view Q recomputed on each backup path (leaf edge first):
    # sim 0: Q(root,0) = 1 - .997*10 = -8.97
    # sim 1: Q(n1,0) = 2 - .997*20 = -17.94;  Q(root,0) = 1 - .997*(-3.97) = 4.95809
    # sim 2: Q(n2,0) = 3 - .997*30 = -26.91;  Q(n1,0) = 2 - .997*(-3.455) = 5.444635;
    #        Q(root,0) = -5.94220073          -> min -26.91, max 5.444635
    assert tree.q_min[0].item() == pytest.approx(-26.91)
    assert tree.q_max[0].item() == pytest.approx(5.444635)


@pytest.mark.parametrize("two_player", [False, True])
def test_replay_reproduces_final_visits_and_values(two_player: bool) -> None:
    result = run_chain(two_player)
    visits, values = result.tree.replay(0, 3)
    assert torch.equal(visits, result.tree.node_visits[0])
    torch.testing.assert_close(values, result.tree.node_values[0], rtol=0, atol=1e-12)
    # After one simulation only nodes 0, 1 exist: root (5 + 10.97) / 2 one player.
    visits, values = result.tree.replay(0, 1)
    assert visits.tolist() == [2, 1]
    if not two_player:
        assert values.tolist() == pytest.approx([7.985, 10.0])
    with pytest.raises(ValueError, match="num_simulations"):
        result.tree.replay(0, 4)
    with pytest.raises(ValueError, match="node"):
        result.tree.path_to(0, 4)
    with pytest.raises(ValueError, match="b must"):
        result.tree.path_to(1, 0)


# -- a known MDP that needs lookahead ---------------------------------------------------------

# States: 0 root, 1 "A", 2 "B", 3 end (absorbing). (state, action) -> (reward, next state).
# Greedy on the first reward takes action 0 (reward 1 now, nothing after). The discounted best
# is action 1: reward 0, then in B action 1 pays 2, so V*(root) = 0 + 0.997 * 2 = 1.994 > 1.
TWO_LEVEL_MDP = {
    (0, 0): (1.0, 1),
    (0, 1): (0.0, 2),
    (1, 0): (0.0, 3),
    (1, 1): (0.0, 3),
    (2, 0): (0.0, 3),
    (2, 1): (2.0, 3),
    (3, 0): (0.0, 3),
    (3, 1): (0.0, 3),
}


def mdp_fn(latent: torch.Tensor, action: torch.Tensor) -> tuple[RecurrentOutput, torch.Tensor]:
    """The true model; it predicts value 0 and uniform priors, so only lookahead helps."""
    steps = [TWO_LEVEL_MDP[(s, a)] for s, a in zip(latent.tolist(), action.tolist(), strict=True)]
    batch = len(steps)
    output = RecurrentOutput(
        reward=torch.tensor([r for r, _ in steps]),
        value=torch.zeros(batch),
        prior_logits=torch.zeros(batch, 2),
    )
    return output, torch.tensor([s for _, s in steps])


def test_known_mdp_search_finds_the_discounted_best_action() -> None:
    root = RootOutput(torch.zeros(1, 2), torch.zeros(1), torch.tensor([0]))
    result = search(root, mdp_fn, greedy_config(num_simulations=200))
    assert int(result.visit_counts[0].argmax()) == 1
    assert result.visit_counts[0, 1] > 150  # observed 173 of 200
    # Q(root, 1) converges to 1.994 (observed 1.902: some visits still explore B's action 0);
    # Q(root, 0) is exactly 1 (reward 1, then nothing).
    assert result.q_values[0, 1].item() == pytest.approx(1.994, abs=0.15)
    assert result.q_values[0, 0].item() == pytest.approx(1.0, abs=1e-6)
    # The root value mixes in the exploratory visits: within 0.3 of 1.994 (observed 1.771).
    assert result.root_value.item() == pytest.approx(1.994, abs=0.3)


# -- tic-tac-toe with the real rules as the model ---------------------------------------------

DEAD = -1  # latent of the absorbing state after an illegal move


def tictactoe_search(moves: list[int], num_simulations: int = 200) -> tuple[int, int]:
    """Search a tic-tac-toe position with the true rules as the model; return (best, to_play).

    Test model: latent = index into a list of game clones. A legal move returns the game's
    reward (+1 for the mover on a win, else 0) and value 0. An illegal move inside the tree
    returns reward -1 and leads to an absorbing dead state. After the game is over (or dead),
    every action is absorbing: reward 0, value 0. Priors are uniform everywhere.
    """
    game = games.make("tictactoe")
    for move in moves:
        game.step(move)
    states = [game]

    def rules_fn(
        latent: torch.Tensor, action: torch.Tensor
    ) -> tuple[RecurrentOutput, torch.Tensor]:
        rewards, next_states = [], []
        for index, move in zip(latent.tolist(), action.tolist(), strict=True):
            if index == DEAD or states[index].terminal():
                rewards.append(0.0)
                next_states.append(index)
            elif move not in states[index].legal_actions():
                rewards.append(-1.0)
                next_states.append(DEAD)
            else:
                child = states[index].clone()
                rewards.append(float(child.step(move)))
                states.append(child)
                next_states.append(len(states) - 1)
        batch = len(rewards)
        output = RecurrentOutput(torch.tensor(rewards), torch.zeros(batch), torch.zeros(batch, 9))
        return output, torch.tensor(next_states)

    legal = torch.zeros(1, 9, dtype=torch.bool)
    legal[0, game.legal_actions()] = True
    config = greedy_config(
        num_simulations=num_simulations, discount=1.0, two_player=True, value_bounds=(-1.0, 1.0)
    )
    root = RootOutput(torch.zeros(1, 9), torch.zeros(1), torch.tensor([0]))
    result = search(root, rules_fn, config, legal_mask=legal)
    assert not result.visit_counts[0][~legal[0]].any()
    return int(result.visit_counts[0].argmax()), game.to_play()


# Board cells:  0 1 2 / 3 4 5 / 6 7 8.  X is player 0 and moves first.
@pytest.mark.parametrize(
    ("moves", "player", "best", "why"),
    [
        ([0, 3, 1, 4], 0, 2, "X wins with 0-1-2 (rather than block O's 3-4-5)"),
        ([0, 3, 1, 4, 8], 1, 5, "O wins with 3-4-5 (rather than block X's 0-1-2)"),
        ([0, 4, 8, 2], 0, 6, "X must block O's 2-4-6"),
        ([0, 4, 1], 1, 2, "O must block X's 0-1-2"),
    ],
)
def test_tictactoe_takes_wins_and_blocks_losses(
    moves: list[int], player: int, best: int, why: str
) -> None:
    action, to_play = tictactoe_search(moves)
    assert to_play == player
    assert action == best, why


# -- root priors and Dirichlet noise ----------------------------------------------------------


def test_masked_softmax_zeroes_illegal_and_renormalises() -> None:
    logits = torch.tensor([[0.0, math.log(3.0), 5.0]])
    mask = torch.tensor([[True, True, False]])
    # exp: 1 and 3 over legal actions -> 1/4, 3/4; the illegal one gets 0.
    prior = masked_softmax(logits, mask)
    assert prior.dtype == torch.float64
    torch.testing.assert_close(prior, torch.tensor([[0.25, 0.75, 0.0]], dtype=torch.float64))


def test_dirichlet_noise_reproducible_legal_only_and_sums_to_one() -> None:
    mask = torch.tensor([[True, False, True, True], [False, True, False, False]])
    first = dirichlet_noise(mask, 0.3, torch.Generator().manual_seed(7))
    again = dirichlet_noise(mask, 0.3, torch.Generator().manual_seed(7))
    other = dirichlet_noise(mask, 0.3, torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert (first[~mask] == 0).all()
    assert (first[mask] > 0).all()
    torch.testing.assert_close(first.sum(dim=1), torch.ones(2, dtype=torch.float64))
    assert first[1].tolist() == [0.0, 1.0, 0.0, 0.0]  # one legal action gets all the noise


def test_dirichlet_noise_has_the_dirichlet_mean() -> None:
    # Dirichlet(alpha) over 4 legal actions has mean 1/4 each; 2000 rows: std of a mean
    # ~ sqrt(1/4 * 3/4 / (4*0.3 + 1)) / sqrt(2000) = 0.0065, so 0.03 is > 4 sigma.
    mask = torch.ones(2000, 4, dtype=torch.bool)
    noise = dirichlet_noise(mask, 0.3, torch.Generator().manual_seed(0))
    torch.testing.assert_close(
        noise.mean(dim=0), torch.full((4,), 0.25, dtype=torch.float64), rtol=0, atol=0.03
    )


def test_dirichlet_noise_is_one_gamma_draw_per_legal_action_normalised_per_row() -> None:
    # The documented stream: seed = torch.randint(0, 2**63 - 1) from the generator, then ONE
    # numpy call draws Gamma(alpha) for the legal entries in row-major order (row 0: actions
    # 0, 2; row 1: action 1; row 2: actions 0, 1, 2, 3 -> 7 draws), each row / its own sum.
    mask = torch.tensor(
        [[True, False, True, False], [False, True, False, False], [True, True, True, True]]
    )
    seed = int(torch.randint(0, 2**63 - 1, (), generator=torch.Generator().manual_seed(9)))
    gammas = np.random.default_rng(seed).standard_gamma(0.3, size=7)
    expected = torch.zeros(3, 4, dtype=torch.float64)
    expected[0, [0, 2]] = torch.from_numpy(gammas[0:2] / gammas[0:2].sum())
    expected[1, 1] = 1.0  # gammas[2] / gammas[2]
    expected[2] = torch.from_numpy(gammas[3:7] / gammas[3:7].sum())
    noise = dirichlet_noise(mask, 0.3, torch.Generator().manual_seed(9))
    assert noise.dtype == torch.float64
    torch.testing.assert_close(noise, expected, rtol=1e-15, atol=0)
    # ... which, for alpha >= 0.1, is bit for bit one numpy rng.dirichlet call per row (numpy
    # draws the same gammas in the same order and normalises the same way).
    rng = np.random.default_rng(seed)
    per_row = torch.zeros(3, 4, dtype=torch.float64)
    for row in range(3):
        legal = mask[row].numpy()
        per_row[row, legal] = torch.from_numpy(rng.dirichlet([0.3] * int(legal.sum())))
    assert torch.equal(noise, per_row)


def test_dirichlet_noise_draws_one_seed_from_the_generator() -> None:
    # Exactly one torch.randint: the generator ends where one such draw leaves it, so what the
    # caller draws next does not depend on the batch size.
    mask = torch.ones(64, 9, dtype=torch.bool)
    generator, twin = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    dirichlet_noise(mask, 0.25, generator)
    torch.randint(0, 2**63 - 1, (), generator=twin)
    assert torch.equal(generator.get_state(), twin.get_state())


def test_dirichlet_noise_has_the_dirichlet_mean_and_variance_over_legal_actions() -> None:
    # Dir(alpha) over n = 3 legal actions (2 of 5 illegal), alpha = 0.5, alpha_0 = n * alpha
    # = 1.5: mean alpha / alpha_0 = 1/3 each; variance
    # alpha (alpha_0 - alpha) / (alpha_0^2 (alpha_0 + 1)) = 0.5 * 1.0 / (2.25 * 2.5) = 0.0889.
    # (The mean is 1/n for ANY symmetric noise; the variance pins alpha: alpha = 0.25 would
    # give 0.25 * 0.5 / (0.5625 * 1.75) = 0.127, alpha = 1: 2 / (9 * 4) = 0.056.)
    # 4000 rows: std of the mean ~ sqrt(0.0889 / 4000) = 0.0047 (tolerance 0.02 > 4 sigma);
    # std of the variance estimate ~ 0.0889 * sqrt(2 / 4000) ~ 0.002 plus the heavier tail,
    # tolerance 0.01.
    mask = torch.tensor([[True, False, True, True, False]]).repeat(4000, 1)
    noise = dirichlet_noise(mask, 0.5, torch.Generator().manual_seed(0))
    legal = noise[:, [0, 2, 3]]
    torch.testing.assert_close(
        legal.mean(dim=0), torch.full((3,), 1 / 3, dtype=torch.float64), rtol=0, atol=0.02
    )
    torch.testing.assert_close(
        legal.var(dim=0), torch.full((3,), 0.0889, dtype=torch.float64), rtol=0, atol=0.01
    )
    assert (noise[:, [1, 4]] == 0).all()
    torch.testing.assert_close(noise.sum(dim=1), torch.ones(4000, dtype=torch.float64))


def test_dirichlet_noise_with_tiny_alpha_redraws_underflowed_rows() -> None:
    # alpha = 0.001: a Gamma(0.001) draw is below 1e-308 (and often exactly 0) about half the
    # time, so with 2 legal actions about 1 row in 4 has an all-zero sum and 0/0 would give
    # NaN; those rows come from numpy's exact Dirichlet sampler instead.
    mask = torch.tensor([[True, True, False]]).repeat(200, 1)
    noise = dirichlet_noise(mask, 0.001, torch.Generator().manual_seed(1))
    assert torch.isfinite(noise).all()
    torch.testing.assert_close(noise.sum(dim=1), torch.ones(200, dtype=torch.float64))
    assert (noise[:, 2] == 0).all()
    # Dir(0.001, 0.001) puts almost all its mass on one action: each row is ~(1, 0) or ~(0, 1).
    assert (noise[:, :2].max(dim=1).values > 0.999).all()
    one_legal = dirichlet_noise(torch.tensor([[False, True]]), 0.001, torch.Generator())
    assert one_legal.tolist() == [[0.0, 1.0]]


@pytest.mark.parametrize(
    ("mask", "alpha", "error", "words"),
    [
        (torch.ones(2, 3), 0.3, TypeError, "legal_mask must be a bool torch.Tensor"),
        ([[True, False]], 0.3, TypeError, "legal_mask must be a bool torch.Tensor"),
        (torch.ones(3, dtype=torch.bool), 0.3, ValueError, r"legal_mask must have shape \[B, A\]"),
        (torch.tensor([[True], [False]]), 0.3, ValueError, "at least one action in every row"),
        (torch.ones(1, 3, dtype=torch.bool), 0.0, ValueError, "alpha must be a finite number > 0"),
        (torch.ones(1, 3, dtype=torch.bool), math.nan, ValueError, "alpha must be a finite"),
        (torch.ones(1, 3, dtype=torch.bool), True, TypeError, "alpha must be a number"),
        (torch.ones(1, 3, dtype=torch.bool), "0.3", TypeError, "alpha must be a number"),
    ],
)  # fmt: skip
def test_dirichlet_noise_bad_input_raises_and_leaves_the_generator_alone(
    mask: object, alpha: object, error: type, words: str
) -> None:
    generator = torch.Generator().manual_seed(4)
    state = generator.get_state()
    with pytest.raises(error, match=words):
        dirichlet_noise(mask, alpha, generator)
    assert torch.equal(generator.get_state(), state)


def test_root_prior_mixes_the_stated_fraction_of_noise() -> None:
    logits = torch.tensor([[1.0, 2.0, 3.0, 0.5]])
    mask = torch.tensor([[True, True, False, True]])
    noisy, clean = root_prior(logits, mask, 0.25, 0.3, torch.Generator().manual_seed(3))
    noise = dirichlet_noise(mask, 0.3, torch.Generator().manual_seed(3))
    # P = 0.75 * softmax_legal + 0.25 * noise, elementwise
    torch.testing.assert_close(noisy, 0.75 * clean + 0.25 * noise)
    assert noisy[0, 2] == 0.0
    assert noisy.sum().item() == pytest.approx(1.0)


def test_search_root_noise_is_reproducible_and_only_on_legal_actions() -> None:
    mask = torch.tensor([[True, False, True, True, True]])
    config = SearchConfig(num_simulations=20, exploration_fraction=0.25, dirichlet_alpha=0.3)

    def run(seed: int):
        root = RootOutput(torch.zeros(1, 5), torch.zeros(1), torch.tensor([0]))
        return search(root, mdp_like_fn(5), config, mask, torch.Generator().manual_seed(seed))

    first, again, other = run(11), run(11), run(12)
    assert torch.equal(first.tree.children_prior[0, 0], again.tree.children_prior[0, 0])
    assert torch.equal(first.visit_counts, again.visit_counts)
    assert not torch.equal(first.tree.children_prior[0, 0], other.tree.children_prior[0, 0])
    noisy = first.tree.children_prior[0, 0]
    clean = first.tree.root_prior_before_noise[0]
    assert noisy[1] == 0.0 and clean[1] == 0.0
    assert noisy.sum().item() == pytest.approx(1.0)
    torch.testing.assert_close(clean, torch.tensor([0.25, 0.0, 0.25, 0.25, 0.25]).double())


def test_no_noise_leaves_the_generator_untouched() -> None:
    generator = torch.Generator().manual_seed(5)
    state = generator.get_state()
    root = RootOutput(torch.zeros(1, 3), torch.zeros(1), torch.tensor([0]))
    result = search(root, mdp_like_fn(3), greedy_config(), generator=generator)
    assert torch.equal(generator.get_state(), state)
    assert torch.equal(result.tree.children_prior[0, 0], result.tree.root_prior_before_noise[0])


def mdp_like_fn(num_actions: int, favourite: int = 0):
    """A model with states = ints: next = 3 * s + a + 1, reward 0.1 * a, value 0, priors that
    strongly favour `favourite` (logit 3 vs 0)."""

    def fn(latent: torch.Tensor, action: torch.Tensor) -> tuple[RecurrentOutput, torch.Tensor]:
        batch = len(action)
        logits = torch.zeros(batch, num_actions)
        logits[:, favourite] = 3.0
        output = RecurrentOutput(0.1 * action.float(), torch.zeros(batch), logits)
        return output, 3 * latent + action + 1

    return fn


# -- legal mask, counts, batching -------------------------------------------------------------


def test_legal_mask_binds_the_root_only() -> None:
    # Action 0 is illegal at the root but the model's priors love it (logit 3) everywhere:
    # it must never be visited at the root, yet inner nodes expand it.
    mask = torch.tensor([[False, True, True]])
    root = RootOutput(torch.tensor([[3.0, 0.0, 0.0]]), torch.zeros(1), torch.tensor([0]))
    result = search(root, mdp_like_fn(3), greedy_config(num_simulations=30), legal_mask=mask)
    tree = result.tree
    assert result.visit_counts[0, 0] == 0
    assert (tree.children_index[0, 0, 0] == -1).item()
    inner = tree.depth[0] >= 2
    assert (tree.action_from_parent[0][inner] == 0).any()


@pytest.mark.parametrize("num_simulations", [1, 7, 50])
def test_visit_counts_sum_to_num_simulations(num_simulations: int) -> None:
    config = SearchConfig(num_simulations=num_simulations, exploration_fraction=0.25)
    root = RootOutput(torch.randn(3, 4), torch.zeros(3), torch.zeros(3))
    result = search(root, mdp_like_fn(4), config, generator=torch.Generator().manual_seed(0))
    assert result.visit_counts.dtype == torch.int64
    assert result.visit_counts.sum(dim=1).tolist() == [num_simulations] * 3
    assert result.tree.node_visits[:, 0].tolist() == [num_simulations + 1] * 3
    assert result.tree.num_nodes == num_simulations + 1
    # node s + 1 was expanded by simulation s: its parent is an older node
    parents = result.tree.parents[:, 1:]
    assert (parents < torch.arange(1, num_simulations + 1)).all()


def test_batch_of_two_equals_two_batches_of_one() -> None:
    logits = torch.tensor([[0.5, 0.0, -0.5], [-1.0, 2.0, 0.0]])
    values = torch.tensor([0.3, -0.2])
    latents = torch.tensor([0, 100])
    mask = torch.tensor([[True, True, True], [True, False, True]])
    config = greedy_config(num_simulations=25)
    calls: list[int] = []

    def counted(latent: torch.Tensor, action: torch.Tensor):
        calls.append(len(action))
        return mdp_like_fn(3, favourite=2)(latent, action)

    both = search(RootOutput(logits, values, latents), counted, config, mask)
    assert calls == [2] * 25  # one model call per simulation for the whole batch
    for b in range(2):
        one = search(
            RootOutput(logits[b : b + 1], values[b : b + 1], latents[b : b + 1]),
            counted,
            config,
            mask[b : b + 1],
        )
        assert torch.equal(both.visit_counts[b], one.visit_counts[0])
        assert torch.equal(both.root_value[b], one.root_value[0])
        assert torch.equal(both.tree.parents[b], one.tree.parents[0])
        assert torch.equal(both.tree.node_values[b], one.tree.node_values[0])


def test_recurrent_fn_sees_long_actions_and_the_stacked_latents() -> None:
    seen = []

    def spy(latent: torch.Tensor, action: torch.Tensor):
        seen.append((latent.shape, action.dtype, action.shape))
        return RecurrentOutput(torch.zeros(2), torch.zeros(2), torch.zeros(2, 3)), latent + 1

    root = RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 4, 5))
    search(root, spy, greedy_config(num_simulations=2))
    assert seen == [(torch.Size([2, 4, 5]), torch.int64, torch.Size([2]))] * 2


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_simulations", 0),
        ("discount", 1.5),
        ("discount", -0.1),
        ("pb_c_init", -1.0),
        ("pb_c_base", 0.0),
        ("dirichlet_alpha", 0.0),
        ("exploration_fraction", 1.2),
        ("discount", math.nan),
        ("value_bounds", (1.0, -1.0)),
        ("value_bounds", (0.0,)),
    ],
)
def test_bad_config_values_raise_value_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field.split("[")[0]):
        SearchConfig(**{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [("num_simulations", 2.5), ("num_simulations", True), ("discount", "0.9"), ("two_player", 1)],
)
def test_bad_config_types_raise_type_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(TypeError, match=field):
        SearchConfig(**{field: value})


def test_config_value_bounds_become_floats() -> None:
    assert SearchConfig(value_bounds=(-1, 1)).value_bounds == (-1.0, 1.0)


def test_the_parent_sees_reward_plus_discounted_value_negated_for_the_opponent() -> None:
    # One player: Q = r + gamma * v = 1 + 0.997 * 0.5 = 1.4985.
    assert parent_view_return(1.0, 0.5, 0.997, two_player=False) == 1.0 + 0.997 * 0.5
    # Two players: the child's value is the opponent's, so r - gamma * v = 0 - 1 * 0.5.
    assert parent_view_return(0.0, 0.5, 1.0, two_player=True) == -0.5
    # A win on the last move: r = 1 for the mover, the terminal child's value 0.
    assert parent_view_return(1.0, 0.0, 1.0, two_player=True) == 1.0


def test_bad_root_outputs_raise() -> None:
    with pytest.raises(ValueError, match="prior_logits"):
        RootOutput(torch.zeros(3), torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="root.value"):
        RootOutput(torch.zeros(2, 3), torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="root.value"):
        RootOutput(torch.zeros(1, 3), torch.tensor([math.inf]), torch.zeros(1))
    with pytest.raises(ValueError, match="latent"):
        RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(3))
    with pytest.raises(TypeError, match="latent"):
        RootOutput(torch.zeros(2, 3), torch.zeros(2), [0, 1])
    with pytest.raises(TypeError, match="value"):
        RootOutput(torch.zeros(2, 3), [0.0, 0.0], torch.zeros(2))
    with pytest.raises(TypeError, match="prior_logits"):
        RootOutput([[0.0]], torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="prior_logits must be finite"):  # mask with legal_mask
        RootOutput(torch.tensor([[-math.inf, 0.0]]), torch.zeros(1), torch.zeros(1))


def test_bad_search_arguments_raise() -> None:
    root = RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2))
    fn, config = mdp_like_fn(3), greedy_config()
    with pytest.raises(TypeError, match="root"):
        search("root", fn, config)
    with pytest.raises(TypeError, match="recurrent_fn"):
        search(root, None, config)
    with pytest.raises(TypeError, match="config"):
        search(root, fn, {"num_simulations": 5})
    with pytest.raises(TypeError, match="generator"):
        search(root, fn, config, generator=0)
    with pytest.raises(TypeError, match="legal_mask"):
        search(root, fn, config, legal_mask=torch.ones(2, 3))
    with pytest.raises(ValueError, match="legal_mask"):
        search(root, fn, config, legal_mask=torch.ones(2, 4, dtype=torch.bool))
    no_legal = torch.tensor([[True, True, True], [False, False, False]])
    with pytest.raises(ValueError, match="legal_mask"):
        search(root, fn, config, legal_mask=no_legal)


def test_bad_recurrent_fn_outputs_raise() -> None:
    root = RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2))
    config = greedy_config()
    good = RecurrentOutput(torch.zeros(2), torch.zeros(2), torch.zeros(2, 3))
    cases = [
        (lambda s, a: (None, s), TypeError, "RecurrentOutput"),
        (
            lambda s, a: (RecurrentOutput(torch.zeros(2), torch.zeros(2), torch.zeros(2, 4)), s),
            ValueError,
            "prior_logits",
        ),
        (lambda s, a: (good, [0, 0]), TypeError, "latent"),
        (lambda s, a: (good, torch.zeros(3)), ValueError, "latent"),
        (
            lambda s, a: (
                RecurrentOutput(torch.zeros(2), torch.zeros(2), torch.full((2, 3), -math.inf)),
                s,
            ),
            ValueError,
            "prior_logits must be finite",
        ),
    ]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            search(root, fn, config)


# -- the first call is checked in full, later calls for their shapes --------------------------


@pytest.mark.parametrize("implementation", ["batched", "reference"])
@pytest.mark.parametrize("field", ["reward", "value", "prior_logits"])
def test_a_non_finite_output_is_caught_on_the_first_simulation(implementation, field) -> None:
    def fn(latent: torch.Tensor, action: torch.Tensor):
        parts = {"reward": torch.zeros(2), "value": torch.zeros(2),
                 "prior_logits": torch.zeros(2, 3)}
        parts[field] = parts[field].fill_(math.nan)
        return RecurrentOutput(**parts), latent

    root = RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=f"recurrent_fn {field} must be finite"):
        search(root, fn, greedy_config(), implementation=implementation)


@pytest.mark.parametrize("implementation", ["batched", "reference"])
def test_later_calls_are_checked_for_shapes_but_not_read(implementation) -> None:
    calls = []

    def fn(latent: torch.Tensor, action: torch.Tensor):
        calls.append(1)
        later = len(calls) > 1
        value = torch.full((2,), math.nan) if later else torch.zeros(2)
        width = 4 if len(calls) == 3 else 3
        return RecurrentOutput(torch.zeros(2), value, torch.zeros(2, width)), latent

    root = RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 4))
    # the NaN values of call 2 are taken as they are (no device sync per simulation) ...
    # ... but call 3's wrong width is refused before anything reads it.
    with pytest.raises(ValueError, match=r"recurrent_fn prior_logits must have shape \[2, 3\]"):
        search(root, fn, greedy_config(num_simulations=5), implementation=implementation)
    assert len(calls) == 3


def test_recurrent_output_is_a_plain_frozen_record() -> None:
    reward, value, logits = torch.zeros(2), torch.ones(2), torch.zeros(2, 3)
    output = RecurrentOutput(reward, value, logits)
    assert output.reward is reward and output.value is value and output.prior_logits is logits
    with pytest.raises(AttributeError):
        output.value = reward  # type: ignore[misc]
