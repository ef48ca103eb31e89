"""Self-play actors on a Ray cluster: ``train PRESET --actors N [--ray-address ADDRESS]``.

The paper's split (Appendix "Training"): many actors play with recent weights and send their
games to one learner, which trains on the replay and publishes new weights. Here the driver
(the ``Trainer``) keeps the learner, the replay, Reanalyze and the checkpoints; each of N Ray
actors is the ``SelfPlayWorker`` that ``pipeline="process"`` runs in its child (its own
``num_envs`` games, network copy and batched search) and answers ``play`` with one move of its
games. The moves enter the replay exactly as a single-process run's do.

Weights: every ``weight_sync_interval`` learner steps the driver puts one numpy copy of them
in Ray's object store; an actor's next call carries it when the actor's copy is older. A move
can be at most ``weights_lag_bound`` learner steps stale (in the metrics: ``weights_lag`` and
``weights_lag_max``). Game keys come in blocks of ``KEY_BLOCK``, one block per actor ever
started (the count is saved in checkpoints), so no two actors, nor a replacement and the actor
it replaced, share a key. An actor that dies is replaced; its running games end as cut off,
and the moves it had not sent are the only loss.

Ray (``pip install -e '.[ray]'``) is imported only when this module is, i.e. only with actors.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import ray
import torch

from muzero_lite.config import MuZeroConfig
from muzero_lite.selfplay_process import Move, SelfPlayWorker

__all__ = ["KEY_BLOCK", "ActorPool", "KeyBlocks", "connect", "weights_lag_bound"]

KEY_BLOCK = 2**40  # game keys of actor block b: [(b + 1) * KEY_BLOCK, (b + 2) * KEY_BLOCK)
READY_TIMEOUT_S = 300.0  # actors not placed by then: the cluster lacks the CPUs


def weights_lag_bound(config: MuZeroConfig, num_actors: int) -> int:
    """The most learner steps a move's weights can trail the learner when it enters the replay:
    the publishing interval, plus what the learner may run ahead on the moves under way
    (each actor's call in flight, and the two moves' worth the pacing allows)."""
    per_move = config.train_ratio * config.num_envs
    return int(config.weight_sync_interval + np.ceil((num_actors + 1) * per_move
                                                      + max(2.0, 2 * per_move)))


class KeyBlocks:
    """The game keys of some actor blocks (``key in blocks``), for closing their games."""

    def __init__(self, blocks: set[int]):
        self.blocks = set(blocks)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, (int, np.integer)) and int(key) // KEY_BLOCK - 1 in self.blocks


class ActorPool:
    """N Ray actors, each kept busy with one ``play`` call; dead ones replaced.

    Used from one thread (the trainer's actor thread). ``next_block`` counts the key blocks
    handed out, so a replacement, or the actors of a resumed run, get keys of their own.
    """

    def __init__(self, num_actors: int, config: MuZeroConfig, game_info: dict[str, Any],
                 weights: dict[str, np.ndarray], version: int, next_block: int,
                 gpus_per_actor: float = 0.0):
        self.config = config
        self.game_info = game_info
        self.next_block = next_block
        # With a share of a GPU, Ray shows the actor its GPU as cuda:0 (CUDA_VISIBLE_DEVICES),
        # and its search runs there: CUDA graphs and bf16, as config.inference "auto" picks.
        self.device = "cuda" if gpus_per_actor > 0 else "cpu"
        self.remote = ray.remote(num_cpus=1, num_gpus=gpus_per_actor)(SelfPlayWorker)
        self.actors: list[Any] = [None] * num_actors
        self.blocks = [0] * num_actors
        self.actor_version = [version] * num_actors  # weights each actor holds
        self.in_flight: dict[Any, int] = {}  # ObjectRef of a play call -> slot
        self.version = version
        self.weights_ref = ray.put(weights)
        for slot in range(num_actors):
            self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        block, self.next_block = self.next_block, self.next_block + 1
        # Block 0 gets the seeds a fresh run gives pipeline="process"'s child, so one actor can
        # be compared with that pipeline seed for seed; each later block shifts them.
        seed = self.config.seed * 1_000_003 + block
        generator = torch.Generator().manual_seed(self.config.seed + 1 + block * 7919)
        generator_state = generator.get_state().numpy()
        self.blocks[slot] = block
        self.actor_version[slot] = self.version
        self.actors[slot] = self.remote.remote(
            self.config.to_dict(), tuple(self.game_info["observation_shape"]),
            self.game_info["num_actions"], self.weights_ref, generator_state, seed,
            (block + 1) * KEY_BLOCK, self.device, 1)

    def wait_ready(self) -> None:
        """Until every actor has built its games (or a clear error if the cluster cannot
        place them)."""
        refs = [actor.__ray_ready__.remote() for actor in self.actors]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=READY_TIMEOUT_S)
        if len(ready) < len(refs):
            free = ray.available_resources().get("CPU", 0)
            raise RuntimeError(f"{len(refs) - len(ready)} of {len(refs)} Ray actors were not "
                               f"started within {READY_TIMEOUT_S:.0f} s: each needs one CPU, "
                               f"and the cluster has {free:g} free; ask for fewer actors")
        ray.get(ready)  # raises an actor's failure to build

    def publish(self, weights: dict[str, np.ndarray], version: int) -> None:
        """New weights, put once in the object store; each actor gets them with its next call."""
        self.weights_ref = ray.put(weights)
        self.version = version

    def submit_idle(self, progress: float) -> list[int]:
        """A play call for every actor without one; returns the weights' versions sent."""
        busy = set(self.in_flight.values())
        sent = []
        for slot in range(len(self.actors)):
            if slot in busy:
                continue
            new = self.actor_version[slot] != self.version
            ref = self.actors[slot].play.remote(progress, self.weights_ref if new else None)
            self.actor_version[slot] = self.version
            self.in_flight[ref] = slot
            sent.append(self.version)
        return sent

    def next_move(self) -> tuple[int, Move | None, int]:
        """The first play call to finish: (slot, its move, the version of the weights it was
        played with); the move is None when the actor died (``replace`` it)."""
        ready, _ = ray.wait(list(self.in_flight), num_returns=1)
        slot = self.in_flight.pop(ready[0])
        version = self.actor_version[slot]
        try:
            return slot, ray.get(ready[0]), version
        except ray.exceptions.RayActorError:
            return slot, None, version

    def replace(self, slot: int) -> KeyBlocks:
        """A new actor in ``slot``; returns the dead one's keys, whose games must end."""
        dead = KeyBlocks({self.blocks[slot]})
        self._spawn(slot)
        return dead

    def all_keys(self) -> KeyBlocks:
        return KeyBlocks(set(self.blocks))

    def shutdown(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.in_flight.clear()


def connect(address: str | None, num_actors: int, gpus_per_actor: float = 0.0) -> bool:
    """Join the cluster at ``address`` ("auto": the one ``ray start`` made on this machine), or
    start a local one with a CPU for every actor; True when this call started Ray (so the
    caller shuts it down). With ``gpus_per_actor`` > 0 the cluster must hold
    ``num_actors * gpus_per_actor`` GPUs, or Ray (if started here) is stopped again and a
    ValueError says how many it has."""
    if ray.is_initialized():
        _check_gpus(num_actors, gpus_per_actor)
        return False
    local = {} if address else {"num_cpus": max(num_actors, os.cpu_count() or 1)}
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, **local)
    except ConnectionError as error:  # no cluster at that address
        raise ValueError(f"no Ray cluster at --ray-address {address}: {error}") from None
    except Exception as error:
        if "timed out during startup" not in str(error):
            raise
        # Ray gives its node's helper processes ~15 s to start (ray-project/ray#65983), and a
        # busy machine misses that; a cluster started beforehand is not timed.
        raise ValueError("Ray's local node did not start in time (this machine is busy): "
                         "start it first with `ray start --head`, then pass --ray-address auto"
                         ) from None
    try:
        _check_gpus(num_actors, gpus_per_actor)
    except ValueError:
        ray.shutdown()
        raise
    return True


def _check_gpus(num_actors: int, gpus_per_actor: float) -> None:
    """Refuse up front what Ray would otherwise leave waiting: actors asking for more GPU
    than the cluster has."""
    if gpus_per_actor <= 0:
        return
    needed, held = num_actors * gpus_per_actor, ray.cluster_resources().get("GPU", 0.0)
    if needed > held + 1e-9:
        raise ValueError(f"{num_actors} actors with {gpus_per_actor:g} GPU each need "
                         f"{needed:g} GPUs; the Ray cluster has {held:g}")

