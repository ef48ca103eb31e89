"""Pictures of MuZero's search and a board to play on: the search-tree widget and its pieces
(chapter 03), the tic-tac-toe board (chapter 00).

    from muzero_lite.viz import show_search, TicTacToeBoard
    show_search(result)       # a slider over the simulations, the tree, a node's numbers
    TicTacToeBoard(agent)     # nine buttons: you click, the agent replies

``tree`` turns ``search(...).tree`` into plain records (``tree_snapshot``), DOT text
(``tree_to_dot``), SVG (``render_svg``, needs Graphviz's ``dot``) or a matplotlib drawing
(``draw_matplotlib``, the fallback without ``dot``); ``widget`` puts them in ipywidgets;
``board`` holds ``TicTacToeBoard``.
"""

from muzero_lite.viz.board import TicTacToeBoard
from muzero_lite.viz.tree import (
    NodeRecord,
    TreeSnapshot,
    draw_matplotlib,
    has_dot,
    matplotlib_png,
    render_svg,
    snapshot_to_dot,
    tree_snapshot,
    tree_to_dot,
    visible_nodes,
)
from muzero_lite.viz.widget import SearchTreeWidget, node_details_html, show_search

__all__ = [
    "NodeRecord",
    "SearchTreeWidget",
    "TicTacToeBoard",
    "TreeSnapshot",
    "draw_matplotlib",
    "has_dot",
    "matplotlib_png",
    "node_details_html",
    "render_svg",
    "show_search",
    "snapshot_to_dot",
    "tree_snapshot",
    "tree_to_dot",
    "visible_nodes",
]
