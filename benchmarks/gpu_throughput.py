"""GPU throughput of the training loop: self-play and learner, alone and overlapped.

    python benchmarks/gpu_throughput.py                # on a CUDA machine: atari:Pong, connect4
    python benchmarks/gpu_throughput.py --tiny         # anywhere: shrunken nets, a few seconds

For each preset, in one process (so every number is comparable with the others):

1. ``network_ms``: one ``recurrent_inference`` at the self-play batch, per way of calling it
   (eager fp32, eager bf16, and on CUDA: CUDA graph fp32 / bf16, torch.compile bf16). The
   fastest is used for everything below (``chosen``).
2. ``search``: one batched search from the games' first positions: simulations/s, and the share
   of its time spent outside the network (the same 1 + N network calls timed alone).
3. ``selfplay_alone``: env steps/s of ``Trainer._selfplay_step`` (all games, one search a move).
4. ``learner_alone``: learner steps/s of ``Trainer._learn_step`` on the replay step 3 filled;
   ``learner_prefetch``: the same with and without the next batch sampled during the
   backward pass (on by default on CUDA), the other one for half the time.
5. ``overlap``: ``Trainer.train`` with ``pipeline="overlap"`` for ``--seconds``: env steps/s
   and learner steps/s together, at ``train_ratio`` = learner_alone / selfplay_alone
   ("balanced": the ratio at which neither would wait if the overlap were perfect) unless
   ``--train-ratio`` is given; GPU utilisation sampled every 0.2 s (nvidia-ml-py) and peak
   GPU memory.
6. ``serial``: the same trainer with ``pipeline="serial"`` (one thread, moves and learner steps
   in turn) for ``--seconds``: what the overlap gains.
7. ``process``: the same with ``pipeline="process"`` (self-play in a child process, with its
   own CUDA context), run for ``--seconds`` + 10 and counted from when the child was ready:
   its start-up (``startup_s``, ~2 s on a CPU) is reported apart.

stdout gets one JSON line; progress goes to stderr. The targets (issue 11, one H100/H200):
>= 3,000 env steps/s with >= 30 learner steps/s for both presets, search time outside the
network <= 15% at B=256.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from muzero_lite.agent import run_search, search_config  # noqa: E402
from muzero_lite.config import QUICK, preset  # noqa: E402
from muzero_lite.inference import SearchInference  # noqa: E402
from muzero_lite.training import Trainer  # noqa: E402

# The sizes the issue measures at: B=256 games, the presets' networks and simulations.
FULL = {"atari:Pong": dict(num_envs=256, batch_size=256, num_simulations=50),
        "connect4": dict(num_envs=256, batch_size=512, num_simulations=100)}
TINY = {k: v for k, v in QUICK.items() if k not in ("train_ratio", "checkpoint_interval")}
TARGETS = {"env_steps_per_s": 3000, "learner_steps_per_s": 30, "outside_network_share": 0.15}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int, warmups: int = 3) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls, after ``warmups``."""
    for _ in range(warmups):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


class GpuSampler:
    """GPU utilisation (%) sampled in a thread every 0.2 s; None without nvidia-ml-py."""

    def __init__(self, device: torch.device):
        self.samples: list[int] = []
        self._halt = threading.Event()
        self._handle = None
        if device.type == "cuda":
            try:
                import pynvml

                pynvml.nvmlInit()
                self._nvml = pynvml
                self._handle = pynvml.nvmlDeviceGetHandleByIndex(device.index or 0)
            except Exception as error:  # no library or no driver access: report None
                log(f"  GPU utilisation not sampled: {error}")
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._halt.wait(0.2):
            self.samples.append(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu)

    def __enter__(self) -> GpuSampler:
        if self._handle is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt.set()
        if self._handle is not None:
            self._thread.join()

    def mean(self) -> float | None:
        return round(float(np.mean(self.samples)), 1) if self.samples else None


def network_modes(network, latent: torch.Tensor, device: torch.device,
                  repeats: int) -> tuple[dict, tuple[str, str]]:
    """ms per recurrent call for each way of calling the network; the fastest (mode, prec)."""
    modes = [("eager", "fp32"), ("eager", "bf16")]
    if device.type == "cuda":
        modes += [("graph", "fp32"), ("graph", "bf16"), ("compile", "bf16")]
    actions = torch.zeros(latent.shape[0], dtype=torch.long, device=device)
    results: dict[str, float | str] = {}
    for mode, precision in modes:
        name = f"{mode}_{precision}"
        try:
            inference = SearchInference(network, mode, precision)
            with torch.inference_mode():
                seconds = timed(lambda inf=inference: inf.recurrent(latent, actions), device,
                                repeats, warmups=5)
            results[name] = round(seconds * 1e3, 3)
        except Exception as error:  # e.g. torch.compile without a compiler: say so, go on
            results[name] = f"failed: {type(error).__name__}: {str(error)[:200]}"
        log(f"  network {name}: {results[name]}")
    timings = {k: v for k, v in results.items() if isinstance(v, float)}
    best = min(timings, key=timings.get)
    mode, precision = best.split("_")
    return results, (mode, precision)


def steps_taken(trainer: Trainer) -> int:
    return trainer.train_step + trainer.skipped_batches


def search_numbers(network, inference: SearchInference, trainer: Trainer,
                   device: torch.device, repeats: int) -> dict:
    vector = trainer.selfplay.vector
    observations, legal = vector.observations(), vector.legal_masks()
    cfg = trainer.config
    settings = search_config(cfg, vector.num_players == 2, noise=True)
    with torch.inference_mode():
        search_s = timed(lambda: run_search(network, observations, legal, settings,
                                            trainer.actor_generator, inference), device, repeats)
        x = torch.as_tensor(observations, device=device)
        latent = inference.initial(x).latent
        actions = torch.zeros(len(observations), dtype=torch.long, device=device)

        def network_only() -> None:
            inference.initial(x)
            for _ in range(cfg.num_simulations):
                inference.recurrent(latent, actions)

        network_s = timed(network_only, device, repeats)
    return {"batch": len(observations), "simulations": cfg.num_simulations,
            "sims_per_s": round(len(observations) * cfg.num_simulations / search_s),
            "search_ms": round(search_s * 1e3, 2), "network_ms": round(network_s * 1e3, 2),
            "outside_network_share": round(max(0.0, 1 - network_s / search_s), 3)}


def learner_rate(trainer: Trainer, device: torch.device, seconds: float) -> float:
    """Learner steps/s of ``Trainer._learn_step`` alone, for ``seconds``."""
    sync(device)
    started, step0 = time.perf_counter(), steps_taken(trainer)
    while time.perf_counter() - started < seconds:
        trainer._learn_step()
    sync(device)
    return (steps_taken(trainer) - step0) / (time.perf_counter() - started)


def measure(name: str, overrides: dict, seconds: float, repeats: int, device: torch.device,
            folder: Path, train_ratio: float | None) -> dict:
    log(f"{name}: {overrides}")
    # Speed is measured, not learning: a batch whose loss is not finite is skipped (and
    # counted as a learner step, since it cost one), rather than stopping the benchmark.
    config = preset(name, **overrides, pipeline="overlap", training_steps=10**7,
                    checkpoint_interval=10**7, on_nonfinite_loss="skip")
    probe = Trainer(config, folder / "probe", device=device, progress=False)
    network = probe.actor_network
    with torch.inference_mode():
        x = torch.as_tensor(probe.selfplay.vector.observations(), device=device)
        latent = network.initial_inference(x).latent
    modes, (mode, precision) = network_modes(network, latent, device, repeats * 10)
    probe.selfplay.close()
    log(f"  chosen: {mode} {precision}")

    config = config.replace(inference=mode, precision=precision)
    trainer = Trainer(config, folder / "run", device=device, progress=False)
    search = search_numbers(trainer.actor_network, trainer.selfplay.inference, trainer, device,
                            repeats)
    log(f"  search: {search}")

    trainer._selfplay_step()  # compiles and captures: not timed
    started, env0 = time.perf_counter(), trainer.env_steps
    while time.perf_counter() - started < seconds or not trainer._can_learn():
        trainer._selfplay_step()
    sync(device)
    selfplay = (trainer.env_steps - env0) / (time.perf_counter() - started)
    log(f"  self-play alone: {selfplay:.1f} env steps/s")

    trainer._learn_step()  # not timed: first step allocates
    learner = learner_rate(trainer, device, seconds)
    log(f"  learner alone: {learner:.1f} steps/s (prefetch {trainer.prefetch})")
    # The same without (on a GPU) or with (on a CPU) the next batch sampled ahead: what it
    # gains where it is on, and that it would not pay where it is off.
    default = trainer.prefetch
    trainer.prefetch = not default
    other = learner_rate(trainer, device, seconds / 2)
    trainer.prefetch = default
    prefetch = {"on_by_default": default, "steps_per_s_on": round(other, 2),
                "steps_per_s_off": round(learner, 2)}
    if default:
        prefetch["steps_per_s_on"], prefetch["steps_per_s_off"] = round(learner, 2), round(other, 2)
    log(f"  learner alone with prefetch {not default}: {other:.1f} steps/s")

    ratio = train_ratio if train_ratio is not None else learner / selfplay
    rows = {}
    for pipeline in ("overlap", "serial", "process"):
        if pipeline == "process":  # the child numbers its games after the thread's
            trainer._first_key = trainer.selfplay.next_key
        trainer.config = trainer.config.replace(pipeline=pipeline, train_ratio=ratio)
        trainer._learn_credit = 0.0
        env0, step0 = trainer.env_steps, steps_taken(trainer)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        startup = {}
        with GpuSampler(device) as gpu:
            wall0, began = trainer.wall_s, time.perf_counter()
            trainer.train(max_wall_s=seconds + (10 if pipeline == "process" else 0),
                          log_every=10**7)
            wall = trainer.wall_s - wall0  # the loop's time: the closing save is not counted
        if pipeline == "process":  # from the child's readiness on (the learner waited for it)
            ready = trainer.actor_ready_at - began
            wall -= ready
            startup = {"startup_s": round(ready, 2)}
        rows[pipeline] = {**startup,
            "env_steps_per_s": round((trainer.env_steps - env0) / wall, 1),
            "learner_steps_per_s": round((steps_taken(trainer) - step0) / wall, 2),
            "gpu_util_percent": gpu.mean(),
            "peak_gpu_memory_gib": (round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
                                    if device.type == "cuda" else None),
        }
        log(f"  {pipeline}: {rows[pipeline]}")
    trainer.selfplay.close()
    return {"overrides": overrides, "network_ms": modes, "chosen": f"{mode}_{precision}",
            "search": search,
            "selfplay_alone_env_steps_per_s": round(selfplay, 1),
            "learner_alone_steps_per_s": round(learner, 2), "learner_prefetch": prefetch,
            "train_ratio": round(ratio, 5), "skipped_batches": trainer.skipped_batches, **rows}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=list(FULL))
    p.add_argument("--tiny", action="store_true", help="shrunken nets: a smoke test anywhere")
    p.add_argument("--seconds", type=float, default=None,
                   help="per timed phase (default 30, --tiny 2)")
    p.add_argument("--train-ratio", type=float, default=None,
                   help="learner steps per env step when overlapped (default: balanced)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default=None, help="keep the run folders here (default: a temp dir)")
    args = p.parse_args()
    device = torch.device(args.device)
    seconds = args.seconds or (2.0 if args.tiny else 30.0)
    repeats = 2 if args.tiny else 5
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gpu_throughput_"))
    results = {}
    try:
        for name in args.presets:
            overrides = {**FULL.get(name, {}), **(TINY if args.tiny else {})}
            results[name] = measure(name, overrides, seconds, repeats, device,
                                    folder / name.replace(":", "_"), args.train_ratio)
    finally:
        if args.out is None:
            shutil.rmtree(folder, ignore_errors=True)
    met = {name: {
        "env_steps_per_s": r["overlap"]["env_steps_per_s"] >= TARGETS["env_steps_per_s"],
        "learner_steps_per_s": (r["overlap"]["learner_steps_per_s"]
                                >= TARGETS["learner_steps_per_s"]),
        "outside_network_share": (r["search"]["outside_network_share"]
                                  <= TARGETS["outside_network_share"])}
        for name, r in results.items()}
    print(json.dumps({
        "benchmark": "gpu_throughput", "tiny": args.tiny, "seconds_per_phase": seconds,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cpu_count": __import__("os").cpu_count(), "torch": torch.__version__,
        "python": platform.python_version(), "results": results, "targets": TARGETS,
        "met": met}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
