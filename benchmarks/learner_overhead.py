"""What a learner step costs beyond its arithmetic: the launch-bound floor, and the CUDA graph.

    python benchmarks/learner_overhead.py                 # this machine's device
    python benchmarks/learner_overhead.py --presets connect4_small --steps 10

For each preset, ``Trainer._learn_step`` (sample, forward, backward, optimizer step,
priorities) is timed at two sizes, in one process:

* ``full``: the preset's own network and batch (``connect4_small`` is the 2-block, 32-channel
  network of the shipped Connect Four agent at batch 128, the GPU sitting's settings);
* ``trivial``: the same layers with 2 channels at batch 4, whose arithmetic is next to nothing,
  so what is left is the cost of issuing the step's operations (Python, torch's dispatcher,
  and on a GPU the kernel launches): a floor that no faster GPU lowers.

On CUDA both sizes are timed twice more with ``learner_graph=on`` (``muzero_lite/loss_graph.py``:
forward and backward replayed as one CUDA graph). ``ops_per_step`` counts the aten operations
one step issues (torch's profiler, the trivial size).

The replay is filled by self-play with 2 simulations a move: the learner's cost does not depend
on how good the stored searches were. Prints one JSON line; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from muzero_lite.config import preset  # noqa: E402
from muzero_lite.training import Trainer  # noqa: E402

PRESETS = {
    "atari:Pong": ("atari:Pong", {}),
    "connect4_small": ("connect4", dict(channels=32, num_blocks=2, batch_size=128)),
    "connect4": ("connect4", {}),
}
TRIVIAL = dict(channels=2, batch_size=4)
# Self-play only fills the replay: few games, few simulations, positions handed over often.
FILL = dict(num_simulations=2, num_envs=16, chunk_moves=10, learning_rate=1e-4,
            replay_capacity=20_000, pipeline="serial")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def trainer_for(name: str, size: str, graph: str, device: torch.device, folder: str) -> Trainer:
    game, own = PRESETS[name]
    overrides = {**own, **FILL, **(TRIVIAL if size == "trivial" else {}), "learner_graph": graph}
    if name.startswith("atari") and size == "trivial":
        overrides["channels"] = 4  # the downsampling network halves the channels once
    trainer = Trainer(preset(game, **overrides), folder, device=device, progress=False)
    while not trainer._can_learn():
        trainer._selfplay_step()
    return trainer


def ms_per_step(trainer: Trainer, steps: int) -> float:
    for _ in range(2):  # first steps allocate (and record the graph): not timed
        trainer._learn_step()
    sync(trainer.device)
    started = time.perf_counter()
    for _ in range(steps):
        trainer._learn_step()
    sync(trainer.device)
    return (time.perf_counter() - started) / steps * 1e3


def ops_per_step(trainer: Trainer) -> int:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:  # the operations issued, not kernels
        trainer._learn_step()
    # Top-level operations only: those no other aten operation called.
    return sum(1 for e in prof.events() if e.name.startswith("aten::") and
               (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default=",".join(PRESETS),
                   help=f"comma-separated, from {', '.join(PRESETS)}")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=20, help="timed learner steps per row")
    p.add_argument("--full-steps-cpu", type=int, default=3,
                   help="timed steps of a full-size row on a CPU (each takes seconds)")
    args = p.parse_args()
    names = [n.strip() for n in args.presets.split(",") if n.strip()]
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        p.error(f"unknown preset(s) {unknown}; choose from {', '.join(PRESETS)}")
    if args.steps < 1 or args.full_steps_cpu < 1:
        p.error("--steps and --full-steps-cpu must be >= 1")
    device = torch.device(args.device)
    graphs = ("off", "on") if device.type == "cuda" else ("off",)
    rows: list[dict] = []

    def report(cut_short: bool = False) -> None:
        print(json.dumps({
            "benchmark": "learner_overhead",
            "device": torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine(),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows,
            **({"cut_short": "stopped by SIGTERM (a timeout): the rows done so far"}
               if cut_short else {})}), flush=True)

    def on_term(signum: int, frame: object) -> None:  # `timeout` on the GPU machine
        report(cut_short=True)
        sys.exit(1)

    signal.signal(signal.SIGTERM, on_term)
    for name in names:
        for size in ("trivial", "full"):
            for graph in graphs:
                with tempfile.TemporaryDirectory() as folder:
                    trainer = trainer_for(name, size, graph, device, folder)
                    steps = (args.full_steps_cpu if size == "full" and device.type == "cpu"
                             else args.steps)
                    ms = ms_per_step(trainer, steps)
                    row = {"preset": name, "size": size, "learner_graph": graph,
                           "batch_size": trainer.config.batch_size,
                           "channels": trainer.config.channels,
                           "num_blocks": trainer.config.num_blocks,
                           "ms_per_step": round(ms, 2), "steps_per_s": round(1e3 / ms, 2),
                           "timed_steps": steps}
                    if size == "trivial" and graph == "off":
                        row["ops_per_step"] = ops_per_step(trainer)
                    rows.append(row)
                    log(f"{name} {size} graph={graph}: {ms:.1f} ms a step")
    report()


if __name__ == "__main__":
    main()
