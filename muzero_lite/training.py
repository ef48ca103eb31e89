"""The training loop: self-play feeds the replay buffer, the learner trains on it.

One ``Trainer`` owns a run folder::

    <out>/checkpoint.pt      network, optimizer, counters, config, RNG states (weights_only);
                             written last, so it names exactly the replay files it covers
    <out>/replay/chunks-*.npz  the replay: each chunk of steps written once (no pickle)
    <out>/metrics.jsonl      one JSON object per log line
    <out>/curves.png         return and loss curves (drawn when a run stops)

Self-play and learning are interleaved in one process at a fixed ratio: after every self-play
move (``num_envs`` environment steps) the learner takes ``train_ratio * num_envs`` steps
(carrying fractions over), from the moment the replay holds a batch. The paper runs the two
apart, on thousands of actors and a TPU learner; one ratio is the single-machine stand-in for
their relative speeds. The clock (``max_wall_s``) is checked before every move and every
learner step, and a step that would end past it (judged by the last one) is not started.

A checkpoint costs the same however full the replay is: new chunks go to disk once, and the
checkpoint records how many replay files it covers. ``resume=True`` reads those files back
(any written after the checkpoint are removed, so a crash at any moment resumes from the last
checkpoint exactly), ends the games that were still running as cut off, and gives every
position its first priority ``|nu - z|`` again: learned priorities are not saved, since that
would make each checkpoint as big as the buffer.

``init_from=CHECKPOINT`` starts a new run from the weights of another one (a published agent,
or the checkpoint of a run whose folder is lost): its config unless one is given, its
network's weights, its counters (so the learning-rate schedule and the totals go on from
them); a fresh optimizer, fresh random numbers and an empty replay that self-play refills.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import queue
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Container
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from muzero_lite import games
from muzero_lite.checkpoint import atomic_write, load_checkpoint, save_checkpoint
from muzero_lite.config import MuZeroConfig
from muzero_lite.device import check_device
from muzero_lite.inference import Autocast, SearchInference, resolve
from muzero_lite.loss_graph import GraphedLoss
from muzero_lite.losses import unrolled_loss
from muzero_lite.planning import network_for
from muzero_lite.reanalyze import reanalyze_batch
from muzero_lite.replay import (
    Batch,
    Chunk,
    ChunkStore,
    FrameStack,
    ReplayBuffer,
    aligned_zeros,
    augment,
)
from muzero_lite.run_lock import RunLock
from muzero_lite.selfplay import SelfPlay, make_game_vector
from muzero_lite.selfplay_process import SelfPlayProcess, numpy_weights, split_threads

__all__ = ["Diverged", "Trainer", "plot_curves", "read_metrics", "replay_bytes",
           "search_bytes"]

_FLUSH_BYTES = 64 << 20  # new chunks wait in memory up to this size, then go to one file
# A dead value head stays dead; a healthy one is flat at most for a few steps of bad luck.
FLAT_VALUE_STEPS = 200
_WITHOUT_REPLAY = ("resume without the replay (--resume --drop-replay, or drop_replay=True): "
                   "weights, optimizer and counters are kept and self-play refills it")


def replay_bytes(config: MuZeroConfig, frame_shape: tuple[int, ...], frame_dtype: np.dtype,
                 num_actions: int) -> int:
    """Bytes the replay takes once full: ``replay_capacity`` positions."""
    per_position = ReplayBuffer.bytes_per_position(frame_shape, frame_dtype, num_actions)
    return config.replay_capacity * per_position


def search_bytes(num_roots: int, num_simulations: int, num_actions: int,
                 latent_numel: int) -> int:
    """Bytes one batched search allocates: B trees of N = simulations + 1 nodes (8 int64 or
    float64 node arrays, 4 edge arrays of A entries) and N x B float32 latents."""
    nodes = num_roots * (num_simulations + 1)
    return nodes * (8 * 8 + 4 * 8 * num_actions + 4 * latent_numel)


def _check_memory(needed: int, what: str, lower: str) -> None:
    import psutil

    available = psutil.virtual_memory().available
    if needed > available:
        raise ValueError(f"{what} needs {needed:,} bytes ({needed / 2**30:.1f} GiB) but this "
                         f"machine has {available:,} bytes ({available / 2**30:.1f} GiB) "
                         f"available; lower {lower}")


class Diverged(ValueError):
    """The loss became NaN or infinite; the checkpoint on disk is the last good one."""


class Trainer:
    """Self-play + learner for one run. ``Trainer(config, out).train()`` runs the budget."""

    def __init__(self, config: MuZeroConfig | None, out_dir: str | Path, resume: bool = False,
                 device: str | torch.device = "cpu", progress: bool = True,
                 drop_replay: bool = False, init_from: str | Path | None = None):
        # Everything a user typed is checked before the folder is touched, so a corrected
        # retry is never refused with "already holds a run".
        self.out = Path(out_dir)
        self.device = check_device(device)
        self.show_progress = progress
        self.stopped_by: int | None = None  # the signal that stopped the last train()
        self.actor_ready_at: float | None = None  # "process": when the child was ready
        self._check_folder()
        checkpoint = self.out / "checkpoint.pt"
        start: dict[str, Any] | None = None  # the checkpoint a new run starts from
        if init_from is not None:
            if resume:
                raise ValueError("init_from starts a new run from another run's weights; "
                                 "it does not go with resume")
            start = load_checkpoint(init_from, device=self.device)
            if config is None:
                config = MuZeroConfig.from_dict(start["config"])
        if resume:
            if not checkpoint.is_file():
                raise ValueError(f"{self.out} holds no checkpoint.pt, so there is nothing to "
                                 "resume; start a new run (without resume/--resume)")
            state = load_checkpoint(checkpoint, device=self.device)
            config = MuZeroConfig.from_dict(state["config"])
        elif checkpoint.exists():
            # Starting afresh here would overwrite the checkpoint and append to its metrics.
            raise ValueError(f"{self.out} already holds a run: pass resume=True (--resume), "
                             "or another folder")
        elif not isinstance(config, MuZeroConfig):
            raise TypeError(f"config must be a MuZeroConfig (e.g. preset('tictactoe')), "
                            f"not {type(config).__name__}")
        self.config = config
        # bf16 for the learner too, when the search uses it ("auto": on a GPU).
        self._bf16 = resolve(config.inference, config.precision, self.device)[1]
        if config.learner_graph == "on" and self.device.type != "cuda":
            if not resume:
                raise ValueError(f"learner_graph='on' records the learner as a CUDA graph and "
                                 f"this run is on {self.device}: use --device cuda, or "
                                 "learner_graph=off")
            # How the learner is launched is the machine's business, not the run's: a GPU run
            # goes on here as it would have with learner_graph=off (and is saved so).
            config = self.config = config.replace(learner_graph="off")
            print(f"learner_graph=on needs a CUDA device; resumed on {self.device} with "
                  "learner_graph=off", file=sys.stderr, flush=True)
        if config.learner_graph == "on" and config.inference == "compile":
            raise ValueError("learner_graph='on' does not go with inference='compile' "
                             "(torch.compile records its graphs when it chooses, which can "
                             "collide with the learner's): use inference=auto or graph")
        self._loss_graph: GraphedLoss | None = None  # recorded at the first learner step
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)

        probe = games.make(config.game, seed=config.seed)
        self.game_info = {"name": config.game, "observation_shape": list(probe.observation_shape),
                          "num_actions": probe.num_actions, "num_players": probe.num_players}
        self.network = network_for(config, probe.observation_shape, probe.num_actions)
        if start is not None:  # the weights go in now, so a misfit stops before the folder
            _load_start(start, init_from, self.game_info, self.network)
            done = int(start.get("counters", {}).get("train_step", 0))
            if done >= config.training_steps:  # the counters carry over: it would stop at once
                raise ValueError(f"{init_from} is at learner step {done}, and training_steps "
                                 f"is {config.training_steps}, so the new run would stop "
                                 f"before its first step; raise it (e.g. --set "
                                 f"training_steps={done + config.training_steps})")
        self._check_memory(probe)
        probe.close()
        self._symmetries = _symmetries(probe) if config.augment_symmetries else ()
        self._make_folder()
        # The folder is locked while this Trainer changes it: now (resume cuts the metrics and
        # removes stale replay files) and during train().
        self._lock = RunLock(self.out)
        self._lock.acquire()
        try:
            self._build(config, state if resume else None, drop_replay, start, init_from)
        finally:
            self._lock.release()

    def _check_folder(self) -> None:
        """The run folder, or the folder it will be made in, must be one this process can
        write (checked before anything runs; the folder is made only once all checks pass)."""
        existing = self.out
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        if not existing.is_dir():
            what = "the run folder" if existing == self.out else f"{self.out}'s parent"
            raise ValueError(f"{existing} is a file, not a folder, so it cannot be {what}: "
                             "pick another --out")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ValueError(f"cannot write to {existing} (permission denied), so the run "
                             f"folder {self.out} cannot be used: pick another --out")

    def _make_folder(self) -> None:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f"cannot create the run folder {self.out}: {error.strerror}"
                             ) from None

    def _check_memory(self, probe: games.Game) -> None:
        """What the replay and the largest search need, against the machine's free memory,
        before self-play starts (Atari: the replay stores the newest frame alone)."""
        cfg = self.config
        stored = probe.frame() if isinstance(probe, games.AtariGame) else probe.observation()
        _check_memory(replay_bytes(cfg, stored.shape, stored.dtype, probe.num_actions),
                      f"replay_capacity={cfg.replay_capacity:,}", "replay_capacity")
        with torch.no_grad():
            latent = self.network.initial_inference(
                torch.as_tensor(probe.observation(), dtype=torch.float32)[None]).latent
        roots = cfg.num_envs
        if cfg.reanalyze_fraction > 0:  # reanalyze searches K + 1 positions per chosen sample
            chosen = math.ceil(cfg.reanalyze_fraction * cfg.batch_size)
            roots = max(roots, chosen * (cfg.num_unroll_steps + 1))
        _check_memory(search_bytes(roots, cfg.num_simulations, probe.num_actions,
                                   latent[0].numel()),
                      f"a search of {cfg.num_simulations:,} simulations for {roots:,} roots",
                      "num_simulations or num_envs")

    def _build(self, config: MuZeroConfig, state: dict[str, Any] | None, drop_replay: bool,
               start: dict[str, Any] | None = None, init_from: str | Path | None = None
               ) -> None:
        self.network.to(self.device)
        self.optimizer = _optimizer(config, self.network)
        self.train_step = 0
        self.env_steps = 0
        self.episodes = 0
        self.wall_s = 0.0  # training time summed over resumed sessions
        self.recent_returns: deque[float] = deque(maxlen=100)
        self._last_losses: dict[str, float] = {}
        self.reanalyze_s = 0.0  # learner time spent remaking targets, summed like wall_s
        self.skipped_batches = 0  # non-finite losses skipped (on_nonfinite_loss="skip")
        self._skipped_in_a_row = 0  # 100 in a row stop the run even when skipping
        self.last_evaluation: dict[str, Any] | None = None  # set by stop callbacks, logged
        self._learn_credit = 0.0  # learner steps owed to the ratio, carried between moves
        self._replay_files = 0  # replay files written (the next file's number)
        self._first_key = 0  # the number of the next self-play game (chunk key)
        self._actor_blocks = 0  # Ray actors' game-key blocks handed out (actors.py)
        self._actors = 0  # Ray actors of the current (or last) train() call
        self._actor_gpus = 0.0  # and the share of a GPU each took
        self._weights_lag_bound = 0  # with Ray actors: the most a move's weights may trail
        self.actor_restarts = 0  # Ray actors replaced after they died, summed over calls
        self.weights_lag_max = 0  # the stalest move's weights, in learner steps (this session)
        self._move_s = self._learn_s = 0.0  # how long the last move / learner step took
        self._save_s = 0.0  # how long the last checkpoint took: reserved at the clock's end
        self._first_loss: float | None = None  # for the one-time "loss grew 100x" warning
        self._loss_warned = False
        self._flat_value_steps = 0  # learner steps in a row whose predicted values were flat
        self.started_from: str | None = None  # init_from: which weights, at which step
        if state is not None:
            self._restore(state)
        elif start is not None:
            self._start_from(start, init_from)
        # "overlap" and "process": self-play has its own copy of the network (refreshed
        # every weight_sync_interval learner steps) and its own random numbers.
        self.actor_network, self.actor_generator = self.network, self.generator
        if config.pipeline != "serial":
            self.actor_generator = torch.Generator().manual_seed(config.seed + 1)
            if state is not None and "actor" in state["rng"]:
                self.actor_generator.set_state(state["rng"]["actor"])
        if config.pipeline == "overlap":
            self.actor_network = copy.deepcopy(self.network).eval().requires_grad_(False)
        self._actor_weights_step = self.train_step  # the learner step its weights come from
        self._move_weights_step = self.train_step  # same, for the last move in the replay
        self._published: tuple[int, dict[str, torch.Tensor], Any] | None = None
        self._published_step = self.train_step
        # "process": the games live in a child process, started by each train() call.
        self.selfplay: SelfPlay | None = None
        if config.pipeline == "process":
            vector = make_game_vector(config.replace(num_envs=1), config.seed)  # its shapes
            vector.close()
        else:
            self.selfplay = SelfPlay(config, self.actor_network, self.actor_generator,
                                     seed=config.seed * 1_000_003 + self.episodes,
                                     first_key=self._first_key,
                                     inference=SearchInference(self.actor_network,
                                                               config.inference,
                                                               config.precision))
            vector = self.selfplay.vector
        frame_stack = (None if vector.frame_history is None
                       else FrameStack(vector.frame_history, vector.num_actions))
        self.replay = ReplayBuffer(config.replay_capacity, alpha=config.priority_alpha,
                                   beta=config.priority_beta, td_steps=config.td_steps,
                                   discount=config.discount,
                                   num_unroll_steps=config.num_unroll_steps, seed=config.seed,
                                   frame_stack=frame_stack)
        self.store = ChunkStore(self.out / "replay")
        self._unsaved: list[Chunk] = []  # chunks in the replay, not yet on disk
        self._unsaved_bytes = 0
        self._file_ends: deque[tuple[int, int]] = deque()  # (file, global step after it)
        # Atari stacks are sampled into two arrays in turn (page-locked on a GPU): while the
        # GPU still copies one batch's, the next batch is written into the other.
        self._observations_out: list[np.ndarray] = []
        # On a GPU the next batch is sampled while the GPU runs this step's backward pass
        # (see _learn_step); on a CPU that would only take turns on the same cores.
        self.prefetch = self.device.type == "cuda"
        self._prefetched: Batch | None = None
        self._rng_before_prefetch: dict[str, Any] | None = None
        for leftover in self.out.glob(".*.tmp"):  # atomic writes a kill -9 cut short
            leftover.unlink(missing_ok=True)
        if state is not None and drop_replay:
            # Asked for: the replay files are damaged or lost. Weights, optimizer and counters
            # are kept; self-play refills the replay, and the old files are deleted so the new
            # ones (numbered from 0 again) cannot be mixed with them.
            self.store.remove(self.store.numbers())
            self.store.remove_leftovers(keep_below=0)
            (self.out / "replay.npz").unlink(missing_ok=True)
            self._replay_files = 0
            self._learn_credit = 0.0  # owed to positions that are gone
        elif state is not None:
            self._restore_replay()
        self._stamp = _file_stamp(self.out / "checkpoint.pt")

    # --- the loop ----------------------------------------------------------------------------

    def train(self, max_wall_s: float | None = None,
              stop: Callable[[Trainer], bool] | None = None,
              log_every: int = 50, actors: int = 0,
              ray_address: str | None = None, actor_gpus: float = 0.0) -> dict[str, Any]:
        """Run until ``training_steps``, ``max_wall_s`` or ``stop(self)`` says so.

        ``max_wall_s`` counts this call's time, start-up excluded, and holds: a move, learner
        step or checkpoint that would end past it (judged by how long the last one took) is
        not started. Ctrl-C (SIGINT) and SIGTERM (``timeout``, SLURM, ``docker stop``) finish
        the step under way, save a checkpoint and the replay, and return, setting
        ``self.stopped_by`` to the signal; a second one stops at once (``KeyboardInterrupt``),
        leaving the last checkpoint as it was. A NaN or infinite loss raises ``Diverged``
        (``config.on_nonfinite_loss="stop"``) without saving: the checkpoint on disk is the
        last good one. Returns the last metrics line.

        ``actors`` > 0: self-play runs in that many Ray actors (``actors.py``), on the cluster
        at ``ray_address`` or on a local one started (and stopped) here, while this process
        learns; the pacing is the ``overlap`` pipeline's, whatever ``config.pipeline`` says.
        ``actor_gpus`` > 0: each actor takes that share of a GPU and searches on it (e.g. 0.25:
        four actors per GPU); 0, the default, keeps them on CPUs.
        """
        cfg = self.config
        if max_wall_s is not None and not (isinstance(max_wall_s, (int, float))
                                           and math.isfinite(max_wall_s) and max_wall_s > 0):
            raise ValueError(f"max_wall_s = {max_wall_s!r}: give a finite number of seconds "
                             "> 0, or None for no limit")
        if not isinstance(log_every, int) or log_every < 1:
            raise ValueError(f"log_every = {log_every!r}: give a whole number >= 1")
        if isinstance(actors, bool) or not isinstance(actors, int) or actors < 0:
            raise ValueError(f"actors = {actors!r}: give a whole number >= 0 (0: self-play "
                             "in this process)")
        if ray_address is not None and not actors:
            raise ValueError("ray_address goes with actors >= 1")
        if (isinstance(actor_gpus, bool) or not isinstance(actor_gpus, (int, float))
                or not 0 <= actor_gpus <= 1):
            raise ValueError(f"actor_gpus = {actor_gpus!r}: give the share of a GPU each actor "
                             "takes, in [0, 1]")
        if actor_gpus and not actors:
            raise ValueError("actor_gpus goes with actors >= 1")
        started_ray = False
        if actors:
            try:
                from muzero_lite import actors as ray_actors
            except ImportError:
                raise ValueError("actors need Ray: pip install -e '.[ray]'") from None
            # before our signal handlers
            started_ray = ray_actors.connect(ray_address, actors, actor_gpus)
            self._weights_lag_bound = ray_actors.weights_lag_bound(cfg, actors)
        self._actors = actors
        self._actor_gpus = float(actor_gpus)
        try:
            self._lock.acquire()
            if _file_stamp(self.out / "checkpoint.pt") != self._stamp:
                self._lock.release()
                raise ValueError(f"{self.out / 'checkpoint.pt'} was changed by another run "
                                 "since this Trainer read it; make a new Trainer with "
                                 "resume=True")
        except BaseException:
            if started_ray:  # the Ray this call started goes with it
                import ray
                ray.shutdown()
            raise
        # Subnormal floats (below 1e-38) creep into trained weights and make CPU matmuls
        # several times slower: flush them to zero while training (this thread's FPU mode,
        # put back as it was when train returns).
        flushing = _flushes_subnormals()
        torch.set_flush_denormal(True)
        start = time.perf_counter()
        wall_at_start = self.wall_s
        self.stopped_by = None
        signals = _Signals()
        bar = _progress_bar(cfg.training_steps, self.train_step, self.show_progress)
        last: dict[str, Any] = {}
        stopped_early = False
        save_at_exit = True

        def out_of_time(next_piece_s: float) -> bool:
            # Stop before a move or learner step that would end past the limit (its own
            # length judged by the last one, plus the closing checkpoint's).
            self.wall_s = wall_at_start + time.perf_counter() - start
            spent = self.wall_s - wall_at_start
            return max_wall_s is not None and spent + next_piece_s + self._save_s > max_wall_s

        def go_on() -> bool:
            return (not stopped_early and signals.received is None
                    and self.train_step < cfg.training_steps)

        def learn_once() -> None:
            nonlocal last, stopped_early
            started = time.perf_counter()
            recording = cfg.learner_graph == "on" and self._loss_graph is None
            learned = self._learn_step()
            if not recording:  # the step that records the graph is no guide to the next
                self._learn_s = time.perf_counter() - started
            self._learn_credit -= 1.0
            if not learned:
                return
            bar.update(1)
            if self.train_step % log_every == 0:
                last = self._log(bar)
            if self.train_step % cfg.checkpoint_interval == 0:
                self.save()
            if stop is not None and stop(self):  # the callback keeps its own cadence
                stopped_early = True

        def may_learn() -> bool:
            return self._learn_credit >= 1.0 and self._can_learn()

        try:
            if cfg.pipeline != "serial" or actors:
                self._overlap(go_on, may_learn, learn_once, out_of_time, start, max_wall_s)
            else:
                while go_on() and not out_of_time(self._move_s):
                    started = time.perf_counter()
                    self._selfplay_step()
                    self._move_s = time.perf_counter() - started
                    while may_learn() and go_on() and not out_of_time(self._learn_s):
                        learn_once()
        except (Diverged, KeyboardInterrupt):
            save_at_exit = False  # keep the last checkpoint: these weights are suspect / no time
            raise
        finally:
            signals.restore()
            torch.set_flush_denormal(flushing)
            bar.close()
            self.wall_s = wall_at_start + time.perf_counter() - start
            try:
                if save_at_exit:
                    last = self._log(None)
                    self.save()
                    plot_curves(self.out / "metrics.jsonl", self.out / "curves.png")
            finally:
                self._lock.release()
                if started_ray:
                    import ray
                    ray.shutdown()
        self.stopped_by = signals.received
        if self.stopped_by is not None:
            name = signal.Signals(self.stopped_by).name
            print(f"interrupted ({name}): saved step {self.train_step} to {self.out}", flush=True)
        return last

    def _overlap(self, go_on: Callable[[], bool], may_learn: Callable[[], bool],
                 learn_once: Callable[[], None], out_of_time: Callable[[float], bool],
                 start: float, max_wall_s: float | None) -> None:
        """pipeline="overlap" or "process", or Ray actors: an ``_Actor`` thread plays moves
        (or has a child process, or Ray actors, play them) while this thread learns. Its
        moves reach the replay here, between learner steps, so the replay, the counters and
        the checkpoints keep one owner; the ratio holds both ways (the learner waits for
        moves, the actor waits when the learner is two moves' worth behind)."""
        def too_late(next_move_s: float) -> bool:  # the actor's clock: reads, never writes
            spent = time.perf_counter() - start
            return max_wall_s is not None and spent + next_move_s + self._save_s > max_wall_s

        kind = (_RayActors if self._actors else
                _ProcessActor if self.config.pipeline == "process" else _Actor)
        actor = kind(self, too_late)
        actor.start()
        interrupted = False
        try:
            # The first move captures the search's CUDA graphs: let it finish before the
            # learner's kernels run beside it (a capture is safest alone on the device).
            while actor.taken == 0 and not actor.finished.is_set():
                self._take_moves(actor, wait_s=0.05)
            while go_on():
                self._take_moves(actor)
                if actor.error is not None:
                    break
                if may_learn() and not actor.holds_learner():
                    if out_of_time(self._learn_s):
                        break
                    learn_once()
                    if self.train_step - self._published_step >= self.config.weight_sync_interval:
                        self._publish_weights()
                    actor.wake()
                elif actor.finished.is_set():
                    break
                else:
                    self._take_moves(actor, wait_s=0.05)
        except KeyboardInterrupt:
            interrupted = True  # stop at once: the move under way is not waited for
            raise
        finally:
            actor.stop(join=not interrupted)
            if not interrupted:
                self._take_moves(actor)
        # The games that ended with the child or the actors (not those of self.selfplay).
        self.replay.close_live_games(actor.games_played_elsewhere())
        if actor.error is not None:
            raise actor.error

    def _take_moves(self, actor: _Actor, wait_s: float | None = None) -> None:
        """Every move the actor has finished, into the replay (waiting up to ``wait_s`` for
        the first when given)."""
        try:
            item = actor.moves.get(timeout=wait_s) if wait_s else actor.moves.get_nowait()
            while True:
                if isinstance(item, _GamesLost):  # a Ray actor died: its games end here
                    self.replay.close_live_games(item.keys)
                else:
                    chunks, ended, weights_step = item
                    self._add_move(chunks, ended)
                    self._move_weights_step = weights_step
                    self.weights_lag_max = max(self.weights_lag_max,
                                               self.train_step - weights_step)
                    actor.taken += 1
                    actor.move_taken(weights_step)
                item = actor.moves.get_nowait()
        except queue.Empty:
            pass
        actor.learning = self._can_learn()

    def _publish_weights(self) -> None:
        """A copy of the learner's weights for the actor (it loads them between moves)."""
        state = {k: v.detach().clone() for k, v in self.network.state_dict().items()}
        event = None
        if self.device.type == "cuda":  # the actor's stream waits for these copies
            event = torch.cuda.Event()
            event.record()
        self._published = (self.train_step, state, event)
        self._published_step = self.train_step

    def _refresh_actor_weights(self) -> None:
        """In the actor's thread, between moves: the newest published weights, if new."""
        published = self._published
        if published is None or published[0] == self._actor_weights_step:
            return
        step, state, event = published
        if event is not None:
            torch.cuda.current_stream().wait_event(event)
        self.actor_network.load_state_dict(state)  # in place: captured graphs see it
        if event is not None:  # the copies are done before the learner may free `state`
            torch.cuda.current_stream().synchronize()
        self._actor_weights_step = step

    def _selfplay_step(self) -> None:
        """One self-play move of every game, in this thread (pipeline="serial")."""
        self._add_move(*self.selfplay.step(self._progress()))

    def _progress(self) -> float:
        return self.train_step / self.config.training_steps

    def _add_move(self, chunks: list[Chunk], ended: list[Any]) -> None:
        """One self-play move of every game: its chunks into the replay, its ended games
        into the counters, and the learner steps it pays for."""
        for chunk in chunks:
            self.replay.add_chunk(chunk)
            self._unsaved.append(chunk)
            self._unsaved_bytes += chunk.observations.nbytes + chunk.policies.nbytes * 2
        if self._unsaved_bytes >= _FLUSH_BYTES:
            self._flush_replay()
        for episode in ended:
            self.episodes += 1
            self.recent_returns.append(episode.episode_return)
        self.env_steps += self.config.num_envs
        if self._can_learn():
            self._learn_credit += self.config.train_ratio * self.config.num_envs

    def _can_learn(self) -> bool:
        return len(self.replay) >= self.config.batch_size and self.replay.can_sample

    def _sample_batch(self) -> Batch:
        """A batch from the replay, with Atari stacks written into the array not in use."""
        cfg = self.config
        out = None
        if self.replay.frame_stack is not None:
            if not self._observations_out:
                shape = (cfg.batch_size, *self.game_info["observation_shape"])
                pin = self.device.type == "cuda"  # page-locked, page-aligned: the copy runs async
                self._observations_out = [
                    torch.zeros(shape, dtype=torch.uint8).pin_memory().numpy() if pin
                    else aligned_zeros(shape) for _ in range(2)]
            out = self._observations_out[0]
            self._observations_out.reverse()
        return self.replay.sample(cfg.batch_size, cfg.num_unroll_steps, rng=self.rng,
                                  observations_out=out)

    def _learn_step(self) -> bool:
        """One learner step; False when a non-finite loss was skipped (on_nonfinite_loss).

        With ``prefetch`` (on a GPU), the next step's batch is sampled while the GPU runs
        this step's backward pass. It is sampled before this step's new priorities are
        written and before the moves that arrive until the next step: one step staler than
        without, as in EfficientZero's and LightZero's batch queues. The random draws come
        in the same order either way (sample, reanalyze, sample, ...).
        """
        cfg = self.config
        batch, self._prefetched = self._prefetched, None
        self._rng_before_prefetch = None
        if batch is None:
            batch = self._sample_batch()
        if cfg.reanalyze_fraction > 0:
            # Off (0) skips the call altogether: reanalyze_batch refreshes every sample's value
            # target even at fraction 0, and without Reanalyze the stored targets are the point.
            started = time.perf_counter()
            batch = reanalyze_batch(batch, self.replay, self.network, cfg,
                                    fraction=cfg.reanalyze_fraction, td_steps=cfg.td_steps,
                                    rng=self.rng, generator=self.generator,
                                    two_player=self.game_info["num_players"] == 2,
                                    noise=cfg.reanalyze_noise)
            self.reanalyze_s += time.perf_counter() - started
        if self._symmetries:  # after Reanalyze, which searches the positions as stored
            batch = augment(batch, self._symmetries, self.rng)
        self.network.train()
        tensors = batch.to_torch(self.device)
        # The backward pass is queued before the loss is read (.item() waits for the GPU), so
        # the prefetch below overlaps it. A non-finite loss leaves non-finite gradients, which
        # are never applied: the step below is skipped and the next step overwrites them.
        if cfg.learner_graph == "on":  # forward + backward replayed; gradients overwritten
            if self._loss_graph is None:
                self._loss_graph = GraphedLoss(self.network, tensors, self._bf16,
                                               value_loss_weight=cfg.value_loss_weight,
                                               reward_loss_weight=cfg.reward_loss_weight)
            losses = self._loss_graph(tensors)
        else:
            model = Autocast(self.network) if self._bf16 else self.network
            self.optimizer.zero_grad(set_to_none=True)
            losses = unrolled_loss(model, tensors, value_loss_weight=cfg.value_loss_weight,
                                   reward_loss_weight=cfg.reward_loss_weight)
            losses.total.backward()
        if self.prefetch:
            self._rng_before_prefetch = self.rng.bit_generator.state
            self._prefetched = self._sample_batch()
        parts = {"loss": losses.total.item(), "value_loss": float(losses.value),
                 "reward_loss": float(losses.reward), "policy_loss": float(losses.policy)}
        if not math.isfinite(parts["loss"]):
            return self._nonfinite(parts)
        parts["value_spread"] = float(losses.value_spread)  # computed with the loss: ready
        self.optimizer.step()
        self.train_step += 1
        self._watch_value_head(parts["value_spread"], float(np.std(batch.target_values[:, 0])))
        for group in self.optimizer.param_groups:  # exponential decay (pseudocode)
            group["lr"] = _learning_rate(cfg, self.train_step)
        self.replay.update_priorities(batch.indices, losses.new_priorities.cpu().numpy())
        self._last_losses = parts
        self._skipped_in_a_row = 0
        if self._first_loss is None:
            self._first_loss = parts["loss"]
        return True

    def _nonfinite(self, parts: dict[str, float]) -> bool:
        """A NaN/inf loss: skip the batch (weights untouched) or stop, per the config."""
        self.skipped_batches += 1
        self._skipped_in_a_row += 1
        # Skipping helps with a rare bad batch, not with weights that have gone bad.
        if self.config.on_nonfinite_loss == "skip" and self._skipped_in_a_row < 100:
            return False
        saved = _file_stamp(self.out / "checkpoint.pt") is not None
        kept = (f"{self.out / 'checkpoint.pt'} still holds the last good step"
                if saved else "no checkpoint was saved before it")
        why = ", ".join(f"{k} {v:.4g}" for k, v in parts.items())
        raise Diverged(f"learner step {self.train_step + 1}: the loss is not finite ({why}); "
                       f"the run stopped and {kept}. Lower learning_rate, or set "
                       "on_nonfinite_loss=skip to skip such batches")

    # --- logging -------------------------------------------------------------------------------

    def record_evaluation(self, result: dict[str, Any]) -> None:
        """Kept for the next metrics line (stop callbacks report what they measured here)."""
        self.last_evaluation = result

    def metrics(self) -> dict[str, Any]:
        returns = list(self.recent_returns)
        return {"train_step": self.train_step, "env_steps": self.env_steps,
                "episodes": self.episodes, "wall_s": round(self.wall_s, 2),
                "mean_return": round(float(np.mean(returns)), 4) if returns else None,
                "lr": _learning_rate(self.config, self.train_step),
                "replay_positions": len(self.replay),
                **{k: round(v, 5) for k, v in self._last_losses.items()},
                **({"reanalyze_s": round(self.reanalyze_s, 2)}
                   if self.config.reanalyze_fraction > 0 else {}),
                **({"skipped_batches": self.skipped_batches} if self.skipped_batches else {}),
                **({"weights_lag": self.train_step - self._move_weights_step,
                    "weights_lag_max": self.weights_lag_max}
                   if self.config.pipeline != "serial" or self._actors else {}),
                **({"weights_lag_bound": self._weights_lag_bound} if self._actors else {}),
                **({"actor_restarts": self.actor_restarts} if self.actor_restarts else {}),
                **({"evaluation": self.last_evaluation} if self.last_evaluation else {})}

    def _log(self, bar: Any) -> dict[str, Any]:
        line = self.metrics()
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(line) + "\n")
        if bar is not None:
            bar.set_postfix(ret=line["mean_return"], loss=line.get("loss"), refresh=False)
        self._watch_loss(line.get("loss"))
        return line

    def _watch_loss(self, loss: float | None) -> None:
        """Say once if a logged loss is 100-fold this session's first learner step's loss:
        finite, so the run goes on, but usually a learning rate far too high."""
        if loss is None or self._first_loss is None or self._loss_warned:
            return
        if loss > 100 * max(self._first_loss, 1e-3):
            self._loss_warned = True
            print(f"warning: at learner step {self.train_step} the loss is {loss:.4g}, over "
                  f"100x its first {self._first_loss:.4g}: training may be diverging "
                  f"(learning_rate = {self.config.learning_rate:g})", file=sys.stderr,
                  flush=True)

    def _watch_value_head(self, predicted: float, targets: float) -> None:
        """Say so when the value head has given every position of a batch the same value for
        ``FLAT_VALUE_STEPS`` steps in a row while their targets differ. Then a layer of the head
        has usually gone dead (its ReLU is zero for every input, so no gradient reaches it
        again) and the run cannot learn: seen with SGD at learning rate 0.1 on Connect Four
        (data/preset_choices.md). Perfect play in a drawn game has flat targets: no warning."""
        flat = targets > 0.05 and predicted < 1e-3 * targets
        self._flat_value_steps = self._flat_value_steps + 1 if flat else 0
        if self._flat_value_steps == FLAT_VALUE_STEPS:
            print(f"warning: at learner step {self.train_step} the value head has given every "
                  f"position of a batch the same value for {FLAT_VALUE_STEPS} steps (spread "
                  f"{predicted:.1e}, while the value targets' is {targets:.2f}): a layer of it "
                  "has probably gone dead and will not learn again. Start over with a lower "
                  f"learning_rate (now {self.config.learning_rate:g}, optimizer "
                  f"{self.config.optimizer})", file=sys.stderr, flush=True)

    # --- checkpoints ---------------------------------------------------------------------------

    def _flush_replay(self) -> None:
        """Write the chunks not yet on disk as the next replay file."""
        if not self._unsaved:
            return
        self.store.write(self._replay_files, self._unsaved)
        self._file_ends.append((self._replay_files, self.replay.written))
        self._replay_files += 1
        self._unsaved, self._unsaved_bytes = [], 0

    def save(self) -> None:
        """New replay chunks, then the checkpoint (atomically, last), then old replay files
        whose steps the ring has overwritten. Weights that are not finite are never saved."""
        started = time.perf_counter()
        bad = [name for name, tensor in self.network.state_dict().items()
               if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
        if bad:
            raise Diverged(f"learner step {self.train_step}: the weights {', '.join(bad[:3])} "
                           "are not finite, so they were not saved; "
                           f"{self.out / 'checkpoint.pt'} still holds the last good step. "
                           "Lower learning_rate")
        self._flush_replay()
        save_checkpoint(self.out / "checkpoint.pt", {
            "config": self.config.to_dict(),
            "game": self.game_info,
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "counters": {"train_step": self.train_step, "env_steps": self.env_steps,
                         "episodes": self.episodes, "wall_s": self.wall_s,
                         "recent_returns": list(self.recent_returns),
                         "reanalyze_s": self.reanalyze_s, "learn_credit": self._learn_credit,
                         "skipped_batches": self.skipped_batches,
                         "replay_files": self._replay_files,
                         "next_game_key": (self._first_key if self.selfplay is None
                                           else self.selfplay.next_key),
                         "actor_blocks": self._actor_blocks,
                         "started_from": self.started_from or ""},
            "rng": {"torch": torch.get_rng_state(), "search": self.generator.get_state(),
                    # A batch sampled ahead is sampled again after a resume.
                    "numpy": _numpy_state(self.rng, self._rng_before_prefetch),
                    **({"actor": self.actor_generator.get_state()}
                       if self.actor_generator is not self.generator else {})},
        })
        self._stamp = _file_stamp(self.out / "checkpoint.pt")
        overwritten = []
        while self._file_ends and self._file_ends[0][1] <= self.replay.oldest:
            overwritten.append(self._file_ends.popleft()[0])
        self.store.remove(overwritten)
        self._save_s = time.perf_counter() - started

    def _restore(self, state: dict[str, Any]) -> None:
        try:
            self.network.load_state_dict(state["network"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            first = str(error).strip().splitlines()[0]
            raise ValueError(f"{self.out / 'checkpoint.pt'}: the saved weights do not fit the "
                             f"network its config describes ({first}); the file was changed "
                             "or comes from another version") from None
        counters = state["counters"]
        self.train_step = counters["train_step"]
        self.env_steps = counters["env_steps"]
        self.episodes = counters["episodes"]
        self.wall_s = counters["wall_s"]
        self.reanalyze_s = counters.get("reanalyze_s", 0.0)
        self.skipped_batches = counters.get("skipped_batches", 0)
        self._learn_credit = counters.get("learn_credit", 0.0)
        self._replay_files = counters.get("replay_files", 0)
        self._first_key = counters.get("next_game_key", 0)
        self._actor_blocks = counters.get("actor_blocks", 0)
        self.started_from = counters.get("started_from") or None
        self.recent_returns.extend(counters["recent_returns"])
        torch.set_rng_state(state["rng"]["torch"])
        self.generator.set_state(state["rng"]["search"])
        self.rng.bit_generator.state = _numpy_state_back(state["rng"]["numpy"])
        _cut_metrics(self.out / "metrics.jsonl", self.train_step)

    def _start_from(self, start: dict[str, Any], path: str | Path | None) -> None:
        """A new run from another run's counters (its weights are in: ``_load_start``); the
        optimizer, random numbers and replay stay as a new run has them."""
        counters = start.get("counters", {})
        self.train_step = int(counters.get("train_step", 0))
        self.env_steps = int(counters.get("env_steps", 0))
        self.episodes = int(counters.get("episodes", 0))
        self.wall_s = float(counters.get("wall_s", 0.0))
        self.started_from = f"{path} at learner step {self.train_step}"

    def _restore_replay(self) -> None:
        """The replay files the checkpoint covers, read back in order (module docstring)."""
        if (self.out / "replay.npz").exists():
            raise ValueError(
                f"{self.out / 'replay.npz'} is a replay from an older muzero-lite, which this "
                f"version cannot read; {_WITHOUT_REPLAY}")
        self.store.remove_leftovers(keep_below=self._replay_files)
        numbers = self.store.numbers()
        if self._replay_files and (not numbers or numbers[-1] != self._replay_files - 1):
            raise ValueError(f"{self.store.path(self._replay_files - 1)} is missing: the "
                             f"checkpoint covers {self._replay_files} replay files; restore "
                             f"it, or {_WITHOUT_REPLAY}")
        for number in numbers:
            for chunk in self.store.read(number, advice=_WITHOUT_REPLAY):
                self.replay.add_chunk(chunk)
            self._file_ends.append((number, self.replay.written))
        self.replay.close_live_games()


# --- helpers -------------------------------------------------------------------------------------

def _load_start(start: dict[str, Any], path: str | Path | None, game_info: dict[str, Any],
                network: torch.nn.Module) -> None:
    """Load the weights ``init_from`` names into the new run's network. They must be of the
    same game and fit the network the config describes: refused, naming what differs."""
    saved = start["game"]
    for key in ("name", "observation_shape", "num_actions"):
        if list(np.atleast_1d(saved.get(key))) != list(np.atleast_1d(game_info[key])):
            raise ValueError(f"{path} holds an agent of {saved.get('name')} "
                             f"({key} {saved.get(key)}), but this run plays "
                             f"{game_info['name']} ({key} {game_info[key]})")
    try:
        network.load_state_dict(start["network"])
    except (RuntimeError, KeyError) as error:
        first = str(error).strip().splitlines()[0]
        raise ValueError(f"{path}: its weights do not fit the network this config describes "
                         f"({first}); keep the network settings it was trained with "
                         "(network, channels, num_blocks, hidden_size, latent_size, ...)"
                         ) from None


def _cut_metrics(path: Path, train_step: int) -> None:
    """Drop the metrics lines logged after the checkpoint a run resumes from."""
    if path.exists():
        kept = [json.dumps(row) for row in read_metrics(path) if row["train_step"] <= train_step]
        atomic_write(path, lambda tmp: Path(tmp).write_text("".join(k + "\n" for k in kept)))


def _optimizer(config: MuZeroConfig, network: torch.nn.Module) -> torch.optim.Optimizer:
    # SGD's weight_decay=c adds c*theta to the gradient: the paper's L2 term (App. G).
    if config.optimizer == "sgd":
        return torch.optim.SGD(network.parameters(), lr=config.learning_rate,
                               momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(network.parameters(), lr=config.learning_rate,
                            weight_decay=config.weight_decay)


def _learning_rate(config: MuZeroConfig, step: int) -> float:
    """lr * decay_rate^(step / decay_steps), the pseudocode's exponential schedule."""
    return config.learning_rate * config.lr_decay_rate ** (step / config.lr_decay_steps)


def _numpy_state(rng: np.random.Generator, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """``rng``'s state (or ``state``, one it had earlier) in a form a checkpoint can hold."""
    # PCG64's state holds 128-bit ints; store them as strings so weights_only can read them.
    state = rng.bit_generator.state if state is None else state
    inner = {k: str(v) for k, v in state["state"].items()}
    return {"bit_generator": state["bit_generator"], "state": inner,
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def _numpy_state_back(saved: dict[str, Any]) -> dict[str, Any]:
    return {"bit_generator": saved["bit_generator"],
            "state": {k: int(v) for k, v in saved["state"].items()},
            "has_uint32": saved["has_uint32"], "uinteger": saved["uinteger"]}


def _symmetries(game: games.Game) -> tuple[games.Symmetry, ...]:
    """The symmetries ``augment_symmetries`` trains through, or why this game has none."""
    found = game.symmetries() if isinstance(game, games.BoardGame) else ()
    if len(found) < 2:
        raise ValueError(f"config field 'augment_symmetries' is on, but {game.name} has no "
                         "board symmetries to train through (board games such as tictactoe "
                         "and connect4 have); set augment_symmetries=false")
    return found


def _flushes_subnormals() -> bool:
    """Whether this thread already flushes subnormal floats to zero."""
    return bool((torch.tensor([1e-40]) * torch.tensor([1.0])).item() == 0.0)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime) of a file, or None: tells whether another run rewrote it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class _Actor(threading.Thread):
    """pipeline="overlap": plays self-play moves in its own thread and hands each move's
    chunks and ended games to the learner's thread through ``moves``. On a GPU it queues its
    kernels on its own CUDA stream, so they run beside the learner's."""

    def __init__(self, trainer: Trainer, too_late: Callable[[float], bool]):
        super().__init__(name="muzero-lite self-play", daemon=True)
        self.trainer = trainer
        self.too_late = too_late
        self.moves: queue.Queue = queue.Queue()
        self.made = self.taken = 0  # moves played / moves the learner's thread took
        self.learning = trainer._can_learn()  # set by the learner's thread
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self._halt = threading.Event()
        self._wake = threading.Condition()
        self._move_s = trainer._move_s
        device = trainer.device
        self._stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    def run(self) -> None:
        t, cfg = self.trainer, self.trainer.config
        per_move = cfg.train_ratio * cfg.num_envs  # learner steps one move pays for
        lead = max(2.0, 2 * per_move)  # how far ahead of the learner the actor may run
        try:
            self._prepare()
            with torch.cuda.stream(self._stream) if self._stream else contextlib.nullcontext():
                while not self._halt.is_set():
                    with self._wake:
                        # The first move is never held back: the learner waits for it.
                        while not self._halt.is_set() and self._ahead(lead, per_move):
                            self._wake.wait(0.05)
                    if self._halt.is_set() or self.too_late(self._move_s):
                        break
                    started = time.perf_counter()
                    move = self._play(t._progress())
                    self._move_s = time.perf_counter() - started
                    t._move_s = self._move_s
                    self.made += 1
                    self.moves.put(move)
        except BaseException as error:  # handed to the learner's thread, raised there
            self.error = error
        finally:
            self._close()
            self.finished.set()

    def _play(self, progress: float) -> tuple[list[Chunk], list[Any], int]:
        """One move of every game, with the newest published weights: its chunks, the games
        that ended, and the learner step of the weights it was played with."""
        self.trainer._refresh_actor_weights()
        return (*self.trainer.selfplay.step(progress), self.trainer._actor_weights_step)

    def _ahead(self, lead: float, per_move: float) -> bool:
        """Far enough ahead of the learner to wait (the first move is never held back: the
        learner waits for it)."""
        t = self.trainer
        return bool(self.learning and self.made and
                    t._learn_credit + (self.made - self.taken) * per_move >= lead)

    def holds_learner(self) -> bool:
        """True while the learner must wait for this actor (Ray: a slow actor's weights
        would grow staler than the bound)."""
        return False

    def move_taken(self, weights_step: int) -> None:
        """The learner's thread has put a move played with these weights in the replay."""

    def _prepare(self) -> None:
        pass

    def _close(self) -> None:
        pass

    def games_played_elsewhere(self) -> Container[int] | None:
        """The chunk keys of the games that end with this actor (None: all live games);
        the trainer's own ``selfplay`` keeps its games for the next ``train()``."""
        return ()

    def wake(self) -> None:
        with self._wake:
            self._wake.notify()

    def stop(self, join: bool = True) -> None:
        self._halt.set()
        self.wake()
        if join:
            self.join()


class _ProcessActor(_Actor):
    """pipeline="process": the same pacing as ``_Actor``, but each move is played by a
    ``SelfPlayProcess`` (a child process with its own interpreter, so its search and the
    learner run on two cores at once); this thread waits on its socket, without the GIL."""

    def __init__(self, trainer: Trainer, too_late: Callable[[float], bool]):
        super().__init__(trainer, too_late)
        t = trainer
        t._actor_weights_step = t.train_step
        self._learner_threads = torch.get_num_threads()  # put back when the child stops
        learner_threads, child_threads = split_threads(self._learner_threads)
        self.process = SelfPlayProcess(
            t.config, tuple(t.game_info["observation_shape"]), t.game_info["num_actions"],
            numpy_weights(t.network.state_dict()), t.actor_generator.get_state().numpy(),
            seed=t.config.seed * 1_000_003 + t.episodes, first_key=t._first_key,
            device=str(t.device), threads=child_threads)
        torch.set_num_threads(learner_threads)

    def _play(self, progress: float) -> tuple[list[Chunk], list[Any], int]:
        t, weights = self.trainer, None
        published = t._published
        if published is not None and published[0] != t._actor_weights_step:
            step, state, event = published
            if event is not None:
                event.synchronize()
            weights, t._actor_weights_step = numpy_weights(state), step
        chunks, ended, next_key, generator_state = self.process.step(progress, weights)
        # Saved by the next checkpoint: where the child's game numbers and noise have got to.
        t._first_key = next_key
        t.actor_generator.set_state(torch.from_numpy(generator_state))
        return chunks, ended, t._actor_weights_step

    def _prepare(self) -> None:
        # The start-up is not a move: it must not count in the clock's guess of the next one.
        self.process.wait_ready()
        self.trainer.actor_ready_at = time.perf_counter()  # benchmarks/gpu_throughput.py

    def _close(self) -> None:
        self.process.close(wait=True)

    def stop(self, join: bool = True) -> None:
        if not join:  # interrupted: end the child now rather than after its move
            self.process.close(wait=False)
        super().stop(join)
        torch.set_num_threads(self._learner_threads)

    def games_played_elsewhere(self) -> Container[int] | None:
        return None  # all of them: in this pipeline the trainer has no selfplay of its own


class _GamesLost(NamedTuple):
    """Put in an actor's queue when a Ray actor died: its running games end as cut off."""

    keys: Container[int]


class _RayActors(_Actor):
    """``train(actors=N)``: the same pacing as ``_Actor``, but the moves are played by N Ray
    actors (``actors.ActorPool``), each with a play call in flight; ``_play`` hands on the
    first to finish, so moves arrive up to N times as often as one actor makes them."""

    def __init__(self, trainer: Trainer, too_late: Callable[[float], bool]):
        from muzero_lite.actors import weights_lag_bound

        super().__init__(trainer, too_late)
        self.pool: Any = None  # made in _prepare (this thread), read by tests
        self.max_lag = weights_lag_bound(trainer.config, trainer._actors)
        # Weights (learner steps) of the moves asked for and not yet in the replay: one actor
        # that is slow (a busy machine, a far node) holds the learner once its move would
        # come back more than max_lag steps stale; the others meanwhile play on.
        self._unconsumed: Counter[int] = Counter()
        self._unconsumed_lock = threading.Lock()

    def _prepare(self) -> None:
        from muzero_lite.actors import ActorPool

        t = self.trainer
        t._actor_weights_step = t.train_step
        self.pool = ActorPool(t._actors, t.config, t.game_info,
                              numpy_weights(t.network.state_dict()), t.train_step,
                              t._actor_blocks, t._actor_gpus)
        t._actor_blocks = self.pool.next_block  # saved by every checkpoint from now on
        self.pool.wait_ready()
        t.actor_ready_at = time.perf_counter()

    def _play(self, progress: float) -> tuple[list[Chunk], list[Any], int]:
        t, pool = self.trainer, self.pool
        published = t._published
        if published is not None and published[0] != pool.version:
            step, state, event = published
            if event is not None:
                event.synchronize()
            pool.publish(numpy_weights(state), step)
        while True:
            submitted = pool.submit_idle(progress)
            with self._unconsumed_lock:
                self._unconsumed.update(submitted)
            slot, move, version = pool.next_move()
            if move is not None:
                chunks, ended, _, _ = move
                return chunks, ended, version
            self.move_taken(version)  # lost with its actor
            self.moves.put(_GamesLost(pool.replace(slot)))
            t._actor_blocks = pool.next_block
            t.actor_restarts += 1

    def _ahead(self, lead: float, per_move: float) -> bool:
        # While the learner waits for a slow actor, the others go on playing.
        return super()._ahead(lead, per_move) and not self.holds_learner()

    def holds_learner(self) -> bool:
        with self._unconsumed_lock:
            oldest = min(self._unconsumed, default=None)
        return oldest is not None and self.trainer.train_step - oldest >= self.max_lag

    def move_taken(self, weights_step: int) -> None:
        with self._unconsumed_lock:
            self._unconsumed[weights_step] -= 1
            if self._unconsumed[weights_step] <= 0:
                del self._unconsumed[weights_step]

    def _close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def games_played_elsewhere(self) -> Container[int] | None:
        return self.pool.all_keys() if self.pool is not None else ()


class _Signals:
    """SIGINT and SIGTERM while training: the first asks the loop to stop and save, a
    second stops at once. Handlers are installed only in the main thread (Python's rule)
    and put back by ``restore``."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}
        if _in_main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)

    def _handle(self, number: int, frame: Any) -> None:
        if self.received is not None:
            stop = KeyboardInterrupt(f"second {signal.Signals(number).name}: stopped at once")
            stop.signal = number  # the CLI exits with 128 + this
            raise stop
        self.received = number

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}


def _progress_bar(total: int, initial: int, show: bool) -> Any:
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc="train steps", unit="step",
                dynamic_ncols=True, mininterval=1.0, disable=not show)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The metrics lines of a run (skips a torn last line, should a crash leave one)."""
    rows = []
    for line in Path(path).read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def plot_curves(metrics_path: str | Path, png_path: str | Path | None = None):
    """Return and loss curves against environment steps; saved to ``png_path`` if given."""
    # A bare Figure (no pyplot): nothing pops up, no global backend is switched, and a
    # notebook still displays the returned figure.
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    rows = [r for r in read_metrics(metrics_path) if "loss" in r] if Path(
        metrics_path).exists() else []
    fig = Figure(figsize=(10, 3.5))
    ax_ret, ax_loss = fig.subplots(1, 2)
    steps = [r["env_steps"] for r in rows]
    ax_ret.plot(steps, [r["mean_return"] if r["mean_return"] is not None else math.nan
                        for r in rows])
    ax_ret.set(xlabel="environment steps", ylabel="mean return (last 100 games)",
               title="self-play return")
    for key in ("value_loss", "reward_loss", "policy_loss"):
        values = np.array([r.get(key, math.nan) for r in rows], dtype=float)
        line, = ax_loss.plot(steps, values, alpha=0.25, linewidth=0.8)
        # One batch's loss is noisy: a running mean over 10 log lines shows the trend.
        # (No lines yet, e.g. a checkpoint before the first log line: nothing to smooth, and
        # np.convolve refuses an empty array.)
        window = min(10, len(values)) or 1
        smooth = np.convolve(values, np.ones(window) / window, mode="valid") if len(
            values) else values
        ax_loss.plot(steps[len(steps) - len(smooth):], smooth, color=line.get_color(),
                     label=key.replace("_", " "))
    ax_loss.set(xlabel="environment steps", ylabel="loss (sum over unroll steps)",
                title="training losses")
    ax_loss.legend()
    for ax in (ax_ret, ax_loss):  # 350k, not 350000: six-digit ticks would run together
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    fig.tight_layout()
    if png_path is not None:
        fig.savefig(png_path, dpi=80)
    return fig
