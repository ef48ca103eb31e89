"""Tests for muzero_lite.support: the value transform h, its inverse, and the two-hot support."""

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from muzero_lite.support import (
    ValueSupport,
    h,
    h_inv,
    scalar_to_support,
    support_to_scalar,
)

EPS = 0.001


def f64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


# ---------------------------------------------------------------------------------- h, h_inv


def test_h_hand_values():
    # h(x) = sign(x) * (sqrt(|x| + 1) - 1) + 0.001 * x
    # h(0)   = 0
    # h(3)   = sqrt(4) - 1 + 0.003         = 1.003
    # h(-8)  = -(sqrt(9) - 1) - 0.008      = -2.008
    # h(99)  = sqrt(100) - 1 + 0.099       = 9.099
    expected = f64(0.0, 1.003, -2.008, 9.099)
    assert torch.allclose(h(f64(0.0, 3.0, -8.0, 99.0)), expected, rtol=0, atol=1e-12)


def test_h_inv_hand_values():
    # h_inv(y) = sign(y) * (((sqrt(1 + 4 eps (|y| + 1 + eps)) - 1) / (2 eps))^2 - 1)
    # y = 1.003:  1 + 0.004 * 2.004 = 1.008016 = 1.004^2 -> t = 0.004 / 0.002 = 2 -> 2^2 - 1 = 3
    # y = -2.008: 1 + 0.004 * 3.009 = 1.012036 = 1.006^2 -> t = 0.006 / 0.002 = 3 -> -(9 - 1) = -8
    # y = 0:      1 + 0.004 * 1.001 = 1.004004 = 1.002^2 -> t = 1 -> 1 - 1 = 0
    expected = f64(3.0, -8.0, 0.0)
    assert torch.allclose(h_inv(f64(1.003, -2.008, 0.0)), expected, rtol=0, atol=1e-9)


def test_h_and_h_inv_with_eps_zero():
    # eps = 0: h(3) = sqrt(4) - 1 = 1, and the inverse is (|y| + 1)^2 - 1 = (1 + 1)^2 - 1 = 3.
    assert h(f64(3.0), eps=0.0).item() == pytest.approx(1.0, abs=1e-12)
    assert h_inv(f64(1.0), eps=0.0).item() == pytest.approx(3.0, abs=1e-12)


def test_h_inv_equals_the_papers_closed_form():
    # Our h_inv rationalises the paper's formula; in float64 the two must agree.
    y = torch.linspace(-500, 500, 2001, dtype=torch.float64)
    paper = torch.sign(y) * (
        ((torch.sqrt(1 + 4 * EPS * (y.abs() + 1 + EPS)) - 1) / (2 * EPS)) ** 2 - 1
    )
    assert torch.allclose(h_inv(y), paper, rtol=1e-9, atol=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False))
def test_h_inv_inverts_h_in_float64(x):
    # Tolerance 1e-12 * (1 + |x|): float64 carries ~16 digits, the round trip is a handful of
    # operations (sqrt, square, add) each off by at most about one ulp (~1.1e-16 relative),
    # and the transform is well conditioned on this range. Measured: ~1.2e-15 relative, so
    # the bound leaves a 1000x margin and still catches any wrong constant or sign.
    xt = f64(x)
    assert abs(h_inv(h(xt)).item() - x) <= 1e-12 * (1 + abs(x))


def test_h_inv_round_trip_is_accurate_in_float32():
    # The textbook form computes sqrt(1.004...) - 1 and loses ~4 digits in float32 (relative
    # error ~1e-4 on this grid); the rationalised form we use stays near float32 precision.
    x = torch.linspace(-1e4, 1e4, 100_001, dtype=torch.float64)
    round_trip = h_inv(h(x.float())).double()
    relative_error = ((round_trip - x).abs() / (1 + x.abs())).max().item()
    assert relative_error < 2e-6


def test_h_is_odd_and_increasing():
    x = torch.linspace(-50, 50, 1001, dtype=torch.float64)
    assert torch.allclose(h(-x), -h(x))
    assert bool((h(x).diff() > 0).all())


# ------------------------------------------------------------------------------------ two-hot


def test_two_hot_of_2_point_3_with_support_3():
    # bins -3 -2 -1 0 1 2 3; 2.3 lies between 2 (index 5) and 3 (index 6):
    # weight 1 - 0.3 = 0.7 on 2 and 0.3 on 3; expectation 0.7 * 2 + 0.3 * 3 = 2.3.
    probs = scalar_to_support(f64(2.3), support_size=3)
    expected = f64(0, 0, 0, 0, 0, 0.7, 0.3).unsqueeze(0)
    assert torch.allclose(probs, expected, atol=1e-12)


def test_two_hot_of_negative_fraction():
    # bins -2 -1 0 1 2; -1.25 lies between -2 (index 0) and -1 (index 1): floor = -2,
    # share above = -1.25 - (-2) = 0.75 -> [0.25, 0.75, 0, 0, 0]; -2*0.25 - 1*0.75 = -1.25.
    probs = scalar_to_support(f64(-1.25), support_size=2)
    assert torch.allclose(probs, f64(0.25, 0.75, 0, 0, 0).unsqueeze(0), atol=1e-12)


def test_two_hot_of_integers_and_the_ends_is_one_hot():
    probs = scalar_to_support(f64(-2.0, 0.0, 2.0), support_size=2)
    assert torch.equal(probs, torch.eye(5, dtype=torch.float64)[[0, 2, 4]])


def test_two_hot_clamps_outside_the_support():
    # 10 and 2.0001 are above S = 2: all mass on bin +2; -7 below -2: all mass on bin -2.
    probs = scalar_to_support(f64(10.0, 2.0001, -7.0), support_size=2)
    expected = f64(0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0).reshape(3, 5)
    assert torch.equal(probs, expected)
    assert torch.equal(support_to_scalar(probs, 2), f64(2.0, 2.0, -2.0))


def test_two_hot_keeps_leading_shape_dtype_and_sums_to_one():
    x = torch.tensor([[0.5, -1.5, 3.0], [2.9, -3.0, 0.0]], dtype=torch.float32)
    probs = scalar_to_support(x, support_size=3)
    assert probs.shape == (2, 3, 7)
    assert probs.dtype == torch.float32
    assert torch.allclose(probs.sum(-1), torch.ones(2, 3))
    assert bool((probs >= 0).all())


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-5.0, max_value=5.0, allow_nan=False))
def test_two_hot_round_trip_is_exact_inside_the_support(x):
    # Two-hot is built so that its expectation is x; only rounding separates them.
    back = support_to_scalar(scalar_to_support(f64(x), support_size=5), support_size=5)
    assert abs(back.item() - x) <= 1e-12


def test_support_to_scalar_hand_expectation():
    # bins -1 0 1 with probs [0.2, 0.3, 0.5]: -0.2 + 0 + 0.5 = 0.3
    assert support_to_scalar(f64(0.2, 0.3, 0.5), support_size=1).item() == pytest.approx(0.3)


# ------------------------------------------------------------------------------ ValueSupport


def test_value_support_decode_encode_round_trip():
    support = ValueSupport(support_size=300)
    x = f64(-1e4, -37.5, -1.0, 0.0, 0.25, 3.0, 1234.5, 5e4)
    target = support.encode(x)
    assert target.shape == (8, 601)
    # log of the two-hot probabilities is a valid logit vector (-inf bins get softmax 0)
    assert torch.allclose(support.decode(target.log()), x, rtol=1e-9, atol=1e-9)
    assert torch.allclose(support.decode_probs(target), x, rtol=1e-9, atol=1e-9)


def test_value_support_encode_puts_h_of_x_on_the_bins():
    # h(3) = 1.003 -> 0.997 on bin 1 and 0.003 on bin 2 (indices S+1 = 4 and S+2 = 5, S = 3)
    target = ValueSupport(support_size=3).encode(f64(3.0))
    assert torch.allclose(target, f64(0, 0, 0, 0, 0.997, 0.003, 0).unsqueeze(0), atol=1e-12)


def test_value_support_clamps_large_values_to_h_inv_of_the_last_bin():
    support = ValueSupport(support_size=10)
    # h(1e6) = 999 + 1000 = 1999 > 10: clamped to the last bin, decodes to h_inv(10)
    decoded = support.decode_probs(support.encode(f64(1e6)))
    assert decoded.item() == pytest.approx(h_inv(f64(10.0)).item())
    assert decoded.item() < 1e6


def test_value_support_uniform_logits_decode_to_zero():
    # uniform over symmetric bins -> expectation 0 -> h_inv(0) = 0
    decoded = ValueSupport(support_size=4).decode(torch.zeros(2, 9))
    assert torch.allclose(decoded, torch.zeros(2), atol=1e-5)  # float32 sum rounding only


def test_value_support_scalar_head_is_identity():
    support = ValueSupport(support_size=0)
    assert not support.categorical and support.num_outputs == 1
    x = torch.tensor([1.5, -2.0])
    assert torch.equal(support.encode(x), x)
    assert torch.equal(support.decode(x.unsqueeze(-1)), x)


def test_value_support_sizes():
    support = ValueSupport(support_size=300)
    assert support.categorical and support.num_outputs == 601 and support.eps == 0.001


# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: h([1.0]), TypeError, "x must be a torch.Tensor"),
        (lambda: h(torch.tensor([1, 2])), TypeError, "x must be a floating-point"),
        (lambda: h(f64(1.0), eps=-0.1), ValueError, "eps must be a float >= 0"),
        (lambda: h_inv(f64(1.0), eps=float("nan")), ValueError, "eps"),
        (lambda: h_inv(3.0), TypeError, "y must be a torch.Tensor"),
        (lambda: scalar_to_support(f64(1.0), 0), ValueError, "support_size must be >= 1"),
        (lambda: scalar_to_support(f64(1.0), True), TypeError, "support_size must be an int"),
        (lambda: scalar_to_support(f64(1.0), 2.0), TypeError, "support_size must be an int"),
        (lambda: support_to_scalar(f64(0.5, 0.5), 1), ValueError, "last dimension"),
        (lambda: support_to_scalar(f64(1.0)[0], 1), ValueError, "last dimension"),
        (lambda: ValueSupport(-1), ValueError, "support_size must be >= 0"),
        (lambda: ValueSupport(3, eps=-1.0), ValueError, "eps"),
        (lambda: ValueSupport(3).decode(torch.zeros(2, 6)), ValueError, "num_outputs = 7"),
        (lambda: ValueSupport(0).decode(torch.zeros(2, 3)), ValueError, "num_outputs = 1"),
        (lambda: ValueSupport(0).decode_probs(torch.zeros(2, 1)), ValueError, "categorical"),
        (lambda: ValueSupport(3).encode(torch.tensor([1])), TypeError, "floating-point"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_value_support_is_frozen():
    support = ValueSupport(3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        support.support_size = 4  # type: ignore[misc]
