"""The GPU-shaped paths, checked on the CPU: self-play and learner overlapped in two threads,
and the network called through ``SearchInference`` (eager / bf16 here; CUDA graphs where a
GPU is present, by ``benchmarks/gpu_check.sh``)."""

import dataclasses
import sys
import time

import numpy as np
import pytest
import torch

from muzero_lite import games, training
from muzero_lite.agent import network_for, run_search, search_config
from muzero_lite.config import preset
from muzero_lite.inference import Autocast, SearchInference, resolve
from muzero_lite.loss_graph import GraphedLoss
from muzero_lite.losses import unrolled_loss
from muzero_lite.networks import MLPNetwork
from muzero_lite.selfplay_process import (
    SelfPlayProcess,
    SelfPlayWorker,
    numpy_weights,
    split_threads,
)
from muzero_lite.training import Trainer, _flushes_subnormals, read_metrics

TINY = dict(num_simulations=4, num_envs=4, batch_size=16, hidden_size=16, latent_size=8,
            training_steps=60, checkpoint_interval=20, lr_decay_steps=60, train_ratio=0.5,
            pipeline="overlap", weight_sync_interval=5)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def overlap_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("overlap")
    trainer = Trainer(preset("tictactoe", **TINY), out, progress=False)
    loaded = []
    refresh = trainer._refresh_actor_weights

    def spy():  # which learner step the actor's weights come from, at each move
        refresh()
        loaded.append(trainer._actor_weights_step)

    trainer._refresh_actor_weights = spy
    last = trainer.train(log_every=10)
    return out, trainer, last, loaded


def test_overlap_learns_at_the_ratio_and_saves(overlap_run):
    out, trainer, last, _ = overlap_run
    assert last["train_step"] == 60 == trainer.train_step
    # The learner never runs ahead of the moves it has received (credit >= 0) ...
    assert trainer.train_step <= trainer.config.train_ratio * trainer.env_steps
    assert trainer._learn_credit >= 0
    # ... and the actor starts a move only while the learner owes less than 2 moves' worth.
    per_move = trainer.config.train_ratio * trainer.config.num_envs
    assert trainer._learn_credit < 2 * per_move + per_move
    rows = read_metrics(out / "metrics.jsonl")
    assert all(np.isfinite(r["loss"]) for r in rows)
    assert all(r["weights_lag"] >= 0 for r in rows)


def test_the_actor_plays_with_weights_the_learner_published(overlap_run):
    _, trainer, _, loaded = overlap_run
    # Published every 5 learner steps, picked up between moves: the steps the actor's weights
    # came from grow, and each is a multiple of 5.
    assert loaded == sorted(loaded) and max(loaded) >= 30
    assert all(step % 5 == 0 for step in loaded)
    learner, actor = trainer.network.state_dict(), trainer.actor_network.state_dict()
    assert learner.keys() == actor.keys()
    assert trainer.actor_network is not trainer.network
    assert not any(p.requires_grad for p in trainer.actor_network.parameters())


def test_an_overlapped_run_resumes(overlap_run, tmp_path):
    out, trainer, _, _ = overlap_run
    resumed = Trainer(None, out, resume=True, progress=False)
    assert (resumed.train_step, resumed.env_steps) == (trainer.train_step, trainer.env_steps)
    assert resumed.actor_network is not resumed.network
    torch.testing.assert_close(resumed.actor_network.state_dict(), trainer.network.state_dict())
    resumed.config = resumed.config.replace(training_steps=70)
    assert resumed.train()["train_step"] == 70


def test_an_error_in_the_actor_reaches_the_caller(tmp_path):
    trainer = Trainer(preset("tictactoe", **TINY), tmp_path / "run", progress=False)

    def broken(progress):
        raise RuntimeError("the game engine broke")

    trainer.selfplay.step = broken
    with pytest.raises(RuntimeError, match="the game engine broke"):
        trainer.train()
    assert not trainer._lock.held


def test_the_clock_holds_with_two_threads(tmp_path):
    trainer = Trainer(preset("tictactoe", **{**TINY, "training_steps": 10**6}), tmp_path / "r",
                      progress=False)
    started = time.perf_counter()
    trainer.train(max_wall_s=4)
    # The loop, the actor's last move included, ends within the limit (a learner step or a
    # move that would end past it is not started); then come the closing save and plot.
    assert trainer.wall_s <= 4 * 1.02 + 0.3
    assert time.perf_counter() - started <= 4 + 5.0  # as tests/test_reliability.py
    assert trainer.train_step > 0


# --- pipeline="process": the same pacing, the moves played in a child process ---------------

@pytest.fixture(scope="module")
def process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("process")
    trainer = Trainer(preset("tictactoe", **{**TINY, "pipeline": "process"}), out,
                      progress=False)
    threads = torch.get_num_threads()
    last = trainer.train(log_every=10)
    assert torch.get_num_threads() == threads  # the learner's threads are given back
    return out, trainer, last


def test_a_child_process_plays_the_moves_at_the_ratio(process_run):
    out, trainer, last = process_run
    assert trainer.selfplay is None  # no games in this process
    assert last["train_step"] == 60 == trainer.train_step
    assert trainer.train_step <= trainer.config.train_ratio * trainer.env_steps
    per_move = trainer.config.train_ratio * trainer.config.num_envs
    assert 0 <= trainer._learn_credit < 3 * per_move
    assert trainer.episodes > 0 and len(trainer.replay) > 0
    rows = read_metrics(out / "metrics.jsonl")
    assert all(np.isfinite(r["loss"]) for r in rows)
    # A move's weights, when it reaches the replay, come from a learner step at most one
    # sync interval (5) plus the steps the learner may take during the move behind.
    assert all(r["weights_lag"] >= 0 and 0 <= r["weights_lag_max"] <= 5 + 2 * per_move
               for r in rows)
    # Its game numbers and noise state came back for the checkpoint.
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["counters"]["next_game_key"] >= trainer.config.num_envs + trainer.episodes
    assert not torch.equal(state["rng"]["actor"],
                           torch.Generator().manual_seed(trainer.config.seed + 1).get_state())


def test_a_process_run_resumes_and_goes_on_numbering_games(process_run):
    out, trainer, _ = process_run
    resumed = Trainer(None, out, resume=True, progress=False)
    assert (resumed.train_step, resumed.env_steps) == (trainer.train_step, trainer.env_steps)
    first_key = resumed._first_key
    resumed.config = resumed.config.replace(training_steps=70)
    assert resumed.train()["train_step"] == 70
    assert resumed._first_key > first_key


def test_the_clock_holds_with_a_child_process(tmp_path):
    config = preset("tictactoe", **{**TINY, "pipeline": "process", "training_steps": 10**6})
    trainer = Trainer(config, tmp_path / "r", progress=False)
    trainer.train(max_wall_s=6)  # the child's start-up (~2 s) counts too
    assert trainer.wall_s <= 6 * 1.02 + 0.3
    assert trainer.train_step > 0


def _child(weights=None, config=None):
    config = config or preset("tictactoe", **TINY)
    network = network_for(config, (3, 3, 3), 9)
    return SelfPlayProcess(config, (3, 3, 3), 9,
                           weights or numpy_weights(network.state_dict()),
                           torch.Generator().manual_seed(0).get_state().numpy(), seed=0,
                           first_key=0, device="cpu")


def test_a_failure_in_the_child_comes_back_with_its_traceback():
    child = _child(weights={"no_such_layer.weight": np.zeros(3, np.float32)})
    try:
        with pytest.raises(RuntimeError, match="(?s)self-play process failed.*no_such_layer"):
            child.step(0.0)
    finally:
        child.close()


def test_a_killed_child_is_reported_not_waited_for():
    child = _child()
    try:
        chunks, ended, next_key, _ = child.step(0.0)  # alive and playing: one move
        assert next_key == TINY["num_envs"] and ended == [] and chunks == []
        child._process.kill()
        with pytest.raises(RuntimeError, match="ended without a word"):
            child.step(0.0)
    finally:
        child.close()


def test_windows_is_told_to_use_another_pipeline(monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(ValueError, match='pipeline="process" needs Linux or macOS'):
        _child()


@pytest.mark.parametrize("cores, learner, expected", [(16, 16, (8, 8)), (16, 4, (4, 8)),
                                                      (2, 2, (1, 1)), (1, 4, (1, 1))])
def test_the_two_processes_share_the_cores_without_oversubscribing(monkeypatch, cores, learner,
                                                                   expected):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert split_threads(learner) == expected


def test_bad_machine_settings_are_refused_before_the_folder_is_made(tmp_path):
    with pytest.raises(ValueError, match="'pipeline' = 'threads'"):
        preset("tictactoe", pipeline="threads")
    with pytest.raises(ValueError, match="'precision' = 'fp16'"):
        preset("tictactoe", precision="fp16")
    with pytest.raises(ValueError, match="needs a CUDA device"):
        Trainer(preset("tictactoe", inference="graph"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_resolve_picks_graphs_and_bf16_only_on_cuda():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert resolve("auto", "auto", cpu) == ("eager", False)
    assert resolve("auto", "auto", gpu) == ("graph", True)
    assert resolve("eager", "bf16", cpu) == ("eager", True)
    assert resolve("compile", "fp32", gpu) == ("compile", False)


def _search_inputs(num_actions=9, batch=6, seed=0):
    torch.manual_seed(seed)
    network = MLPNetwork((12,), num_actions, latent_size=8, hidden_size=16).eval()
    observations = np.random.default_rng(seed).random((batch, 12), dtype=np.float32)
    legal = np.ones((batch, num_actions), dtype=bool)
    legal[:, 0] = False
    settings = search_config(preset("tictactoe"), two_player=True, noise=False,
                             num_simulations=20)
    return network, observations, legal, settings


def test_eager_fp32_inference_is_the_plain_search_to_the_bit():
    network, observations, legal, settings = _search_inputs()
    plain = run_search(network, observations, legal, settings)
    wrapped = run_search(network, observations, legal, settings,
                         inference=SearchInference(network, "eager", "fp32"))
    assert torch.equal(plain.visit_counts, wrapped.visit_counts)
    assert torch.equal(plain.root_value, wrapped.root_value)


def test_bf16_inference_returns_float32_close_to_fp32():
    network, observations, _, _ = _search_inputs()
    x = torch.as_tensor(observations)
    fp32 = network.initial_inference(x)
    bf16 = SearchInference(network, "eager", "bf16")
    out = bf16.initial(x)
    step = bf16.recurrent(out.latent, torch.zeros(len(x), dtype=torch.long))
    for tensor in (out.value, out.policy_logits, out.latent, step.reward, step.latent):
        assert tensor.dtype == torch.float32
    torch.testing.assert_close(out.value, fp32.value, atol=0.05, rtol=0.05)
    torch.testing.assert_close(out.policy_logits, fp32.policy_logits, atol=0.05, rtol=0.05)


def test_the_support_decodes_in_float32_under_autocast():
    network = network_for(preset("cartpole", support_size=300), (4,), 2)
    x = torch.rand(3, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = network.initial_inference(x)
    assert out.value.dtype == torch.float32  # 601 bins summed in float32, then h^-1
    with torch.no_grad():
        probs = torch.softmax(out.value_logits.float(), dim=-1)
        expected = network.value_support.decode_probs(probs)
    torch.testing.assert_close(out.value, expected)


def test_the_learner_in_bf16_gives_nearly_the_fp32_loss_and_gradients(tmp_path):
    trainer = Trainer(preset("cartpole", num_envs=4, num_simulations=4, batch_size=16,
                             precision="bf16"), tmp_path / "run", progress=False)
    while not trainer._can_learn():
        trainer._selfplay_step()
    assert trainer._bf16
    batch = trainer.replay.sample(16, 5, rng=np.random.default_rng(0)).to_torch()
    network = trainer.network.train()
    fp32 = unrolled_loss(network, batch)
    bf16 = unrolled_loss(Autocast(network), batch)
    assert bf16.total.dtype == torch.float32
    torch.testing.assert_close(bf16.total, fp32.total, rtol=0.05, atol=0.05)
    bf16.total.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in network.parameters())
    assert trainer._learn_step()


SERIAL = dict(TINY, pipeline="serial")
PREFETCH_CASES = {"tictactoe": ("tictactoe", {}),
                  "reanalyze": ("tictactoe", {"reanalyze_fraction": 0.5}),
                  "atari": ("atari:Pong", {"num_envs": 2, "channels": 8, "num_blocks": 1,
                                           "chunk_moves": 5, "replay_capacity": 5_000,
                                           # ahead, a batch misses the last step's priorities
                                           "priority_alpha": 0.0, "priority_beta": 0.0})}


def _ready_to_learn(name, overrides, out, prefetch):
    trainer = Trainer(preset(name, **{**SERIAL, **overrides}), out, progress=False)
    trainer.prefetch = prefetch  # on by default on a GPU only; the same code either way
    while not trainer._can_learn():
        trainer._selfplay_step()
    return trainer


@pytest.mark.parametrize("case", PREFETCH_CASES)
def test_a_batch_sampled_ahead_trains_as_the_batch_sampled_on_time(case, tmp_path, monkeypatch):
    name, overrides = PREFETCH_CASES[case]
    seen = []  # the observations each learner step trained on
    drawn = []  # copies of what each step drew: positions (game, step) and observations
    real_loss = training.unrolled_loss
    monkeypatch.setattr(training, "unrolled_loss",
                        lambda model, batch, **kw: (seen.append(batch.observations),
                                                    drawn.append((batch.indices.clone(),
                                                                  batch.observations.clone())),
                                                    real_loss(model, batch, **kw))[2])
    runs = []
    for prefetch in (False, True):
        trainer = _ready_to_learn(name, overrides, tmp_path / str(prefetch), prefetch)
        losses = []
        for _ in range(4):
            assert trainer._learn_step()
            losses.append(trainer._last_losses)
        runs.append((trainer, losses))
    (plain, plain_losses), (ahead, ahead_losses) = runs
    # Uniform priorities and no moves in between: the same draws, so the same steps exactly.
    for (index_a, obs_a), (index_b, obs_b) in zip(drawn[:4], drawn[4:], strict=True):
        assert torch.equal(index_a, index_b) and torch.equal(obs_a, obs_b)
    if name.startswith("atari"):
        # The two trainers' self-play (a conv net, 96x96 planes) can round the stored search
        # values differently in the last bits on some CPUs (seen on an AMD EPYC, torch 2.13),
        # so the value targets, and the losses after them, agree closely but not exactly.
        assert [row["loss"] for row in ahead_losses] == pytest.approx(
            [row["loss"] for row in plain_losses], rel=0.02)
    else:
        assert ahead_losses == plain_losses
        for a, b in zip(plain.network.parameters(), ahead.network.parameters(), strict=True):
            assert torch.equal(a, b)
    assert plain._prefetched is None and ahead._prefetched is not None
    # The batch sampled ahead went into the other array, not the one the GPU may still read.
    assert not np.shares_memory(ahead._prefetched.observations, seen[-1].numpy())


def test_a_resumed_run_samples_again_the_batch_it_had_sampled_ahead(tmp_path):
    trainer = _ready_to_learn("tictactoe", {}, tmp_path, prefetch=True)
    assert trainer._learn_step()
    ahead = trainer._prefetched
    trainer.save()
    resumed = Trainer(None, tmp_path, resume=True, progress=False)
    again = resumed._sample_batch()
    for field in ("indices", "observations", "actions", "target_values", "target_policies"):
        np.testing.assert_array_equal(getattr(again, field), getattr(ahead, field))


@cuda
@pytest.mark.parametrize("name", ["connect4", "atari:Pong"])
def test_captured_graphs_give_the_eager_search(name):
    cfg = preset(name, num_simulations=16)
    probe = games.make(cfg.game, seed=0)
    network = network_for(cfg, probe.observation_shape, probe.num_actions).cuda().eval()
    batch = 32
    observations = np.stack([probe.observation()] * batch)
    legal = np.stack([probe.legal_mask()] * batch)
    settings = search_config(cfg, probe.num_players == 2, noise=False)
    for precision in ("fp32", "bf16"):
        eager = SearchInference(network, "eager", precision)
        graph = SearchInference(network, "graph", precision)
        a = run_search(network, observations, legal, settings, inference=eager)
        b = run_search(network, observations, legal, settings, inference=graph)
        torch.testing.assert_close(a.root_value, b.root_value, atol=1e-3, rtol=1e-3)
        assert (a.visit_counts == b.visit_counts).float().mean() > 0.95
        # The graph reads the weights where they live: an in-place update is seen.
        with torch.no_grad():
            for p in network.parameters():
                p.mul_(0.5)
        c = run_search(network, observations, legal, settings, inference=eager)
        d = run_search(network, observations, legal, settings, inference=graph)
        torch.testing.assert_close(c.root_value, d.root_value, atol=1e-3, rtol=1e-3)


def test_the_recorded_learner_is_refused_off_a_gpu(tmp_path):
    with pytest.raises(ValueError, match="learner_graph"):
        preset("tictactoe", learner_graph="yes")
    with pytest.raises(ValueError, match="--device cuda, or learner_graph=off"):
        Trainer(preset("tictactoe", **TINY, learner_graph="on"), tmp_path / "run",
                progress=False)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
    network = network_for(preset("tictactoe", **TINY), (3, 3, 3), 9)
    batch = None  # refused before the batch is looked at
    with pytest.raises(ValueError, match="CUDA device"):
        GraphedLoss(network, batch, bf16=False)


def test_a_gpu_run_with_the_recorded_learner_resumes_on_a_cpu_without_it(tmp_path, capsys):
    config = preset("tictactoe", **SERIAL)
    Trainer(config, tmp_path, progress=False).train(max_wall_s=None)
    # As a GPU run would have saved it: the same checkpoint, learner_graph "on".
    path = tmp_path / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    state["config"]["learner_graph"] = "on"
    torch.save(state, path)
    resumed = Trainer(None, tmp_path, resume=True, progress=False)
    assert "resumed on cpu with learner_graph=off" in capsys.readouterr().err
    assert resumed.config.learner_graph == "off"
    assert resumed.config == config.replace(training_steps=resumed.config.training_steps)
    assert resumed._can_learn() and resumed._learn_step()


def _grads(network):
    return [p.grad.clone() for p in network.parameters()]


@cuda
@pytest.mark.parametrize("name, overrides", [
    ("connect4", dict(channels=32, num_blocks=2, batch_size=64, num_envs=16)),
    ("atari:Pong", dict(channels=8, num_blocks=1, batch_size=16, num_envs=2, chunk_moves=5,
                        replay_capacity=5_000)),
])
def test_the_recorded_learner_step_gives_the_eager_loss_and_gradients(name, overrides,
                                                                       tmp_path, monkeypatch):
    """fp32, so the two must agree to rounding: the same kernels, launched differently."""
    # True fp32: should cuDNN pick another algorithm inside the capture, TF32 would make the
    # two differ by ~1e-3 for that reason alone.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    trainer = Trainer(preset(name, **overrides, num_simulations=2, precision="fp32"), tmp_path,
                      device="cuda", progress=False)
    while not trainer._can_learn():
        trainer._selfplay_step()
    network = trainer.network.train()
    size = trainer.config.batch_size
    batches = [trainer.replay.sample(size, 5, rng=np.random.default_rng(seed)).to_torch("cuda")
               for seed in (0, 1)]
    start = {k: v.clone() for k, v in network.state_dict().items()}
    eager = []  # (loss, priorities, gradients, BatchNorm statistics after) per batch, in turn
    for batch in batches:
        network.zero_grad(set_to_none=True)
        out = unrolled_loss(network, batch)
        out.total.backward()
        eager.append((out.total.item(), out.new_priorities.clone(), _grads(network),
                      {k: v.clone() for k, v in network.state_dict().items()}))
    network.load_state_dict(start)
    graphed = GraphedLoss(network, batches[0], bf16=False)
    for key, value in network.state_dict().items():  # warm-up and capture moved nothing
        torch.testing.assert_close(value, start[key], rtol=0, atol=0)
    for batch, (loss, priorities, grads, after) in zip(batches, eager, strict=True):
        out = graphed(batch)
        assert out.total.item() == pytest.approx(loss, rel=1e-4, abs=1e-6)
        torch.testing.assert_close(out.new_priorities, priorities, rtol=1e-4, atol=1e-6)
        # Overwritten, not accumulated: the second batch's gradients are its own.
        # (cuDNN's backward may add in another order from run to run: rounding, no more)
        for got, want in zip(_grads(network), grads, strict=True):
            torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-5)
        for key, value in network.state_dict().items():
            torch.testing.assert_close(value, after[key], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="recorded for"):
        graphed(dataclasses.replace(batches[0], weights=batches[0].weights[:2]))


@cuda
@pytest.mark.parametrize("pipeline", ["serial", "overlap"])
def test_a_run_with_the_recorded_learner_learns_and_resumes(pipeline, tmp_path):
    """With "overlap" the actor's thread records its search graphs beside the learner's."""
    config = preset("tictactoe", **TINY, pipeline=pipeline, learner_graph="on")
    with pytest.raises(ValueError, match="inference='compile'"):
        Trainer(config.replace(inference="compile"), tmp_path, device="cuda", progress=False)
    trainer = Trainer(config, tmp_path, device="cuda", progress=False)
    first = _weights(trainer.network)
    last = trainer.train(log_every=10)
    assert last["train_step"] == config.training_steps
    assert trainer._loss_graph is not None
    assert all(np.isfinite(r["loss"]) for r in read_metrics(tmp_path / "metrics.jsonl"))
    assert any(not torch.equal(a, b)
               for a, b in zip(first, _weights(trainer.network), strict=True))
    resumed = Trainer(None, tmp_path, resume=True, device="cuda", progress=False)
    assert resumed._can_learn() and resumed._learn_step()  # recorded again, on the replay kept
    assert resumed.train_step == config.training_steps + 1


def _weights(network):
    return [p.detach().clone() for p in network.parameters()]


def test_the_selfplay_worker_flushes_subnormal_floats():
    """The child (and each Ray actor) plays with subnormal floats flushed to zero, as the
    serial loop's search does inside Trainer.train: the same numbers either way."""
    config = preset("tictactoe", num_envs=2, num_simulations=2, hidden_size=8, latent_size=4)
    network = network_for(config, (3, 3, 3), 9)
    was, threads = _flushes_subnormals(), torch.get_num_threads()
    torch.set_flush_denormal(False)
    worker = SelfPlayWorker(config.to_dict(), (3, 3, 3), 9, numpy_weights(network.state_dict()),
                            torch.Generator().get_state().numpy(), seed=0, first_key=0,
                            device="cpu", threads=1)
    try:
        assert not _flushes_subnormals()
        worker.play(0.0)
        assert _flushes_subnormals()
    finally:
        worker.close()
        torch.set_flush_denormal(was)  # this thread's mode, as the other tests expect it
        torch.set_num_threads(threads)
