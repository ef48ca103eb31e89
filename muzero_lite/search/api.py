"""``search``: run MCTS for a batch of B roots with a learned model (the public entry point).

For now it grows B ``ReferenceSearch`` trees in lockstep: each simulation selects one leaf in
every tree, then makes ONE ``recurrent_fn`` call for all B (parent latent, action) pairs, then
expands and backs up every tree. The trees never share anything but that call, so a batch of B
gives the same trees as B searches of one (with the same root noise). A fast array search
(``search/batched.py``) can later replace the loop behind the same signature.
"""

from __future__ import annotations

import torch

from muzero_lite.search.pucb import masked_softmax, root_prior
from muzero_lite.search.reference import ReferenceSearch, tree_from_searches
from muzero_lite.search.types import (
    RecurrentFn,
    RecurrentOutput,
    RootOutput,
    SearchConfig,
    SearchResult,
)


def _check_inputs(
    root: object,
    recurrent_fn: object,
    config: object,
    legal_mask: object,
    generator: object,
) -> torch.Tensor:
    """Validate the arguments; return the legal mask as a CPU bool [B, A] tensor."""
    if not isinstance(root, RootOutput):
        raise TypeError(f"root must be a RootOutput, got {type(root).__name__}")
    if not callable(recurrent_fn):
        raise TypeError(
            "recurrent_fn must be callable (latent, action) -> (RecurrentOutput, latent)"
        )
    if not isinstance(config, SearchConfig):
        raise TypeError(f"config must be a SearchConfig, got {type(config).__name__}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator)}")
    shape = (root.batch_size, root.num_actions)
    if legal_mask is None:
        return torch.ones(shape, dtype=torch.bool)
    if not isinstance(legal_mask, torch.Tensor) or legal_mask.dtype != torch.bool:
        raise TypeError("legal_mask must be a bool torch.Tensor [B, A] or None")
    if tuple(legal_mask.shape) != shape:
        raise ValueError(f"legal_mask must have shape {list(shape)}, got {list(legal_mask.shape)}")
    if not legal_mask.any(dim=1).all():
        raise ValueError("legal_mask must allow at least one action in every row")
    return legal_mask.detach().cpu()


def _check_recurrent_output(
    output: object, next_latent: object, batch_size: int, num_actions: int
) -> None:
    if not isinstance(output, RecurrentOutput):
        raise TypeError(
            f"recurrent_fn must return (RecurrentOutput, latent), got {type(output).__name__}"
        )
    if tuple(output.prior_logits.shape) != (batch_size, num_actions):
        raise ValueError(
            f"recurrent_fn prior_logits must have shape [{batch_size}, {num_actions}], "
            f"got {list(output.prior_logits.shape)}"
        )
    if not isinstance(next_latent, torch.Tensor) or next_latent.dim() < 1:
        raise TypeError("recurrent_fn must return a torch.Tensor latent [B, ...]")
    if next_latent.shape[0] != batch_size:
        raise ValueError(
            f"recurrent_fn latent must have shape [{batch_size}, ...], "
            f"got {list(next_latent.shape)}"
        )


def search(
    root: RootOutput,
    recurrent_fn: RecurrentFn,
    config: SearchConfig,
    legal_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> SearchResult:
    """Run ``config.num_simulations`` simulations of MuZero's MCTS from each of B roots.

    root: the network's output at the B roots (``RootOutput``).
    recurrent_fn: ``(latent [B, ...], action LongTensor [B]) -> (RecurrentOutput, latent)``,
        the dynamics and prediction networks; called exactly ``num_simulations`` times, under
        ``torch.no_grad()``, with actions on the root latent's device.
    legal_mask: [B, A] bool, the actions allowed at the roots (inside the tree all are); None
        allows every action.
    generator: the source of the root's Dirichlet noise (see ``pucb.dirichlet_noise``); the
        global torch RNG when None. Unused when ``config.exploration_fraction == 0``.

    Returns ``SearchResult``: visit counts, root value and Q values on the device of
    ``root.value``; the whole trees as CPU arrays in ``result.tree``.
    """
    legal = _check_inputs(root, recurrent_fn, config, legal_mask, generator)
    batch_size, num_actions = root.batch_size, root.num_actions

    prior, prior_before_noise = root_prior(
        root.prior_logits,
        legal,
        config.exploration_fraction,
        config.dirichlet_alpha,
        generator,
    )
    root_values = root.value.detach().to("cpu", torch.float64).tolist()
    searches = [
        ReferenceSearch(
            config, prior[b].tolist(), root_values[b], root.latent[b].detach(), legal[b].tolist()
        )
        for b in range(batch_size)
    ]

    with torch.no_grad():
        for _ in range(config.num_simulations):
            leaves = [one.select_leaf() for one in searches]
            latents = torch.stack([parent.latent for parent, _ in leaves])
            actions = torch.tensor(
                [action for _, action in leaves], dtype=torch.int64, device=root.latent.device
            )
            output, next_latent = recurrent_fn(latents, actions)
            _check_recurrent_output(output, next_latent, batch_size, num_actions)
            rewards = output.reward.detach().to("cpu", torch.float64).tolist()
            values = output.value.detach().to("cpu", torch.float64).tolist()
            priors = masked_softmax(
                output.prior_logits.detach().cpu(), torch.ones(num_actions, dtype=torch.bool)
            ).tolist()  # every action is allowed inside the tree
            for b, one in enumerate(searches):
                one.expand_and_backup(rewards[b], values[b], priors[b], next_latent[b])

    tree = tree_from_searches(searches, prior_before_noise, legal)
    device = root.value.device
    return SearchResult(
        visit_counts=tree.children_visits[:, 0].to(device),
        root_value=tree.node_values[:, 0].to(device, torch.float32),
        q_values=tree.children_q[:, 0].to(device, torch.float32),
        tree=tree,
    )
