"""Tests of the fast batched search (search/batched.py, search/_kernels.py).

The main check is equivalence: for the same model, root noise and tie-breaking, the batched
array search and the readable reference (``search(..., implementation="reference")``) must
build the same trees, to the last bit: visit counts, values, Q values and every Tree array.
Hand-computed checks of the array kernels follow (c1 = 1.25, c2 = 19652, gamma = 0.997).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from muzero_lite.agent import run_search
from muzero_lite.networks import MLPNetwork
from muzero_lite.search import (
    RecurrentOutput,
    RootOutput,
    SearchConfig,
    SearchResult,
    Tree,
    _kernels,
    batched,
    search,
)
from muzero_lite.search.api import softmax
from muzero_lite.search.batched import TreeArrays, outputs_on_host, pucb_tables

C1, C2, GAMMA = 1.25, 19652.0, 0.997


# -- random models ----------------------------------------------------------------------------


def random_model(
    num_actions: int,
    seed: int,
    latent_shape: tuple[int, ...] = (6,),
    step: float = 0.0,
    dtype: torch.dtype = torch.float32,
):
    """A random MLP model: (root, recurrent_fn) factories with torch weights from ``seed``.

    ``step > 0`` rounds rewards, values and logits to multiples of ``step``, so that equal Q
    values and equal pUCT scores (ties) happen often. ``dtype`` is the outputs' dtype.
    """
    generator = torch.Generator().manual_seed(seed)
    size = math.prod(latent_shape)
    w_dynamics = torch.randn(size + num_actions, size, generator=generator)
    w_reward = torch.randn(size, generator=generator)
    w_policy = 2.0 * torch.randn(size, num_actions, generator=generator)
    w_value = torch.randn(size, generator=generator)

    def rounded(x: torch.Tensor) -> torch.Tensor:
        return (torch.round(x / step) * step if step > 0 else x).to(dtype)

    def predict(latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = latent.flatten(1)
        return rounded(flat @ w_policy), rounded(torch.tanh(flat @ w_value))

    def root(batch_size: int) -> RootOutput:
        latent = torch.rand((batch_size, *latent_shape), generator=generator)
        logits, value = predict(latent)
        return RootOutput(logits, value, latent)

    def recurrent_fn(
        latent: torch.Tensor, action: torch.Tensor
    ) -> tuple[RecurrentOutput, torch.Tensor]:
        one_hot = torch.nn.functional.one_hot(action, num_actions).float()
        next_flat = torch.tanh(torch.cat([latent.flatten(1), one_hot], dim=1) @ w_dynamics)
        next_latent = next_flat.reshape(latent.shape)
        logits, value = predict(next_latent)
        return RecurrentOutput(rounded(next_flat @ w_reward), value, logits), next_latent

    return root, recurrent_fn


def random_legal_mask(batch_size: int, num_actions: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch_size, num_actions, generator=generator) < 0.5
    always_legal = torch.randint(num_actions, (batch_size,), generator=generator)
    mask[torch.arange(batch_size), always_legal] = True  # at least one per row
    return mask


def run_both(root: RootOutput, fn, config: SearchConfig, mask=None, seed: int = 0):
    """The same search twice, with generators in the same state: (batched, reference)."""
    fast = search(root, fn, config, mask, torch.Generator().manual_seed(seed))
    slow = search(
        root, fn, config, mask, torch.Generator().manual_seed(seed), implementation="reference"
    )
    return fast, slow


def assert_same_search(fast: SearchResult, reference: SearchResult) -> None:
    """Bit-for-bit equal results, Tree arrays included (values, dtypes and shapes)."""
    assert torch.equal(fast.visit_counts, reference.visit_counts)
    assert torch.equal(fast.root_value, reference.root_value)
    assert torch.equal(fast.q_values, reference.q_values)
    for field in dataclasses.fields(Tree):
        mine, theirs = getattr(fast.tree, field.name), getattr(reference.tree, field.name)
        if isinstance(mine, torch.Tensor):
            assert mine.dtype == theirs.dtype, field.name
            assert mine.shape == theirs.shape, field.name
            assert torch.equal(mine, theirs), field.name
        else:
            assert mine == theirs, field.name


# -- equivalence with the reference -----------------------------------------------------------

# (legal mask, value_bounds, root noise): each appears with and without the others.
SETTINGS = [
    (False, None, True),
    (True, (-1.0, 1.0), False),
    (True, None, True),
    (False, (-2.0, 3.0), False),
]


@pytest.mark.parametrize("batch_size", [1, 3, 17, 64])
@pytest.mark.parametrize("num_actions", [2, 9])
@pytest.mark.parametrize("two_player", [False, True])
@pytest.mark.parametrize("setting", range(len(SETTINGS)))
def test_batched_search_equals_reference(
    batch_size: int, num_actions: int, two_player: bool, setting: int
) -> None:
    masked, bounds, noise = SETTINGS[setting]
    seed = 1000 * setting + 100 * batch_size + 10 * num_actions + two_player
    root, fn = random_model(num_actions, seed)
    mask = random_legal_mask(batch_size, num_actions, seed) if masked else None
    config = SearchConfig(
        num_simulations=30,
        discount=GAMMA,
        two_player=two_player,
        value_bounds=bounds,
        exploration_fraction=0.25 if noise else 0.0,
        dirichlet_alpha=0.3,
    )
    fast, slow = run_both(root(batch_size), fn, config, mask, seed)
    assert_same_search(fast, slow)
    assert fast.visit_counts.sum(dim=1).tolist() == [30] * batch_size
    if masked:
        assert not fast.visit_counts[~mask].any()


@pytest.mark.parametrize("two_player", [False, True])
def test_equivalence_with_many_exact_ties(two_player: bool) -> None:
    # Values, rewards and logits on a grid of 0.5: equal Q values and equal scores are common,
    # so any difference in tie-breaking or in operation order would show.
    root, fn = random_model(9, seed=7, step=0.5)
    config = SearchConfig(num_simulations=50, two_player=two_player, exploration_fraction=0.0)
    fast, slow = run_both(root(17), fn, config)
    assert_same_search(fast, slow)


def test_equivalence_when_everything_ties() -> None:
    # Zero logits, values and rewards: every score of a node ties, so the first action wins
    # whenever its N(s,a) is lowest. Uniform prior 1/3, N(root) = 1 + sims so far:
    # sim 0 takes action 0, sim 1 action 1 (N=0 beats N=1), sim 2 action 2, sim 3 action 0 ...
    def zero_fn(latent: torch.Tensor, action: torch.Tensor):
        zeros = torch.zeros(len(action))
        return RecurrentOutput(zeros, zeros, torch.zeros(len(action), 3)), latent

    root = RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 1))
    fast, slow = run_both(root, zero_fn, SearchConfig(num_simulations=9, exploration_fraction=0))
    assert_same_search(fast, slow)
    assert fast.tree.action_from_parent[0, 1:4].tolist() == [0, 1, 2]


def test_equivalence_with_the_project_mlp_network() -> None:
    torch.manual_seed(3)
    network = MLPNetwork((8,), 9, latent_size=32, hidden_size=64).eval()
    with torch.no_grad():
        initial = network.initial_inference(torch.randn(5, 8))

    def fn(latent: torch.Tensor, action: torch.Tensor):
        out = network.recurrent_inference(latent, action)
        return RecurrentOutput(out.reward, out.value, out.policy_logits), out.latent

    root = RootOutput(initial.policy_logits, initial.value, initial.latent)
    fast, slow = run_both(root, fn, SearchConfig(num_simulations=50), seed=4)
    assert_same_search(fast, slow)


def test_run_search_equals_the_reference_search() -> None:
    # agent.run_search, the package's own path: the trees must be those of the readable
    # search, noise included.
    torch.manual_seed(3)
    network = MLPNetwork((8,), 9, latent_size=32, hidden_size=64).eval()
    observations = torch.randn(5, 8)
    legal = random_legal_mask(5, 9, seed=2)
    config = SearchConfig(num_simulations=30, dirichlet_alpha=0.3, exploration_fraction=0.25)
    fast = run_search(
        network, observations.numpy(), legal.numpy(), config, torch.Generator().manual_seed(1)
    )

    def checked_fn(latent: torch.Tensor, action: torch.Tensor):
        out = network.recurrent_inference(latent, action)
        return RecurrentOutput(out.reward, out.value, out.policy_logits), out.latent

    with torch.no_grad():
        initial = network.initial_inference(observations)
        root = RootOutput(initial.policy_logits, initial.value, initial.latent)
        generator = torch.Generator().manual_seed(1)
        slow = search(root, checked_fn, config, legal, generator, implementation="reference")
    assert_same_search(fast, slow)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_equivalence_with_other_output_dtypes_and_latent_shapes(dtype: torch.dtype) -> None:
    # float64 goes to the kernel as it is; bfloat16 is widened to float64 first.
    root, fn = random_model(4, seed=11, latent_shape=(2, 3), dtype=dtype)
    config = SearchConfig(num_simulations=20, two_player=True)
    fast, slow = run_both(root(3), fn, config, seed=5)
    assert_same_search(fast, slow)


def test_outputs_that_require_grad_are_read_without_error() -> None:
    root, fn = random_model(3, seed=2)

    def grad_fn(latent: torch.Tensor, action: torch.Tensor):
        output, next_latent = fn(latent, action)
        value = output.value.clone().requires_grad_()  # a leaf that asks for gradients
        return RecurrentOutput(output.reward, value, output.prior_logits), next_latent

    fast, slow = run_both(root(2), grad_fn, SearchConfig(num_simulations=10))
    assert_same_search(fast, slow)


def test_compiled_kernels_equal_their_python_source(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernels run by the Python interpreter (``py_func``, no numba) give the same trees:
    # what the notebook reader reads is what runs.
    root_fn, fn = random_model(4, seed=9)
    root = root_fn(3)
    mask = random_legal_mask(3, 4, seed=9)
    config = SearchConfig(num_simulations=12, two_player=True, value_bounds=(-1.0, 1.0))
    compiled = search(root, fn, config, mask, torch.Generator().manual_seed(1))
    monkeypatch.setattr(_kernels, "select_leaves", _kernels.select_leaves.py_func)
    monkeypatch.setattr(_kernels, "expand_and_backup", _kernels.expand_and_backup.py_func)
    interpreted = search(root, fn, config, mask, torch.Generator().manual_seed(1))
    assert_same_search(compiled, interpreted)


def test_packed_outputs_as_on_a_gpu_give_the_same_search(monkeypatch: pytest.MonkeyPatch) -> None:
    # A model on a GPU returns reward, value and logits in one packed copy [B, 2 + A]; the
    # kernels then read strided views. Forced on the CPU, the trees must not change.
    root, fn = random_model(5, seed=21)
    output, _ = fn(torch.rand(4, 6), torch.tensor([0, 1, 2, 4]))
    plain, packed = outputs_on_host(output, False), outputs_on_host(output, True)
    for one, other in zip(plain, packed, strict=True):
        assert one.dtype == other.dtype and np.array_equal(one, other)
    assert not outputs_on_host(output, True)[2].flags.c_contiguous  # a view of the packed copy

    monkeypatch.setattr(batched, "outputs_on_host", lambda out, packed: outputs_on_host(out, True))
    fast, slow = run_both(root(3), fn, SearchConfig(num_simulations=15), seed=2)
    assert_same_search(fast, slow)


# -- what recurrent_fn sees -------------------------------------------------------------------


def test_recurrent_fn_gets_each_leaf_parent_latent_and_fresh_action_tensors() -> None:
    root_fn, fn = random_model(3, seed=5, latent_shape=(2, 2))
    root = root_fn(4)
    calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def spy(latent: torch.Tensor, action: torch.Tensor):
        output, next_latent = fn(latent, action)
        calls.append((latent.clone(), action, next_latent))  # action kept, not copied
        return output, next_latent

    tree = search(root, spy, SearchConfig(num_simulations=15, exploration_fraction=0)).tree
    # node n's latent: the root's for n = 0, else the output of call n - 1.
    node_latents = [root.latent] + [next_latent for _, _, next_latent in calls]
    for simulation, (latent, action, _) in enumerate(calls):
        node = simulation + 1
        assert action.dtype == torch.int64
        # the action tensor was not reused and overwritten by later simulations:
        assert torch.equal(action, tree.action_from_parent[:, node])
        for b in range(4):
            parent = int(tree.parents[b, node])
            assert torch.equal(latent[b], node_latents[parent][b])


# -- the array kernels, by hand ---------------------------------------------------------------


def test_the_kernels_unpack_the_tree_arrays_in_their_field_order() -> None:
    assert TreeArrays._fields == _kernels.TREE_FIELDS


def test_pucb_tables_hold_sqrt_and_exploration_weight() -> None:
    sqrt_visits, exploration = pucb_tables(4, C1, C2)
    assert sqrt_visits.tolist() == [0.0, 1.0, math.sqrt(2), math.sqrt(3), 2.0]
    # n = 0: 1.25 + log(19653 / 19652) = 1.25 + 5.0884e-5
    assert exploration[0] == pytest.approx(1.25005088, abs=1e-8)
    # n = 2: 1.25 + log(19655 / 19652) = 1.25 + 1.5264e-4
    assert exploration[2] == pytest.approx(1.25015264, abs=1e-8)


def two_action_trees() -> TreeArrays:
    """Two trees, root priors [0.5, 0.5], value 0; simulation 0 expands action 0 in both
    (reward 1, value 0.5, logits [0, 0]). Tree 1 has known bounds (0, 10)."""
    trees = TreeArrays.with_root(3, np.full((2, 2), 0.5), np.zeros(2), None)
    trees.q_min[1], trees.q_max[1] = 0.0, 10.0
    zeros = np.array([0, 0], dtype=np.int64)
    _kernels.expand_and_backup(
        tuple(trees),
        1,
        zeros,
        zeros,
        np.array([1.0, 1.0], dtype=np.float32),
        np.array([0.5, 0.5], dtype=np.float32),
        np.zeros((2, 2), dtype=np.float32),
        GAMMA,
        1.0,
    )
    return trees


def select(trees: TreeArrays, legal: np.ndarray) -> tuple[list[int], list[int], list[int]]:
    parents, actions, rows = (np.empty(2, dtype=np.int64) for _ in range(3))
    _kernels.select_leaves(tuple(trees), legal, *pucb_tables(3, C1, C2), parents, actions, rows)
    return parents.tolist(), actions.tolist(), rows.tolist()


def test_expand_and_backup_writes_the_node_its_edge_and_the_min_max() -> None:
    trees = two_action_trees()
    q = 1.0 + GAMMA * 0.5  # Q(root, 0) = 1 + 0.997 * 0.5 = 1.4985
    # root: N = 1 + 1, value_sum = 0 (its own value) + 1.4985; node 1: N = 1, value_sum 0.5
    assert trees.node_visits[:, :2].tolist() == [[2, 1], [2, 1]]
    assert trees.value_sums[0, :2].tolist() == [q, 0.5]
    assert q == pytest.approx(1.4985)
    assert trees.children_q[0, 0].tolist() == [q, 0.0]
    assert trees.children_visits[0, 0].tolist() == [1, 0]
    assert trees.children_index[0, 0].tolist() == [1, -1]
    assert trees.children_prior[0, 1].tolist() == [0.5, 0.5]  # softmax of [0, 0]
    assert (trees.parents[0, 1], trees.action_from_parent[0, 1], trees.depth[0, 1]) == (0, 0, 1)
    # min-max: tree 0 saw only 1.4985; tree 1 keeps its wider bounds (0, 10)
    assert (trees.q_min[0], trees.q_max[0]) == (q, q)
    assert (trees.q_min[1], trees.q_max[1]) == (0.0, 10.0)


def test_select_leaves_follows_the_hand_computed_pucb_scores() -> None:
    trees = two_action_trees()
    # weight at N(root) = 2: 1.25 + log(19655 / 19652) = 1.2501526; sqrt(2) = 1.4142136
    # Tree 0: max == min, so Q̄(0) = Q = 1.4985 unchanged:
    #   action 0: 1.4985 + 0.5 * 1.4142136 / 2 * 1.2501526 = 1.9404957
    #   action 1: 0      + 0.5 * 1.4142136 / 1 * 1.2501526 = 0.8839914  -> action 0, to node 1
    #   node 1 (N = 1, both children unvisited, priors 0.5): a tie -> action 0, leaf (1, 0)
    # Tree 1: Q̄(0) = (1.4985 - 0) / 10 = 0.14985; action 0: 0.14985 + 0.4419957 = 0.5918457
    #   < 0.8839914 for action 1 -> leaf (0, 1)
    parents, actions, rows = select(trees, np.ones((2, 2), dtype=bool))
    assert parents == [1, 0]
    assert actions == [0, 1]
    assert rows == [1 * 2 + 0, 0 * 2 + 1]  # latent row = node * B + b
    # An illegal root action is never taken, whatever its score: tree 0 must take action 1.
    parents, actions, _ = select(trees, np.array([[False, True], [True, True]]))
    assert (parents[0], actions[0]) == (0, 1)


def test_softmax_of_the_reference_equals_the_kernel_priors() -> None:
    # [0, ln 3]: exp -> [1/3, 1] after subtracting the max ln 3; sum 4/3 -> [0.25, 0.75]
    assert softmax([0.0, math.log(3.0)]) == pytest.approx([0.25, 0.75], abs=1e-15)
    assert softmax([1000.0, 0.0]) == [1.0, 0.0]  # exp(-1000) underflows to 0; no overflow
    logits = np.random.default_rng(0).normal(0.0, 5.0, size=(64, 9)).astype(np.float32)
    trees = TreeArrays.with_root(2, np.full((64, 9), 1 / 9), np.zeros(64), None)
    nodes, zeros = np.zeros(64, dtype=np.int64), np.zeros(64, dtype=np.float32)
    _kernels.expand_and_backup(tuple(trees), 1, nodes, nodes, zeros, zeros, logits, GAMMA, -1.0)
    expected = [softmax([float(x) for x in row]) for row in logits]
    assert trees.children_prior[:, 1].tolist() == expected  # bit for bit
    assert trees.to_play_sign[:, 1].tolist() == [-1] * 64  # two-player: the opponent moves


# -- bad input --------------------------------------------------------------------------------


def test_unknown_implementation_raises_and_leaves_the_generator_alone() -> None:
    root, fn = random_model(3, seed=0)
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    with pytest.raises(ValueError, match="implementation must be one of"):
        search(root(2), fn, SearchConfig(), generator=generator, implementation="fast")
    assert torch.equal(generator.get_state(), state)


def test_latents_must_keep_the_root_latent_shape_and_dtype() -> None:
    root = RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 4))
    output = RecurrentOutput(torch.zeros(2), torch.zeros(2), torch.zeros(2, 3))
    config = SearchConfig(num_simulations=3)
    with pytest.raises(ValueError, match=r"latent must have shape \[2, 4\] and dtype"):
        search(root, lambda s, a: (output, torch.zeros(2, 5)), config)
    with pytest.raises(ValueError, match="torch.float32"):
        search(root, lambda s, a: (output, s.double()), config)
    with pytest.raises(TypeError, match="torch.Tensor latent"):
        search(root, lambda s, a: (output, s.numpy()), config)
    with pytest.raises(TypeError, match="RecurrentOutput"):
        search(root, lambda s, a: ((output.reward, output.value), s), config)
    wrong_logits = RecurrentOutput(torch.zeros(2), torch.zeros(2), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"prior_logits must have shape \[2, 3\]"):
        search(root, lambda s, a: (wrong_logits, s), config)


@pytest.mark.parametrize("implementation", ["batched", "reference"])
def test_both_implementations_reject_bad_model_outputs(implementation: str) -> None:
    root = RootOutput(torch.zeros(2, 3), torch.zeros(2), torch.zeros(2, 4))
    good = RecurrentOutput(torch.zeros(2), torch.zeros(2), torch.zeros(2, 3))
    wide = RecurrentOutput(torch.zeros(2), torch.zeros(2), torch.zeros(2, 4))
    cases = [
        (lambda s, a: (None, s), TypeError, "RecurrentOutput"),
        (lambda s, a: (wide, s), ValueError, r"prior_logits must have shape \[2, 3\]"),
        (lambda s, a: (good, [0, 0]), TypeError, "latent"),
        (lambda s, a: (good, torch.zeros(3, 4)), ValueError, "latent must have shape"),
    ]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            search(root, fn, SearchConfig(num_simulations=2), implementation=implementation)
