"""``SearchTreeWidget``: watch a search tree grow, one simulation at a time, in Jupyter.

    from muzero_lite.viz import show_search
    show_search(result)          # last line of a cell: the widget appears

Sized for a laptop (a 1366x768 screen, a notebook column of about 900 px): everything fits in
about 500 px of height, so the controls, the tree and the node's numbers are seen together.
Each part has a stable CSS class so a browser test can find it:

* the IntSlider "simulation" (``mzl-tree-slider``), the full width: 0 .. num_simulations - 1,
  starting at the last; moving it redraws the tree as it stood after that simulation;
* a row of controls: Play (``mzl-tree-play``, steps through the simulations), one step back and
  forward (``mzl-tree-prev``, ``mzl-tree-next``), the zoom (``mzl-tree-zoom``);
* the caption (``mzl-tree-caption``): which simulation, how many nodes, whose view each number
  is; wrapped HTML, not part of the drawing;
* the drawing in a box of fixed height that scrolls both ways: SVG from Graphviz in an
  ``ipywidgets.HTML`` (``mzl-tree-svg``), or, where the ``dot`` program is missing, a
  matplotlib PNG in an ``ipywidgets.Image`` (``mzl-tree-png``);
* beside it, the node picker, a Dropdown "n12: a=4, N=3" (``mzl-tree-node-select``), and the
  selected node's numbers and path from the root (``mzl-tree-details``).

The selected node is highlighted in the drawing (class ``mzl-selected`` on its SVG group: a
blue frame, a yellow fill). Clicking a box in the SVG selects it: ipywidgets has no click events
on HTML, so the SVG's container carries a small inline ``onclick`` handler that picks the same
node in the Dropdown and fires the Dropdown's ``change`` event, which ipywidgets sends to Python
like a user's pick (``SearchTreeWidget._on_select``). Where a page refuses inline handlers (a
strict Content-Security-Policy) clicks do nothing and the Dropdown still works. A second inline
hook scrolls the box to the selected node when it is out of view.

The widget only ever sets widget values (HTML text, PNG bytes, options); it never prints into
an ``ipywidgets.Output``, which would trip nbval when the notebooks are executed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import ipywidgets as widgets

from muzero_lite.search.types import SearchResult, Tree
from muzero_lite.viz import tree as tree_viz
from muzero_lite.viz.tree import (
    SELECTED_COLOR,
    SELECTED_FILL,
    NodeRecord,
    TreeSnapshot,
    action_name,
    format_number,
)


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
        noise = (", after the root's Dirichlet noise"
                 if record.depth == 1 and snapshot.root_noise else "")
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


TREE_BOX_HEIGHT = "380px"  # the tree's scrolling box; with the rest about 500 px in all
DETAILS_WIDTH = "300px"  # the node picker and numbers beside it
PLAY_INTERVAL_MS = 600  # Play: one simulation every 0.6 s (the kernel redraws each one)
ZOOM_OPTIONS = [("fit width", 0), ("50%", 50), ("75%", 75), ("100%", 100), ("150%", 150)]
_BUTTON_LAYOUT = widgets.Layout(width="auto")

# Inline handlers of the SVG's container (see the module docstring). Only single quotes inside:
# they sit in a double-quoted HTML attribute, escaped by ``html.escape``.
_CLICK_JS = (
    "var g=event.target.closest('g.node');if(!g)return;"
    "var w=this.closest('.mzl-tree-widget');"
    "var s=w&&w.querySelector('.mzl-tree-node-select select');if(!s)return;"
    "var old=this.querySelector('g.mzl-selected');if(old)old.classList.remove('mzl-selected');"
    "g.classList.add('mzl-selected');"
    "for(var i=0;i<s.options.length;i++){if(s.options[i].value.split(':')[0]===g.id){"
    "if(s.selectedIndex!==i){s.selectedIndex=i;"
    "s.dispatchEvent(new Event('change',{bubbles:true}));}break;}}"
)
_SCROLL_JS = (  # runs when the (invisible) image below loads, i.e. after each redraw
    "var box=this.closest('.mzl-tree-box');var n=box&&box.querySelector('g.mzl-selected');"
    "if(!n)return;var b=box.getBoundingClientRect(),r=n.getBoundingClientRect();"
    "if(r.left<b.left||r.right>b.right)box.scrollLeft+=r.left-b.left-(b.width-r.width)/2;"
    "if(r.top<b.top||r.bottom>b.bottom)box.scrollTop+=r.top-b.top-(b.height-r.height)/2;"
)
_PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
_STYLE = (
    "<style>"
    ".mzl-tree-canvas svg{display:block}"
    ".mzl-tree-canvas g.node{cursor:pointer}"
    # descendants, not children: with a tooltip, dot wraps the shape in <g><a>...</a></g>
    ".mzl-tree-canvas g.node.mzl-selected path,.mzl-tree-canvas g.node.mzl-selected polygon"
    f"{{stroke:{SELECTED_COLOR};stroke-width:4px;fill:{SELECTED_FILL}}}"
    "</style>"
)


def mark_selected(svg: str, node: int) -> str:
    """The SVG with class ``mzl-selected`` added to node ``node``'s group (``<g id="n12"``)."""
    return re.sub(rf'(<g id="n{node}" class="node)', r"\1 mzl-selected", svg, count=1)


def zoom_svg(svg: str, zoom: int) -> str:
    """The SVG scaled to ``zoom`` percent (its viewBox keeps the drawing); 0: the box's width."""
    match = re.match(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if match is None or zoom == 100:
        return svg
    if zoom == 0:
        size = 'width="100%"'
    else:
        width, height = (float(x) * zoom / 100 for x in match.groups())
        size = f'width="{width:.0f}pt" height="{height:.0f}pt"'
    return "<svg " + size + svg[match.end() :]


def svg_box_html(svg: str, selected: int, zoom: int = 100) -> str:
    """What the drawing widget holds: the SVG with ``selected`` marked and zoomed, in a
    container whose inline handlers select a clicked node and scroll to the selected one."""
    return (
        f'<div class="mzl-tree-canvas" onclick="{html.escape(_CLICK_JS)}">'
        + _STYLE
        + zoom_svg(mark_selected(svg, selected), zoom)
        + f'<img src="{_PIXEL}" alt="" style="display:none" '
        f'onload="{html.escape(_SCROLL_JS)}"></div>'
    )


def _details_box(details: str) -> str:
    """The node's numbers in a block that wraps with normal line spacing (ipywidgets' HTML
    widget otherwise gives every line the height of a control)."""
    return f'<div style="white-space:normal;line-height:1.35">{details}</div>'


def _caption_html(snapshot: TreeSnapshot, num_shown: int) -> str:
    """The title and the legend, wrapping at the column's width (``tree.title``/``view_note``)."""
    lines = [
        tree_viz.title(snapshot, num_shown),
        *tree_viz.view_note(snapshot.two_player).split("\n"),
    ]
    text = "<br>".join(html.escape(line) for line in lines)
    return f'<div style="white-space:normal;line-height:1.35;font-size:12px">{text}</div>'


class SearchTreeWidget(widgets.VBox):
    """A slider over the simulations, the tree drawing, a node picker and the node's numbers.

    result_or_tree: ``search(...)``'s result or its ``.tree``; b: which tree of the batch;
    action_labels: one name per action (e.g. cell names in board games); max_depth,
    min_visits: hide deep or rarely visited nodes (``tree.visible_nodes``); use_graphviz: draw
    SVG with Graphviz (True), with matplotlib (False), or SVG when ``dot`` is installed (None).

    Attributes for code and tests: ``slider``, ``play``, ``prev_button``, ``next_button``,
    ``zoom``, ``caption``, ``drawing``, ``node_select``, ``details``; ``snapshot`` (the tree
    drawn now), ``selected`` (the selected node), ``uses_graphviz``.
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
        last = tree.num_simulations - 1

        slider = widgets.IntSlider(
            value=last,
            min=0,
            max=last,
            description="simulation",
            continuous_update=False,  # redraw when the handle is released, not at every pixel
            layout=widgets.Layout(width="100%"),
            style={"description_width": "initial"},
        )
        play = widgets.Play(
            value=last, min=0, max=last, interval=PLAY_INTERVAL_MS, show_repeat=False,
            description="play", layout=widgets.Layout(width="auto"),
        )  # fmt: skip
        widgets.jslink((play, "value"), (slider, "value"))  # in the browser, no kernel trip
        prev_button = widgets.Button(
            description="◀ step", tooltip="one simulation back", layout=_BUTTON_LAYOUT
        )
        next_button = widgets.Button(
            description="step ▶", tooltip="one simulation forward", layout=_BUTTON_LAYOUT
        )
        zoom = widgets.Dropdown(
            options=ZOOM_OPTIONS,
            value=100,
            description="zoom",
            layout=widgets.Layout(width="150px"),
            style={"description_width": "initial"},
        )
        caption = widgets.HTML(layout=widgets.Layout(width="100%"))
        drawing = widgets.HTML() if use_graphviz else widgets.Image(format="png")
        drawing.layout.flex = "0 0 auto"  # its own size; the box around it scrolls
        tree_box = widgets.Box(
            [drawing],
            layout=widgets.Layout(
                flex="1 1 auto",
                width="auto",
                min_width="0",  # narrower than the tree: the box scrolls instead
                height=TREE_BOX_HEIGHT,
                overflow="auto",
                border="1px solid #cccccc",
                display="block",  # not flex: a wide child must overflow, not shrink
            ),
        )
        node_select = widgets.Dropdown(
            description="node",
            layout=widgets.Layout(width="95%"),
            style={"description_width": "initial"},
        )
        details = widgets.HTML(layout=widgets.Layout(width="100%"))
        side = widgets.VBox(
            [node_select, details],
            layout=widgets.Layout(
                width=DETAILS_WIDTH,
                min_width=DETAILS_WIDTH,
                height=TREE_BOX_HEIGHT,
                overflow="auto",
                padding="0 0 0 6px",
            ),
        )
        for part, name in [
            (slider, "mzl-tree-slider"),
            (play, "mzl-tree-play"),
            (prev_button, "mzl-tree-prev"),
            (next_button, "mzl-tree-next"),
            (zoom, "mzl-tree-zoom"),
            (caption, "mzl-tree-caption"),
            (drawing, "mzl-tree-svg" if use_graphviz else "mzl-tree-png"),
            (tree_box, "mzl-tree-box"),
            (node_select, "mzl-tree-node-select"),
            (details, "mzl-tree-details"),
            (side, "mzl-tree-side"),
        ]:
            part.add_class(name)
        controls = widgets.HBox(
            [play, prev_button, next_button, zoom], layout=widgets.Layout(align_items="center")
        )
        body = widgets.HBox([tree_box, side], layout=widgets.Layout(width="100%"))
        super().__init__(
            children=[slider, controls, caption, body],
            layout=widgets.Layout(width="100%", max_width="100%"),
        )
        self.add_class("mzl-tree-widget")

        self.slider, self.play, self.drawing, self.node_select, self.details = (
            slider,
            play,
            drawing,
            node_select,
            details,
        )
        self.prev_button, self.next_button, self.zoom, self.caption, self.tree_box = (
            prev_button,
            next_button,
            zoom,
            caption,
            tree_box,
        )
        self._tree, self._b, self._labels = tree, first.b, labels
        self._max_depth, self._min_visits = max_depth, min_visits
        self.uses_graphviz = use_graphviz
        self.snapshot = first
        self._svg = ""  # the current tree's SVG as dot wrote it, before selection and zoom
        self._redraw(first.newest)
        self.slider.observe(self._on_slider, names="value")
        self.node_select.observe(self._on_select, names="value")
        self.zoom.observe(self._on_zoom, names="value")
        prev_button.on_click(lambda _button: self.step(-1))
        next_button.on_click(lambda _button: self.step(+1))

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

    def step(self, delta: int) -> None:
        """Move the slider ``delta`` simulations (the step buttons); it stops at the ends."""
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise TypeError(f"delta must be an int, got {type(delta).__name__}")
        self.slider.value = min(max(self.slider.value + delta, 0), self._tree.num_simulations - 1)

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
            self.details.value = _details_box(
                node_details_html(self.snapshot, change["new"], self._labels)
            )
            self._paint()

    def _on_zoom(self, change: dict) -> None:
        self._paint()

    def _redraw(self, keep_selected: int) -> None:
        """Draw the tree after the slider's simulation; keep the selection if still drawn,
        else select the newest drawn node on the latest path."""
        snapshot = tree_viz.tree_snapshot(self._tree, self._b, self.slider.value)
        self.snapshot = snapshot
        filters = (self._max_depth, self._min_visits)
        drawn = tree_viz.visible_nodes(snapshot, *filters)
        if self.uses_graphviz:
            dot = tree_viz.snapshot_to_dot(snapshot, self._labels, *filters, caption=False)
            self._svg = tree_viz.render_svg(dot)
        self.caption.value = _caption_html(snapshot, len(drawn))

        if keep_selected not in drawn:
            keep_selected = max(node for node in snapshot.latest_path if node in drawn)
        options = [(_option_label(snapshot.nodes[n], self._labels), n) for n in drawn]
        self._painting_paused = True
        try:
            self.node_select.options = options  # may move the value; set it right below
            self.node_select.value = keep_selected
        finally:
            self._painting_paused = False
        self.details.value = _details_box(node_details_html(snapshot, keep_selected, self._labels))
        self._paint()

    _painting_paused = False  # set while the node list is rebuilt: paint once, afterwards

    def _paint(self) -> None:
        """Put the drawing on screen: the selected node marked, at the chosen zoom."""
        if self._painting_paused or self.node_select.value is None:
            return
        selected = self.selected
        if self.uses_graphviz:
            self.drawing.value = svg_box_html(self._svg, selected, self.zoom.value)
        else:
            filters = (self._max_depth, self._min_visits)
            png = tree_viz.matplotlib_png(self.snapshot, self._labels, *filters, selected=selected)
            self.drawing.value = png
            if self.zoom.value == 0:  # fit the box's width
                self.drawing.layout.width = "100%"
            else:
                width = int.from_bytes(png[16:20], "big")  # the PNG header's IHDR width
                self.drawing.layout.width = f"{round(width * self.zoom.value / 100)}px"


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
