"""Crash drill: kill a training run with SIGKILL at random moments, resume, check the run
folder each time. Prints one JSON line.

    python benchmarks/crash_drill.py --kills 20 [--preset tictactoe] [--seed 0]

Each round starts the command-line trainer (fresh, then ``--resume``), waits a random
0.3-3 s after its first checkpoint, and sends SIGKILL. Checkpoints come every
learner step (``checkpoint_interval=1``), so many kills land inside a write. After each kill:

- the checkpoint loads and its learner step never went back;
- ``Trainer(resume=True)`` succeeds (a stale lock left by the killed process is taken over);
- the replay files are exactly those the checkpoint covers, with no temporary files left;
- the replay read back holds exactly the positions of those files, and the games that ended
  in it are exactly the episodes the checkpoint counted;
- ``metrics.jsonl`` ends at or before the checkpoint's step, every line whole.

A kill that left a temporary file (``.tmp``) or a lock behind is counted as landing in a write
or in a run. The drill stops at the first broken invariant and reports it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from muzero_lite.checkpoint import load_checkpoint  # noqa: E402
from muzero_lite.replay import ChunkStore  # noqa: E402
from muzero_lite.training import Trainer, read_metrics  # noqa: E402

TINY = dict(num_simulations=4, num_envs=4, batch_size=16, hidden_size=16, latent_size=8,
            checkpoint_interval=1, lr_decay_steps=30, train_ratio=0.5, training_steps=10**6)


def check_invariants(out: Path, last_step: int) -> dict:
    """The run folder after a kill; raises AssertionError naming what broke."""
    saved = load_checkpoint(out / "checkpoint.pt")["counters"]
    assert saved["train_step"] >= last_step, f"step went back: {saved['train_step']}"
    left = {"tmp": bool(list(out.rglob(".*.tmp"))), "lock": (out / ".lock").exists()}
    resumed = Trainer(None, out, resume=True, progress=False)
    store = ChunkStore(out / "replay")
    numbers = store.numbers()
    assert numbers == list(range(saved["replay_files"])), (numbers, saved["replay_files"])
    left_over = [str(p.relative_to(out)) for p in out.rglob(".*.tmp")]
    assert not left_over, f"temporary files left after resume: {left_over}"
    chunks = [c for n in numbers for c in store.read(n)]
    assert len(resumed.replay) == sum(len(c) for c in chunks)
    ended = sum(c.game_over for c in chunks)  # no file was pruned: the ring is large
    assert ended == saved["episodes"], f"{ended} games ended in the replay, " \
                                       f"{saved['episodes']} episodes counted"
    metrics = out / "metrics.jsonl"  # absent if the kill came before the first log line
    lines = metrics.read_text().splitlines() if metrics.exists() else []
    assert all(json.loads(line) for line in lines), "a torn metrics line"
    rows = read_metrics(metrics) if metrics.exists() else []
    assert not rows or rows[-1]["train_step"] <= saved["train_step"]
    return {"train_step": saved["train_step"], **left}


def _stamp(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


def drill(kills: int, preset: str, seed: int, folder: Path) -> dict:
    out = folder / "run"
    rng = np.random.default_rng(seed)
    sets = sum([["--set", f"{k}={v}"] for k, v in TINY.items()], [])
    last_step, in_write, with_lock, rounds = 0, 0, 0, []
    for _ in range(kills):
        fresh = not (out / "checkpoint.pt").exists()
        cmd = [sys.executable, "-m", "muzero_lite", "train",
               *([preset, "--out", str(out), *sets] if fresh else ["--resume", "--out",
                                                                     str(out)]),
               "--no-progress"]
        before, stamp = time.time(), _stamp(out / "checkpoint.pt")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        while time.time() - before < 120 and _stamp(out / "checkpoint.pt") == stamp:
            time.sleep(0.05)  # until this run has saved a checkpoint of its own
        time.sleep(float(rng.uniform(0.3, 3.0)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        state = check_invariants(out, last_step)
        last_step = state["train_step"]
        in_write += state["tmp"]
        with_lock += state["lock"]
        rounds.append(state["train_step"])
    return {"benchmark": "crash_drill", "preset": preset, "kills": kills,
            "invariants_held": kills, "kills_that_left_a_tmp_file": in_write,
            "kills_that_left_a_stale_lock": with_lock, "train_step_after_each": rounds}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--preset", default="tictactoe")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.kills < 1:
        p.error("--kills must be >= 1")
    folder = Path(tempfile.mkdtemp(prefix="crash_drill_"))
    try:
        print(json.dumps(drill(args.kills, args.preset, args.seed, folder)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
