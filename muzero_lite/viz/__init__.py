"""Pictures of MuZero's search and boards to play on: the search-tree widget and its pieces
(chapter 03), the tic-tac-toe board (chapter 00), the Connect Four board (chapter 08).

    from muzero_lite.viz import show_search, TicTacToeBoard, Connect4Board
    show_search(result)       # a slider over the simulations, the tree, a node's numbers
    TicTacToeBoard(agent)     # nine buttons: you click, the agent replies
    Connect4Board(agent)      # 6 x 7 buttons; shows the agent's visits and values per column

``tree`` turns ``search(...).tree`` into plain records (``tree_snapshot``), DOT text
(``tree_to_dot``), SVG (``render_svg``, needs Graphviz's ``dot``) or a matplotlib drawing
(``draw_matplotlib``, the fallback without ``dot``); ``widget`` puts them in ipywidgets;
``board`` holds ``TicTacToeBoard`` and ``Connect4Board``.
"""

from muzero_lite.viz.board import Connect4Board, TicTacToeBoard
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
    "Connect4Board",
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
