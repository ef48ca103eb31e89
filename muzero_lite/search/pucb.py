"""The pieces of the selection rule: pUCT score, min-max statistics, root priors and noise.

Everything here is shared by the readable reference search and the fast batched search, so that
both compute the same numbers in the same order (float64) and pick the same actions.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch


def pucb_score(
    parent_visits: int,
    child_visits: int,
    prior: float,
    normalized_q: float,
    pb_c_init: float,
    pb_c_base: float,
) -> float:
    """The pUCT score of one edge (paper, eq. 2; pseudocode ``ucb_score``).

    score = Q̄(s,a) + P(s,a) * sqrt(N(s)) / (1 + N(s,a)) * (c1 + log((N(s) + c2 + 1) / c2))

    ``normalized_q`` is Q̄, already min-max normalised (0 for an unvisited edge). The c2 term
    grows the exploration weight only slowly: log((N + c2 + 1) / c2) is about 0 until N(s)
    nears c2 = 19652, so it only matters in very deep searches.

    The operations are evaluated left to right exactly as written (Python floats, float64); a
    vectorised search that wants identical tie-breaking must use the same order.
    """
    exploration = pb_c_init + math.log((parent_visits + pb_c_base + 1) / pb_c_base)
    return normalized_q + prior * math.sqrt(parent_visits) / (1 + child_visits) * exploration


def parent_view_return(reward: float, value: float, discount: float, two_player: bool) -> float:
    """``r + gamma * v`` seen from the parent: ``value`` is from the child's player's view, so
    in a two-player zero-sum game it is negated (negamax): ``r - gamma * v``.

    The one rule behind Q(s,a) of an edge and the backup ``G = r + gamma * G`` (pseudocode
    ``backpropagate``); ``_kernels.expand_and_backup`` writes it inline, and the tests hold
    the two searches to the same bits.
    """
    return reward + discount * (-value if two_player else value)


class MinMaxStats:
    """Running min and max of every Q seen in the tree, to map Q into [0, 1] (Appendix B).

    MuZero's rewards and values can have any scale (Atari scores), while the prior term of the
    pUCT score is of order 1; normalising Q by the range seen so far in this tree makes the two
    comparable without knowing the scale of the environment.
    """

    def __init__(self, bounds: tuple[float, float] | None = None) -> None:
        # Pseudocode: MinMaxStats(known_bounds); without bounds the range starts empty.
        self.minimum = math.inf if bounds is None else float(bounds[0])
        self.maximum = -math.inf if bounds is None else float(bounds[1])

    def update(self, value: float) -> None:
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)

    def normalize(self, value: float) -> float:
        """(value - min) / (max - min); the value unchanged while max <= min (pseudocode)."""
        if self.maximum > self.minimum:
            return (value - self.minimum) / (self.maximum - self.minimum)
        return value


def masked_softmax(logits: torch.Tensor, legal_mask: torch.Tensor) -> torch.Tensor:
    """softmax(logits) over the legal actions only, in float64; illegal actions get 0.

    logits [..., A], legal_mask [..., A] bool with at least one legal action per row.
    """
    masked = logits.to(torch.float64).masked_fill(~legal_mask, -math.inf)
    return torch.softmax(masked, dim=-1)


def dirichlet_noise(
    legal_mask: torch.Tensor, alpha: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Dirichlet(alpha) noise over each row's legal actions, float64 [B, A], 0 on illegal ones.

    A Dirichlet(alpha, ..., alpha) sample is n independent Gamma(alpha, 1) draws divided by
    their sum (the textbook construction, and what ``numpy``'s own ``dirichlet`` does for
    alpha >= 0.1). So the noise of ALL B roots comes from ONE numpy call: one gamma draw per
    legal action, in row-major order, then each row is divided by its own sum. (A Python loop
    of one ``rng.dirichlet`` per row cost 2 ms per search at B = 256, a sixth of the search;
    for alpha >= 0.1 it drew exactly these numbers.)

    Reproducible from the torch generator: one 63-bit seed is drawn with
    ``torch.randint(..., generator=generator)`` (the global torch RNG when ``generator`` is
    None); it seeds the ``numpy.random.Generator`` that draws the gammas. Same generator state
    -> same noise.

    Tiny alphas (Go's 0.03 and below) can make every gamma draw of a row underflow to 0
    (P(draw < 1e-308) is about 1e-9 at alpha = 0.03, and about 0.5 at alpha = 0.001), and
    normalising would give 0/0 = NaN. Such rows, and only they, are drawn again with
    ``rng.dirichlet``, which switches to an exact stick-breaking method for alpha < 0.1.

    This is the only place noise is drawn; both searches call it through ``root_prior``.
    """
    if not isinstance(legal_mask, torch.Tensor) or legal_mask.dtype != torch.bool:
        kind = getattr(legal_mask, "dtype", type(legal_mask).__name__)
        raise TypeError(f"legal_mask must be a bool torch.Tensor [B, A], got {kind}")
    if legal_mask.dim() != 2:
        raise ValueError(f"legal_mask must have shape [B, A], got {list(legal_mask.shape)}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a number, got {type(alpha).__name__}")
    if not (math.isfinite(alpha) and alpha > 0.0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    legal = legal_mask.detach().cpu().numpy()
    if not legal.any(axis=1).all():
        raise ValueError("legal_mask must allow at least one action in every row")

    device = generator.device if generator is not None else torch.device("cpu")
    seed = int(torch.randint(0, 2**63 - 1, (), generator=generator, device=device))
    rng = np.random.default_rng(seed)
    noise = np.zeros(legal.shape, dtype=np.float64)
    noise[legal] = rng.standard_gamma(alpha, size=int(legal.sum()))
    # Normalise as numpy's ``rng.dirichlet`` does, a left-to-right sum times its reciprocal:
    # for alpha >= 0.1 every row is then, to the bit, what one ``rng.dirichlet`` call per row
    # would have drawn from the same seed (the same gamma stream, in the same order).
    totals = np.cumsum(noise, axis=1)[:, -1:]
    for row in np.flatnonzero(totals[:, 0] < np.finfo(np.float64).tiny):  # underflow, see above
        noise[row, legal[row]] = rng.dirichlet(np.full(int(legal[row].sum()), alpha))
        totals[row] = 1.0
    return torch.from_numpy(noise * (1.0 / totals))


def root_prior(
    prior_logits: torch.Tensor,
    legal_mask: torch.Tensor,
    exploration_fraction: float,
    dirichlet_alpha: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The root's priors: (after noise, before noise), both float64 [B, A] on the CPU.

    P = softmax over legal actions (illegal get 0, the rest renormalised), then
    P = (1 - frac) * P + frac * Dirichlet(alpha) over legal actions only (Appendix D;
    pseudocode ``add_exploration_noise``). ``exploration_fraction = 0`` draws no noise at all,
    so it does not advance the generator.
    """
    clean = masked_softmax(prior_logits.detach().cpu(), legal_mask.cpu())
    if exploration_fraction == 0.0:
        return clean, clean
    noise = dirichlet_noise(legal_mask, dirichlet_alpha, generator)
    return (1.0 - exploration_fraction) * clean + exploration_fraction * noise, clean
