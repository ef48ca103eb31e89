"""The pieces of the selection rule: pUCT score, min-max statistics, root priors and noise.

Everything here is shared by the readable reference search and the fast batched search, so that
both compute the same numbers in the same order (float64) and pick the same actions.
"""

from __future__ import annotations

import math

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

    Reproducible from the torch generator: one 63-bit seed is drawn with
    ``torch.randint(..., generator=generator)`` (the global torch RNG when ``generator`` is
    None); it seeds a ``numpy.random.Generator`` that draws ``rng.dirichlet([alpha] * n_legal)``
    for rows 0, 1, ..., B-1 in order. Same generator state -> same noise. numpy's Dirichlet
    sampler stays exact for the tiny alphas of Go (0.03), where normalising gamma draws can
    underflow to 0/0.

    This is the only place noise is drawn; the batched search calls it too.
    """
    device = generator.device if generator is not None else torch.device("cpu")
    seed = int(torch.randint(0, 2**63 - 1, (), generator=generator, device=device))
    rng = np.random.default_rng(seed)
    legal = legal_mask.detach().cpu().numpy().astype(bool)
    noise = np.zeros(legal.shape, dtype=np.float64)
    for row in range(legal.shape[0]):
        noise[row, legal[row]] = rng.dirichlet(np.full(int(legal[row].sum()), alpha))
    return torch.from_numpy(noise)


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
