"""Self-play actors on a local Ray cluster (``train(actors=N)``): the actors' games reach the
replay, new weights reach the actors, a killed actor is replaced, an interrupted run resumes.

One cluster serves the module (Ray's node takes ~15 s to start on 2 cores)."""

import importlib.util
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from muzero_lite import training  # noqa: E402
from muzero_lite.actors import KEY_BLOCK, KeyBlocks, weights_lag_bound  # noqa: E402
from muzero_lite.config import preset  # noqa: E402
from muzero_lite.training import Trainer, read_metrics  # noqa: E402

TINY = dict(num_simulations=4, num_envs=4, batch_size=16, hidden_size=16, latent_size=8,
            training_steps=40, checkpoint_interval=20, lr_decay_steps=40, train_ratio=0.5,
            weight_sync_interval=5, chunk_moves=1)


@pytest.fixture(scope="module")
def cluster():
    options = dict(num_cpus=2, include_dashboard=False, log_to_driver=False,
                   configure_logging=False)
    try:
        ray.init(**options)
    except Exception as error:  # noqa: BLE001 - ray-project/ray#65983 on a busy machine
        if "timed out during startup" not in str(error):
            raise
        ray.shutdown()
        ray.init(**options)
    yield
    ray.shutdown()


@pytest.fixture
def actor_threads(monkeypatch):
    """Every ``_RayActors`` a train() call makes, once its pool is up."""
    made = []
    prepare = training._RayActors._prepare

    def remember(self):
        prepare(self)
        made.append(self)

    monkeypatch.setattr(training._RayActors, "_prepare", remember)
    return made


def test_key_blocks_hold_the_keys_of_their_actors_only():
    blocks = KeyBlocks({0, 2})
    assert KEY_BLOCK in blocks and 2 * KEY_BLOCK - 1 in blocks and 3 * KEY_BLOCK in blocks
    assert 0 not in blocks and 2 * KEY_BLOCK not in blocks and "x" not in blocks


def test_two_actors_fill_the_replay_and_get_new_weights(cluster, tmp_path, actor_threads):
    config = preset("tictactoe", **TINY)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    versions, blocks = [], set()
    add_move = trainer._add_move

    def spy(chunks, ended):
        blocks.update(chunk.key // KEY_BLOCK for chunk in chunks)
        add_move(chunks, ended)

    take = trainer._take_moves

    def take_and_note(actor, wait_s=None):
        take(actor, wait_s)
        versions.append(trainer._move_weights_step)

    trainer._add_move, trainer._take_moves = spy, take_and_note
    last = trainer.train(actors=2, log_every=10)
    assert last["train_step"] == 40 and trainer.env_steps > 0
    # Both actors' games (key blocks 1 and 2) reached the replay: each move of a game is a
    # chunk, and a slow actor's first move is waited for at the staleness bound (< 40 steps).
    assert blocks == {1, 2}
    # Weights are published every 5 learner steps, and the actors play with them.
    assert max(versions) >= 20 and all(v % 5 == 0 for v in versions)
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    bound = weights_lag_bound(config, 2)
    assert all(r["weights_lag_bound"] == bound for r in rows)
    # weights_lag: how far the newest move's weights trail the learner now (it grows while
    # the learner steps on); weights_lag_max: the stalest any move was when it arrived.
    assert all(r["weights_lag"] >= 0 and 0 <= r["weights_lag_max"] <= bound for r in rows)
    assert trainer.train_step <= config.train_ratio * trainer.env_steps
    # The actors' unfinished games were closed when they stopped: nothing is left live.
    assert not trainer.replay._live
    assert len(actor_threads) == 1 and trainer._actor_blocks == 2


def test_a_slow_actor_holds_the_learner_at_the_staleness_bound(tmp_path):
    trainer = Trainer(preset("tictactoe", **TINY), tmp_path / "run", progress=False)
    trainer._actors = 2
    actor = training._RayActors(trainer, too_late=lambda _: False)
    assert actor.max_lag == weights_lag_bound(trainer.config, 2)
    actor._unconsumed.update([0, 20, 20])  # moves asked for with weights of steps 0 and 20
    trainer.train_step = actor.max_lag - 1
    assert not actor.holds_learner()
    trainer.train_step = actor.max_lag  # one more step and the step-0 move would be staler
    assert actor.holds_learner()
    # Meanwhile the other actors are not held back by the pacing: they play on.
    actor.made, actor.learning, trainer._learn_credit = 1, True, 100.0
    assert not actor._ahead(lead=2.0, per_move=2.0)
    actor.move_taken(0)  # the slow actor's move reached the replay
    assert not actor.holds_learner() and actor._ahead(lead=2.0, per_move=2.0)


def test_a_killed_actor_is_replaced_and_the_run_finishes(cluster, tmp_path, actor_threads):
    trainer = Trainer(preset("tictactoe", **{**TINY, "training_steps": 60}),
                      tmp_path / "run", progress=False)
    learn, killed = trainer._learn_step, []

    def learn_and_kill():
        if trainer.train_step == 10 and not killed:
            ray.kill(actor_threads[0].pool.actors[0])
            killed.append(True)
        return learn()

    trainer._learn_step = learn_and_kill
    last = trainer.train(actors=2, log_every=10)
    assert killed and last["train_step"] == 60
    assert trainer.actor_restarts == 1 and last["actor_restarts"] == 1
    assert trainer._actor_blocks == 3  # two actors, then one replacement
    assert not trainer.replay._live


def test_an_interrupted_run_with_actors_resumes(cluster, tmp_path):
    out = tmp_path / "run"
    trainer = Trainer(preset("tictactoe", **{**TINY, "training_steps": 1000}), out,
                      progress=False)
    learn = trainer._learn_step

    def learn_then_interrupt():
        done = learn()
        if trainer.train_step == 25:
            signal.raise_signal(signal.SIGINT)  # as Ctrl-C: finish the step, save, return
        return done

    trainer._learn_step = learn_then_interrupt
    assert threading.current_thread() is threading.main_thread()
    trainer.train(actors=2)
    assert trainer.stopped_by == signal.SIGINT and trainer.train_step == 25
    resumed = Trainer(None, out, resume=True, progress=False)
    assert resumed.train_step == 25 and resumed._actor_blocks == 2
    assert len(resumed.replay) == len(trainer.replay)
    resumed.config = resumed.config.replace(training_steps=35)
    assert resumed.train(actors=1)["train_step"] == 35
    assert resumed._actor_blocks == 3  # the new actor's games get keys of their own
    assert np.isfinite(read_metrics(out / "metrics.jsonl")[-1]["loss"])


def test_bad_actor_arguments_are_refused_before_anything_starts(tmp_path):
    trainer = Trainer(preset("tictactoe", **TINY), tmp_path / "run", progress=False)
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="actors = "):
            trainer.train(actors=bad)
    with pytest.raises(ValueError, match="ray_address goes with actors"):
        trainer.train(ray_address="auto")
    assert trainer.train_step == 0 and not (tmp_path / "run" / "checkpoint.pt").exists()


def test_the_scaling_benchmark_measures_a_run_with_actors(cluster):
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "actors_scaling.py"
    spec = importlib.util.spec_from_file_location("actors_scaling", path)
    scaling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scaling)
    run = scaling.measure("connect4", 1, 3.0, {**scaling.SMALL["connect4"], **TINY,
                                               "training_steps": 10**6}, "cpu")
    assert run["actors"] == 1 and run["env_steps_per_s"] > 0 and run["startup_s"] > 0
    assert run["counted_s"] > 1.0 and run["env_steps"] >= run["env_steps_per_s"]


def test_actors_on_gpus_the_cluster_lacks_are_refused_before_anything_runs(cluster, tmp_path):
    trainer = Trainer(preset("tictactoe", **TINY), tmp_path, progress=False)
    with pytest.raises(ValueError, match="2 actors with 0.5 GPU each need 1 GPUs; the Ray "
                                         "cluster has 0"):
        trainer.train(actors=2, actor_gpus=0.5)
    assert trainer.train_step == 0 and not (tmp_path / "metrics.jsonl").exists()
    for bad, words in ((1.5, "actor_gpus = 1.5"), (True, "actor_gpus = True")):
        with pytest.raises(ValueError, match=words):
            trainer.train(actors=2, actor_gpus=bad)
    with pytest.raises(ValueError, match="actor_gpus goes with actors"):
        trainer.train(actor_gpus=0.5)
