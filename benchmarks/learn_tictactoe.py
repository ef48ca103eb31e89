"""Train tic-tac-toe from scratch until perfect play (or a time limit); print one JSON line.

Perfect play: zero losses as X and as O against every possible opponent reply, with the
agent searching greedily (no noise). Checked every `--eval-every` learner steps.

    python benchmarks/learn_tictactoe.py --seed 0 [--max-wall-s 600] [--out runs/bench_ttt_0]
    python benchmarks/learn_tictactoe.py --seed 0 --actors 1     # self-play in a Ray actor
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from muzero_lite.agent import Agent
from muzero_lite.config import parse_overrides, preset
from muzero_lite.evaluate import perfect_play_check, perfect_play_stop
from muzero_lite.games.tictactoe import TicTacToe
from muzero_lite.training import Trainer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-wall-s", type=float, default=600.0)
    p.add_argument("--eval-every", type=int, default=500, help="learner steps between checks")
    p.add_argument("--out", default=None)
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--actors", type=int, default=0, help="Ray actors for self-play (0: none)")
    args = p.parse_args()
    torch.set_num_threads(1)
    config = preset("tictactoe", seed=args.seed, **parse_overrides(args.overrides))
    out = args.out or f"runs/bench_tictactoe_{args.seed}"
    trainer = Trainer(config, out, progress=False)
    start = time.perf_counter()
    trainer.train(max_wall_s=args.max_wall_s, stop=perfect_play_stop(every=args.eval_every),
                  actors=args.actors)
    wall = time.perf_counter() - start
    report = perfect_play_check(TicTacToe, Agent(trainer.network, config, 2)).as_dict()
    print(json.dumps({
        "benchmark": "learn_tictactoe", "seed": args.seed, "goal": "perfect play",
        "overrides": args.overrides, "actors": args.actors,
        "reached": report["perfect"], "wall_s": round(wall, 1),
        "env_steps": trainer.env_steps, "train_steps": trainer.train_step,
        "episodes": trainer.episodes, "evaluation": report,
        "checkpoint": f"{out}/checkpoint.pt",
    }))
    print(f"seed {args.seed}: perfect={report['perfect']} after {wall:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
