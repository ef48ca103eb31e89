"""Search throughput: simulations per second of the reference and the batched search.

    python benchmarks/search_throughput.py                # the full table, one JSON line on stdout
    python benchmarks/search_throughput.py --quick        # B in (1, 64), A = 9 only
    python benchmarks/search_throughput.py --profile 256 9   # where one search's time goes

The network is the MuZero MLP of the issue, ``MLPNetwork((8,), A, latent_size=32,
hidden_size=64)``: h 8 -> 64 -> ReLU -> 32; g [latent, one-hot a] -> 64 -> ReLU -> (32, 1);
f 32 -> 64 -> ReLU -> (A, 1). Each search: 1 initial call + 50 simulations (one recurrent
call each, for all B roots), discount 0.997, root noise on, one torch thread, under
``torch.inference_mode()``. The batched search is timed through ``agent.run_search``, the
package's own path that self-play, evaluation and the agent use (its checks included); the
reference search gets the same model functions (``run_search_functions``).

For every B in (1, 16, 64, 256) and A in (2, 9, 18) it reports the median of 5 timed searches
after 3 warm-ups:

* ``sims_per_s``: B * 50 / (seconds per search, initial call included), per implementation;
* ``network_only_s``: the same 1 + 50 network calls (``initial_inference``, then
  ``recurrent_inference`` with the arguments ``run_search`` gave it, recorded), alone;
* ``overhead_ratio``: batched search time / network-only time (1.0 would be a free tree).

Progress and a readable table go to stderr; stdout gets exactly one JSON line.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable

import numba
import numpy as np
import torch

from muzero_lite.agent import run_search
from muzero_lite.networks import MLPNetwork
from muzero_lite.search import RecurrentOutput, RootOutput, SearchConfig, search

NUM_SIMULATIONS = 50
BATCH_SIZES = (1, 16, 64, 256)
ACTION_COUNTS = (2, 9, 18)
REPEATS = 5
WARMUPS = 3
# The targets for the batched search on the 2-core CPU: (A, B) -> simulations/s.
TARGETS = {(9, 256): 750_000, (9, 64): 700_000, (18, 256): 400_000}
MAX_OVERHEAD_RATIO_AT_B256 = 3.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_search_functions(
    network: MLPNetwork,
) -> tuple[Callable[[torch.Tensor], RootOutput], Callable]:
    """The search's two model calls as ``agent.run_search`` builds them, for the reference
    search (which ``run_search`` does not offer): the same network methods, the same
    output record."""

    def initial_fn(observation: torch.Tensor) -> RootOutput:
        out = network.initial_inference(observation)
        return RootOutput(out.policy_logits, out.value, out.latent)

    def recurrent_fn(
        latent: torch.Tensor, action: torch.Tensor
    ) -> tuple[RecurrentOutput, torch.Tensor]:
        step = network.recurrent_inference(latent, action)
        return RecurrentOutput(step.reward, step.value, step.policy_logits), step.latent

    return initial_fn, recurrent_fn


def record_recurrent_calls(network: MLPNetwork, run: Callable[[], object]) -> list[tuple]:
    """Call ``run()`` once, recording the arguments of every ``network.recurrent_inference``
    call it makes (an instance attribute shadows the method while it runs)."""
    calls: list[tuple] = []
    method = network.recurrent_inference

    def recording(latent: torch.Tensor, action: torch.Tensor):
        calls.append((latent.clone(), action.clone()))
        return method(latent, action)

    network.recurrent_inference = recording
    try:
        run()
    finally:
        del network.recurrent_inference
    return calls


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls after ``WARMUPS`` untimed ones.

    The warm-ups load numba's compiled kernels and let the allocator grow to the size of this
    cell's arrays (the first searches of a new size pay page faults). Like ``timeit``, the
    garbage collector is off while timing: the reference's node objects form cycles, and a
    collection of them must not land in another cell's timings.
    """
    gc.collect()
    for _ in range(WARMUPS):
        run()
    times = []
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return statistics.median(times)


def measure(num_actions: int, batch_size: int, repeats: int) -> dict[str, object]:
    """Time one (A, B) cell: reference search, batched search, and the network alone."""
    torch.manual_seed(num_actions * 1000 + batch_size)
    network = MLPNetwork((8,), num_actions, latent_size=32, hidden_size=64).eval()
    initial_fn, recurrent_fn = run_search_functions(network)
    observation = torch.randn(batch_size, 8)
    observation_array = observation.numpy()
    legal = np.ones((batch_size, num_actions), dtype=bool)
    config = SearchConfig(num_simulations=NUM_SIMULATIONS, discount=0.997)

    def batched_search():
        generator = torch.Generator().manual_seed(0)
        return run_search(network, observation_array, legal, config, generator)

    def reference_search():
        generator = torch.Generator().manual_seed(0)
        root = initial_fn(observation)
        legal_mask = torch.from_numpy(legal)
        return search(root, recurrent_fn, config, legal_mask, generator, "reference")

    # The 50 recurrent calls of one search, to replay them without the tree.
    calls = record_recurrent_calls(network, batched_search)
    same = bool(torch.equal(batched_search().visit_counts, reference_search().visit_counts))

    def network_only() -> None:
        network.initial_inference(observation)
        for latent, action in calls:
            network.recurrent_inference(latent, action)

    # The reference last: its millions of small Python objects leave the heap fragmented.
    seconds = {
        "batched": median_seconds(batched_search, repeats),
        "network_only": median_seconds(network_only, repeats),
        "reference": median_seconds(reference_search, repeats),
    }
    return {"seconds": seconds, "same_visit_counts": same}


def profile_one(batch_size: int, num_actions: int) -> dict[str, object]:
    """cProfile of 20 batched searches: the tree kernels, the network and the glue by name.

    The table (to stderr) is sorted by own time; the profiler inflates Python-level costs
    (torch's many small calls most), so read it for where, not for how much.
    """
    torch.manual_seed(num_actions * 1000 + batch_size)
    network = MLPNetwork((8,), num_actions, latent_size=32, hidden_size=64).eval()
    observation = torch.randn(batch_size, 8).numpy()
    legal = np.ones((batch_size, num_actions), dtype=bool)
    config = SearchConfig(num_simulations=NUM_SIMULATIONS, discount=0.997)
    with torch.inference_mode():
        run_search(network, observation, legal, config)  # warm-up
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        for _ in range(20):
            run_search(network, observation, legal, config)
        profiler.disable()
        wall_s = time.perf_counter() - start
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
    log(text.getvalue())
    return {
        "benchmark": "search_throughput_profile",
        "B": batch_size,
        "A": num_actions,
        "searches": 20,
        "wall_s_under_profiler": round(wall_s, 4),
    }


def table(results: dict[str, dict[str, dict[str, float]]], key: str, fmt: str) -> list[str]:
    lines = [f"{key:>24} | " + " ".join(f"{f'B={b}':>10}" for b in BATCH_SIZES)]
    for row, cells in results[key].items():
        values = " ".join(
            f"{format(cells[f'B={b}'], fmt):>10}" if f"B={b}" in cells else f"{'-':>10}"
            for b in BATCH_SIZES
        )
        lines.append(f"{row:>24} | {values}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="A = 9, B in (1, 64) only")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed runs per cell")
    parser.add_argument(
        "--profile", nargs=2, type=int, metavar=("B", "A"), help="profile one cell, no table"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.profile:
        print(json.dumps(profile_one(*args.profile)))
        return

    batch_sizes = (1, 64) if args.quick else BATCH_SIZES
    action_counts = (9,) if args.quick else ACTION_COUNTS
    sims_per_s: dict[str, dict[str, float]] = {}
    search_s: dict[str, dict[str, float]] = {}
    network_only_s: dict[str, dict[str, float]] = {}
    overhead_ratio: dict[str, dict[str, float]] = {}
    same_visit_counts = True
    with torch.inference_mode():
        for num_actions in action_counts:
            for batch_size in batch_sizes:
                cell = measure(num_actions, batch_size, args.repeats)
                seconds = cell["seconds"]
                same_visit_counts &= cell["same_visit_counts"]
                a_key, b_key = f"A={num_actions}", f"B={batch_size}"
                simulations = batch_size * NUM_SIMULATIONS
                for name in ("reference", "batched"):
                    row = f"{name} {a_key}"
                    sims_per_s.setdefault(row, {})[b_key] = simulations / seconds[name]
                    search_s.setdefault(row, {})[b_key] = seconds[name]
                net_row = f"network {a_key}"
                network_only_s.setdefault(net_row, {})[b_key] = seconds["network_only"]
                overhead_ratio.setdefault(f"batched/network {a_key}", {})[b_key] = (
                    seconds["batched"] / seconds["network_only"]
                )
                log(
                    f"A={num_actions:2d} B={batch_size:3d}: "
                    f"reference {simulations / seconds['reference']:9,.0f} sims/s, "
                    f"batched {simulations / seconds['batched']:9,.0f} sims/s, "
                    f"network only {seconds['network_only'] * 1e3:6.2f} ms, "
                    f"ratio {seconds['batched'] / seconds['network_only']:.2f}"
                )

    targets = {}
    for (num_actions, batch_size), target in TARGETS.items():
        row, b_key = f"batched A={num_actions}", f"B={batch_size}"
        if row in sims_per_s and b_key in sims_per_s[row]:
            measured = sims_per_s[row][b_key]
            targets[f"A={num_actions} {b_key}"] = {
                "target_sims_per_s": target,
                "sims_per_s": round(measured),
                "met": measured >= target,
            }
    for row, cells in overhead_ratio.items():
        if "B=256" in cells:
            targets[f"overhead_ratio {row.split()[-1]} B=256"] = {
                "target_max_ratio": MAX_OVERHEAD_RATIO_AT_B256,
                "ratio": round(cells["B=256"], 2),
                "met": cells["B=256"] <= MAX_OVERHEAD_RATIO_AT_B256,
            }

    results = {
        "sims_per_s": sims_per_s,
        "search_s": search_s,
        "network_only_s": network_only_s,
        "overhead_ratio": overhead_ratio,
    }
    log("")
    for key, fmt in (
        ("sims_per_s", ",.0f"),
        ("search_s", ".5f"),
        ("network_only_s", ".5f"),
        ("overhead_ratio", ".2f"),
    ):
        log("\n".join(table(results, key, fmt)) + "\n")
    for name, target in targets.items():
        log(f"target {name}: {'met' if target['met'] else 'MISSED'} {target}")

    def rounded(nested: dict[str, dict[str, float]], digits: int) -> dict:
        return {
            row: {b: round(v, digits) for b, v in cells.items()} for row, cells in nested.items()
        }

    print(
        json.dumps(
            {
                "benchmark": "search_throughput",
                "num_simulations": NUM_SIMULATIONS,
                "repeats": args.repeats,
                "torch_threads": torch.get_num_threads(),
                "same_visit_counts": same_visit_counts,
                "sims_per_s": rounded(sims_per_s, 0),
                "search_s": rounded(search_s, 6),
                "network_only_s": rounded(network_only_s, 6),
                "overhead_ratio": rounded(overhead_ratio, 3),
                "targets": targets,
                "versions": {
                    "python": platform.python_version(),
                    "torch": torch.__version__,
                    "numba": numba.__version__,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
