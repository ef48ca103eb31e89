"""Sample efficiency of Reanalyze on CartPole: the same environment-step budget with and
without it, several seeds each; print one JSON line.

    python benchmarks/reanalyze_gain.py [--seeds 0 1 2] [--env-steps 20000] [--jobs 2]
                                        [--save data/runs/reanalyze_gain.json]

Both arms run the committed ``cartpole`` preset; the Reanalyze arm changes only
``reanalyze_fraction`` (``--fraction``, paper: 0.8), unless ``--paper`` also sets the paper's
n = 5 and value-loss weight 0.25. Each run stops at the budget: ``train_ratio * env_steps``
learner steps, so both arms learn equally often from equally many games. The greedy agent plays
``--episodes`` episodes every ``--eval-every`` environment steps. (The learner owes no steps
until one batch of positions is stored, so its steps trail ``train_ratio * env_steps`` by the
few hundred environment steps played before then; every curve point records the steps actually
taken.) The arms share each seed, but once their networks differ everything downstream differs
too: the seeds are independent samples, not paired ones.

Reported per arm: the mean greedy return at the budget and the environment steps at which it
first reached ``--threshold`` (null where it never did), per seed and summarised; the mean
return over all checks (steadier than one check); the wall time, because re-searching stored
positions costs learner time (``wall_s``: self-play and learning, evaluations excluded;
files saved before that change counted the evaluations too). ``--save`` writes the whole
curves as JSON (chapter 07 plots them), and ``--from-saved FILE`` prints the summary of such
a file again without training.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ARMS = ("baseline", "reanalyze")
DEFAULT_THRESHOLD = 400.0


def run_one(arm: str, seed: int, args: dict[str, Any]) -> dict[str, Any]:
    """Train one arm from scratch to the budget; the greedy-return curve."""
    import torch

    from muzero_lite.agent import Agent
    from muzero_lite.config import preset
    from muzero_lite.evaluate import greedy_returns
    from muzero_lite.reanalyze import paper_reanalyze_config
    from muzero_lite.training import Trainer

    torch.set_num_threads(1)
    config = preset("cartpole", seed=seed)
    if arm == "reanalyze":
        config = (paper_reanalyze_config(config) if args["paper"] else config)
        config = config.replace(reanalyze_fraction=args["fraction"],
                                reanalyze_noise=not args["no_noise"])
    train_steps = round(config.train_ratio * args["env_steps"])
    eval_every = max(1, round(config.train_ratio * args["eval_every"]))
    config = config.replace(training_steps=train_steps)
    curve: list[dict[str, float]] = []
    eval_s = [0.0]  # time spent evaluating inside train(): not training, so taken out below

    def evaluate(trainer: Trainer) -> None:
        started = time.perf_counter()
        agent = Agent(trainer.network, config, 1)
        returns = greedy_returns(agent, args["episodes"], seed=10_000 + seed)
        trainer.network.train()
        curve.append({"env_steps": trainer.env_steps, "train_steps": trainer.train_step,
                      "mean_return": round(float(np.mean(returns)), 2)})
        print(f"{arm} seed {seed}: {trainer.env_steps} env steps, greedy return "
              f"{curve[-1]['mean_return']:.1f}", file=sys.stderr, flush=True)
        eval_s[0] += time.perf_counter() - started

    def stop(trainer: Trainer) -> bool:
        if trainer.train_step % eval_every == 0:
            evaluate(trainer)
        return False

    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(config, out, progress=False)
        start = time.perf_counter()
        trainer.train(stop=stop)
        wall = time.perf_counter() - start - eval_s[0]
        if not curve or curve[-1]["train_steps"] != trainer.train_step:
            evaluate(trainer)
    # wall_s: self-play and learning only (checkpoints included, evaluations excluded).
    return {"arm": arm, "seed": seed, "curve": curve, "wall_s": round(wall, 1),
            "eval_s": round(eval_s[0], 1), "reanalyze_s": round(trainer.reanalyze_s, 1)}


def summarise(runs: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """One arm's numbers over its seeds, read off the curves."""
    at_budget = [r["curve"][-1]["mean_return"] for r in runs]
    to_threshold = [next((p["env_steps"] for p in r["curve"] if p["mean_return"] >= threshold),
                         None) for r in runs]
    hit = [s for s in to_threshold if s is not None]
    # One check is 20 episodes at one moment; the mean over all checks (the area under the
    # curve divided by its length) is the steadier sample-efficiency number.
    over_curve = [float(np.mean([p["mean_return"] for p in r["curve"]])) for r in runs]
    checks_above = [p["mean_return"] >= threshold for r in runs for p in r["curve"]]
    return {
        "return_at_budget": at_budget,
        "return_at_budget_mean": round(float(np.mean(at_budget)), 1),
        "return_at_budget_std": round(float(np.std(at_budget)), 1),
        "env_steps_to_threshold": to_threshold,
        "reached_threshold": f"{len(hit)}/{len(runs)}",
        # A seed that never reached it counts as infinitely many steps: the median is then a
        # lower bound, or null when most seeds never got there.
        "env_steps_to_threshold_median": float(np.median(
            [s if s is not None else np.inf for s in to_threshold])),
        "mean_return_over_curve": [round(v, 1) for v in over_curve],
        # Once over the threshold, does it stay? The share of all checks at or above it.
        "checks_at_or_above_threshold": f"{sum(checks_above)}/{len(checks_above)}",
        "mean_return_over_curve_mean": round(float(np.mean(over_curve)), 1),
        "wall_s_mean": round(float(np.mean([r["wall_s"] for r in runs])), 1),
        "reanalyze_s_mean": round(float(np.mean([r["reanalyze_s"] for r in runs])), 1),
    }


def report(runs: list[dict[str, Any]], settings: dict[str, Any],
           total_wall_s: float) -> dict[str, Any]:
    """The one JSON line: both arms summarised and their ratios."""
    arms = {arm: summarise([r for r in runs if r["arm"] == arm], settings["threshold"])
            for arm in ARMS if any(r["arm"] == arm for r in runs)}
    base, rea = arms.get("baseline"), arms.get("reanalyze")
    gain = None
    if base is not None and rea is not None:
        steps_base = base["env_steps_to_threshold_median"]
        steps_rea = rea["env_steps_to_threshold_median"]
        gain = {
            "return_at_budget_ratio": round(rea["return_at_budget_mean"]
                                            / max(base["return_at_budget_mean"], 1e-9), 3),
            "mean_return_over_curve_ratio": round(
                rea["mean_return_over_curve_mean"]
                / max(base["mean_return_over_curve_mean"], 1e-9), 3),
            # baseline steps / Reanalyze steps: > 1 means Reanalyze got there sooner.
            "env_steps_to_threshold_median_ratio": (
                round(steps_base / steps_rea, 3)
                if np.isfinite(steps_base) and np.isfinite(steps_rea) else None),
            "wall_time_ratio": round(rea["wall_s_mean"] / max(base["wall_s_mean"], 1e-9), 3),
        }
    for arm in arms.values():  # JSON has no infinity: never reached is null
        if not np.isfinite(arm["env_steps_to_threshold_median"]):
            arm["env_steps_to_threshold_median"] = None
    return {
        "benchmark": "reanalyze_gain", "game": "cartpole",
        "seeds": sorted({r["seed"] for r in runs}),
        "env_step_budget": settings["env_steps"], "threshold": settings["threshold"],
        "reanalyze": {"fraction": settings["fraction"],
                      "paper_n_and_value_weight": settings["paper"],
                      "root_noise": not settings["no_noise"]},
        "baseline": base, "reanalyze_arm": rea, "gain": gain,
        "total_wall_s": round(total_wall_s, 1),
    }


def from_saved(paths: list[str], threshold: float | None,
               parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The report of the runs in one or more ``--save`` files (same settings, pooled)."""
    files = [json.loads(Path(path).read_text()) for path in paths]
    compared = ("env_steps", "eval_every", "episodes", "fraction", "paper", "no_noise")
    for path, saved in zip(paths[1:], files[1:], strict=True):
        differ = [k for k in compared if saved["settings"][k] != files[0]["settings"][k]]
        if differ:
            parser.error(f"{path} was run with other settings than {paths[0]}: {differ}")
    runs = [run for saved in files for run in saved["runs"]]
    seen = [(r["arm"], r["seed"]) for r in runs]
    if len(set(seen)) != len(seen):
        parser.error("the files repeat an (arm, seed) run: pool files of different seeds")
    settings = {**files[0]["settings"],
                "threshold": files[0]["settings"]["threshold"] if threshold is None
                else threshold}
    return report(runs, settings, sum(saved["summary"]["total_wall_s"] for saved in files))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--env-steps", type=int, default=20_000, help="budget per run")
    p.add_argument("--eval-every", type=int, default=2_000, help="environment steps")
    p.add_argument("--episodes", type=int, default=20, help="greedy episodes per evaluation")
    p.add_argument("--threshold", type=float, default=None,
                   help=f"greedy mean return (default {DEFAULT_THRESHOLD:.0f})")
    p.add_argument("--fraction", type=float, default=0.8, help="reanalyze_fraction (paper 0.8)")
    p.add_argument("--paper", action="store_true",
                   help="Reanalyze arm also takes n = 5 and value-loss weight 0.25")
    p.add_argument("--no-noise", action="store_true",
                   help="re-search without root Dirichlet noise (collapsed, chapter 07)")
    p.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS),
                   help="which arms to run (both by default; the gain needs both)")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (one core each)")
    p.add_argument("--save", default=None, help="write every curve to this JSON file")
    p.add_argument("--from-saved", nargs="+", default=None, metavar="FILE",
                   help="train nothing: summarise the runs that --save wrote (several files of "
                        "the same settings and other seeds are pooled), e.g. with another "
                        "--threshold")
    args = p.parse_args()
    if args.from_saved:
        print(json.dumps(from_saved(args.from_saved, args.threshold, p)))
        return
    if args.threshold is None:
        args.threshold = DEFAULT_THRESHOLD
    if args.env_steps < 1 or args.eval_every < 1 or args.episodes < 1 or args.jobs < 1:
        p.error("--env-steps, --eval-every, --episodes and --jobs must be positive")
    if not 0.0 < args.fraction <= 1.0:
        p.error(f"--fraction must be in (0, 1], got {args.fraction}")
    settings = {k: getattr(args, k) for k in ("env_steps", "eval_every", "episodes",
                                               "threshold", "fraction", "paper",
                                               "no_noise")}
    jobs = [(arm, seed) for seed in args.seeds for arm in ARMS if arm in args.arms]
    start = time.perf_counter()
    # spawn: each worker imports torch afresh (fork after torch is loaded is unsafe).
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
        runs = list(ex.map(run_one, *zip(*jobs, strict=True),
                           [settings] * len(jobs)))
    result = report(runs, settings, time.perf_counter() - start)
    if args.save:
        with open(args.save, "w") as f:
            json.dump({"summary": result, "settings": settings, "runs": runs}, f, indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
