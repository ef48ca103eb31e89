"""A run folder survives crashes: SIGKILL at random moments, the clock, memory, chunked play."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from muzero_lite import training
from muzero_lite.checkpoint import load_checkpoint
from muzero_lite.config import preset
from muzero_lite.games.atari_vector import AtariVector, rom_name
from muzero_lite.networks import MLPNetwork
from muzero_lite.replay import Chunk, ChunkStore, FrameStack, ReplayBuffer
from muzero_lite.selfplay import SelfPlay
from muzero_lite.training import Trainer, read_metrics

TINY = dict(num_simulations=4, num_envs=4, batch_size=16, hidden_size=16, latent_size=8,
            checkpoint_interval=3, lr_decay_steps=30, train_ratio=0.5)


def stored_positions(out) -> int:
    store = ChunkStore(out / "replay")
    return sum(len(c) for n in store.numbers() for c in store.read(n))


def test_sigkill_at_random_moments_never_loses_a_checkpointed_step(tmp_path):
    """Kill the CLI with SIGKILL four times at random moments (checkpoints every 3 learner
    steps, so some kills land inside a write); every time the run resumes from its last
    checkpoint with exactly the replay that checkpoint covers, and goes on from there."""
    out = tmp_path / "run"
    sets = sum([["--set", f"{k}={v}"] for k, v in TINY.items()], [])
    rng = np.random.default_rng(0)
    last_step = 0
    for attempt in range(4):
        resume = ["--resume"] if (out / "checkpoint.pt").exists() else sets
        cmd = [sys.executable, "-m", "muzero_lite", "train", "tictactoe", "--out", str(out),
               "--no-progress", *resume]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while time.time() < deadline and not (out / "checkpoint.pt").exists():
            time.sleep(0.05)
        time.sleep(float(rng.uniform(0.5, 2.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)

        saved = load_checkpoint(out / "checkpoint.pt")["counters"]
        assert saved["train_step"] >= last_step, attempt  # nothing checkpointed went back
        last_step = saved["train_step"]
        resumed = Trainer(None, out, resume=True, progress=False)
        assert resumed.train_step == saved["train_step"]
        assert resumed.env_steps == saved["env_steps"]
        # Exactly the files the checkpoint covers, no more (later ones were removed) ...
        store = ChunkStore(out / "replay")
        assert store.numbers() == list(range(saved["replay_files"]))
        assert not list(out.rglob(".*.tmp"))  # no torn write left anywhere
        assert len(resumed.replay) == stored_positions(out) > 0
        # ... and the metrics end at the checkpoint's step.
        assert read_metrics(out / "metrics.jsonl")[-1]["train_step"] <= saved["train_step"]
    resumed.train(max_wall_s=1.0, log_every=1)
    steps = [row["train_step"] for row in read_metrics(out / "metrics.jsonl")]
    assert steps == sorted(steps) and steps[-1] > last_step


def test_a_crash_after_new_replay_files_resumes_without_them(tmp_path):
    """Replay files written after the last checkpoint (a crash before the checkpoint landed)
    hold steps its counters never counted: resume drops them, and a leftover .tmp."""
    trainer = Trainer(preset("tictactoe", training_steps=6, **TINY), tmp_path, progress=False)
    trainer.train()
    covered = stored_positions(tmp_path)
    files = trainer._replay_files
    while not trainer._unsaved:  # more games, then a flush whose checkpoint never comes
        trainer._selfplay_step()
    trainer._flush_replay()
    (tmp_path / "replay" / ".chunks-000000099.npz.abc.tmp").write_bytes(b"torn")
    assert ChunkStore(tmp_path / "replay").numbers() == list(range(files + 1))
    resumed = Trainer(None, tmp_path, resume=True, progress=False)
    assert ChunkStore(tmp_path / "replay").numbers() == list(range(files))
    assert len(resumed.replay) == covered
    assert not list((tmp_path / "replay").glob(".*.tmp"))


def test_a_missing_replay_file_is_an_error_not_an_empty_buffer(tmp_path):
    trainer = Trainer(preset("tictactoe", training_steps=6, **TINY), tmp_path, progress=False)
    trainer.train()
    last = ChunkStore(tmp_path / "replay").numbers()[-1]
    ChunkStore(tmp_path / "replay").path(last).unlink()
    with pytest.raises(ValueError, match=f"chunks-{last:09d}.npz is missing"):
        Trainer(None, tmp_path, resume=True, progress=False)


def test_old_replay_files_are_deleted_once_the_ring_overwrote_them(tmp_path):
    config = preset("tictactoe", training_steps=40, replay_capacity=16, **TINY)
    trainer = Trainer(config, tmp_path, progress=False)
    trainer.train()
    assert trainer.replay.written > 4 * 16  # the ring went round several times
    store = ChunkStore(tmp_path / "replay")
    assert len(store.numbers()) < trainer._replay_files  # old files are gone ...
    resumed = Trainer(None, tmp_path, resume=True, progress=False)
    assert len(resumed.replay) == 16  # ... and what is left still fills the ring


@pytest.mark.parametrize("limit", [3.0, 6.0])
def test_the_clock_is_kept_even_with_slow_learner_steps(tmp_path, monkeypatch, limit):
    real_step = Trainer._learn_step

    def slow_step(self):  # a learner step of 0.4 s: a long one must not overrun the limit
        time.sleep(0.4)
        return real_step(self)

    monkeypatch.setattr(Trainer, "_learn_step", slow_step)
    trainer = Trainer(preset("tictactoe", training_steps=10_000, **TINY), tmp_path,
                      progress=False)
    start = time.perf_counter()
    last = trainer.train(max_wall_s=limit)
    loop_s = last["wall_s"]
    # The loop keeps the limit; the closing checkpoint and plot are within max(5 s, 2%).
    assert loop_s <= limit and time.perf_counter() - start < limit + 5.0
    assert trainer.train_step >= 1


def test_a_replay_bigger_than_memory_is_refused_before_the_run_starts(tmp_path, monkeypatch):
    import psutil

    class Small:
        available = 10 << 20  # 10 MiB

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Small())
    config = preset("cartpole", replay_capacity=1_000_000)
    # 1e6 positions x (16 bytes of observation + 75 of small fields) = 91,000,000 bytes
    with pytest.raises(ValueError, match=r"replay_capacity=1,000,000 needs 91,000,000 bytes"):
        Trainer(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()  # nothing was created: the retry is not refused
    assert training.replay_bytes(config, (4,), np.float32, 2) == 91_000_000


def test_long_games_are_learned_from_while_they_are_played():
    """CartPole games last up to 500 moves; with chunks of 7 moves their steps reach the
    replay long before they end, and the chunks of one game join up into it."""
    config = preset("cartpole", num_envs=3, num_simulations=2, chunk_moves=7, max_moves=30,
                    hidden_size=8, latent_size=4)
    torch.manual_seed(0)
    network = MLPNetwork((4,), 2, latent_size=4, hidden_size=8, support_size=10)
    selfplay = SelfPlay(config, network, torch.Generator().manual_seed(0), first_key=100)
    buffer = ReplayBuffer(1000, td_steps=3, discount=0.997, num_unroll_steps=2)
    by_key: dict[int, list[Chunk]] = {}
    lengths = []
    for move in range(45):
        chunks, ended = selfplay.step()
        for chunk in chunks:
            assert len(chunk) <= 7
            buffer.add_chunk(chunk)
            by_key.setdefault(chunk.key, []).append(chunk)
        lengths += [e.length for e in ended]
        if move == 13:  # 14 moves in: 2 chunks per game so far, no game over 30 has ended
            assert buffer.can_sample and buffer.num_sampleable > 0
    assert min(by_key) == 100  # keys continue from first_key
    for chunks in by_key.values():
        assert chunks[0].first and not any(c.first for c in chunks[1:])
        assert not any(c.game_over for c in chunks[:-1])
        if chunks[-1].game_over:
            total = sum(len(c) for c in chunks)
            assert total in lengths and total <= 30
            # Cut at max_moves = 30: not a real end; a dropped pole is.
            assert chunks[-1].done == (total < 30)
    selfplay.close()


def test_atari_vector_frames_rebuild_the_observations_it_showed():
    """ale-py's vector env: stored single frames rebuild exactly the stacked observations the
    network was shown, across chunks and a restarted game."""
    assert rom_name("Pong") == "pong" and rom_name("SpaceInvaders") == "space_invaders"
    vector = AtariVector("Pong", 2, seed=0, history=3, max_moves=1000)
    assert vector.observation_shape == (12, 96, 96) and vector.frame_history == 3
    buffer = ReplayBuffer(500, td_steps=2, num_unroll_steps=1,
                          frame_stack=FrameStack(3, vector.num_actions))
    rng = np.random.default_rng(0)
    shown: dict[int, np.ndarray] = {}
    pending = {0: [], 1: []}
    keys, first = {0: 0, 1: 1}, {0: True, 1: True}

    def hand_over(i: int, game_over: bool) -> None:
        steps = pending[i]
        n = vector.num_actions
        chunk = Chunk(keys[i], np.stack([s[0] for s in steps]),
                      np.array([s[1] for s in steps]), np.zeros(len(steps), np.float32),
                      np.zeros(len(steps), np.float32), np.full((len(steps), n), 1 / n),
                      np.zeros(len(steps), np.int64), np.ones((len(steps), n), bool),
                      first=first[i], game_over=game_over, done=False)
        start = buffer.written
        buffer.add_chunk(chunk)
        for offset, step in enumerate(steps):
            shown[start + offset] = step[2]
        pending[i], first[i] = [], False

    for move in range(24):
        observations, frames = vector.observations(), vector.frames()
        actions = rng.integers(0, vector.num_actions, 2)
        vector.step(actions)
        for i in range(2):
            pending[i].append((frames[i], int(actions[i]), observations[i]))
            if len(pending[i]) == 5:
                hand_over(i, game_over=False)
        if move == 11:  # cut game 0 off: a new game starts in its slot
            hand_over(0, game_over=True)
            vector.restart([0])
            keys[0], first[0] = 2, True
            assert not vector.observations()[0, :8].any()  # padding, "no action" planes
    steps = np.array(sorted(shown))
    np.testing.assert_array_equal(buffer.observations(steps), np.stack([shown[s] for s in steps]))
    vector.close()


def test_training_flushes_subnormal_floats_and_puts_the_mode_back(tmp_path, monkeypatch):
    seen = []
    real_step = Trainer._learn_step

    def spy(self):
        seen.append(training._flushes_subnormals())
        return real_step(self)

    monkeypatch.setattr(Trainer, "_learn_step", spy)
    assert not training._flushes_subnormals()
    Trainer(preset("tictactoe", training_steps=3, **TINY), tmp_path, progress=False).train()
    assert seen == [True, True, True]  # fast CPU arithmetic while training ...
    assert not training._flushes_subnormals()  # ... and IEEE floats again afterwards


def test_a_run_folder_with_an_old_replay_file_is_refused_with_what_to_do(tmp_path):
    Trainer(preset("tictactoe", training_steps=3, **TINY), tmp_path, progress=False).train()
    (tmp_path / "replay.npz").write_bytes(b"an old whole-buffer file")
    with pytest.raises(ValueError, match="older muzero-lite.*drop-replay"):
        Trainer(None, tmp_path, resume=True, progress=False)
    (tmp_path / "replay.npz").unlink()
    assert Trainer(None, tmp_path, resume=True, progress=False).train_step == 3


def test_a_new_run_starts_from_another_runs_weights_and_counters(tmp_path):
    """init_from: the weights and counters of a checkpoint (here one published the way
    data/checkpoints/ holds agents: no optimizer, no RNG), a fresh optimizer and an empty
    replay; the new run learns on from there, says where it started, and resumes."""
    first = Trainer(preset("tictactoe", training_steps=6, **TINY), tmp_path / "a",
                    progress=False)
    first.train()
    state = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    published = {k: state[k] for k in ("config", "game", "network", "counters")}
    torch.save({"format": state["format"], **published}, tmp_path / "agent.pt")

    # Its config unless another is given; that one's 6 steps are spent, so the run would stop
    # before its first step: refused, saying what to raise, before the folder is made.
    with pytest.raises(ValueError, match=r"at learner step 6, and training_steps is 6.*"
                                         r"--set training_steps=12"):
        Trainer(None, tmp_path / "c", init_from=tmp_path / "agent.pt", progress=False)
    assert not (tmp_path / "c").exists()
    larger = {**published, "config": first.config.replace(training_steps=9).to_dict()}
    torch.save({"format": state["format"], **larger}, tmp_path / "agent9.pt")
    assert Trainer(None, tmp_path / "c", init_from=tmp_path / "agent9.pt",
                   progress=False).config == first.config.replace(training_steps=9)
    new = Trainer(first.config.replace(training_steps=9), tmp_path / "b",
                  init_from=tmp_path / "agent.pt", progress=False)
    for name, tensor in new.network.state_dict().items():
        assert torch.equal(tensor, state["network"][name]), name
    assert (new.train_step, new.env_steps) == (6, state["counters"]["env_steps"])
    assert len(new.replay) == 0 and not new.optimizer.state_dict()["state"]
    new.train()
    saved = load_checkpoint(tmp_path / "b" / "checkpoint.pt")["counters"]
    assert saved["train_step"] == 9 and saved["started_from"].endswith("agent.pt at learner "
                                                                        "step 6")
    steps = [row["train_step"] for row in read_metrics(tmp_path / "b" / "metrics.jsonl")]
    assert steps and steps[0] > 6  # the new run's log starts where its weights left off
    resumed = Trainer(None, tmp_path / "b", resume=True, progress=False)
    assert resumed.started_from == saved["started_from"] and resumed.train_step == 9


def test_weights_of_another_network_or_game_are_refused_before_the_folder_is_made(tmp_path):
    Trainer(preset("tictactoe", training_steps=3, **TINY), tmp_path / "a",
            progress=False).train()
    agent = tmp_path / "a" / "checkpoint.pt"
    bigger = preset("tictactoe", training_steps=3, **{**TINY, "hidden_size": 32})
    with pytest.raises(ValueError, match="do not fit the network.*keep the network settings"):
        Trainer(bigger, tmp_path / "b", init_from=agent, progress=False)
    with pytest.raises(ValueError, match="holds an agent of tictactoe.*this run plays "
                                         "connect4"):
        Trainer(preset("connect4", network="mlp", **TINY), tmp_path / "c", init_from=agent,
                progress=False)
    with pytest.raises(ValueError, match="does not go with resume"):
        Trainer(None, tmp_path / "a", resume=True, init_from=agent, progress=False)
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
