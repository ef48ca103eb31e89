"""MuZero's Monte Carlo tree search (paper, Appendix B), with DeepMind mctx's API shape.

    from muzero_lite.search import search, RootOutput, RecurrentOutput, SearchConfig
    result = search(root=RootOutput(...), recurrent_fn=..., config=SearchConfig(...))
    result.visit_counts, result.root_value, result.q_values, result.tree

``pucb`` holds the selection rule's pieces, ``reference`` the readable one-tree search,
``batched`` the fast array search that ``search`` runs by default (its compiled loops are in
``_kernels``); ``search(..., implementation="reference")`` runs the readable one instead.
"""

from muzero_lite.search.api import search
from muzero_lite.search.pucb import (
    MinMaxStats,
    dirichlet_noise,
    masked_softmax,
    pucb_score,
    root_prior,
)
from muzero_lite.search.reference import Node, ReferenceSearch
from muzero_lite.search.types import (
    RecurrentFn,
    RecurrentOutput,
    RootOutput,
    SearchConfig,
    SearchResult,
    Tree,
)

__all__ = [
    "MinMaxStats",
    "Node",
    "RecurrentFn",
    "RecurrentOutput",
    "ReferenceSearch",
    "RootOutput",
    "SearchConfig",
    "SearchResult",
    "Tree",
    "dirichlet_noise",
    "masked_softmax",
    "pucb_score",
    "root_prior",
    "search",
]
