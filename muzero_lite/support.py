"""Value and reward transforms: the invertible squash h and the categorical "support".

Atari rewards and returns range over several orders of magnitude (Pong: +-1, Ms. Pac-Man:
thousands). MuZero (Schrittwieser et al. 2020, Appendix F "Network Architecture") handles
this in two steps, for both the value and the reward head:

1. squash the scalar with the invertible transform of Pohlen et al. 2018 ("Observe and Look
   Further"), ``h(x) = sign(x) * (sqrt(|x| + 1) - 1) + eps * x`` with ``eps = 0.001``;
2. represent the squashed scalar as a categorical distribution over the integers
   ``-S..S`` (S = 300 in Atari: 601 bins) and train that head with cross-entropy.

To read a prediction back: softmax the logits, take the expectation over the bins, and
invert h. ``ValueSupport`` bundles these steps; ``support_size=0`` means a plain scalar head
(board games, CartPole) with no transform at all.

Note: the ``h`` here is the value transform, not the representation function that the
paper also calls h (that one lives in ``networks.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from muzero_lite.checks import check_int

DEFAULT_EPS = 0.001  # paper, Appendix F: "eps = 0.001"


def _check_eps(eps: float) -> None:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"eps must be a float >= 0, got {eps!r}")


def _check_tensor(name: str, value: object) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")


def h(x: Tensor, eps: float = DEFAULT_EPS) -> Tensor:
    """Squash a scalar: ``sign(x) * (sqrt(|x| + 1) - 1) + eps * x`` (Pohlen et al. 2018).

    Roughly a signed square root for large |x| (so 10,000 becomes about 109), while the
    ``eps * x`` term keeps it strictly increasing, hence invertible, and Lipschitz.
    """
    _check_tensor("x", x)
    _check_eps(eps)
    return torch.sign(x) * (torch.sqrt(x.abs() + 1) - 1) + eps * x


def h_inv(y: Tensor, eps: float = DEFAULT_EPS) -> Tensor:
    """The exact inverse of ``h``: ``h_inv(h(x)) == x`` up to rounding.

    Solving ``y = sqrt(|x| + 1) - 1 + eps |x|`` for ``t = sqrt(|x| + 1)`` gives the quadratic
    ``eps t^2 + t - (|y| + 1 + eps) = 0``, whose positive root is Pohlen et al. (2018)'s closed form

        t = (sqrt(1 + 4 eps (|y| + 1 + eps)) - 1) / (2 eps),   x = sign(y) * (t^2 - 1).

    We compute the same root as ``t = 2 c / (1 + sqrt(1 + 4 eps c))`` with
    ``c = |y| + 1 + eps`` (multiply top and bottom by ``sqrt(...) + 1``). It is algebraically
    identical but avoids subtracting two nearly equal numbers (``sqrt(1.004...) - 1``): in
    float32 the textbook form loses about 4 digits (relative error ~1e-4), this one keeps
    ~5e-7. It also stays finite at ``eps = 0``, where it gives ``t = |y| + 1``.
    """
    _check_tensor("y", y)
    _check_eps(eps)
    c = y.abs() + 1 + eps
    t = 2 * c / (1 + torch.sqrt(1 + 4 * eps * c))
    return torch.sign(y) * (t * t - 1)


def scalar_to_support(x: Tensor, support_size: int) -> Tensor:
    """Two-hot encode ``x`` over the ``2 * support_size + 1`` integer bins ``-S..S``.

    A value between two integers splits its mass between them so that the expectation is
    exactly ``x``: 2.3 puts 0.7 on bin 2 and 0.3 on bin 3. Values outside ``[-S, S]`` are
    clamped first (they then land wholly on the end bin). Shape ``[...]`` -> ``[..., 2S+1]``.
    """
    _check_tensor("x", x)
    check_int("support_size", support_size, 1)
    x = x.clamp(-support_size, support_size)
    below = x.floor()
    upper_weight = x - below  # in [0, 1): the share of the bin above
    # Bin index of the integer k is k + S. At x == S the bin above would be 2S + 1, one past
    # the end; its weight is 0 there, so folding it onto the last bin changes nothing.
    lower_index = (below + support_size).long()
    upper_index = (lower_index + 1).clamp(max=2 * support_size)
    probs = torch.zeros(*x.shape, 2 * support_size + 1, dtype=x.dtype, device=x.device)
    probs.scatter_add_(-1, lower_index.unsqueeze(-1), (1 - upper_weight).unsqueeze(-1))
    probs.scatter_add_(-1, upper_index.unsqueeze(-1), upper_weight.unsqueeze(-1))
    return probs


def support_to_scalar(probs: Tensor, support_size: int) -> Tensor:
    """Expectation of a distribution over bins ``-S..S``: ``sum_k probs[k] * (k - S)``.

    ``probs`` has shape ``[..., 2S+1]`` and should sum to 1 on the last axis (pass
    probabilities, not logits). Returns shape ``[...]``.
    """
    _check_tensor("probs", probs)
    check_int("support_size", support_size, 1)
    num_bins = 2 * support_size + 1
    if probs.dim() == 0 or probs.shape[-1] != num_bins:
        raise ValueError(
            f"probs must have last dimension 2 * support_size + 1 = {num_bins}, "
            f"got shape {tuple(probs.shape)}"
        )
    bins = torch.arange(-support_size, support_size + 1, dtype=probs.dtype, device=probs.device)
    return (probs * bins).sum(-1)


@dataclass(frozen=True)
class ValueSupport:
    """How a value or reward head's output maps to and from a scalar.

    ``support_size > 0``: categorical head with ``2S+1`` logits over ``h(x)`` (Atari, S=300).
    ``support_size == 0``: scalar head, one output, no transform (board games: MSE on the
    raw value, as in the paper).

    >>> vs = ValueSupport(support_size=300)
    >>> target = vs.encode(torch.tensor([5.0]))  # two-hot over h(5.0) = 1.4545
    >>> tuple(target.shape)
    (1, 601)
    >>> round(vs.decode(target.log()).item(), 4)  # log-probs are valid logits
    5.0
    """

    support_size: int
    eps: float = DEFAULT_EPS

    def __post_init__(self) -> None:
        check_int("support_size", self.support_size, 0)
        _check_eps(self.eps)

    @property
    def categorical(self) -> bool:
        """True when the head outputs logits over bins rather than one scalar."""
        return self.support_size > 0

    @property
    def num_outputs(self) -> int:
        """Width of the head's last linear layer: ``2S+1`` bins, or 1 for a scalar head."""
        return 2 * self.support_size + 1 if self.categorical else 1

    def encode(self, x: Tensor) -> Tensor:
        """Training target for a scalar ``x`` of shape ``[...]``.

        Categorical: the two-hot probabilities ``scalar_to_support(h(x))``, shape
        ``[..., 2S+1]`` (use with a cross-entropy against the head's logits).
        Scalar: ``x`` itself, shape ``[...]`` (use with MSE against ``decode(head_output)``).
        """
        _check_tensor("x", x)
        if not self.categorical:
            return x
        return scalar_to_support(h(x, self.eps), self.support_size)

    def decode_probs(self, probs: Tensor) -> Tensor:
        """Scalar from probabilities over the bins: ``h_inv(expectation)``. ``[..., 2S+1]``
        -> ``[...]``. Only for categorical supports."""
        if not self.categorical:
            raise ValueError("decode_probs needs a categorical support (support_size > 0)")
        return h_inv(support_to_scalar(probs, self.support_size), self.eps)

    def decode(self, logits: Tensor) -> Tensor:
        """Scalar from the head's raw output ``[..., num_outputs]`` -> ``[...]``.

        Categorical: ``h_inv(sum_k softmax(logits)_k * k)``; scalar: the single output.
        """
        _check_tensor("logits", logits)
        if logits.dim() == 0 or logits.shape[-1] != self.num_outputs:
            raise ValueError(
                f"logits must have last dimension num_outputs = {self.num_outputs}, "
                f"got shape {tuple(logits.shape)}"
            )
        if not self.categorical:
            return logits.squeeze(-1)
        return self.decode_probs(torch.softmax(logits, dim=-1))
