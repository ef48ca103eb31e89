"""A readable MCTS over one tree of node objects: the paper's pseudocode, made explicit.

One ``ReferenceSearch`` is one tree. A simulation has three steps (paper, Appendix B):

1. ``select_leaf``: walk down from the root, at each node taking the action of highest pUCT
   score, until the chosen edge leads to a node that does not exist yet.
2. the caller runs the model once, ``recurrent_fn(parent latent, action)``; in ``search`` one
   call serves all B trees at once.
3. ``expand_and_backup``: create the new node from the model's output and add its value to
   every node on the path back to the root.

Conventions (they let the batched search reproduce these visit counts exactly):

* The root counts its own network value as its first visit (as DeepMind's mctx does):
  N(root) = 1 and value_sum = v_root before the first simulation, so after S simulations
  N(root) = S + 1 and the root's children hold S visits. The published pseudocode starts the
  root at 0 visits, which makes sqrt(N(s)) = 0 and every score of the first simulation tie at 0.
* Values are negamax in two-player search: a node's value is from the view of its own player to
  move; the reward on an edge is from the view of the player who moved (the parent's player).
  So Q(s,a) = r(s,a) + gamma * V(child) with one player, r(s,a) - gamma * V(child) with two.
* An unvisited edge has Q̄ = 0 (ARCHITECTURE.md, "Algorithm"). The pseudocode passes 0 through the
  normaliser, giving (0 - min) / (max - min); we do not.
* Ties go to the first action with the maximal score. Illegal root actions score -inf.
* The min-max statistics see every parent-view Q recomputed during backup, for every edge on
  the path (pseudocode ``MinMaxStats.update`` in ``backpropagate``); the root has no parent edge
  and adds nothing. Known ``value_bounds`` seed them.
* All arithmetic is in Python floats (float64).
"""

from __future__ import annotations

import math

import torch

from muzero_lite.search.pucb import MinMaxStats, parent_view_return, pucb_score
from muzero_lite.search.types import SearchConfig, Tree


class Node:
    """One state of the search tree, created when a simulation first reaches it."""

    def __init__(
        self,
        index: int,
        parent: Node | None,
        action_from_parent: int,
        to_play_sign: int,
        reward: float,
        raw_value: float,
        prior: list[float],
        latent: torch.Tensor,
    ) -> None:
        self.index = index  # 0 for the root, s + 1 for the node made by simulation s
        self.parent = parent
        self.action_from_parent = action_from_parent  # -1 at the root
        self.depth = 0 if parent is None else parent.depth + 1
        self.to_play_sign = to_play_sign  # +1: the root's player moves here; -1: the opponent
        self.reward = reward  # r of the edge into this node, parent's view
        self.raw_value = raw_value  # the network's v for this node, this node's view
        self.prior = prior  # P(s, a) for every action a
        self.latent = latent  # hidden state, given to recurrent_fn to expand a child
        self.children: dict[int, Node] = {}  # action -> child, only for expanded children
        self.visit_count = 0
        self.value_sum = 0.0

    def value(self) -> float:
        """V(s): the mean of the returns backed up through this node, its own player's view."""
        return self.value_sum / self.visit_count


class ReferenceSearch:
    """One search tree, grown one simulation at a time (see the module docstring)."""

    def __init__(
        self,
        config: SearchConfig,
        root_prior: list[float],
        root_value: float,
        root_latent: torch.Tensor,
        legal_actions: list[bool],
    ) -> None:
        """Expand the root: priors already masked to ``legal_actions`` and noised (pucb.root_prior).

        The root's first visit is its own network value (mctx convention, see module docstring).
        """
        self.config = config
        self.legal_actions = legal_actions
        self.min_max_stats = MinMaxStats(config.value_bounds)
        self.root = Node(0, None, -1, 1, 0.0, root_value, root_prior, root_latent)
        self.root.visit_count = 1
        self.root.value_sum = root_value
        self.nodes = [self.root]  # by index: nodes[s + 1] was added by simulation s
        self._pending: tuple[Node, int] | None = None

    # -- values ------------------------------------------------------------------------------

    def edge_q(self, child: Node) -> float:
        """Q(s,a) from the parent's view: r + gamma * V(child), or r - gamma * V(child) negamax."""
        return parent_view_return(child.reward, child.value(), self.config.discount,
                                  self.config.two_player)

    # -- step 1: selection -------------------------------------------------------------------

    def select_action(self, node: Node) -> int:
        """argmax_a of pUCT at ``node``; first index on ties; illegal root moves score -inf."""
        best_action, best_score = -1, -math.inf
        for action, prior in enumerate(node.prior):
            if node is self.root and not self.legal_actions[action]:
                continue  # score -inf: never selected
            child = node.children.get(action)
            if child is None:
                child_visits, normalized_q = 0, 0.0  # unvisited edge: Q̄ = 0
            else:
                child_visits = child.visit_count
                normalized_q = self.min_max_stats.normalize(self.edge_q(child))
            score = pucb_score(
                node.visit_count,
                child_visits,
                prior,
                normalized_q,
                self.config.pb_c_init,
                self.config.pb_c_base,
            )
            if score > best_score:  # strict: an equal later score does not displace the first
                best_action, best_score = action, score
        return best_action

    def select_leaf(self) -> tuple[Node, int]:
        """Descend by pUCT until an edge whose child is not expanded: return (parent, action)."""
        node = self.root
        while True:
            action = self.select_action(node)
            child = node.children.get(action)
            if child is None:
                self._pending = (node, action)
                return node, action
            node = child

    # -- step 3: expansion and backup --------------------------------------------------------

    def expand_and_backup(
        self, reward: float, value: float, prior: list[float], latent: torch.Tensor
    ) -> Node:
        """Add the child chosen by the last ``select_leaf`` and back its value up to the root.

        ``prior`` is softmax(logits) over ALL actions: inside the tree every action is allowed
        and nothing is terminal (Appendix B). Backup (pseudocode ``backpropagate``): G = v_leaf;
        each node on the path, leaf to root, gets value_sum += G and one more visit; then the
        parent-view Q of that edge updates the min-max statistics, and G becomes
        r + gamma * G (r - gamma * G in two-player games) for the parent.
        """
        if self._pending is None:
            raise RuntimeError("expand_and_backup needs a select_leaf first")
        parent, action = self._pending
        self._pending = None
        sign = -parent.to_play_sign if self.config.two_player else 1
        leaf = Node(len(self.nodes), parent, action, sign, reward, value, prior, latent)
        parent.children[action] = leaf
        self.nodes.append(leaf)

        backed_up = value  # G, from the view of the player to move at `node`
        node: Node | None = leaf
        while node is not None:
            node.value_sum += backed_up
            node.visit_count += 1
            if node.parent is not None:
                self.min_max_stats.update(self.edge_q(node))
                backed_up = parent_view_return(node.reward, backed_up, self.config.discount,
                                               self.config.two_player)
            node = node.parent
        return leaf


def tree_from_searches(
    searches: list[ReferenceSearch],
    root_prior_before_noise: torch.Tensor,
    legal_mask: torch.Tensor,
) -> Tree:
    """Stack B finished reference trees into the array ``Tree`` (node index = creation order)."""
    config = searches[0].config
    batch_size, num_nodes = len(searches), len(searches[0].nodes)
    num_actions = len(searches[0].root.prior)

    def ints(*shape: int, fill: int = 0) -> torch.Tensor:
        return torch.full(shape, fill, dtype=torch.int64)

    def floats(*shape: int) -> torch.Tensor:
        return torch.zeros(shape, dtype=torch.float64)

    parents, action_from_parent = ints(batch_size, num_nodes), ints(batch_size, num_nodes)
    depth, to_play_sign = ints(batch_size, num_nodes), ints(batch_size, num_nodes)
    node_visits = ints(batch_size, num_nodes)
    node_values, raw_values = floats(batch_size, num_nodes), floats(batch_size, num_nodes)
    rewards = floats(batch_size, num_nodes)
    children_index = ints(batch_size, num_nodes, num_actions, fill=-1)
    children_prior = floats(batch_size, num_nodes, num_actions)
    children_visits = ints(batch_size, num_nodes, num_actions)
    children_q = floats(batch_size, num_nodes, num_actions)
    q_min, q_max = floats(batch_size), floats(batch_size)

    for b, one in enumerate(searches):
        q_min[b], q_max[b] = one.min_max_stats.minimum, one.min_max_stats.maximum
        for node in one.nodes:
            n = node.index
            parents[b, n] = -1 if node.parent is None else node.parent.index
            action_from_parent[b, n] = node.action_from_parent
            depth[b, n], to_play_sign[b, n] = node.depth, node.to_play_sign
            node_visits[b, n], node_values[b, n] = node.visit_count, node.value()
            raw_values[b, n], rewards[b, n] = node.raw_value, node.reward
            children_prior[b, n] = torch.tensor(node.prior, dtype=torch.float64)
            for action, child in node.children.items():
                children_index[b, n, action] = child.index
                children_visits[b, n, action] = child.visit_count
                children_q[b, n, action] = one.edge_q(child)

    return Tree(
        parents=parents,
        action_from_parent=action_from_parent,
        depth=depth,
        to_play_sign=to_play_sign,
        node_visits=node_visits,
        node_values=node_values,
        raw_values=raw_values,
        rewards=rewards,
        children_index=children_index,
        children_prior=children_prior,
        children_visits=children_visits,
        children_q=children_q,
        root_prior_before_noise=root_prior_before_noise,
        legal_mask=legal_mask,
        q_min=q_min,
        q_max=q_max,
        num_simulations=config.num_simulations,
        discount=config.discount,
        two_player=config.two_player,
    )
