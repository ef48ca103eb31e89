"""Tests of muzero_lite.viz: tree snapshots, DOT text, SVG, the matplotlib fallback, the widget.

Most tests use a toy search worked out by hand (``toy_result``); a random MLP search checks the
snapshot against the search's own arrays on a bigger tree. No browser: the widget is driven
through its ``show`` / ``select`` methods and its widgets' values, the tic-tac-toe board through
its buttons' click handlers (``Button.click()``, what a browser click runs in the kernel).
"""

from __future__ import annotations

import re
import shutil

import ipywidgets as widgets
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from muzero_lite.networks import MLPNetwork
from muzero_lite.search import RecurrentOutput, RootOutput, SearchConfig, SearchResult, search
from muzero_lite.viz import (
    SearchTreeWidget,
    TicTacToeBoard,
    TreeSnapshot,
    draw_matplotlib,
    has_dot,
    matplotlib_png,
    node_details_html,
    render_svg,
    show_search,
    snapshot_to_dot,
    tree_snapshot,
    tree_to_dot,
    visible_nodes,
)
from muzero_lite.viz import board as board_viz
from muzero_lite.viz import tree as tree_viz
from muzero_lite.viz import widget as widget_viz

needs_dot = pytest.mark.skipif(not has_dot(), reason="Graphviz's dot is not installed")


def toy_result(two_player: bool = False) -> SearchResult:
    """3 simulations, 2 actions, discount 0.5, no noise, uniform priors, rewards 0, root value 0;
    a new node's network value is +0.4 if it was reached by action 0 and -0.4 by action 1.

    One player (c(N) = 1.25 + log((N + 19652 + 1) / 19652) is the pUCT weight):
      sim 0: root N=1, both scores tie -> action 0 -> n1 (v=0.4). Q(root,0) = 0.5*0.4 = 0.2;
             root: sum 0 + 0.2, N=2, V=0.1.
      sim 1: root N=2. a0: only one Q seen, so it is not normalised: 0.2 + 0.5*sqrt(2)/2*c(2)
             = 0.2 + 0.442 = 0.642; a1: 0.5*sqrt(2)/1*c(2) = 0.884 -> action 1 -> n2 (v=-0.4).
             Q(root,1) = -0.2; root: sum 0.2 - 0.2 = 0, N=3, V=0.
      sim 2: root N=3. Q's normalised over [-0.2, 0.2]: a0 -> 1, a1 -> 0, same prior term
             -> action 0 to n1, whose children tie -> action 0 -> n3 (parent n1, v=0.4).
             n1: sum 0.4 + 0.5*0.4 = 0.6, N=2, V=0.3, Q(root,0) = 0.5*0.3 = 0.15;
             root: sum 0 + 0.5*0.2 = 0.1, N=4, V=0.025.
    Two players (Q = r - gamma*V, the backed-up return flips sign at every ply):
      sim 0: n1 (v=0.4): Q(root,0) = -0.2; root sum -0.2, N=2, V=-0.1.
      sim 1: a0: -0.2 + 0.442 = 0.242 < 0.884 -> action 1 -> n2 (v=-0.4): Q(root,1) = +0.2;
             root sum 0, N=3, V=0.
      sim 2: a1 normalises to 1, a0 to 0 -> n2, then action 0 -> n3 (parent n2, v=0.4):
             Q(n2,0) = -0.2; n2: sum -0.4 - 0.2 = -0.6, N=2, V=-0.3, Q(root,1) = 0.15;
             root: sum 0 - 0.5*(-0.2) = 0.1, N=4, V=0.025.
    """

    def recurrent_fn(latent: torch.Tensor, action: torch.Tensor):
        value = torch.where(action == 0, 0.4, -0.4)
        zeros = torch.zeros(latent.shape[0])
        logits = torch.zeros(latent.shape[0], 2)
        return RecurrentOutput(reward=zeros, value=value, prior_logits=logits), latent

    root = RootOutput(torch.zeros(1, 2), value=torch.zeros(1), latent=torch.zeros(1, 1))
    config = SearchConfig(
        num_simulations=3, discount=0.5, exploration_fraction=0.0, two_player=two_player
    )
    return search(root, recurrent_fn, config)


def mlp_result(two_player: bool, num_simulations: int = 12) -> SearchResult:
    """A search of 2 trees on a small random MLP (seeded), with root noise."""
    torch.manual_seed(3)
    network = MLPNetwork((4,), 3, latent_size=8, hidden_size=16).eval()

    def recurrent_fn(latent: torch.Tensor, action: torch.Tensor):
        out = network.recurrent_inference(latent, action)
        return RecurrentOutput(out.reward, out.value, out.policy_logits), out.latent

    with torch.no_grad():
        first = network.initial_inference(torch.randn(2, 4))
    root = RootOutput(first.policy_logits, first.value, first.latent)
    config = SearchConfig(num_simulations=num_simulations, two_player=two_player)
    return search(root, recurrent_fn, config, generator=torch.Generator().manual_seed(5))


@pytest.fixture(scope="module")
def toy() -> SearchResult:
    return toy_result()


@pytest.fixture(scope="module")
def toy_two_player() -> SearchResult:
    return toy_result(two_player=True)


# -- snapshots --------------------------------------------------------------------------------


def test_toy_search_is_the_hand_computed_tree(toy: SearchResult) -> None:
    # The docstring of toy_result: n1 = (root, a0), n2 = (root, a1), n3 = (n1, a0).
    assert toy.tree.parents[0].tolist() == [-1, 0, 0, 1]
    assert toy.tree.action_from_parent[0].tolist() == [-1, 0, 1, 0]


def test_snapshot_node_counts_and_latest_path(toy: SearchResult) -> None:
    # after simulation k: the root plus one node per simulation 0..k = k + 2 nodes
    expected_paths = {-1: (0,), 0: (0, 1), 1: (0, 2), 2: (0, 1, 3)}
    for k, path in expected_paths.items():
        snapshot = tree_snapshot(toy.tree, 0, k)
        assert len(snapshot.nodes) == k + 2
        assert [record.index for record in snapshot.nodes] == list(range(k + 2))
        assert snapshot.latest_path == path
        assert snapshot.newest == k + 1
    assert tree_snapshot(toy.tree).after_simulation == 2  # None: the finished tree


def test_snapshot_numbers_one_player_by_hand(toy: SearchResult) -> None:
    before = tree_snapshot(toy.tree, 0, -1).nodes[0]
    assert (before.visits, before.value, before.q, before.prior) == (1, 0.0, None, None)

    after_0 = tree_snapshot(toy.tree, 0, 0).nodes
    assert after_0[0].visits == 2 and after_0[0].value == pytest.approx(0.1)
    assert after_0[1].visits == 1 and after_0[1].value == pytest.approx(0.4)
    assert after_0[1].q == pytest.approx(0.2)  # 0 + 0.5 * 0.4
    assert after_0[1].prior == pytest.approx(0.5)

    after_1 = tree_snapshot(toy.tree, 0, 1).nodes
    assert after_1[0].visits == 3 and after_1[0].value == pytest.approx(0.0)
    assert after_1[2].q == pytest.approx(-0.2)  # 0 + 0.5 * (-0.4)

    root, n1, n2, n3 = tree_snapshot(toy.tree, 0, 2).nodes
    assert (root.visits, n1.visits, n2.visits, n3.visits) == (4, 2, 1, 1)
    assert root.value == pytest.approx(0.025)  # (0 + 0.2 - 0.2 + 0.1) / 4
    assert n1.value == pytest.approx(0.3) and n1.q == pytest.approx(0.15)
    assert n3.value == pytest.approx(0.4) and n3.q == pytest.approx(0.2)
    assert (n3.parent, n3.action, n3.depth) == (1, 0, 2)
    assert n3.network_value == pytest.approx(0.4) and n3.reward == 0.0


def test_snapshot_numbers_two_player_by_hand(toy_two_player: SearchResult) -> None:
    tree = toy_two_player.tree
    after_0 = tree_snapshot(tree, 0, 0).nodes
    assert after_0[0].value == pytest.approx(-0.1)
    assert after_0[1].q == pytest.approx(-0.2)  # 0 - 0.5 * 0.4: good for n1's player, bad for us
    root, n1, n2, n3 = tree_snapshot(tree, 0, 2).nodes
    assert tree_snapshot(tree, 0, 2).latest_path == (0, 2, 3)
    assert root.value == pytest.approx(0.025)
    assert n2.value == pytest.approx(-0.3) and n2.q == pytest.approx(0.15)  # 0 - 0.5 * (-0.3)
    assert n3.q == pytest.approx(-0.2) and n3.parent == 2
    assert [r.to_play_sign for r in (root, n1, n2, n3)] == [1, -1, -1, 1]


@pytest.mark.parametrize("two_player", [False, True])
def test_snapshot_agrees_with_the_search_arrays(two_player: bool) -> None:
    result = mlp_result(two_player)
    tree = result.tree
    for b in range(2):
        for k in (-1, 0, 5, 11):
            snapshot = tree_snapshot(tree, b, k)
            visits, values = tree.replay(b, k + 1)
            assert [r.visits for r in snapshot.nodes] == visits.tolist()
            assert [r.value for r in snapshot.nodes] == pytest.approx(values.tolist())
            assert snapshot.latest_path == tuple(tree.path_to(b, k + 1))
        final = tree_snapshot(tree, b)  # the finished tree: the search's own numbers
        assert [r.visits for r in final.nodes] == tree.node_visits[b].tolist()
        for record in final.nodes[1:]:
            parent, action = record.parent, record.action
            assert record.q == pytest.approx(float(tree.children_q[b, parent, action]))
            assert record.prior == pytest.approx(float(tree.children_prior[b, parent, action]))
            assert record.visits == int(tree.children_visits[b, parent, action])


def test_snapshot_helpers(toy: SearchResult) -> None:
    snapshot = tree_snapshot(toy.tree, 0, 2)
    assert [kid.index for kid in snapshot.children(0)] == [1, 2]  # in action order
    assert snapshot.children(2) == ()
    assert snapshot.action_path(3) == (0, 0)
    assert snapshot.action_path(0) == ()


def test_visible_nodes_filters(toy: SearchResult) -> None:
    snapshot = tree_snapshot(toy.tree, 0, 2)  # N: n0=4, n1=2, n2=1, n3=1; latest path 0-1-3
    assert visible_nodes(snapshot) == (0, 1, 2, 3)
    assert visible_nodes(snapshot, max_depth=1) == (0, 1, 2)  # n3 is at depth 2
    assert visible_nodes(snapshot, max_depth=0) == (0,)
    # min_visits=2 hides n2 (N=1) but not n3 (N=1): the latest path is always drawn
    assert visible_nodes(snapshot, min_visits=2) == (0, 1, 3)
    assert visible_nodes(snapshot, min_visits=100) == (0, 1, 3)


def test_snapshot_rejects_bad_arguments(toy: SearchResult) -> None:
    with pytest.raises(ValueError, match="b must be in \\[0, 1\\)"):
        tree_snapshot(toy.tree, 1)
    with pytest.raises(ValueError, match="b must"):
        tree_snapshot(toy.tree, -1)
    with pytest.raises(TypeError, match="b must be an int"):
        tree_snapshot(toy.tree, True)
    with pytest.raises(ValueError, match="after_simulation must be None or in \\[-1, 2\\]"):
        tree_snapshot(toy.tree, 0, 3)
    with pytest.raises(ValueError, match="after_simulation"):
        tree_snapshot(toy.tree, 0, -2)
    with pytest.raises(TypeError, match="after_simulation must be an int"):
        tree_snapshot(toy.tree, 0, 1.0)
    with pytest.raises(TypeError, match="tree must be a muzero_lite.search.Tree"):
        tree_snapshot(toy)
    snapshot = tree_snapshot(toy.tree)
    with pytest.raises(ValueError, match="max_depth must be None or >= 0"):
        visible_nodes(snapshot, max_depth=-1)
    with pytest.raises(ValueError, match="min_visits must be >= 0"):
        visible_nodes(snapshot, min_visits=-1)
    with pytest.raises(TypeError, match="snapshot must be a TreeSnapshot"):
        visible_nodes(toy.tree)


# -- DOT --------------------------------------------------------------------------------------


def dot_ids(dot: str, kind: str) -> set[str]:
    """The ids of the nodes (kind "n") or edges (kind "e") in DOT text."""
    return set(re.findall(rf"\bid=({kind}\d+)\b", dot))


def latest_ids(dot: str) -> set[str]:
    """The ids of the statements that carry class="latest"."""
    return {
        re.search(r"\bid=(\w+)", line).group(1) for line in dot.splitlines() if "latest" in line
    }


def test_dot_has_every_present_node_and_edge(toy: SearchResult) -> None:
    for k in (-1, 0, 1, 2):
        dot = tree_to_dot(toy.tree, 0, k)
        assert dot_ids(dot, "n") == {f"n{i}" for i in range(k + 2)}
        assert dot_ids(dot, "e") == {f"e{i}" for i in range(1, k + 2)}
    dot = tree_to_dot(toy.tree)
    assert dot.startswith("digraph search_tree {") and dot.endswith("}\n")
    assert "\tn0 -> n1 [label=0 class=latest" in dot and " id=e1 " in dot
    assert "\tn0 -> n2 [label=1 id=e2]\n" in dot
    assert "\tn1 -> n3 [label=0 class=latest" in dot and " id=e3 " in dot


def test_dot_node_labels_show_the_numbers(toy: SearchResult) -> None:
    dot = tree_to_dot(toy.tree)
    # n1 after 3 simulations: N=2, V=0.30, Q=0.15, P=0.50, r=0.00, v=0.40 (toy_result)
    assert "label=<<B>n1</B> N=2<BR/>V=0.30 Q=0.15<BR/>P=0.50 r=0.00 v=0.40>" in dot
    # the root: N=4, V=0.025 -> "0.03" (two decimals), v=0
    assert "label=<<B>n0</B> N=4 root<BR/>V=0.03<BR/>v=0.00>" in dot
    # n2: V=-0.4, Q=-0.2; the tooltip has four decimals
    assert 'tooltip="n2 N=1 V=-0.4000 Q=-0.2000 P=0.5000 r=0.0000 v=-0.4000"' in dot
    assert "3 of 3 run): 4 of 4 nodes shown" in dot


def test_dot_highlights_exactly_the_latest_path(toy: SearchResult) -> None:
    assert latest_ids(tree_to_dot(toy.tree, 0, 2)) == {"n0", "n1", "n3", "e1", "e3"}
    assert latest_ids(tree_to_dot(toy.tree, 0, 1)) == {"n0", "n2", "e2"}
    assert latest_ids(tree_to_dot(toy.tree, 0, -1)) == {"n0"}
    result = mlp_result(two_player=True)
    for k in (3, 11):
        path = result.tree.path_to(1, k + 1)
        expected = {f"n{i}" for i in path} | {f"e{i}" for i in path[1:]}
        dot = tree_to_dot(result.tree, 1, k)
        assert latest_ids(dot) == expected
        # highlighted = the red colour, on those lines and no others
        red = [line for line in dot.splitlines() if tree_viz.HIGHLIGHT_COLOR in line]
        assert {re.search(r"\bid=(\w+)", line).group(1) for line in red} == expected


def test_dot_is_deterministic() -> None:
    first = mlp_result(two_player=False)
    again = mlp_result(two_player=False)  # same seeds: a new but identical search
    text = tree_to_dot(first.tree, 1, 7)
    assert text == tree_to_dot(first.tree, 1, 7)
    assert text == tree_to_dot(again.tree, 1, 7)
    assert text != tree_to_dot(first.tree, 1, 6)


def test_dot_action_labels_filters_and_views(toy: SearchResult, toy_two_player) -> None:
    dot = tree_to_dot(toy.tree, action_labels=['left "L"', "right\\"])
    assert 'label="left \\"L\\""' in dot  # quotes escaped inside the DOT string
    assert 'label="right\\\\"' in dot  # and the backslash
    hidden = tree_to_dot(toy.tree, max_depth=1)
    assert dot_ids(hidden, "n") == {"n0", "n1", "n2"} and "3 of 4 nodes shown" in hidden
    assert dot_ids(tree_to_dot(toy.tree, min_visits=2), "n") == {"n0", "n1", "n3"}
    assert "two players: V, v from the view of the player to move" in tree_to_dot(
        toy_two_player.tree
    )
    assert "two players" not in dot
    assert "before any simulation" in tree_to_dot(toy.tree, 0, -1)
    # nodes where the opponent moves are shaded in two-player trees only
    two = tree_to_dot(toy_two_player.tree)
    assert two.count(tree_viz.OPPONENT_FILL) == 2  # n1 and n2
    assert tree_viz.OPPONENT_FILL not in dot


def test_dot_rejects_bad_arguments(toy: SearchResult) -> None:
    with pytest.raises(ValueError, match="action_labels must have one label per action \\(2\\)"):
        tree_to_dot(toy.tree, action_labels=["a"])
    with pytest.raises(TypeError, match="action_labels must be None or a sequence"):
        tree_to_dot(toy.tree, action_labels="ab")
    with pytest.raises(TypeError, match="action_labels must hold only strings"):
        tree_to_dot(toy.tree, action_labels=[0, 1])
    with pytest.raises(ValueError, match="b must"):
        tree_to_dot(toy.tree, b=2)
    with pytest.raises(TypeError, match="snapshot must be a TreeSnapshot"):
        snapshot_to_dot(toy.tree)


# -- SVG --------------------------------------------------------------------------------------


@needs_dot
def test_render_svg_returns_svg_with_the_node_ids(toy: SearchResult) -> None:
    svg = render_svg(tree_to_dot(toy.tree))
    assert svg.startswith("<svg")
    for node in ("n0", "n1", "n2", "n3"):
        assert f'id="{node}"' in svg
    assert svg.count('class="node latest"') == 3 and svg.count('class="edge latest"') == 2
    with pytest.raises(ValueError, match="dot_text is not valid DOT"):
        render_svg("digraph {")


def test_render_svg_without_dot_or_with_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="dot_text must be a str"):
        render_svg(b"digraph {}")
    monkeypatch.setenv("PATH", "")  # no dot anywhere
    assert not has_dot()
    with pytest.raises(RuntimeError, match="needs Graphviz's `dot`"):
        render_svg("digraph { a }")


# -- matplotlib -------------------------------------------------------------------------------


def test_draw_matplotlib_layout_and_highlight(toy: SearchResult) -> None:
    figure = Figure()
    FigureCanvasAgg(figure)
    ax = draw_matplotlib(tree_snapshot(toy.tree), figure.add_subplot(), action_labels=["L", "R"])
    # Layout: leaves left to right in depth-first action order: n3 (under n1) x=0, n2 x=1;
    # n1 over its only child: x=0; the root over its first and last child: (0 + 1) / 2 = 0.5.
    centres = [tuple(c.get_offsets()[0]) for c in ax.collections]  # one scatter per node
    assert centres == [(0.5, 0.0), (0.0, -1.0), (1.0, -1.0), (0.0, -2.0)]
    # circles grow with N: n0 (N=4) > n1 (N=2) > n2 (N=1)
    sizes = [c.get_sizes()[0] for c in ax.collections]
    assert sizes[0] > sizes[1] > sizes[2] == sizes[3]
    red_lines = [line for line in ax.lines if to_hex(line.get_color()) == "#d62728"]
    assert len(ax.lines) == 3 and len(red_lines) == 2  # edges n0-n1 and n1-n3
    texts = [text.get_text() for text in ax.texts]
    assert texts.count("L") == 2 and texts.count("R") == 1
    assert "n1 N=2\nQ=0.15" in texts and "n0 N=4\nV=0.03" in texts
    assert "after simulation 2" in ax.get_title()


def test_draw_matplotlib_own_figure_and_png(toy_two_player: SearchResult) -> None:
    import matplotlib.pyplot as plt

    snapshot = tree_snapshot(toy_two_player.tree, 0, 1)
    ax = draw_matplotlib(snapshot)
    assert "two players" in ax.get_title()
    plt.close(ax.figure)
    png = matplotlib_png(snapshot, max_depth=0)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(TypeError, match="snapshot must be a TreeSnapshot"):
        draw_matplotlib(toy_two_player)


# -- the widget -------------------------------------------------------------------------------


def option_values(widget: SearchTreeWidget) -> list[int]:
    return [value for _, value in widget.node_select.options]


@needs_dot
def test_widget_svg_slider_redraws(toy: SearchResult) -> None:
    widget = show_search(toy, action_labels=["L", "R"], use_graphviz=None)
    assert isinstance(widget, widgets.VBox) and widget.uses_graphviz
    assert (widget.slider.min, widget.slider.max, widget.slider.value) == (0, 2, 2)
    assert widget.slider.description == "simulation"
    assert "mzl-tree-slider" in widget.slider._dom_classes
    assert "mzl-tree-svg" in widget.drawing._dom_classes
    assert isinstance(widget.drawing, widgets.HTML)
    assert widget.drawing.value.startswith('<div class="mzl-tree-canvas" onclick=')
    assert "<svg" in widget.drawing.value and 'id="n3"' in widget.drawing.value
    assert 'class="node mzl-selected' in widget.drawing.value  # the newest node, selected
    assert option_values(widget) == [0, 1, 2, 3]
    assert widget.node_select.options[1][0] == "n1: a=L, N=2"
    assert widget.node_select.options[0][0] == "n0: root, N=4"
    assert widget.selected == 3  # the newest node

    final_svg = widget.drawing.value
    widget.show(0)
    assert widget.drawing.value != final_svg
    assert 'id="n1"' in widget.drawing.value and 'id="n2"' not in widget.drawing.value
    assert option_values(widget) == [0, 1]
    assert widget.selected == 1  # n3 is gone: the newest node is selected instead
    widget.slider.value = 2  # what a user's drag does
    assert widget.drawing.value != final_svg  # the same tree, with n1 marked instead of n3
    assert widget.selected == 1  # still drawn: the selection stays
    widget.select(3)
    assert widget.drawing.value == final_svg
    assert repr(widget) == "SearchTreeWidget(b=0, simulation=2 of 0..2, nodes=4)"


def test_widget_select_shows_the_numbers(toy: SearchResult) -> None:
    widget = SearchTreeWidget(toy.tree, action_labels=["L", "R"], use_graphviz=False)
    assert "<b>n3</b> (added by simulation 2, depth 2)" in widget.details.value
    assert "path from the root: L → L" in widget.details.value
    widget.select(1)
    assert widget.selected == 1
    details = widget.details.value
    # n1 after 3 simulations: N=2, V=0.30, Q=0.15, P=0.50, r=0.00, v=0.40
    for name, value in [("N", "2"), ("V", "0.30"), ("Q", "0.15"), ("P", "0.50"), ("v", "0.40")]:
        assert f"<tr><td><b>{name}</b></td><td>{value}</td>" in details
    assert "children: L: N=1 Q=0.20" in details
    assert "Dirichlet" not in details  # the toy search adds no noise (exploration_fraction 0)
    assert "r + γ·V" in details
    widget.node_select.value = 0  # what a user's pick in the Dropdown does
    assert "(the root, depth 0)" in widget.details.value
    assert "path from the root: (root)" in widget.details.value


def test_node_details_two_player_views(toy_two_player: SearchResult) -> None:
    details = node_details_html(tree_snapshot(toy_two_player.tree), 3)
    assert "r − γ·V, view of the player who chose the edge" in details
    assert "view of the player to move here" in details
    assert "path from the root: 1 → 0" in details


@pytest.mark.parametrize("how", ["has_dot", "which", "argument"])
def test_widget_falls_back_to_matplotlib_without_dot(
    toy: SearchResult, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "has_dot":
        monkeypatch.setattr(tree_viz, "has_dot", lambda: False)
    elif how == "which":
        monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    widget = SearchTreeWidget(toy, use_graphviz=False if how == "argument" else None)
    assert not widget.uses_graphviz
    assert isinstance(widget.drawing, widgets.Image)
    assert "mzl-tree-png" in widget.drawing._dom_classes
    final_png = bytes(widget.drawing.value)
    assert final_png.startswith(b"\x89PNG")
    widget.show(0)
    assert bytes(widget.drawing.value) != final_png
    assert option_values(widget) == [0, 1]


def test_widget_filters_and_selection_fallback(toy: SearchResult) -> None:
    widget = SearchTreeWidget(toy, min_visits=2, use_graphviz=False)
    assert option_values(widget) == [0, 1, 3]  # n2 (N=1, off the latest path) hidden
    widget.show(1)  # after simulation 1 the latest path is 0-2, so n2 is drawn, n1 (N=1) not
    assert option_values(widget) == [0, 2]
    assert widget.selected == 2
    shallow = SearchTreeWidget(toy, max_depth=1, use_graphviz=False)
    assert option_values(shallow) == [0, 1, 2]
    assert shallow.selected == 1  # n3 is cut: the deepest drawn node of the latest path


def test_widget_rejects_bad_arguments(toy: SearchResult) -> None:
    with pytest.raises(ValueError, match="b must be in \\[0, 1\\)"):
        SearchTreeWidget(toy, b=1)
    with pytest.raises(TypeError, match="result_or_tree must be a SearchResult"):
        SearchTreeWidget(tree_snapshot(toy.tree))
    with pytest.raises(TypeError, match="use_graphviz must be None or a bool"):
        SearchTreeWidget(toy, use_graphviz="yes")
    with pytest.raises(ValueError, match="action_labels"):
        SearchTreeWidget(toy, action_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="min_visits"):
        SearchTreeWidget(toy, min_visits=-1)
    widget = SearchTreeWidget(toy, use_graphviz=False)
    drawing = bytes(widget.drawing.value)
    with pytest.raises(ValueError, match="simulation must be in \\[0, 2\\], got 3"):
        widget.show(3)
    with pytest.raises(ValueError, match="simulation must be in"):
        widget.show(-1)
    with pytest.raises(TypeError, match="simulation must be an int"):
        widget.show(1.5)
    widget.show(0)
    with pytest.raises(ValueError, match="node must be one of the drawn nodes"):
        widget.select(3)  # exists in the finished tree but not after simulation 0
    with pytest.raises(TypeError, match="node must be an int"):
        widget.select("n1")
    # the failed calls changed nothing
    assert widget.slider.value == 0 and widget.selected == 1
    widget.show(2)
    widget.select(3)
    assert bytes(widget.drawing.value) == drawing
    with pytest.raises(TypeError, match="delta must be an int"):
        widget.step(1.0)


def test_snapshot_is_frozen(toy: SearchResult) -> None:
    snapshot = tree_snapshot(toy.tree)
    assert isinstance(snapshot, TreeSnapshot)
    with pytest.raises(AttributeError):
        snapshot.b = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        snapshot.nodes[0].visits = 0  # type: ignore[misc]


# -- the widget: laptop layout, controls, selection in the drawing ------------------------------


def find(widget: widgets.Widget, css_class: str) -> widgets.Widget:
    """The one widget below ``widget`` (itself included) that carries ``css_class``."""
    found = []
    todo = [widget]
    while todo:
        current = todo.pop()
        if css_class in getattr(current, "_dom_classes", ()):
            found.append(current)
        todo.extend(getattr(current, "children", ()))
    assert len(found) == 1, (css_class, found)
    return found[0]


@needs_dot
def test_widget_layout_fits_a_laptop(toy: SearchResult) -> None:
    widget = show_search(toy)
    assert widget.slider.layout.width == "100%"  # the slider spans the column
    box = find(widget, "mzl-tree-box")
    assert box is widget.tree_box and widget.drawing in box.children
    assert box.layout.height == widget_viz.TREE_BOX_HEIGHT and box.layout.overflow == "auto"
    side = find(widget, "mzl-tree-side")
    assert widget.node_select in side.children and widget.details in side.children
    for css_class in ["mzl-tree-play", "mzl-tree-prev", "mzl-tree-next", "mzl-tree-zoom"]:
        find(widget, css_class)
    # the caption is wrapping HTML outside the drawing, not the SVG's graph label
    assert "after simulation 2 (3 of 3 run): 4 of 4 nodes shown" in widget.caption.value
    assert "white-space:normal" in widget.caption.value
    assert "after simulation" not in widget.drawing.value


@needs_dot
def test_widget_step_buttons_and_play(toy: SearchResult) -> None:
    widget = show_search(toy)
    assert (widget.play.min, widget.play.max, widget.play.value) == (0, 2, 2)
    widget.prev_button.click()  # what a browser click runs in the kernel
    assert widget.slider.value == 1 and len(widget.snapshot.nodes) == 3
    widget.prev_button.click()
    widget.prev_button.click()  # stops at 0
    assert widget.slider.value == 0
    widget.next_button.click()
    assert widget.slider.value == 1
    widget.step(10)
    assert widget.slider.value == 2


@needs_dot
def test_widget_marks_the_selected_node_and_clicks_select(toy: SearchResult) -> None:
    widget = show_search(toy)
    value = widget.drawing.value
    assert value.count("mzl-selected") >= 1
    assert re.search(r'<g id="n3" class="node[^"]*mzl-selected', value)
    assert not re.search(r'<g id="n1" class="node[^"]*mzl-selected', value)
    # The click hook finds the Dropdown's option by its "n<index>:" prefix and fires "change".
    assert "mzl-tree-node-select select" in value and "dispatchEvent" in value
    assert "split(&#x27;:&#x27;)[0]===g.id" in value  # escaped inside the onclick attribute
    widget.node_select.value = 1  # what the hook's "change" event does in the kernel
    value = widget.drawing.value
    assert re.search(r'<g id="n1" class="node[^"]*mzl-selected', value)
    assert not re.search(r'<g id="n3" class="node[^"]*mzl-selected', value)
    assert "<b>n1</b>" in widget.details.value


def test_svg_helpers() -> None:
    svg = '<svg width="200pt" height="100pt"\n viewBox="0 0 200 100"><g id="n2" class="node">'
    assert widget_viz.mark_selected(svg, 2).endswith('<g id="n2" class="node mzl-selected">')
    assert widget_viz.mark_selected(svg, 3) == svg
    assert widget_viz.zoom_svg(svg, 100) == svg
    assert widget_viz.zoom_svg(svg, 50).startswith('<svg width="100pt" height="50pt"\n viewBox')
    assert widget_viz.zoom_svg(svg, 0).startswith('<svg width="100%"\n viewBox')


@needs_dot
def test_widget_zoom(toy: SearchResult) -> None:
    widget = show_search(toy)
    full = re.search(r'<svg width="([\d.]+)pt"', widget.drawing.value)
    widget.zoom.value = 50
    half = re.search(r'<svg width="([\d.]+)pt"', widget.drawing.value)
    assert full and half and abs(float(half[1]) - float(full[1]) / 2) <= 1
    widget.zoom.value = 0
    assert '<svg width="100%"' in widget.drawing.value


def test_widget_png_fallback_marks_selection_and_zooms(toy: SearchResult) -> None:
    widget = SearchTreeWidget(toy, use_graphviz=False)
    newest = bytes(widget.drawing.value)
    widget.select(0)
    assert bytes(widget.drawing.value) != newest  # the selection is drawn
    widget.zoom.value = 50
    assert widget.drawing.layout.width.endswith("px")
    widget.zoom.value = 0
    assert widget.drawing.layout.width == "100%"


def test_snapshot_to_dot_caption_switch(toy: SearchResult) -> None:
    snapshot = tree_snapshot(toy.tree)
    assert 'label="search tree b=0' in snapshot_to_dot(snapshot)
    assert "search tree b=0" not in snapshot_to_dot(snapshot, caption=False)
    with pytest.raises(TypeError, match="caption must be a bool"):
        snapshot_to_dot(snapshot, caption="no")


# -- the tic-tac-toe board ------------------------------------------------------------------------


class FirstFree:
    """A stand-in agent: plays the first free cell of ``order``, and counts its calls."""

    def __init__(self, order=(0, 1, 2, 3, 4, 5, 6, 7, 8)):
        self.order, self.calls = order, 0

    def act(self, game) -> int:
        self.calls += 1
        return next(cell for cell in self.order if cell in game.legal_actions())


class Broken:
    def act(self, game) -> int:
        raise RuntimeError("no network")


def press(board: TicTacToeBoard, cell: int) -> None:
    board.cells[cell].click()  # runs the on_click handlers, as a browser click does


def test_board_shows_numbers_turn_last_move_and_full_stones() -> None:
    board = TicTacToeBoard(FirstFree())
    assert [cell.description for cell in board.cells] == [str(i) for i in range(9)]
    assert not any(cell.disabled for cell in board.cells)
    assert "X</b> to play (you)" in board.turn.value and "Move 1" in board.turn.value
    press(board, 4)
    assert board.game.moves == (4, 0)
    assert board.status.value == "You played 4 (centre). The agent played 0 (top left). Your move."
    assert board.cells[4].description == "X" and board.cells[0].description == "O"
    assert board.cells[1].description == "1"  # free cells keep their numbers
    assert not any(cell.disabled for cell in board.cells)  # stones at full strength
    assert board.cells[0].style.button_color == board_viz.LAST_MOVE_FILL
    assert board.cells[4].style.button_color == board_viz.EMPTY_FILL
    assert board.cells[4].style.text_color == board_viz.STONE_COLOUR[0]
    assert "Move 3" in board.turn.value
    assert "mzl-board" in board._dom_classes
    assert "mzl-board-cell-4" in board.cells[4]._dom_classes


def test_board_full_game_marks_the_winning_line() -> None:
    board = TicTacToeBoard(FirstFree())
    for cell in (4, 8, 5):  # the agent answers 0, 1, 2: the top row
        press(board, cell)
    assert board.game.terminal()
    assert board.status.value.endswith("The agent wins. Press 'new game' to play again.")
    for cell in (0, 1, 2):
        assert board.cells[cell].style.button_color == board_viz.WIN_FILL
    assert "Game over" in board.turn.value
    press(board, 5)  # after the end: a message, no exception
    assert board.status.value == "The game is over. The agent wins. Press 'new game' to play again."


def test_board_you_win_and_draw() -> None:
    board = TicTacToeBoard(FirstFree(order=(8, 7, 6, 5, 3, 1, 0, 2, 4)))
    for cell in (0, 1, 2):
        press(board, cell)
    assert board.game.winner() == 0
    assert "You win! Press 'new game'" in board.status.value
    assert board_viz.winning_line(board.game.board.ravel().tolist()) == (0, 1, 2)
    draw = TicTacToeBoard(FirstFree(order=(4, 2, 3, 7, 8, 0, 1, 5, 6)))
    for cell in (0, 1, 5, 6, 8):
        press(draw, cell)
    assert draw.game.terminal() and draw.game.winner() is None
    assert "Draw." in draw.status.value


def test_board_errors_go_to_the_status_line() -> None:
    agent = FirstFree()
    board = TicTacToeBoard(agent)
    press(board, 4)
    calls = agent.calls
    press(board, 4)  # a fast double click: the second click arrives after the reply
    assert board.game.moves == (4, 0) and agent.calls == calls
    assert board.status.value.startswith("Cell 4 is taken. The agent's last move: 0 (top left).")
    press(board, 0)  # the agent's stone
    assert "Cell 0 is taken" in board.status.value
    board.click(9)
    assert "There is no cell 9" in board.status.value
    board._busy = True  # a click while the agent searches
    board.click(5)
    assert board.status.value == "Wait: the agent is still thinking." and 5 not in board.game.moves
    board._busy = False
    broken = TicTacToeBoard(Broken())
    press(broken, 4)
    assert broken.status.value == "Something went wrong: RuntimeError: no network"
    press(broken, 3)  # still usable: no stuck "thinking" state
    assert "Something went wrong" in broken.status.value


def test_board_side_toggle_restarts_and_new_game() -> None:
    board = TicTacToeBoard(FirstFree())
    press(board, 4)
    board.side.value = 1  # no 'new game' needed
    assert board.you == 1 and board.game.moves == (0,)
    assert board.status.value == "You are O. The agent played 0 (top left). Your move."
    assert "O</b> to play (you)" in board.turn.value
    press(board, 4)
    board.new_game_button.click()
    assert board.game.moves == (0,)
    board.side.value = 0
    assert board.game.moves == () and board.status.value == "You are X. Your move: click a cell."
    assert repr(board) == (
        "TicTacToeBoard(you=X, moves=[], status='You are X. Your move: click a cell.')"
    )


def test_board_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="you_play must be 0"):
        TicTacToeBoard(FirstFree(), you_play=2)
    with pytest.raises(ValueError, match="you_play must be 0"):
        TicTacToeBoard(FirstFree(), you_play=True)
    with pytest.raises(TypeError, match="agent must have an act"):
        TicTacToeBoard(object())


def test_board_plays_the_shipped_agent() -> None:
    from pathlib import Path

    from muzero_lite.agent import load_agent

    checkpoint = Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "tictactoe.pt"
    board = TicTacToeBoard(load_agent(checkpoint))
    while not board.game.terminal():
        press(
            board, next(c for c in (4, 0, 2, 6, 8, 1, 3, 5, 7) if c in board.game.legal_actions())
        )
    assert board.game.winner() != 0  # the shipped agent plays perfectly: never loses as O
    assert board.status.value.endswith("Press 'new game' to play again.")


def test_the_prior_is_called_noised_only_when_noise_was_added(toy: SearchResult) -> None:
    """Node details said 'after the root's Dirichlet noise' even with the noise off."""
    quiet = tree_snapshot(toy.tree)  # exploration_fraction 0: no noise
    assert not quiet.root_noise
    assert "Dirichlet" not in node_details_html(quiet, 1)
    noisy = tree_snapshot(mlp_result(two_player=False).tree)  # the default noise
    assert noisy.root_noise
    child = next(n.index for n in noisy.nodes if n.depth == 1)
    assert "Dirichlet" in node_details_html(noisy, child)
