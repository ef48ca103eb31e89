"""``search``: run MCTS for a batch of B roots with a learned model (the public entry point).

Two implementations grow the same trees behind one signature:

* ``"batched"`` (the default, search/batched.py): B array trees grown in lockstep by compiled
  loops, one ``recurrent_fn`` call per simulation for all B trees. Fast.
* ``"reference"``: B readable ``ReferenceSearch`` trees (search/reference.py) grown in
  lockstep: each simulation selects one leaf in every tree, makes ONE ``recurrent_fn`` call
  for all B (parent latent, action) pairs, then expands and backs up every tree. The chapter's
  text, and the oracle the batched search is tested against.

Both share the checks and the root priors below (so the same generator gives the same noise),
and give the same visit counts, values and trees, to the last bit. The trees never share
anything but the model call, so a batch of B gives the same trees as B searches of one.
"""

from __future__ import annotations

import math

import torch

from muzero_lite.search import batched
from muzero_lite.search.pucb import root_prior
from muzero_lite.search.reference import ReferenceSearch, tree_from_searches
from muzero_lite.search.types import (
    RecurrentFn,
    RootOutput,
    SearchConfig,
    SearchResult,
    Tree,
    check_recurrent_output,
)

IMPLEMENTATIONS = ("batched", "reference")


def softmax(logits: list[float]) -> list[float]:
    """The priors of a node inside the tree: softmax over ALL its actions, in float64.

    Written out (max, exp(x - max), a left-to-right sum, divide) because the batched search's
    compiled ``expand_and_backup`` does exactly these operations in this order: the two
    searches then agree to the last bit. (A library softmax, e.g. torch's, may sum in another
    order, and at the time of writing costs 160 ns a row in float64 on the CPU.) The root's
    priors, which need the legal mask and the noise, come from ``pucb.root_prior``.
    """
    largest = max(logits)
    exps = [math.exp(x - largest) for x in logits]
    total = 0.0
    for term in exps:
        total += term
    return [term / total for term in exps]


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


def search(
    root: RootOutput,
    recurrent_fn: RecurrentFn,
    config: SearchConfig,
    legal_mask: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    implementation: str = "batched",
) -> SearchResult:
    """Run ``config.num_simulations`` simulations of MuZero's MCTS from each of B roots.

    root: the network's output at the B roots (``RootOutput``).
    recurrent_fn: ``(latent [B, ...], action LongTensor [B]) -> (RecurrentOutput, latent)``,
        the dynamics and prediction networks; called exactly ``num_simulations`` times, under
        ``torch.no_grad()``, with actions on the root latent's device. The latents it returns
        must have the shape and dtype of ``root.latent``.
    legal_mask: [B, A] bool, the actions allowed at the roots (inside the tree all are); None
        allows every action.
    generator: the source of the root's Dirichlet noise (see ``pucb.dirichlet_noise``); the
        global torch RNG when None. Unused when ``config.exploration_fraction == 0``.
    implementation: "batched" (fast array trees, the default) or "reference" (the readable
        node-object trees); both give the same result.

    Returns ``SearchResult``: visit counts, root value and Q values on the device of
    ``root.value``; the whole trees as CPU arrays in ``result.tree``.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
    legal = _check_inputs(root, recurrent_fn, config, legal_mask, generator)
    prior, prior_before_noise = root_prior(
        root.prior_logits,
        legal,
        config.exploration_fraction,
        config.dirichlet_alpha,
        generator,
    )
    grow = batched.grow_trees if implementation == "batched" else grow_reference_trees
    tree = grow(root, recurrent_fn, config, legal, prior, prior_before_noise)
    device = root.value.device
    return SearchResult(
        visit_counts=tree.children_visits[:, 0].to(device),
        root_value=tree.node_values[:, 0].to(device, torch.float32),
        q_values=tree.children_q[:, 0].to(device, torch.float32),
        tree=tree,
    )


def grow_reference_trees(
    root: RootOutput,
    recurrent_fn: RecurrentFn,
    config: SearchConfig,
    legal_mask: torch.Tensor,
    prior: torch.Tensor,
    prior_before_noise: torch.Tensor,
) -> Tree:
    """B ``ReferenceSearch`` trees in lockstep (inputs checked, root priors drawn by ``search``)."""
    batch_size = root.batch_size
    root_values = root.value.detach().to("cpu", torch.float64).tolist()
    searches = [
        ReferenceSearch(
            config,
            prior[b].tolist(),
            root_values[b],
            root.latent[b].detach(),
            legal_mask[b].tolist(),
        )
        for b in range(batch_size)
    ]

    with torch.no_grad():
        for simulation in range(config.num_simulations):
            leaves = [one.select_leaf() for one in searches]
            latents = torch.stack([parent.latent for parent, _ in leaves])
            actions = torch.tensor(
                [action for _, action in leaves], dtype=torch.int64, device=root.latent.device
            )
            output, next_latent = recurrent_fn(latents, actions)
            check_recurrent_output(output, next_latent, root, first=simulation == 0)
            rewards = output.reward.detach().to("cpu", torch.float64).tolist()
            values = output.value.detach().to("cpu", torch.float64).tolist()
            logits = output.prior_logits.detach().to("cpu", torch.float64).tolist()
            priors = [softmax(row) for row in logits]  # every action is allowed in the tree
            for b, one in enumerate(searches):
                one.expand_and_backup(rewards[b], values[b], priors[b], next_latent[b])

    return tree_from_searches(searches, prior_before_noise, legal_mask)
