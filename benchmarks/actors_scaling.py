"""Env steps/s and learner steps/s with 0 (self-play in this process), 1, 2, 4, 8 Ray actors.

    python benchmarks/actors_scaling.py                      # any machine: small networks
    python benchmarks/actors_scaling.py --full --device cuda # a GPU machine: the presets' sizes

For each game and actor count, one ``Trainer.train`` runs until the learner has been stepping
for ``--seconds`` (the actors' start-up is reported apart, ``startup_s``; before the replay
holds a batch, nothing paces the actors), and the rates are counted over the last three
quarters of that window, when the ratio holds.
Actors run on the CPU, one core each (with ``--actor-gpus F``, each also takes a share F of
the GPU and searches there); the learner on ``--device``. The ratio of learner steps
to env steps is the preset's (``train_ratio``) unless ``--set train_ratio=...``: the learner
paces the actors, so where it cannot keep up, more actors wait rather than play more.

stdout gets one JSON line; progress goes to stderr. Issue 16's goal (a 16-core GPU machine):
env steps/s at least 3x from 1 to 8 actors while the learner keeps its pace.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from muzero_lite.config import parse_overrides, preset  # noqa: E402
from muzero_lite.training import Trainer  # noqa: E402

# Small enough that a 2-core CPU makes moves and learner steps every fraction of a second.
SMALL = {"connect4": dict(network="mlp", hidden_size=64, latent_size=32, num_simulations=25,
                          num_envs=16, batch_size=128, replay_capacity=50_000,
                          optimizer="adam", learning_rate=3e-3),
         "atari:Pong": dict(channels=8, num_blocks=1, num_simulations=8, num_envs=4,
                            batch_size=32, replay_capacity=20_000)}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(game: str, actors: int, seconds: float, overrides: dict, device: str,
            actor_gpus: float = 0.0) -> dict:
    config = preset(game, **overrides)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(config, Path(folder) / "run", device=device, progress=False)
        samples: list[tuple[float, int, int]] = []  # (time, env steps, learner steps)
        add_move = trainer._add_move

        def counted(chunks, ended):
            add_move(chunks, ended)
            samples.append((time.perf_counter(), trainer.env_steps, trainer.train_step))

        trainer._add_move = counted
        began = time.perf_counter()

        first_learning_move: list[float] = []  # when a move first found the learner going

        def learning_since() -> float | None:
            if not first_learning_move:
                first_learning_move.extend(s[0] for s in samples[-1:] if s[2] > 0)
            return first_learning_move[0] if first_learning_move else None

        def window_over(t: Trainer) -> bool:
            since = learning_since()
            return since is not None and time.perf_counter() - since >= seconds

        trainer.actor_ready_at = None
        trainer.train(max_wall_s=seconds + 300, stop=window_over, actors=actors,
                      actor_gpus=actor_gpus if actors else 0.0, log_every=10**9)
        ready = trainer.actor_ready_at if actors else began
        since = learning_since()
        if since is None:
            raise RuntimeError(f"{game} with {actors} actors: the learner never started")
        window = [s for s in samples if s[0] >= since + seconds / 4]
        if len(window) < 2:
            raise RuntimeError(f"{game} with {actors} actors: fewer than 2 moves in the "
                               "counted window; give more --seconds")
        (t0, env0, learn0), (t1, env1, learn1) = window[0], window[-1]
        return {"actors": actors, "startup_s": round(ready - began, 1),
                "env_steps_per_s": round((env1 - env0) / (t1 - t0), 1),
                "learner_steps_per_s": round((learn1 - learn0) / (t1 - t0), 2),
                "counted_s": round(t1 - t0, 1), "env_steps": trainer.env_steps,
                "train_steps": trainer.train_step,
                "weights_lag_max": trainer.weights_lag_max}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--games", nargs="+", default=["connect4", "atari:Pong"])
    p.add_argument("--actors", type=int, nargs="+", default=[0, 1, 2, 4, 8])
    p.add_argument("--seconds", type=float, default=20.0, help="counted window per run")
    p.add_argument("--full", action="store_true",
                   help="the presets' own networks and batch sizes (a GPU machine)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--actor-gpus", type=float, default=0.0,
                   help="share of a GPU each actor searches on (0: the actors use the CPU)")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--out", type=Path, default=None,
                   help="also write the JSON here after every run (a run cut short by a "
                        "timeout keeps the runs it finished)")
    args = p.parse_args()
    if any(n < 0 for n in args.actors):
        p.error("--actors: whole numbers >= 0")
    if not 0 <= args.actor_gpus <= 1:
        p.error("--actor-gpus: a share of one GPU, between 0 and 1")
    try:
        import ray
    except ImportError:
        p.error("needs Ray: pip install -e '.[ray]'")
    torch.set_num_threads(1 if args.device == "cpu" else torch.get_num_threads())
    cores = os.cpu_count() or 1
    # One CPU slot per actor even where the machine has fewer cores (they then share them).
    ray.init(num_cpus=max(cores, *args.actors), include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    results = {}

    def line() -> str:
        return json.dumps({"benchmark": "actors_scaling", "device": args.device,
                           "machine": f"{platform.machine()}, {cores} cores",
                           "seconds": args.seconds, "full": args.full,
                           "actor_gpus": args.actor_gpus, "games": results})

    try:
        for game in args.games:
            overrides = {**({} if args.full else SMALL.get(game, {})),
                         **parse_overrides(args.overrides)}
            results[game] = {"overrides": overrides, "runs": []}
            for n in args.actors:
                log(f"{game}: {n} actors ...")
                run = measure(game, n, args.seconds, overrides, args.device,
                              args.actor_gpus)
                log(f"  {run['env_steps_per_s']} env steps/s, "
                    f"{run['learner_steps_per_s']} learner steps/s")
                results[game]["runs"].append(run)
                if args.out is not None:
                    args.out.write_text(line() + "\n")
            by_count = {r["actors"]: r for r in results[game]["runs"]}
            if 1 in by_count and max(by_count) > 1:
                most = max(by_count)
                results[game][f"env_steps_gain_1_to_{most}"] = round(
                    by_count[most]["env_steps_per_s"] / by_count[1]["env_steps_per_s"], 2)
    finally:
        ray.shutdown()
    print(line())
    if args.out is not None:
        args.out.write_text(line() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
