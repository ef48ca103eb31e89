"""One-shot training run for the GPU machine (issue 12): train a preset for a fixed time, then
write what the run produced under --out, small enough to come back. Prints one JSON line.

On the device machine (it has torch with CUDA, numba, numpy, tqdm and matplotlib, but no package
index: gymnasium, ale-py, farama-notifications and psutil travel as cp312 manylinux wheels in
`.whl/`, fetched here first with `pip download --no-deps --only-binary=:all: --python-version
3.12 --platform manylinux2014_x86_64 -d .whl gymnasium ale-py farama-notifications psutil`):

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && \
    export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 && \
    timeout 560 python3 benchmarks/gpu_run.py atari:Pong --max-wall-s 420 --out $OUT/pong

    ... benchmarks/gpu_run.py connect4 --max-wall-s 420 --eval-games 20 --out $OUT/connect4

Here, on the CPU, the same pipeline end to end in about a minute:

    python benchmarks/gpu_run.py atari:Pong --tiny --max-wall-s 40 --out runs/gpu_run_tiny

What lands in --out: checkpoint.pt (the trained network), metrics.jsonl, curves.png and
summary.json (the run's numbers, the device, and for Connect Four the evaluation against
alpha-beta). The replay files are deleted at the end: they would not come back (files over
16 MiB do not) and are not needed to evaluate the agent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from muzero_lite.agent import Agent  # noqa: E402
from muzero_lite.checkpoint import load_checkpoint  # noqa: E402
from muzero_lite.config import QUICK, MuZeroConfig, preset  # noqa: E402
from muzero_lite.evaluate import evaluate_agent  # noqa: E402
from muzero_lite.training import Trainer  # noqa: E402

# A shrunken preset that runs on a laptop CPU: the same code path, tiny numbers.
TINY = QUICK


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("preset", help="a preset or game name, e.g. atari:Pong or connect4")
    p.add_argument("--out", required=True, help="the run folder (on the device: under $OUT)")
    p.add_argument("--max-wall-s", type=float, default=420.0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--tiny", action="store_true", help="a shrunken preset: a CPU smoke test")
    p.add_argument("--eval-games", type=int, default=20,
                   help="two-player games: games per side against each opponent (0: none, "
                        "evaluate the checkpoint afterwards, e.g. benchmarks/connect4_strength.py)")
    p.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                   help="train on from this checkpoint's weights, config and counters "
                        "(train --init-from); --set changes its config, not the network")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args()
    from muzero_lite.config import parse_overrides

    if args.eval_games < 0:
        p.error(f"--eval-games must be 0 or more, not {args.eval_games}")
    overrides = {**(TINY if args.tiny else {}), **parse_overrides(args.overrides)}
    if args.init_from is not None:
        saved = load_checkpoint(args.init_from)
        config = MuZeroConfig.from_dict(saved["config"]).replace(**overrides)
        if config.game != preset(args.preset).game:
            p.error(f"{args.init_from} holds a {config.game} agent, not {args.preset}")
    else:
        config = preset(args.preset, **overrides)
    out = Path(args.out)
    torch.set_num_threads(1 if args.device == "cpu" else torch.get_num_threads())
    started = time.perf_counter()
    trainer = Trainer(config, out, device=args.device, progress=False, init_from=args.init_from)
    setup_s = time.perf_counter() - started
    # With --init-from the counters go on from the checkpoint's; the rates are this run's own.
    before = (trainer.wall_s, trainer.env_steps, trainer.train_step)
    last = trainer.train(max_wall_s=args.max_wall_s)
    wall_s = max(trainer.wall_s - before[0], 1e-9)
    returns = list(trainer.recent_returns)
    summary = {
        "benchmark": "gpu_run", "preset": args.preset, "tiny": args.tiny,
        "overrides": {k: v for k, v in overrides.items()}, "init_from": args.init_from,
        "device": (torch.cuda.get_device_name() if trainer.device.type == "cuda"
                   else "cpu"),
        "setup_s": round(setup_s, 1), "train_wall_s": round(wall_s, 1),
        "train_steps": trainer.train_step - before[2], "env_steps": trainer.env_steps - before[1],
        "totals": {"train_steps": trainer.train_step, "env_steps": trainer.env_steps,
                   "episodes": trainer.episodes, "wall_s": round(trainer.wall_s, 1)},
        "env_steps_per_s": round((trainer.env_steps - before[1]) / wall_s, 1),
        "learner_steps_per_s": round((trainer.train_step - before[2]) / wall_s, 2),
        "mean_return_last_20": (round(float(np.mean(returns[-20:])), 2) if returns else None),
        "last_metrics": last,
    }
    if trainer.game_info["num_players"] == 2 and args.eval_games > 0:
        agent = Agent(trainer.network.eval(), config, 2)
        evaluated = time.perf_counter()
        summary["evaluation"] = evaluate_agent(agent, games=args.eval_games)
        summary["evaluation_s"] = round(time.perf_counter() - evaluated, 1)
    shutil.rmtree(out / "replay", ignore_errors=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
