"""Train CartPole-v1 from scratch until the greedy agent averages >= 475 over 20 episodes
(or a time limit); print one JSON line.

    python benchmarks/learn_cartpole.py --seed 0 [--max-wall-s 600] [--out runs/bench_cp_0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from muzero_lite.agent import Agent
from muzero_lite.config import parse_overrides, preset
from muzero_lite.evaluate import greedy_returns
from muzero_lite.training import Trainer

GOAL = 475.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-wall-s", type=float, default=600.0)
    p.add_argument("--eval-every", type=int, default=500, help="learner steps between checks")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--out", default=None)
    p.add_argument("--set", dest="overrides", action="append", default=[])
    args = p.parse_args()
    torch.set_num_threads(1)
    config = preset("cartpole", seed=args.seed, **parse_overrides(args.overrides))
    out = args.out or f"runs/bench_cartpole_{args.seed}"
    trainer = Trainer(config, out, progress=False)

    def evaluate() -> float:
        agent = Agent(trainer.network, config, 1)
        returns = greedy_returns(agent, args.episodes, seed=10_000 + args.seed)
        trainer.network.train()
        return float(np.mean(returns))

    best = {"mean_return": None}

    def stop(t: Trainer) -> bool:
        if t.train_step % args.eval_every:
            return False
        best["mean_return"] = evaluate()
        print(f"step {t.train_step}: greedy mean return {best['mean_return']:.1f}",
              file=sys.stderr)
        return best["mean_return"] >= GOAL

    start = time.perf_counter()
    trainer.train(max_wall_s=args.max_wall_s, stop=stop)
    wall = time.perf_counter() - start
    final = evaluate()
    print(json.dumps({
        "benchmark": "learn_cartpole", "seed": args.seed, "goal": f"mean return >= {GOAL}",
        "overrides": args.overrides,
        "reached": final >= GOAL, "wall_s": round(wall, 1), "env_steps": trainer.env_steps,
        "train_steps": trainer.train_step, "episodes": trainer.episodes,
        "evaluation": {"mean_return": round(final, 1), "episodes": args.episodes},
        "checkpoint": f"{out}/checkpoint.pt",
    }))


if __name__ == "__main__":
    main()
