"""The two loops of the batched search, compiled with numba: selection and backup for B trees.

These are the reference search's ``select_leaf`` and ``expand_and_backup`` (search/reference.py)
rewritten over arrays, with a loop over the B trees around each. ``search/batched.py`` owns the
arrays and explains their layout; here, for tree ``b``:

* node ``n`` (``0`` the root, ``s + 1`` made by simulation ``s``) has ``node_visits[b, n]``,
  ``value_sums[b, n]``, ``rewards[b, n]`` (of the edge into it), ``parents[b, n]`` ...
* the edge ``(n, a)`` has ``children_index[b, n, a]`` (-1 until expanded),
  ``children_prior``, ``children_visits`` and ``children_q``: N(s,a) and Q(s,a) as the parent
  sees them, stored on the edge (as in mctx) so that selection reads one contiguous row per node.

Why numba: a simulation must select and back up all B trees in a few tens of µs. Python loops
over node objects (the reference) run 25-50x slower than this at B = 64-256; numpy vectorised
over B, with a Python loop over the depth, would pay a dozen small numpy calls (~1 µs each) per
level. These loops are plain Python that numba compiles once (``cache=True`` keeps the machine
code on disk between runs). ``select_leaves.py_func`` is the same function run by the Python
interpreter; the tests check that both build the same trees.

Exactness: every number is computed with the same float64 operations, in the same order, as
``pucb.pucb_score``, ``MinMaxStats`` and ``ReferenceSearch`` (no fastmath), so the fast search
picks the same actions and reaches the same visit counts as the reference, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# The tree arrays arrive as one plain tuple in this order (batched.TreeArrays' fields; a test
# checks they agree). Not the NamedTuple itself: numba dispatches a plain tuple about 3.5 µs
# faster per call, and each simulation makes two calls.
TREE_FIELDS = ("parents", "action_from_parent", "depth", "to_play_sign", "node_visits",
               "value_sums", "raw_values", "rewards", "children_index", "children_prior",
               "children_visits", "children_q", "q_min", "q_max")


@njit(cache=True, nogil=True, error_model="numpy")
def select_leaves(
    trees: tuple,  # batched.TreeArrays as a plain tuple (see TREE_FIELDS)
    root_legal: np.ndarray,  # [B, A] bool
    sqrt_visits: np.ndarray,  # [N + 1] float64: sqrt(n)
    exploration: np.ndarray,  # [N + 1] float64: c1 + log((n + c2 + 1) / c2)
    leaf_parents: np.ndarray,  # out [B] int64: the node to expand from
    leaf_actions: np.ndarray,  # out [B] int64: the action to expand
    latent_rows: np.ndarray,  # out [B] int64: leaf_parents * B + b, the parent's latent row
) -> None:
    """Step 1 of a simulation in every tree: descend by pUCT to an unexpanded edge.

    Reference: ``ReferenceSearch.select_leaf`` and ``select_action``. The pUCT score (paper,
    eq. 2; ``pucb.pucb_score``) is

        Q̄(s,a) + P(s,a) * sqrt(N(s)) / (1 + N(s,a)) * (c1 + log((N(s) + c2 + 1) / c2))

    The two factors that depend only on N(s) come from tables indexed by N(s), computed once
    per search with Python's ``math`` (the same functions ``pucb_score`` calls). An unvisited
    edge has Q̄ = 0; a visited one is min-max normalised over the tree
    (``MinMaxStats.normalize``). Ties keep the first action (strict >); illegal root actions
    score -inf, so they are never taken.
    """
    (_, _, _, _, node_visits, _, _, _,
     children_index, children_prior, children_visits, children_q, q_min, q_max) = trees
    batch_size, _, num_actions = children_index.shape
    scores = np.empty(num_actions)
    nodes = np.zeros(batch_size, dtype=np.int64)  # where each tree's descent is now
    descending = np.ones(batch_size, dtype=np.bool_)
    remaining, depth = batch_size, 0
    # All trees go down one level at a time: the B trees' memory reads are independent of
    # each other, so the processor overlaps them (one tree at a time, each level would wait
    # for the level above; measured 1.6x faster at B = 256).
    while remaining > 0:
        for b in range(batch_size):
            if not descending[b]:
                continue
            node = nodes[b]
            low, high = q_min[b], q_max[b]
            sqrt_parent = sqrt_visits[node_visits[b, node]]
            weight = exploration[node_visits[b, node]]
            # All A scores first (a loop without jumps, which the compiler vectorises) ...
            for action in range(num_actions):
                child_visits = children_visits[b, node, action]
                q = children_q[b, node, action]
                normalized_q = (q - low) / (high - low) if high > low else q
                if child_visits == 0:
                    normalized_q = 0.0  # unvisited edge: Q̄ = 0
                prior = children_prior[b, node, action]
                scores[action] = normalized_q + prior * sqrt_parent / (1 + child_visits) * weight
            if depth == 0:
                for action in range(num_actions):
                    if not root_legal[b, action]:
                        scores[action] = -math.inf
            # ... then the argmax, first index on ties.
            best_action, best_score = -1, -math.inf
            for action in range(num_actions):
                if scores[action] > best_score:
                    best_action, best_score = action, scores[action]
            child = children_index[b, node, best_action]
            if child >= 0:
                nodes[b] = child  # expanded: descend
            else:  # an edge never expanded: the leaf of this simulation
                leaf_parents[b] = node
                leaf_actions[b] = best_action
                latent_rows[b] = node * batch_size + b
                descending[b] = False
                remaining -= 1
        depth += 1


@njit(cache=True, nogil=True, error_model="numpy")
def expand_and_backup(
    trees: tuple,  # batched.TreeArrays as a plain tuple (see TREE_FIELDS), written in place
    new_node: int,  # simulation s adds node s + 1
    leaf_parents: np.ndarray,  # [B] int64, from select_leaves
    leaf_actions: np.ndarray,  # [B] int64, from select_leaves
    leaf_rewards: np.ndarray,  # [B] float: r of the new edge, parent's view
    leaf_values: np.ndarray,  # [B] float: v of the new node, its own view
    leaf_logits: np.ndarray,  # [B, A] float: the new node's policy logits
    discount: float,
    view: float,  # -1.0 in two-player games (the view flips at every ply), else 1.0
) -> None:
    """Step 3 of a simulation in every tree: add node ``new_node``, back its value up.

    Reference: ``ReferenceSearch.expand_and_backup`` (pseudocode ``backpropagate``), with the
    new node's priors computed here as ``api.softmax`` computes them. G starts at the leaf's
    value v. Walking leaf to root, each node gets value_sum += G and one more visit; its edge
    from the parent gets the new N(s,a) and Q(s,a) = r + gamma * V (negamax: r - gamma * V),
    which also widens the min-max statistics; then G = r + gamma * G (negamax: r - gamma * G)
    for the parent.
    """
    (parents, action_from_parent, depth, to_play_sign, node_visits, value_sums, raw_values,
     rewards, children_index, children_prior, children_visits, children_q, q_min, q_max) = trees
    sign = np.int64(view)  # multiplying by -1.0 (or -1) is exact
    batch_size, num_actions = leaf_logits.shape
    for b in range(batch_size):
        parent, action = leaf_parents[b], leaf_actions[b]
        parents[b, new_node] = parent
        action_from_parent[b, new_node] = action
        depth[b, new_node] = depth[b, parent] + 1
        to_play_sign[b, new_node] = sign * to_play_sign[b, parent]
        rewards[b, new_node] = leaf_rewards[b]
        raw_values[b, new_node] = leaf_values[b]
        children_index[b, parent, action] = new_node

        # Priors: softmax over ALL actions (inside the tree every action is allowed), float64,
        # the operations of api.softmax in its order: max, exp(x - max), sum left to right.
        prior = children_prior[b, new_node]
        largest = -math.inf
        for a in range(num_actions):
            largest = max(largest, float(leaf_logits[b, a]))
        total = 0.0
        for a in range(num_actions):
            prior[a] = math.exp(float(leaf_logits[b, a]) - largest)
            total += prior[a]
        for a in range(num_actions):
            prior[a] = prior[a] / total

    # Backup: G = v at the new node; all trees climb one level at a time, like selection.
    nodes = np.full(batch_size, new_node, dtype=np.int64)
    backed_up = np.empty(batch_size)  # G, from the view of the player to move at nodes[b]
    for b in range(batch_size):
        backed_up[b] = leaf_values[b]
    climbing = batch_size
    while climbing > 0:
        for b in range(batch_size):
            node = nodes[b]
            if node < 0:
                continue  # this tree is done
            value_sums[b, node] += backed_up[b]
            node_visits[b, node] += 1
            if node == 0:  # the root: no parent edge, nothing for min-max
                nodes[b] = -1
                climbing -= 1
                continue
            parent, action = parents[b, node], action_from_parent[b, node]
            # Q(s, a) from the parent's view, exactly as ReferenceSearch.edge_q computes it.
            q = rewards[b, node] + discount * (view * (value_sums[b, node] / node_visits[b, node]))
            children_visits[b, parent, action] = node_visits[b, node]
            children_q[b, parent, action] = q
            if q < q_min[b]:  # MinMaxStats.update: min(minimum, q), max(maximum, q)
                q_min[b] = q
            if q > q_max[b]:
                q_max[b] = q
            backed_up[b] = rewards[b, node] + discount * (view * backed_up[b])
            nodes[b] = parent
