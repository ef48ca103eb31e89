"""The fast search: B trees as preallocated arrays, grown in lockstep (DeepMind mctx's layout).

Same algorithm, same numbers as the readable reference (search/reference.py), laid out for
speed. Tree ``b`` is row ``b`` of a set of arrays, and node ``s + 1`` is the node that
simulation ``s`` added (node 0 is the root), so the arrays are allocated once, at their final
size ``N = num_simulations + 1``, and nothing grows during the search:

    node arrays [B, N]        parents, action_from_parent, depth, to_play_sign,
                              node_visits, value_sums, raw_values, rewards
    edge arrays [B, N, A]     children_index (-1: not expanded), children_prior,
                              children_visits N(s,a), children_q Q(s,a) from s's view
    per tree    [B]           q_min, q_max: the min-max statistics

One simulation, for all B trees at once:

1. ``select_leaves`` (numba, ``_kernels.py``) walks every tree down by pUCT and writes one
   (parent node, action) pair per tree.
2. ONE ``recurrent_fn`` call for all B pairs. The parents' latents live in a preallocated
   tensor ``latents [N, B, ...]`` on the model's device; row ``node * B + b`` is fetched with
   one ``index_select``, and the B new latents are written to ``latents[s + 1]``. Only the B
   indices and B actions go to the device, and only reward, value and logits come back: the
   latents never leave it.
3. ``expand_and_backup`` (numba) writes node ``s + 1`` and backs its value up to the root.

The tree arrays stay float64 on the host: the reference computes in Python floats, and the
same operations in the same order give the same bits, hence the same argmax and the same
visit counts (``tests/test_batched_search.py`` checks this over random networks).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from muzero_lite.search import _kernels
from muzero_lite.search.types import (
    RecurrentFn,
    RecurrentOutput,
    RootOutput,
    SearchConfig,
    Tree,
    check_recurrent_output,
)


class TreeArrays(NamedTuple):
    """The B trees of one search as numpy arrays; see the module docstring for the layout.

    The compiled kernels take it as one argument, ``tuple(trees)`` (``_kernels.TREE_FIELDS``),
    and write into the arrays in place. Every array is int64 or float64, so ``to_tree``
    shares their memory with torch.
    """

    parents: np.ndarray
    action_from_parent: np.ndarray
    depth: np.ndarray
    to_play_sign: np.ndarray
    node_visits: np.ndarray
    value_sums: np.ndarray
    raw_values: np.ndarray
    rewards: np.ndarray
    children_index: np.ndarray
    children_prior: np.ndarray
    children_visits: np.ndarray
    children_q: np.ndarray
    q_min: np.ndarray
    q_max: np.ndarray

    @classmethod
    def with_root(
        cls,
        num_nodes: int,
        root_prior: np.ndarray,
        root_value: np.ndarray,
        value_bounds: tuple[float, float] | None,
    ) -> TreeArrays:
        """Allocate B trees of ``num_nodes`` nodes and expand their roots (node 0).

        Like ``ReferenceSearch.__init__``: the root's first visit is its own network value
        (N = 1, value_sum = v, mctx's convention), its priors are already masked and noised,
        and known ``value_bounds`` seed the min-max statistics.
        """
        batch_size, num_actions = root_prior.shape
        nodes, edges = (batch_size, num_nodes), (batch_size, num_nodes, num_actions)
        arrays = cls(
            parents=np.full(nodes, -1, dtype=np.int64),
            action_from_parent=np.full(nodes, -1, dtype=np.int64),
            depth=np.zeros(nodes, dtype=np.int64),
            to_play_sign=np.ones(nodes, dtype=np.int64),
            node_visits=np.zeros(nodes, dtype=np.int64),
            value_sums=np.zeros(nodes, dtype=np.float64),
            raw_values=np.zeros(nodes, dtype=np.float64),
            rewards=np.zeros(nodes, dtype=np.float64),
            children_index=np.full(edges, -1, dtype=np.int64),
            children_prior=np.zeros(edges, dtype=np.float64),
            children_visits=np.zeros(edges, dtype=np.int64),
            children_q=np.zeros(edges, dtype=np.float64),
            q_min=np.full(batch_size, math.inf if value_bounds is None else value_bounds[0]),
            q_max=np.full(batch_size, -math.inf if value_bounds is None else value_bounds[1]),
        )
        arrays.node_visits[:, 0] = 1
        arrays.value_sums[:, 0] = root_value
        arrays.raw_values[:, 0] = root_value
        arrays.children_prior[:, 0] = root_prior
        return arrays

    def to_tree(
        self, config: SearchConfig, root_prior_before_noise: torch.Tensor, legal_mask: torch.Tensor
    ) -> Tree:
        """The finished trees as the inspectable ``Tree`` (CPU tensors sharing this memory)."""
        return Tree(
            parents=torch.from_numpy(self.parents),
            action_from_parent=torch.from_numpy(self.action_from_parent),
            depth=torch.from_numpy(self.depth),
            to_play_sign=torch.from_numpy(self.to_play_sign),
            node_visits=torch.from_numpy(self.node_visits),
            node_values=torch.from_numpy(self.value_sums / self.node_visits),
            raw_values=torch.from_numpy(self.raw_values),
            rewards=torch.from_numpy(self.rewards),
            children_index=torch.from_numpy(self.children_index),
            children_prior=torch.from_numpy(self.children_prior),
            children_visits=torch.from_numpy(self.children_visits),
            children_q=torch.from_numpy(self.children_q),
            root_prior_before_noise=root_prior_before_noise,
            legal_mask=legal_mask,
            q_min=torch.from_numpy(self.q_min),
            q_max=torch.from_numpy(self.q_max),
            num_simulations=config.num_simulations,
            discount=config.discount,
            two_player=config.two_player,
        )


def pucb_tables(num_nodes: int, pb_c_init: float, pb_c_base: float) -> tuple[np.ndarray, ...]:
    """sqrt(n) and c1 + log((n + c2 + 1) / c2) for every visit count n = 0..num_nodes.

    The two factors of the pUCT score that depend only on the parent's N(s), computed once per
    search with the very expressions of ``pucb.pucb_score`` (Python's ``math``), so the
    compiled selection multiplies exactly the same float64 numbers.
    """
    counts = range(num_nodes + 1)
    sqrt_visits = np.array([math.sqrt(n) for n in counts], dtype=np.float64)
    exploration = np.array(
        [pb_c_init + math.log((n + pb_c_base + 1) / pb_c_base) for n in counts], dtype=np.float64
    )
    return sqrt_visits, exploration


def _host_float64(tensor: torch.Tensor) -> torch.Tensor:
    """A float64 CPU copy: the precision of the tree (every float32 is exactly a float64)."""
    return tensor.detach().to("cpu", torch.float64)


def _host_array(tensor: torch.Tensor) -> np.ndarray:
    """A CPU tensor as numpy, no copy for float32 / float64 (the kernel widens float32 to
    float64 exactly, which saves a conversion per simulation); other dtypes become float64."""
    if tensor.requires_grad:
        tensor = tensor.detach()
    if tensor.dtype != torch.float32 and tensor.dtype != torch.float64:
        tensor = tensor.to(torch.float64)
    return tensor.numpy()


def outputs_on_host(
    output: RecurrentOutput, packed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """reward [B], value [B], prior_logits [B, A] of one model call as numpy arrays.

    ``packed``: for a model on a GPU, concatenate the three on the device first so that they
    come back in ONE device-to-host copy (one sync) instead of three. On the CPU, False: no
    copy at all.
    """
    reward, value, logits = output.reward, output.value, output.prior_logits
    if packed:
        host = torch.cat((reward[:, None], value[:, None], logits), dim=1).cpu()
        reward, value, logits = host[:, 0], host[:, 1], host[:, 2:]
    return _host_array(reward), _host_array(value), _host_array(logits)


def grow_trees(
    root: RootOutput,
    recurrent_fn: RecurrentFn,
    config: SearchConfig,
    legal_mask: torch.Tensor,
    prior: torch.Tensor,
    prior_before_noise: torch.Tensor,
) -> Tree:
    """Run ``config.num_simulations`` simulations in B array trees; return the finished ``Tree``.

    The inputs are already checked by ``search`` (api.py), which also drew the root priors:
    ``prior`` (after noise) and ``prior_before_noise`` are float64 [B, A] on the
    CPU, ``legal_mask`` a bool [B, A] CPU tensor. ``recurrent_fn`` is called exactly
    ``num_simulations`` times, under ``torch.no_grad()``, with LongTensor actions on the root
    latent's device; each call's outputs are read once, not kept.
    """
    batch_size, num_actions = prior.shape
    num_nodes = config.num_simulations + 1
    device = root.latent.device
    pack_outputs = device.type != "cpu"  # one copy back from an accelerator
    trees = TreeArrays.with_root(
        num_nodes,
        prior.numpy(),
        _host_float64(root.value).numpy(),
        config.value_bounds,
    )
    arrays = tuple(trees)  # what the kernels take (_kernels.TREE_FIELDS)
    root_legal = np.ascontiguousarray(legal_mask.numpy())
    sqrt_visits, exploration = pucb_tables(num_nodes, config.pb_c_init, config.pb_c_base)

    with torch.no_grad():
        # latents[n, b] is the hidden state of node n of tree b; flat row n * B + b.
        latents = root.latent.detach().new_empty((num_nodes, *root.latent.shape))
        latents[0] = root.latent
        flat_latents = latents.view(num_nodes * batch_size, *root.latent.shape[1:])

        for simulation in range(config.num_simulations):
            # 1. selection: one (parent, action) per trees.
            leaf_parents = np.empty(batch_size, dtype=np.int64)
            requests = np.empty((2, batch_size), dtype=np.int64)  # latent rows; actions
            _kernels.select_leaves(arrays, root_legal, sqrt_visits, exploration,
                                   leaf_parents, requests[1], requests[0])

            # 2. one model call for all B trees; the B requests go to the device in one copy.
            on_device = torch.from_numpy(requests).to(device)
            parent_latents = flat_latents.index_select(0, on_device[0])
            output, next_latent = recurrent_fn(parent_latents, on_device[1])
            check_recurrent_output(output, next_latent, root, first=simulation == 0)
            latents[simulation + 1] = next_latent
            rewards, values, logits = outputs_on_host(output, packed=pack_outputs)

            # 3. expansion (priors = softmax of the logits) and backup of node simulation + 1.
            _kernels.expand_and_backup(
                arrays, simulation + 1, leaf_parents, requests[1], rewards, values, logits,
                float(config.discount),  # an int discount (1) would compile a second kernel
                -1.0 if config.two_player else 1.0,
            )

    return trees.to_tree(config, prior_before_noise, legal_mask)
