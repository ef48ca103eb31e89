"""Turning the search's visit counts into a move (paper, Appendix D "Play").

After the search, MuZero plays a ~ N(a)^(1/T) / sum_b N(b)^(1/T): the visit count
distribution sharpened by a temperature T. T = 1 plays in proportion to the visits (exploration
during self-play), T -> 0 plays the most visited action (evaluation). Two schedules from the
paper pick T:

* board games (like AlphaZero): T = 1 for the first moves of a game, then greedy;
* Atari: T = 1.0, then 0.5 after 50% and 0.25 after 75% of training (pseudocode
  ``visit_softmax_temperature``, with 500k and 750k of 1M training steps).
"""

from __future__ import annotations

import math

import torch


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a number >= 0, got {type(temperature).__name__}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    return float(temperature)


def _masked_counts(visit_counts: object, legal_mask: object) -> torch.Tensor:
    """Validate; return float64 counts [B, A] with illegal actions set to 0."""
    if not isinstance(visit_counts, torch.Tensor):
        raise TypeError(f"visit_counts must be a torch.Tensor, got {type(visit_counts).__name__}")
    if visit_counts.dim() not in (1, 2) or visit_counts.shape[-1] < 1:
        raise ValueError(
            f"visit_counts must have shape [A] or [B, A], got {list(visit_counts.shape)}"
        )
    counts = visit_counts.to(torch.float64)
    if not torch.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("visit_counts must be finite and >= 0")
    if legal_mask is not None:
        if not isinstance(legal_mask, torch.Tensor) or legal_mask.dtype != torch.bool:
            raise TypeError("legal_mask must be a bool torch.Tensor shaped like visit_counts")
        if legal_mask.shape != visit_counts.shape:
            raise ValueError(
                f"legal_mask must have shape {list(visit_counts.shape)}, "
                f"got {list(legal_mask.shape)}"
            )
        counts = counts.masked_fill(~legal_mask.to(counts.device), 0.0)
    counts = counts.reshape(-1, counts.shape[-1])
    if not (counts.sum(dim=1) > 0).all():
        raise ValueError("visit_counts needs at least one visit on a legal action in every row")
    return counts


def _policy(counts: torch.Tensor, temperature: float) -> torch.Tensor:
    """float64 [B, A] probabilities ∝ counts^(1/T); one-hot on the first argmax when T = 0."""
    if temperature == 0.0:
        # torch.argmax returns the first maximal index: ties break deterministically.
        return torch.nn.functional.one_hot(counts.argmax(dim=1), counts.shape[1]).to(counts.dtype)
    # N^(1/T) overflows for small T (1000^(1/0.005) = 1e600), so work in log space and subtract
    # the row's max before exponentiating: softmax(log N / T). log 0 = -inf -> probability 0.
    return torch.softmax(torch.log(counts) / temperature, dim=1)


def visit_policy(
    visit_counts: torch.Tensor, temperature: float, legal_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """The distribution ``select_action`` samples from: N(a)^(1/T) / sum_b N(b)^(1/T).

    visit_counts: [A] or [B, A], non-negative; temperature: T >= 0 (0: one-hot on the most
    visited action, first index on ties); legal_mask: optional, same shape, illegal actions get
    probability 0. Returns float32 probabilities with the shape of ``visit_counts``.
    """
    temperature = _check_temperature(temperature)
    counts = _masked_counts(visit_counts, legal_mask)
    return _policy(counts, temperature).to(torch.float32).reshape(visit_counts.shape)


def select_action(
    visit_counts: torch.Tensor,
    temperature: float,
    generator: torch.Generator | None = None,
    legal_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pick an action from the root's visit counts (paper, Appendix D).

    T = 0: the most visited action, the first index on ties (no randomness). T > 0: a sample
    from ``visit_policy`` with ``torch.multinomial`` and ``generator`` (the global torch RNG
    when None). Returns an int64 tensor: shape [] for counts [A], [B] for counts [B, A]; use
    ``int(...)`` for a single game.
    """
    temperature = _check_temperature(temperature)
    counts = _masked_counts(visit_counts, legal_mask)
    if temperature == 0.0:
        actions = counts.argmax(dim=1)
    else:
        policy = _policy(counts, temperature)
        actions = torch.multinomial(policy, 1, generator=generator).squeeze(1)
    return actions.reshape(visit_counts.shape[:-1])


def board_game_temperature(move_number: int, greedy_after: int) -> float:
    """T = 1 for the first ``greedy_after`` moves of a game (0-based ``move_number``), then 0.

    AlphaZero and MuZero's board games sample the opening moves for diversity and play the
    best move afterwards (pseudocode: ``1.0 if num_moves < 30 else 0.0``).
    """
    for name, value in (("move_number", move_number), ("greedy_after", greedy_after)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    return 1.0 if move_number < greedy_after else 0.0


def training_progress_temperature(progress: float) -> float:
    """The paper's Atari schedule by fraction of training done, ``progress`` in [0, 1].

    1.0 before 50% of training, 0.5 from 50% to 75%, 0.25 from 75% on (Appendix D; the
    pseudocode's 500k / 750k of 1M steps). Each boundary belongs to the later, colder phase.
    """
    if isinstance(progress, bool) or not isinstance(progress, (int, float)):
        raise TypeError(f"progress must be a number in [0, 1], got {type(progress).__name__}")
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress!r}")
    if progress < 0.5:
        return 1.0
    if progress < 0.75:
        return 0.5
    return 0.25
