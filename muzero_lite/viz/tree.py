"""Drawing a search tree: snapshot records, DOT text, SVG through Graphviz, a matplotlib fallback.

The search returns its whole tree as arrays (``search(...).tree``, see ``search/types.py``).
Node ``0`` is the root and node ``s + 1`` was added by simulation ``s`` (0-based), because every
simulation expands exactly one node (paper, Appendix B). So the tree "after simulation k" is
simply nodes ``0..k+1``, and its visit counts and values at that moment follow from replaying
the backups (``Tree.replay``). That is what lets the widget's slider show the search growing.

Conventions of this module:

* ``after_simulation = k`` counts simulations from 0, like the node ids: after simulation ``k``
  the tree holds ``k + 2`` nodes (the root plus one per simulation ``0..k``), ``k + 1``
  simulations have run, and the newest node is ``k + 1``. ``k = -1`` is the tree before any
  simulation: the root alone. ``None`` means the finished search (``k = num_simulations - 1``).
* The highlighted "latest path" is the search path of simulation ``k``: the root's chain down to
  the node it added, ``tree.path_to(b, k + 1)``. For ``k = -1`` it is the root alone.
* Values keep the search's views (negamax, paper Appendix B / pseudocode ``backpropagate``):
  V (search value) and v (network value) are from the view of the player to move AT the node;
  Q and r belong to the edge into the node and are from the view of the player who chose that
  edge (the parent's player). In one-player search all views are the same player's.
* P is the prior of the edge into the node, P(parent, a); at the root's children it is the
  prior the search used, i.e. after the Dirichlet noise (Appendix D).
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import graphviz
import torch

from muzero_lite.search.pucb import parent_view_return
from muzero_lite.search.types import Tree

if TYPE_CHECKING:  # matplotlib is imported lazily: only the fallback drawing needs it
    from matplotlib.axes import Axes

HIGHLIGHT_COLOR = "#d62728"  # the latest simulation's path (red)
OPPONENT_FILL = "#e8eef8"  # two-player trees: nodes where the opponent is to move (light blue)
PLAYER_FILL = "#ffffff"
SELECTED_COLOR = "#1f5fbf"  # the node picked in the widget (blue ring)
SELECTED_FILL = "#fff2a8"  # ... and its fill (pale yellow)


# ------------------------------------------------------------------------------ the records


@dataclass(frozen=True)
class NodeRecord:
    """One node of the tree as it was after some simulation (plain numbers, no tensors).

    index: node id (``n{index}`` in DOT and SVG); node ``s + 1`` was added by simulation ``s``.
    parent, action: the parent's index and the action on the edge into this node (-1 at root).
    depth: 0 at the root.
    to_play_sign: +1 where the root's player is to move, -1 where the opponent is.
    visits: N(s), the root's own first visit included (mctx convention, see ``reference.py``).
    value: V(s), the mean backed-up return, from the view of the player to move here.
    q: Q(parent, action) = r + gamma * V (r - gamma * V in two-player games), parent's view;
        None at the root, which has no edge into it.
    prior: P(parent, action), None at the root.
    reward: r of the edge into the node, parent's view (0 at the root).
    network_value: v, what the prediction network said when the node was expanded.
    """

    index: int
    parent: int
    action: int
    depth: int
    to_play_sign: int
    visits: int
    value: float
    q: float | None
    prior: float | None
    reward: float
    network_value: float


@dataclass(frozen=True)
class TreeSnapshot:
    """Tree ``b`` of a search as it stood after simulation ``after_simulation``.

    nodes: every node present, in index order (``nodes[i].index == i``): ``after_simulation + 2``
        of them.
    latest_path: node indices from the root to the node added by simulation ``after_simulation``
        (``Tree.path_to``), the path the drawings highlight.
    """

    b: int
    after_simulation: int
    num_simulations: int
    num_actions: int
    two_player: bool
    discount: float
    nodes: tuple[NodeRecord, ...]
    latest_path: tuple[int, ...]
    root_noise: bool = False  # whether Dirichlet noise changed the root's priors

    @property
    def newest(self) -> int:
        """The node added by the latest simulation (the root if none has run)."""
        return self.latest_path[-1]

    def children(self, node: int) -> tuple[NodeRecord, ...]:
        """The expanded children of ``node``, in action order."""
        kids = [record for record in self.nodes if record.parent == node]
        return tuple(sorted(kids, key=lambda record: record.action))

    def action_path(self, node: int) -> tuple[int, ...]:
        """The actions from the root down to ``node`` (empty for the root)."""
        actions = []
        while node != 0:
            actions.append(self.nodes[node].action)
            node = self.nodes[node].parent
        return tuple(reversed(actions))


# ------------------------------------------------------------------------------ validation


def _require_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    return value


def _check_tree(tree: object) -> Tree:
    if not isinstance(tree, Tree):
        raise TypeError(
            f"tree must be a muzero_lite.search.Tree (search(...).tree), got {type(tree).__name__}"
        )
    return tree


def _check_b(tree: Tree, b: object) -> int:
    b = _require_int("b", b)
    if not 0 <= b < tree.batch_size:
        raise ValueError(f"b must be in [0, {tree.batch_size}) (the trees of the batch), got {b}")
    return b


def _check_after_simulation(tree: Tree, after_simulation: object) -> int:
    if after_simulation is None:
        return tree.num_simulations - 1
    after_simulation = _require_int("after_simulation", after_simulation)
    if not -1 <= after_simulation < tree.num_simulations:
        raise ValueError(
            f"after_simulation must be None or in [-1, {tree.num_simulations - 1}] "
            f"(-1: the root before any simulation), got {after_simulation}"
        )
    return after_simulation


def check_action_labels(action_labels: object, num_actions: int) -> tuple[str, ...] | None:
    """Validate ``action_labels`` (None, or one string per action); return them as a tuple."""
    if action_labels is None:
        return None
    if isinstance(action_labels, str) or not isinstance(action_labels, Sequence):
        raise TypeError(
            f"action_labels must be None or a sequence of {num_actions} strings, "
            f"got {type(action_labels).__name__}"
        )
    if len(action_labels) != num_actions:
        raise ValueError(
            f"action_labels must have one label per action ({num_actions}), "
            f"got {len(action_labels)}"
        )
    if not all(isinstance(label, str) for label in action_labels):
        raise TypeError("action_labels must hold only strings")
    return tuple(action_labels)


def _check_filters(max_depth: object, min_visits: object) -> tuple[int | None, int]:
    if max_depth is not None:
        max_depth = _require_int("max_depth", max_depth)
        if max_depth < 0:
            raise ValueError(f"max_depth must be None or >= 0, got {max_depth}")
    min_visits = _require_int("min_visits", min_visits)
    if min_visits < 0:
        raise ValueError(f"min_visits must be >= 0, got {min_visits}")
    return max_depth, min_visits


def _check_snapshot(snapshot: object) -> TreeSnapshot:
    if not isinstance(snapshot, TreeSnapshot):
        raise TypeError(
            f"snapshot must be a TreeSnapshot (from tree_snapshot), got {type(snapshot).__name__}"
        )
    return snapshot


# ------------------------------------------------------------------------------ the snapshot


def tree_snapshot(tree: Tree, b: int = 0, after_simulation: int | None = None) -> TreeSnapshot:
    """The nodes of tree ``b`` present after simulation ``after_simulation``, with their numbers.

    ``after_simulation``: -1 (root only) .. ``num_simulations - 1``; None for the finished tree.
    Visits and values are replayed as they were at that moment (``Tree.replay``); Q is
    recomputed from them exactly as the search does (``ReferenceSearch.edge_q``):
    Q = r + gamma * V(child), or r - gamma * V(child) in two-player games (negamax).
    """
    tree = _check_tree(tree)
    b = _check_b(tree, b)
    k = _check_after_simulation(tree, after_simulation)
    num_nodes = k + 2  # the root, then one node per simulation 0..k
    visits, values = tree.replay(b, k + 1)  # replay counts simulations, 1-based

    nodes = []
    for n in range(num_nodes):
        parent, action = int(tree.parents[b, n]), int(tree.action_from_parent[b, n])
        reward, value = float(tree.rewards[b, n]), float(values[n])
        if parent == -1:
            q, prior = None, None
        else:
            q = parent_view_return(reward, value, tree.discount, tree.two_player)
            prior = float(tree.children_prior[b, parent, action])
        nodes.append(
            NodeRecord(
                index=n,
                parent=parent,
                action=action,
                depth=int(tree.depth[b, n]),
                to_play_sign=int(tree.to_play_sign[b, n]),
                visits=int(visits[n]),
                value=value,
                q=q,
                prior=prior,
                reward=reward,
                network_value=float(tree.raw_values[b, n]),
            )
        )
    return TreeSnapshot(
        b=b,
        after_simulation=k,
        num_simulations=tree.num_simulations,
        num_actions=tree.num_actions,
        two_player=tree.two_player,
        discount=tree.discount,
        nodes=tuple(nodes),
        latest_path=tuple(tree.path_to(b, num_nodes - 1)),
        root_noise=not torch.allclose(tree.children_prior[b, 0].double(),
                                      tree.root_prior_before_noise[b].double(),
                                      rtol=0.0, atol=1e-12),
    )


def visible_nodes(
    snapshot: TreeSnapshot, max_depth: int | None = None, min_visits: int = 0
) -> tuple[int, ...]:
    """The node indices a drawing shows, in index order.

    A node is shown when its parent is shown, its depth is at most ``max_depth`` (None: any) and
    it has at least ``min_visits`` visits. The root is always shown, and the latest path is
    exempt from ``min_visits`` (its newest node always has N = 1, and it is what the picture is
    about); ``max_depth`` still cuts it. A parent has more visits than its child, and a smaller
    index, so one pass in index order keeps the shown nodes a connected tree.
    """
    snapshot = _check_snapshot(snapshot)
    max_depth, min_visits = _check_filters(max_depth, min_visits)
    on_path = set(snapshot.latest_path)
    shown: set[int] = {0}
    for record in snapshot.nodes[1:]:
        if record.parent not in shown:
            continue
        if max_depth is not None and record.depth > max_depth:
            continue
        if record.visits < min_visits and record.index not in on_path:
            continue
        shown.add(record.index)
    return tuple(sorted(shown))


# ------------------------------------------------------------------------------ text


def format_number(x: float) -> str:
    """Two decimals, and never "-0.00" (a tiny negative rounds to a plain zero)."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def action_name(action: int, action_labels: Sequence[str] | None) -> str:
    """The label of ``action``: ``action_labels[action]`` if given, else the number."""
    return str(action) if action_labels is None else action_labels[action]


def view_note(two_player: bool) -> str:
    """The legend: from whose view each number is (the negamax convention)."""
    if two_player:
        return (
            "two players: V, v from the view of the player to move at the node;\n"
            "Q, r from the view of the player who chose the edge; shaded: opponent to move"
        )
    return "N visits, V search value, v network value, Q = r + γ·V of the edge, P prior, r reward"


def title(snapshot: TreeSnapshot, num_shown: int) -> str:
    """The title line: which tree, which simulation, how many nodes are drawn."""
    k, total = snapshot.after_simulation, len(snapshot.nodes)
    if k == -1:
        moment = "before any simulation"
    else:
        moment = f"after simulation {k} ({k + 1} of {snapshot.num_simulations} run)"
    return f"search tree b={snapshot.b}, {moment}: {num_shown} of {total} nodes shown"


def _node_summary(record: NodeRecord) -> str:
    """Full-precision numbers of one node, for the SVG tooltip (hover in a browser)."""
    parts = [f"n{record.index}", f"N={record.visits}", f"V={record.value:.4f}"]
    if record.q is not None and record.prior is not None:
        parts += [f"Q={record.q:.4f}", f"P={record.prior:.4f}", f"r={record.reward:.4f}"]
    parts.append(f"v={record.network_value:.4f}")
    return " ".join(parts)


# ------------------------------------------------------------------------------ DOT


def _dot_text(text: str) -> str:
    """Plain text for a DOT attribute: backslashes doubled (``graphviz`` escapes the quotes),
    newlines as DOT's ``\\n``."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _node_label(record: NodeRecord) -> str:
    """A compact HTML-like Graphviz label: id and N, then V and Q, then P, r and v."""
    head = f"<B>n{record.index}</B> N={record.visits}"
    value = f"V={format_number(record.value)}"
    if record.q is None or record.prior is None:  # the root: no edge into it
        lines = [head + " root", value, f"v={format_number(record.network_value)}"]
    else:
        lines = [
            head,
            f"{value} Q={format_number(record.q)}",
            f"P={format_number(record.prior)} r={format_number(record.reward)} "
            f"v={format_number(record.network_value)}",
        ]
    return "<" + "<BR/>".join(lines) + ">"


def snapshot_to_dot(
    snapshot: TreeSnapshot,
    action_labels: Sequence[str] | None = None,
    max_depth: int | None = None,
    min_visits: int = 0,
    caption: bool = True,
) -> str:
    """DOT text of a snapshot (see ``tree_to_dot``, which builds the snapshot for you).

    caption: put the title and the legend (``title``, ``view_note``) on top of the drawing as
    the graph's label; the widget passes False and shows them as wrapping HTML instead.
    """
    snapshot = _check_snapshot(snapshot)
    labels = check_action_labels(action_labels, snapshot.num_actions)
    shown = visible_nodes(snapshot, max_depth, min_visits)
    on_path = set(snapshot.latest_path)
    if not isinstance(caption, bool):
        raise TypeError(f"caption must be a bool, got {caption!r}")

    graph = {"ordering": "out", "fontname": "Helvetica", "fontsize": "11"}
    if caption:
        graph["label"] = _dot_text(title(snapshot, len(shown)) + "\n"
                                   + view_note(snapshot.two_player))
        graph["labelloc"] = "t"
    dot = graphviz.Digraph(
        "search_tree", graph_attr=graph,
        node_attr={"shape": "box", "style": "rounded,filled", "color": "#555555",
                   "fontname": "Helvetica", "fontsize": "10", "margin": "0.06,0.03"},
        edge_attr={"color": "#888888", "fontname": "Helvetica", "fontsize": "9",
                   "arrowsize": "0.6"})
    latest = {"class": "latest", "color": HIGHLIGHT_COLOR, "penwidth": "2.5"}
    for index in shown:  # nodes by index: node n12 is always written the same way
        record = snapshot.nodes[index]
        fill = OPPONENT_FILL if record.to_play_sign < 0 else PLAYER_FILL
        dot.node(f"n{index}", _node_label(record), id=f"n{index}", fillcolor=fill,
                 tooltip=_node_summary(record), **(latest if index in on_path else {}))
    # Edges parent by parent, children in action order, so that with ordering="out" the actions
    # read left to right.
    shown_set = set(shown)
    for parent in shown:
        for child in snapshot.children(parent):
            if child.index not in shown_set:
                continue
            bold = {**latest, "fontcolor": HIGHLIGHT_COLOR, "style": "bold"}
            dot.edge(f"n{parent}", f"n{child.index}",
                     _dot_text(action_name(child.action, labels)), id=f"e{child.index}",
                     **(bold if child.index in on_path else {}))
    return dot.source


def tree_to_dot(
    tree: Tree,
    b: int = 0,
    after_simulation: int | None = None,
    action_labels: Sequence[str] | None = None,
    max_depth: int | None = None,
    min_visits: int = 0,
) -> str:
    """DOT text for tree ``b`` after simulation ``after_simulation`` (None: the finished tree).

    One box per shown node, id ``n{index}``, labelled with N, V, Q, P, r, v (two decimals; the
    tooltip has four); one edge per parent-child pair, id ``e{child}``, labelled with the action
    (``action_labels[a]`` if given, e.g. cell names). The latest simulation's path is drawn in
    red and bold, with ``class="latest"`` on its nodes and edges. ``max_depth`` and
    ``min_visits`` hide nodes (see ``visible_nodes``). The same input always gives the same text.
    """
    snapshot = tree_snapshot(tree, b, after_simulation)
    return snapshot_to_dot(snapshot, action_labels, max_depth, min_visits)


# ------------------------------------------------------------------------------ SVG


def has_dot() -> bool:
    """Whether Graphviz's ``dot`` program is on the PATH (the python package needs it to render)."""
    return shutil.which("dot") is not None


def render_svg(dot_text: str) -> str:
    """Render DOT text to SVG text with Graphviz (starts at ``<svg``, no XML prolog).

    Raises RuntimeError when ``dot`` is missing (check ``has_dot()`` first, or use
    ``draw_matplotlib``) and ValueError when ``dot`` rejects the text.
    """
    if not isinstance(dot_text, str):
        raise TypeError(f"dot_text must be a str, got {type(dot_text).__name__}")
    try:
        svg = graphviz.Source(dot_text).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound as error:
        raise RuntimeError(
            "render_svg needs Graphviz's `dot` program (apt-get install graphviz, "
            "conda install graphviz); without it use draw_matplotlib"
        ) from error
    except subprocess.CalledProcessError as error:
        raise ValueError(f"dot_text is not valid DOT: {error.stderr!r}") from error
    return svg[svg.index("<svg") :]


# ------------------------------------------------------------------------------ matplotlib


def _layout(snapshot: TreeSnapshot, shown: Sequence[int]) -> dict[int, tuple[float, float]]:
    """Layered layout: y = -depth; leaves at x = 0, 1, 2, ... in depth-first action order; a
    parent centred over its first and last child."""
    shown_set = set(shown)
    position: dict[int, tuple[float, float]] = {}
    next_leaf_x = 0.0

    def place(index: int) -> float:
        nonlocal next_leaf_x
        kids = [kid.index for kid in snapshot.children(index) if kid.index in shown_set]
        if kids:
            xs = [place(kid) for kid in kids]
            x = (xs[0] + xs[-1]) / 2
        else:
            x, next_leaf_x = next_leaf_x, next_leaf_x + 1.0
        position[index] = (x, -float(snapshot.nodes[index].depth))
        return x

    place(0)
    return position


def _figure_size(position: dict[int, tuple[float, float]]) -> tuple[float, float]:
    """Inches: about 1.3 per leaf (6 to 30 wide) and 1 per level, plus room for the title."""
    num_leaves = 1 + max(x for x, _ in position.values())
    depth = max(-y for _, y in position.values())
    return min(30.0, max(6.0, 1.3 * num_leaves)), 1.0 * depth + 2.0


def draw_matplotlib(
    snapshot: TreeSnapshot,
    ax: Axes | None = None,
    action_labels: Sequence[str] | None = None,
    max_depth: int | None = None,
    min_visits: int = 0,
    selected: int | None = None,
) -> Axes:
    """The fallback drawing when ``dot`` is missing: a plain matplotlib picture of the snapshot.

    Depth runs down the y axis and the leaves spread along x; circles are sized by N and
    labelled with their id and N over Q (the root: V); edges carry the action labels; the
    latest path is red; node ``selected`` (if given and drawn) gets a thick blue ring and a
    yellow fill. Draws into ``ax`` (a new pyplot figure when None) and returns the axes.
    """
    snapshot = _check_snapshot(snapshot)
    labels = check_action_labels(action_labels, snapshot.num_actions)
    shown = visible_nodes(snapshot, max_depth, min_visits)
    position = _layout(snapshot, shown)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=_figure_size(position))

    on_path = set(snapshot.latest_path)
    root_visits = snapshot.nodes[0].visits
    for index in shown[1:]:  # edges first, so the circles sit on top of them
        record = snapshot.nodes[index]
        (x0, y0), (x1, y1) = position[record.parent], position[index]
        highlighted = index in on_path
        ax.plot(
            [x0, x1],
            [y0, y1],
            color=HIGHLIGHT_COLOR if highlighted else "#999999",
            linewidth=2.5 if highlighted else 1.0,
            zorder=1,
        )
        ax.text(
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            action_name(record.action, labels),
            fontsize=8,
            color=HIGHLIGHT_COLOR if highlighted else "#555555",
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none"},
            zorder=2,
        )
    for index in shown:
        record = snapshot.nodes[index]
        x, y = position[index]
        highlighted = index in on_path
        size = 60 + 500 * math.sqrt(record.visits / root_visits)  # marker area grows with N
        fill = OPPONENT_FILL if record.to_play_sign < 0 else PLAYER_FILL
        edge = HIGHLIGHT_COLOR if highlighted else "#555555"
        width = 2.5 if highlighted else 1.0
        if index == selected:
            fill, edge, width = SELECTED_FILL, SELECTED_COLOR, 3.5
        ax.scatter([x], [y], s=size, color=fill, edgecolors=edge, linewidths=width, zorder=3)
        shown_value = record.value if record.q is None else record.q
        name = "V" if record.q is None else "Q"
        ax.annotate(  # just right of the circle (its diameter is sqrt(size) points)
            f"n{index} N={record.visits}\n{name}={format_number(shown_value)}",
            (x, y),
            xytext=(math.sqrt(size) / 2 + 3, 0),
            textcoords="offset points",
            fontsize=7,
            ha="left",
            va="center",
            bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.8, "lw": 0},
            zorder=4,
        )
    ax.set_title(
        title(snapshot, len(shown)) + "\n" + view_note(snapshot.two_player),
        fontsize=8,
    )
    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.9)  # room on the right for the last labels
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    return ax


def matplotlib_png(
    snapshot: TreeSnapshot,
    action_labels: Sequence[str] | None = None,
    max_depth: int | None = None,
    min_visits: int = 0,
    dpi: int = 80,
    selected: int | None = None,
) -> bytes:
    """``draw_matplotlib`` rendered to PNG bytes, without pyplot (no figure left open, nothing
    displayed): what the widget shows when ``dot`` is missing."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    snapshot = _check_snapshot(snapshot)
    shown = visible_nodes(snapshot, max_depth, min_visits)
    figure = Figure(figsize=_figure_size(_layout(snapshot, shown)))
    FigureCanvasAgg(figure)
    draw_matplotlib(snapshot, figure.add_subplot(), action_labels, max_depth, min_visits, selected)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
