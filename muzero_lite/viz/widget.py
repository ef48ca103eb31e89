"""``SearchTreeWidget``: watch a search tree grow, one simulation at a time, in Jupyter.

    from muzero_lite.viz import show_search
    show_search(result)          # last line of a cell: the widget appears

Four parts, top to bottom, each with a stable CSS class so a browser test can find it:

* an IntSlider "simulation" (``mzl-tree-slider``): 0 .. num_simulations - 1, starting at the
  last; moving it redraws the tree as it stood after that simulation (``tree.tree_snapshot``);
* the drawing: SVG from Graphviz in an ``ipywidgets.HTML`` (``mzl-tree-svg``), or, where the
  ``dot`` program is missing, a matplotlib PNG in an ``ipywidgets.Image`` (``mzl-tree-png``);
* a Dropdown of the drawn nodes, "n12: a=4, N=3" (``mzl-tree-node-select``);
* an HTML box with the selected node's numbers and its path from the root
  (``mzl-tree-details``).

The widget only ever sets widget values (HTML text, PNG bytes, options); it never prints into
an ``ipywidgets.Output``, which would trip nbval when the notebooks are executed. Clicking a node
in the SVG cannot reach Python without custom JavaScript, so the SVG carries each node's numbers
as a hover tooltip and the Dropdown does the selecting.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets

from muzero_lite.search.types import SearchResult, Tree
from muzero_lite.viz import tree as tree_viz
from muzero_lite.viz.tree import NodeRecord, TreeSnapshot, action_name, format_number


def _as_tree(result_or_tree: object) -> Tree:
    if isinstance(result_or_tree, SearchResult):
        return result_or_tree.tree
    if isinstance(result_or_tree, Tree):
        return result_or_tree
    raise TypeError(
        "result_or_tree must be a SearchResult (what search returns) or its .tree, "
        f"got {type(result_or_tree).__name__}"
    )


def _option_label(record: NodeRecord, labels: Sequence[str] | None) -> str:
    """The Dropdown's text for a node: "n12: a=4, N=3" (the root: "n0: root, N=13")."""
    if record.parent == -1:
        return f"n0: root, N={record.visits}"
    return f"n{record.index}: a={action_name(record.action, labels)}, N={record.visits}"


def node_details_html(
    snapshot: TreeSnapshot, node: int, action_labels: Sequence[str] | None = None
) -> str:
    """The selected node's numbers as a small HTML table, with its path and its children."""
    record = snapshot.nodes[node]
    own_view = "view of the player to move here" if snapshot.two_player else "search value"
    edge_view = "view of the player who chose the edge" if snapshot.two_player else "of the edge"
    rows = [("N", str(record.visits), "visits")]
    rows.append(("V", format_number(record.value), f"mean backed-up return, {own_view}"))
    if record.q is not None and record.prior is not None:
        backup = "r − γ·V" if snapshot.two_player else "r + γ·V"  # negamax flips the sign
        rows.append(("Q", format_number(record.q), f"{backup}, {edge_view}"))
        noise = ", after the root's Dirichlet noise" if record.depth == 1 else ""
        rows.append(("P", format_number(record.prior), f"prior of the edge{noise}"))
        rows.append(("r", format_number(record.reward), f"reward, {edge_view}"))
    rows.append(("v", format_number(record.network_value), "network value at expansion"))

    path = " → ".join(action_name(a, action_labels) for a in snapshot.action_path(node))
    origin = "the root" if node == 0 else f"added by simulation {node - 1}"
    parts = [
        f"<div><b>n{node}</b> ({origin}, depth {record.depth})</div>",
        f"<div>path from the root: {html.escape(path) if path else '(root)'}</div>",
        "<table>",
    ]
    parts += [
        f"<tr><td><b>{name}</b></td><td>{value}</td><td>{html.escape(meaning)}</td></tr>"
        for name, value, meaning in rows
    ]
    parts.append("</table>")
    children = snapshot.children(node)
    if children:
        listed = ", ".join(
            f"{html.escape(action_name(kid.action, action_labels))}: N={kid.visits} "
            f"Q={format_number(kid.q or 0.0)}"
            for kid in children
        )
        parts.append(f"<div>children: {listed}</div>")
    return "\n".join(parts)


class SearchTreeWidget(widgets.VBox):
    """A slider over the simulations, the tree drawing, a node picker and the node's numbers.

    result_or_tree: ``search(...)``'s result or its ``.tree``; b: which tree of the batch;
    action_labels: one name per action (e.g. cell names in board games); max_depth,
    min_visits: hide deep or rarely visited nodes (``tree.visible_nodes``); use_graphviz: draw
    SVG with Graphviz (True), with matplotlib (False), or SVG when ``dot`` is installed (None).
    """

    def __init__(
        self,
        result_or_tree: SearchResult | Tree,
        b: int = 0,
        action_labels: Sequence[str] | None = None,
        max_depth: int | None = None,
        min_visits: int = 0,
        use_graphviz: bool | None = None,
    ) -> None:
        tree = _as_tree(result_or_tree)
        # Validate everything before building any widget: a bad argument leaves nothing behind.
        first = tree_viz.tree_snapshot(tree, b)
        labels = tree_viz.check_action_labels(action_labels, tree.num_actions)
        tree_viz.visible_nodes(first, max_depth, min_visits)
        if use_graphviz is not None and not isinstance(use_graphviz, bool):
            raise TypeError(f"use_graphviz must be None or a bool, got {use_graphviz!r}")
        if use_graphviz is None:
            use_graphviz = tree_viz.has_dot()

        slider = widgets.IntSlider(
            value=tree.num_simulations - 1,
            min=0,
            max=tree.num_simulations - 1,
            description="simulation",
            continuous_update=False,  # redraw when the handle is released, not at every pixel
        )
        drawing = widgets.HTML() if use_graphviz else widgets.Image(format="png")
        drawing.layout.overflow = "auto"  # a 50-simulation tree is wider than the page: scroll
        node_select = widgets.Dropdown(description="node")
        details = widgets.HTML()
        slider.add_class("mzl-tree-slider")
        drawing.add_class("mzl-tree-svg" if use_graphviz else "mzl-tree-png")
        node_select.add_class("mzl-tree-node-select")
        details.add_class("mzl-tree-details")
        super().__init__(children=[slider, drawing, node_select, details])
        self.add_class("mzl-tree-widget")

        self.slider, self.drawing, self.node_select, self.details = (
            slider,
            drawing,
            node_select,
            details,
        )
        self._tree, self._b, self._labels = tree, first.b, labels
        self._max_depth, self._min_visits = max_depth, min_visits
        self.uses_graphviz = use_graphviz
        self.snapshot = first
        self._redraw(first.newest)
        self.slider.observe(self._on_slider, names="value")
        self.node_select.observe(self._on_select, names="value")

    # -- driving it from code ----------------------------------------------------------------

    def show(self, simulation: int) -> None:
        """Move the slider to ``simulation`` (0 .. num_simulations - 1); the drawing follows."""
        if isinstance(simulation, bool) or not isinstance(simulation, int):
            raise TypeError(f"simulation must be an int, got {type(simulation).__name__}")
        if not 0 <= simulation < self._tree.num_simulations:
            raise ValueError(
                f"simulation must be in [0, {self._tree.num_simulations - 1}], got {simulation}"
            )
        self.slider.value = simulation

    def select(self, node: int) -> None:
        """Select node ``node`` (one of the drawn nodes) and show its numbers."""
        if isinstance(node, bool) or not isinstance(node, int):
            raise TypeError(f"node must be an int, got {type(node).__name__}")
        drawn = [value for _, value in self.node_select.options]
        if node not in drawn:
            raise ValueError(
                f"node must be one of the drawn nodes after simulation "
                f"{self.snapshot.after_simulation} ({drawn[0]}..{drawn[-1]}, see the "
                f"node list), got {node}"
            )
        self.node_select.value = node

    @property
    def selected(self) -> int:
        """The selected node's index."""
        return int(self.node_select.value)

    def __repr__(self) -> str:
        # Short and stable: Jupyter shows repr() as the widget's text/plain output, which nbval
        # compares; the default repr would list every child widget.
        return (
            f"SearchTreeWidget(b={self._b}, simulation={self.slider.value} "
            f"of 0..{self._tree.num_simulations - 1}, nodes={len(self.snapshot.nodes)})"
        )

    # -- reacting to the controls ------------------------------------------------------------

    def _on_slider(self, change: dict) -> None:
        self._redraw(self.selected)

    def _on_select(self, change: dict) -> None:
        if change["new"] is not None:
            self.details.value = node_details_html(self.snapshot, change["new"], self._labels)

    def _redraw(self, keep_selected: int) -> None:
        """Draw the tree after the slider's simulation; keep the selection if still drawn,
        else select the newest drawn node on the latest path."""
        snapshot = tree_viz.tree_snapshot(self._tree, self._b, self.slider.value)
        self.snapshot = snapshot
        filters = (self._max_depth, self._min_visits)
        drawn = tree_viz.visible_nodes(snapshot, *filters)
        if self.uses_graphviz:
            dot = tree_viz.snapshot_to_dot(snapshot, self._labels, *filters)
            self.drawing.value = tree_viz.render_svg(dot)
        else:
            self.drawing.value = tree_viz.matplotlib_png(snapshot, self._labels, *filters)

        if keep_selected not in drawn:
            keep_selected = max(node for node in snapshot.latest_path if node in drawn)
        options = [(_option_label(snapshot.nodes[n], self._labels), n) for n in drawn]
        self.node_select.options = options  # may move the value; set it right below
        self.node_select.value = keep_selected
        self.details.value = node_details_html(snapshot, keep_selected, self._labels)


def show_search(
    result: SearchResult | Tree,
    b: int = 0,
    action_labels: Sequence[str] | None = None,
    max_depth: int | None = None,
    min_visits: int = 0,
    use_graphviz: bool | None = None,
) -> SearchTreeWidget:
    """A ``SearchTreeWidget`` for ``result``; leave it as a cell's last value to display it."""
    return SearchTreeWidget(result, b, action_labels, max_depth, min_visits, use_graphviz)
