"""Self-play in a child process (``pipeline="process"``).

Two threads of one Python process take turns holding the interpreter lock, so on a CPU the
search and the learner of ``pipeline="overlap"`` share one core's worth of Python. A child
process has its own interpreter: the search runs on one core while the learner runs on
another (``benchmarks/learn_tictactoe.py`` and ``learn_cartpole.py`` measure what it gains).

The child is a fresh ``python`` (``subprocess``) joined to this process by a socket pair, not
a ``multiprocessing`` child: those import the user's script again, so a script without an
``if __name__ == "__main__":`` guard would start a second training inside the child.
The parent sends ``(progress, weights or None)``, the child plays one move of every game with
its own ``SelfPlay`` and answers with the move: its chunks, the games that ended, the next game
key and its generator's state (both saved in the parent's checkpoints). The child never
touches the replay or the run folder, so a run's files keep one owner. Everything crosses the
socket as numpy arrays and plain values.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import torch

from muzero_lite.config import MuZeroConfig
from muzero_lite.inference import SearchInference
from muzero_lite.planning import network_for
from muzero_lite.selfplay import EpisodeEnd, SelfPlay

__all__ = ["SelfPlayProcess", "SelfPlayWorker", "main", "numpy_weights", "split_threads"]

Move = tuple[list, list[EpisodeEnd], int, np.ndarray]  # chunks, ended, next key, rng state


def split_threads(learner_threads: int) -> tuple[int, int]:
    """Torch threads for (the learner, the child): half the cores each at most. Two processes
    whose thread pools together outnumber the cores spin against each other: measured on 2
    cores with 2 threads each, self-play ran 10x slower than with 1 each."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    child = max(1, (cores or 1) // 2)
    return max(1, min(learner_threads, (cores or 1) - child)), child


def numpy_weights(state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """A state dict as numpy copies on the CPU (what crosses the socket)."""
    return {name: tensor.detach().cpu().numpy().copy() for name, tensor in state.items()}


class SelfPlayProcess:
    """One child process playing ``config.num_envs`` games; ``step`` plays one move."""

    def __init__(self, config: MuZeroConfig, observation_shape: tuple[int, ...],
                 num_actions: int, weights: dict[str, np.ndarray], generator_state: np.ndarray,
                 seed: int, first_key: int, device: str, threads: int = 1):
        if sys.platform == "win32":  # the child is handed its socket as an inherited fd
            raise ValueError('pipeline="process" needs Linux or macOS; on Windows use '
                             'pipeline="serial" (or "overlap" on a GPU)')
        ours, theirs = socket.socketpair()
        # The package's folder on the child's path, in case it runs from a source tree.
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from muzero_lite.selfplay_process import main; main()",
             str(theirs.fileno())], pass_fds=(theirs.fileno(),), env=env,
            start_new_session=True)  # Ctrl-C in a terminal reaches the parent alone
        theirs.close()
        self._conn = Connection(ours.detach())
        # Sent with the first move, so that this call does not wait for the child's imports.
        self._setup: tuple | None = (config.to_dict(), tuple(observation_shape), num_actions,
                                     weights, generator_state, seed, first_key, device,
                                     threads)

    def wait_ready(self) -> None:
        """Until the child has built its network and games (its imports take ~2 s)."""
        if self._setup is not None:
            setup, self._setup = self._setup, None
            self._ask(setup)

    def step(self, progress: float, weights: dict[str, np.ndarray] | None = None) -> Move:
        """One move of every game, with ``weights`` loaded first when given."""
        self.wait_ready()
        return self._ask((progress, weights))

    def _ask(self, message: tuple) -> Any:
        try:
            self._conn.send(message)
            kind, payload = self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            code = self._process.wait(timeout=5)
            raise RuntimeError(f"the self-play process ended without a word (exit code {code}:"
                               " killed, or out of memory?)") from None
        if kind == "error":
            raise RuntimeError(f"the self-play process failed:\n{payload}")
        return payload

    def close(self, wait: bool = True) -> None:
        """Ask the child to finish (``wait``) or end it now."""
        if wait and self._process.poll() is None:
            try:
                self._conn.send(None)
                self._process.wait(timeout=10)
            except (BrokenPipeError, ConnectionResetError, subprocess.TimeoutExpired):
                pass
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._conn.close()


def main() -> None:
    """The child's entry point: ``python -c ... <file descriptor of its socket>``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    _child(Connection(int(sys.argv[1])))


class SelfPlayWorker:
    """What plays on the far side of the socket (or in a Ray actor, ``actors.py``): a copy of
    the network, its own generator and one ``SelfPlay`` of ``config.num_envs`` games.
    ``play`` makes one move of every game, loading new weights first when given."""

    def __init__(self, config: dict[str, Any], observation_shape: tuple[int, ...],
                 num_actions: int, weights: dict[str, np.ndarray], generator_state: np.ndarray,
                 seed: int, first_key: int, device: str, threads: int):
        torch.set_num_threads(threads)
        cfg = MuZeroConfig.from_dict(config)
        self.network = network_for(cfg, observation_shape, num_actions).to(device)
        _load(self.network, weights)
        self.network.eval().requires_grad_(False)
        self.generator = torch.Generator()
        self.generator.set_state(torch.from_numpy(generator_state))
        self.selfplay = SelfPlay(cfg, self.network, self.generator, seed=seed,
                                 first_key=first_key,
                                 inference=SearchInference(self.network, cfg.inference,
                                                           cfg.precision))

    def play(self, progress: float, weights: dict[str, np.ndarray] | None = None) -> Move:
        # Subnormal floats flushed to zero, as Trainer.train does for the search in its own
        # thread: the same numbers, and no slow path on weights decayed below 1e-38. Set on
        # every move because a Ray actor need not run each call in the same thread.
        torch.set_flush_denormal(True)
        if weights is not None:
            _load(self.network, weights)
        chunks, ended = self.selfplay.step(progress)
        return chunks, ended, self.selfplay.next_key, self.generator.get_state().numpy()

    def close(self) -> None:
        self.selfplay.close()


def _child(conn: Connection) -> None:
    try:
        worker = SelfPlayWorker(*conn.recv())
        conn.send(("ready", None))
        while (request := conn.recv()) is not None:
            conn.send(("move", worker.play(*request)))
        worker.close()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the parent is gone: nothing to report to
    except BaseException:  # noqa: BLE001 - every failure goes to the parent, as text
        try:
            conn.send(("error", traceback.format_exc()))
        except (BrokenPipeError, ConnectionResetError):
            pass
    finally:
        # Skip the interpreter's teardown (0.7 s of unloading torch, measured), which the
        # parent's clock would otherwise wait for; nothing is left to write.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _load(network: torch.nn.Module, weights: dict[str, np.ndarray]) -> None:
    network.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()})
