"""Tests of muzero_lite.acting: temperature sampling from visit counts and the schedules."""

from __future__ import annotations

import math

import pytest
import torch

from muzero_lite.acting import (
    board_game_temperature,
    select_action,
    training_progress_temperature,
    visit_policy,
)

COUNTS = torch.tensor([10, 30, 60, 0])


def test_visit_policy_temperature_one_is_proportional_to_visits() -> None:
    # 10, 30, 60, 0 of 100 visits
    expected = torch.tensor([0.1, 0.3, 0.6, 0.0])
    torch.testing.assert_close(visit_policy(COUNTS, 1.0), expected)


def test_visit_policy_temperature_half_squares_the_visits() -> None:
    # N^(1/0.5) = N^2: 100, 900, 3600, 0; sum 4600 -> 0.0217391, 0.1956522, 0.7826087, 0
    expected = torch.tensor([100 / 4600, 900 / 4600, 3600 / 4600, 0.0])
    torch.testing.assert_close(visit_policy(COUNTS, 0.5), expected)


def test_visit_policy_is_stable_at_small_temperature() -> None:
    # T = 0.005: N^200 overflows (1000^200 = 1e600), but the ratio is
    # (990/1000)^200 = 0.99^200 = 0.1339797, so p = [1, 0.1339797] / 1.1339797
    #                                           = [0.8818500, 0.1181500]
    policy = visit_policy(torch.tensor([1000.0, 990.0]), 0.005)
    torch.testing.assert_close(policy, torch.tensor([0.8818500, 0.1181500]))


def test_visit_policy_zero_temperature_is_one_hot_first_argmax() -> None:
    counts = torch.tensor([[3, 7, 7, 1], [5, 0, 0, 5]])
    expected = torch.tensor([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    assert torch.equal(visit_policy(counts, 0), expected)


@pytest.mark.parametrize(
    ("temperature", "exact"),
    [
        (1.0, [0.1, 0.3, 0.6, 0.0]),  # N / 100
        (0.5, [100 / 4600, 900 / 4600, 3600 / 4600, 0.0]),  # N^2 / 4600
    ],
)
def test_sampled_frequencies_match_visit_policy(temperature: float, exact: list[float]) -> None:
    # 20000 samples: the std of a frequency is at most sqrt(0.25 / 20000) = 0.0035, so a
    # tolerance of 0.015 is over 4 standard deviations.
    samples = 20000
    batch = COUNTS.expand(samples, 4)
    actions = select_action(batch, temperature, torch.Generator().manual_seed(0))
    assert actions.shape == (samples,)
    assert actions.dtype == torch.int64
    frequencies = torch.bincount(actions, minlength=4).double() / samples
    torch.testing.assert_close(frequencies, torch.tensor(exact).double(), rtol=0, atol=0.015)
    assert frequencies[3] == 0.0  # never visited, never played


def test_sampling_is_reproducible_with_a_generator() -> None:
    batch = COUNTS.expand(50, 4)
    first = select_action(batch, 1.0, torch.Generator().manual_seed(3))
    again = select_action(batch, 1.0, torch.Generator().manual_seed(3))
    assert torch.equal(first, again)


def test_zero_temperature_picks_argmax_and_breaks_ties_to_the_first_index() -> None:
    assert select_action(torch.tensor([2, 9, 9, 4]), 0.0).item() == 1
    assert select_action(torch.tensor([5, 5, 5]), 0).item() == 0
    batch = torch.tensor([[1, 0, 1], [0, 4, 4]])
    assert select_action(batch, 0.0).tolist() == [0, 1]


def test_single_game_returns_a_scalar_tensor() -> None:
    action = select_action(torch.tensor([0, 3, 1]), 1.0, torch.Generator().manual_seed(1))
    assert action.shape == ()
    assert int(action) in (1, 2)


def test_legal_mask_excludes_illegal_actions() -> None:
    counts = torch.tensor([50, 1, 3])
    mask = torch.tensor([False, True, True])
    assert select_action(counts, 0.0, legal_mask=mask).item() == 2
    # T = 1 over legal actions only: 1 / 4 and 3 / 4
    torch.testing.assert_close(visit_policy(counts, 1.0, mask), torch.tensor([0.0, 0.25, 0.75]))
    actions = select_action(counts.expand(500, 3), 1.0, legal_mask=mask.expand(500, 3))
    assert (actions != 0).all()


@pytest.mark.parametrize("temperature", [-0.1, math.inf, math.nan])
def test_bad_temperature_raises_value_error(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        select_action(COUNTS, temperature)
    with pytest.raises(ValueError, match="temperature"):
        visit_policy(COUNTS, temperature)


def test_bad_counts_and_masks_raise() -> None:
    with pytest.raises(TypeError, match="temperature"):
        select_action(COUNTS, "1")
    with pytest.raises(TypeError, match="visit_counts"):
        select_action([1, 2], 1.0)
    with pytest.raises(ValueError, match="visit_counts"):
        select_action(torch.zeros(2, 2, 2), 1.0)
    with pytest.raises(ValueError, match="visit_counts"):
        select_action(torch.tensor([1.0, -1.0]), 1.0)
    with pytest.raises(ValueError, match="visit_counts"):
        select_action(torch.tensor([[1, 2], [0, 0]]), 1.0)  # a row without visits
    with pytest.raises(ValueError, match="visit_counts"):
        select_action(torch.tensor([4, 0]), 0.0, legal_mask=torch.tensor([False, True]))
    with pytest.raises(TypeError, match="legal_mask"):
        select_action(COUNTS, 1.0, legal_mask=torch.ones(4))
    with pytest.raises(ValueError, match="legal_mask"):
        select_action(COUNTS, 1.0, legal_mask=torch.ones(3, dtype=torch.bool))


def test_board_game_temperature_switches_to_greedy_at_the_boundary() -> None:
    # greedy_after = 30: moves 0..29 sample with T = 1, move 30 onwards is greedy
    assert board_game_temperature(0, 30) == 1.0
    assert board_game_temperature(29, 30) == 1.0
    assert board_game_temperature(30, 30) == 0.0
    assert board_game_temperature(5, 0) == 0.0  # always greedy
    with pytest.raises(ValueError, match="move_number"):
        board_game_temperature(-1, 30)
    with pytest.raises(TypeError, match="greedy_after"):
        board_game_temperature(0, 2.5)


def test_training_progress_temperature_at_its_boundaries() -> None:
    # 1.0 on [0, 0.5), 0.5 on [0.5, 0.75), 0.25 on [0.75, 1]
    assert training_progress_temperature(0.0) == 1.0
    assert training_progress_temperature(0.4999) == 1.0
    assert training_progress_temperature(0.5) == 0.5
    assert training_progress_temperature(0.7499) == 0.5
    assert training_progress_temperature(0.75) == 0.25
    assert training_progress_temperature(1) == 0.25
    for bad in (-0.01, 1.01, math.nan):
        with pytest.raises(ValueError, match="progress"):
            training_progress_temperature(bad)
    with pytest.raises(TypeError, match="progress"):
        training_progress_temperature(None)
