"""The records the search reads and writes: config, network outputs, the tree, the result.

The shapes follow DeepMind's mctx (``RootFnOutput``, ``RecurrentFnOutput``, ``Tree``), in torch:
``B`` is the batch of independent trees (one per game), ``A`` the number of actions, and
``N = num_simulations + 1`` the number of nodes in each tree (every simulation adds exactly one
node, because nothing inside the search is terminal; paper, Appendix B "Search").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from muzero_lite.checks import check_finite, check_float, check_int
from muzero_lite.search.pucb import parent_view_return


@dataclass(frozen=True)
class SearchConfig:
    """Constants of the search (paper, Appendix B and the pseudocode's ``MuZeroConfig``).

    num_simulations: simulations per search; each makes exactly one ``recurrent_fn`` call
        (paper: 800 in board games, 50 in Atari).
    discount: gamma in the backup ``G = r + gamma * G`` (0.997 in Atari, 1 in board games).
    pb_c_init, pb_c_base: c1 = 1.25 and c2 = 19652 of the pUCT rule (paper, eq. 2).
    dirichlet_alpha, exploration_fraction: root noise ``P = (1 - frac) * P + frac * Dir(alpha)``
        (Appendix D; 0.25 and 0.25 in Atari). ``exploration_fraction = 0`` means no noise, the
        greedy setting used for evaluation.
    two_player: negamax backup for two-player zero-sum games: every node's value is from the
        view of its own player to move, so the sign flips at every ply.
    value_bounds: known (min, max) of Q, e.g. (-1, 1) in board games; they seed the min-max
        statistics so the first Q values are not normalised against each other alone
        (pseudocode: ``KnownBounds``). ``None``: learn the bounds from the tree.
    """

    num_simulations: int = 50
    discount: float = 0.997
    pb_c_init: float = 1.25
    pb_c_base: float = 19652.0
    dirichlet_alpha: float = 0.25
    exploration_fraction: float = 0.25
    two_player: bool = False
    value_bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        check_int("num_simulations", self.num_simulations, 1)
        check_float("discount", self.discount, 0.0, 1.0)
        check_float("exploration_fraction", self.exploration_fraction, 0.0, 1.0)
        if check_finite("pb_c_init", self.pb_c_init) < 0.0:
            raise ValueError(f"pb_c_init must be >= 0, got {self.pb_c_init}")
        for name in ("pb_c_base", "dirichlet_alpha"):
            if check_finite(name, getattr(self, name)) <= 0.0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not isinstance(self.two_player, bool):
            raise TypeError(f"two_player must be a bool, got {type(self.two_player).__name__}")
        if self.value_bounds is not None:
            if not isinstance(self.value_bounds, (tuple, list)) or len(self.value_bounds) != 2:
                raise ValueError(
                    f"value_bounds must be None or a pair (min, max), got {self.value_bounds!r}"
                )
            low = check_finite("value_bounds[0]", self.value_bounds[0])
            high = check_finite("value_bounds[1]", self.value_bounds[1])
            if not low < high:
                raise ValueError(f"value_bounds must have min < max, got {self.value_bounds!r}")
            object.__setattr__(self, "value_bounds", (low, high))


def _check_batch_vector(name: str, tensor: object, batch_size: int | None) -> int:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() != 1 or (batch_size is not None and tensor.shape[0] != batch_size):
        expected = "[B]" if batch_size is None else f"[{batch_size}]"
        raise ValueError(f"{name} must have shape {expected}, got {list(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return tensor.shape[0]


def _check_logits(name: str, tensor: object) -> tuple[int, int]:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() != 2 or tensor.shape[0] < 1 or tensor.shape[1] < 1:
        raise ValueError(f"{name} must have shape [B, A] with B, A >= 1, got {list(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return tensor.shape[0], tensor.shape[1]


@dataclass(frozen=True)
class RootOutput:
    """What the representation h and prediction f say about the root (mctx ``RootFnOutput``).

    prior_logits: [B, A] finite policy logits p^0; the search applies the softmax (mask illegal
        actions with ``search``'s ``legal_mask``, not with -inf logits).
    value: [B] value v^0 from the view of the player to move at the root.
    latent: [B, ...] hidden state s^0, handed back to ``recurrent_fn`` as it is.
    """

    prior_logits: torch.Tensor
    value: torch.Tensor
    latent: torch.Tensor

    def __post_init__(self) -> None:
        batch_size, _ = _check_logits("root.prior_logits", self.prior_logits)
        _check_batch_vector("root.value", self.value, batch_size)
        if not isinstance(self.latent, torch.Tensor):
            raise TypeError(f"root.latent must be a torch.Tensor, got {type(self.latent).__name__}")
        if self.latent.dim() < 1 or self.latent.shape[0] != batch_size:
            raise ValueError(
                f"root.latent must have shape [{batch_size}, ...], got {list(self.latent.shape)}"
            )

    @property
    def batch_size(self) -> int:
        return self.prior_logits.shape[0]

    @property
    def num_actions(self) -> int:
        return self.prior_logits.shape[1]


@dataclass(frozen=True)
class RecurrentOutput:
    """What dynamics g and prediction f say about a new node (mctx ``RecurrentFnOutput``).

    reward: [B] reward r^k of the edge into the node, from the view of the player who moved.
    value: [B] value v^k of the node, from the view of the node's player to move.
    prior_logits: [B, A] finite policy logits p^k of the node.

    A plain record: the search checks what ``recurrent_fn`` returns (``check_recurrent_output``).
    """

    reward: torch.Tensor
    value: torch.Tensor
    prior_logits: torch.Tensor


def check_recurrent_output(output: object, next_latent: object, root: RootOutput,
                           first: bool) -> None:
    """What ``recurrent_fn`` returned, checked by both searches after every call.

    Shapes and types every call (no values read: nothing waits for the device); on the
    ``first`` call of a search also that the values are finite. A NaN later on flows into the
    tree's values, as in mctx: a check per simulation would cost a device sync each on a GPU.
    """
    batch_size, num_actions = root.batch_size, root.num_actions
    if not isinstance(output, RecurrentOutput):
        raise TypeError(
            f"recurrent_fn must return (RecurrentOutput, latent), got {type(output).__name__}"
        )
    for name, expected in (("prior_logits", (batch_size, num_actions)),
                           ("reward", (batch_size,)), ("value", (batch_size,))):
        tensor = getattr(output, name)
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"recurrent_fn {name} must be a torch.Tensor, "
                            f"got {type(tensor).__name__}")
        if tensor.shape != expected:
            raise ValueError(f"recurrent_fn {name} must have shape {list(expected)}, "
                             f"got {list(tensor.shape)}")
        if first and not torch.isfinite(tensor).all():
            raise ValueError(f"recurrent_fn {name} must be finite (no NaN or inf)")
    if not isinstance(next_latent, torch.Tensor):
        raise TypeError(
            f"recurrent_fn must return a torch.Tensor latent, got {type(next_latent).__name__}"
        )
    if next_latent.shape != root.latent.shape or next_latent.dtype != root.latent.dtype:
        raise ValueError(
            f"recurrent_fn latent must have shape {list(root.latent.shape)} and dtype "
            f"{root.latent.dtype} like root.latent, got {list(next_latent.shape)} "
            f"{next_latent.dtype}"
        )


RecurrentFn = Callable[[torch.Tensor, torch.Tensor], tuple[RecurrentOutput, torch.Tensor]]
"""``(latent [B, ...], action LongTensor [B]) -> (RecurrentOutput, next_latent [B, ...])``."""


@dataclass(frozen=True)
class Tree:
    """The finished search trees, as arrays (like mctx's ``Tree``), for inspection and the widget.

    Node ``0`` is the root; the node expanded by simulation ``s`` (0-based) is node ``s + 1``, so
    the growth of the tree can be replayed: after ``k`` simulations the tree holds nodes
    ``0..k``, node ``n``'s path is its ancestor chain (``path_to``) and the visits and values at
    that moment follow from ``raw_values`` and ``rewards`` alone (``replay``).

    Shapes: ``B`` trees, ``N = num_simulations + 1`` nodes, ``A`` actions. Values are float64
    (the precision the search computed them in); ids and counts are int64; all on the CPU.

    parents [B, N]: parent node index, -1 at the root.
    action_from_parent [B, N]: the action on the edge into the node, -1 at the root.
    depth [B, N]: 0 at the root.
    to_play_sign [B, N]: +1 where the root's player is to move, -1 where the opponent is
        (always +1 in one-player search).
    node_visits [B, N]: N(s); the root counts its own network value as its first visit.
    node_values [B, N]: V(s) = value_sum / visits, from the view of the node's player to move.
    raw_values [B, N]: the network value v at expansion (same view).
    rewards [B, N]: reward r of the edge into the node, from the view of the parent's player
        (0 at the root).
    children_index [B, N, A]: child node index, -1 where that action was never expanded.
    children_prior [B, N, A]: P(s, a); at the root: masked softmax after the Dirichlet noise.
    children_visits [B, N, A]: N(s, a).
    children_q [B, N, A]: Q(s, a) = r + gamma * (+-V(child)) from s's view; 0 where unvisited.
    root_prior_before_noise [B, A]: the root's masked softmax, before noise.
    legal_mask [B, A]: the actions the root was allowed to take.
    q_min, q_max [B]: the final min-max statistics (inf / -inf if no Q was ever seen).
    """

    parents: torch.Tensor
    action_from_parent: torch.Tensor
    depth: torch.Tensor
    to_play_sign: torch.Tensor
    node_visits: torch.Tensor
    node_values: torch.Tensor
    raw_values: torch.Tensor
    rewards: torch.Tensor
    children_index: torch.Tensor
    children_prior: torch.Tensor
    children_visits: torch.Tensor
    children_q: torch.Tensor
    root_prior_before_noise: torch.Tensor
    legal_mask: torch.Tensor
    q_min: torch.Tensor
    q_max: torch.Tensor
    num_simulations: int
    discount: float
    two_player: bool

    @property
    def batch_size(self) -> int:
        return self.parents.shape[0]

    @property
    def num_nodes(self) -> int:
        return self.parents.shape[1]

    @property
    def num_actions(self) -> int:
        return self.children_index.shape[2]

    def _check_node(self, b: int, node: int) -> None:
        if not 0 <= b < self.batch_size:
            raise ValueError(f"b must be in [0, {self.batch_size}), got {b}")
        if not 0 <= node < self.num_nodes:
            raise ValueError(f"node must be in [0, {self.num_nodes}), got {node}")

    def path_to(self, b: int, node: int) -> list[int]:
        """Node indices from the root down to ``node`` in tree ``b``: ``[0, ..., node]``.

        This is the search path of simulation ``node - 1``, the one that expanded ``node``.
        """
        self._check_node(b, node)
        path = [node]
        while path[-1] != 0:
            path.append(int(self.parents[b, path[-1]]))
        return path[::-1]

    def replay(self, b: int, num_simulations: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Visits and values of nodes ``0..k`` of tree ``b`` as they were after ``k`` simulations.

        Re-runs the backup of every simulation up to ``k`` from the stored raw values and rewards
        (same rule as the search: ``G = r + gamma * G``, with ``-G`` in two-player games), so the
        widget can show the tree growing. ``replay(b, num_simulations)`` equals the final
        ``node_visits[b]`` and ``node_values[b]``.
        """
        if not 0 <= num_simulations <= self.num_simulations:
            raise ValueError(
                f"num_simulations must be in [0, {self.num_simulations}], got {num_simulations}"
            )
        self._check_node(b, 0)
        count = num_simulations + 1
        visits = torch.zeros(count, dtype=torch.int64)
        value_sums = torch.zeros(count, dtype=torch.float64)
        for leaf in range(count):  # node 0 is the root's own first visit
            backed_up = float(self.raw_values[b, leaf])
            node = leaf
            while node != -1:
                value_sums[node] += backed_up
                visits[node] += 1
                backed_up = parent_view_return(float(self.rewards[b, node]), backed_up,
                                               self.discount, self.two_player)
                node = int(self.parents[b, node])
        return visits, value_sums / visits


@dataclass(frozen=True)
class SearchResult:
    """What ``search`` returns (mctx ``PolicyOutput`` without the action choice).

    visit_counts: [B, A] int64, N(root, a); sums to ``num_simulations`` in every row.
    root_value: [B] float32, V(root) = the mean of all backed-up returns, root's view.
    q_values: [B, A] float32, Q(root, a); 0 for actions never visited.
    tree: the whole trees, see ``Tree``.
    """

    visit_counts: torch.Tensor
    root_value: torch.Tensor
    q_values: torch.Tensor
    tree: Tree
