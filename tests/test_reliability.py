"""A run that cannot be lost: divergence, bad config values, the lock, signals, the clock,
damaged files. Each test names the problem it guards against."""

from __future__ import annotations

import json
import math
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from muzero_lite import training
from muzero_lite.agent import load_agent
from muzero_lite.checkpoint import load_checkpoint, save_checkpoint
from muzero_lite.config import MuZeroConfig, preset
from muzero_lite.device import check_device
from muzero_lite.run_lock import RunLock
from muzero_lite.training import Diverged, Trainer, read_metrics

TINY = dict(num_simulations=4, num_envs=4, batch_size=16, hidden_size=16, latent_size=8,
            checkpoint_interval=3, lr_decay_steps=30, train_ratio=0.5)


def tiny(name="tictactoe", **overrides):
    return preset(name, **{**TINY, **overrides})


# --- 1. divergence ------------------------------------------------------------------------------

def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    """SGD at learning rate 1e6: the loss turns NaN within a few steps. The run must stop with
    a message, and checkpoint.pt must still hold finite weights that evaluate and resume."""
    config = tiny("cartpole", optimizer="sgd", learning_rate=1e6, checkpoint_interval=2,
                  training_steps=1000)
    trainer = Trainer(config, tmp_path, progress=False)
    with pytest.raises(Diverged, match="not finite.*last good step.*on_nonfinite_loss=skip"):
        trainer.train(log_every=1)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert 0 < state["counters"]["train_step"] < trainer.train_step + 1
    assert all(torch.isfinite(t).all() for t in state["network"].values()
               if t.is_floating_point())
    load_agent(tmp_path / "checkpoint.pt")  # evaluate/play can read it
    resumed = Trainer(None, tmp_path, resume=True, progress=False)
    assert resumed.train_step == state["counters"]["train_step"]
    assert not (tmp_path / ".lock").exists()  # the folder was let go


def test_skip_mode_skips_a_non_finite_batch_and_goes_on(tmp_path, monkeypatch):
    real = training.unrolled_loss
    calls = []

    def nan_on_third_call(*args, **kwargs):
        losses = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            return type(losses)(**{**vars(losses), "total": losses.total * math.nan})
        return losses

    monkeypatch.setattr(training, "unrolled_loss", nan_on_third_call)
    trainer = Trainer(tiny(training_steps=6, on_nonfinite_loss="skip"), tmp_path,
                      progress=False)
    last = trainer.train(log_every=1)
    assert trainer.train_step == 6 and trainer.skipped_batches == 1
    assert last["skipped_batches"] == 1 and math.isfinite(last["loss"])


def test_a_finite_but_exploding_loss_is_reported_once(tmp_path, capsys):
    """Adam at learning rate 1e6 keeps the loss finite (1e11) and used to run on silently."""
    config = tiny("cartpole", optimizer="adam", learning_rate=1e6, training_steps=40)
    Trainer(config, tmp_path, progress=False).train(log_every=5)
    err = capsys.readouterr().err
    assert err.count("training may be diverging") == 1 and "learning_rate = 1e+06" in err


@pytest.mark.parametrize("dead", [True, False])
def test_a_dead_value_head_is_reported_once(tmp_path, capsys, monkeypatch, dead):
    """SGD at 0.1 killed the Connect Four ResNet's value head (data/preset_choices.md): one value
    for every position, a flat loss, no error, and hours of compute lost. Here the head is
    killed by hand (zero weights, frozen); a healthy head is never reported."""
    monkeypatch.setattr(training, "FLAT_VALUE_STEPS", 5)
    trainer = Trainer(tiny(training_steps=12), tmp_path, progress=False)
    if dead:
        with torch.no_grad():
            trainer.network.value_head.weight.zero_()
        trainer.network.value_head.requires_grad_(False)
    trainer.train(log_every=1)
    err = capsys.readouterr().err
    spreads = [row["value_spread"] for row in read_metrics(tmp_path / "metrics.jsonl")
               if "loss" in row]
    assert len(spreads) >= 12  # one line a step, and the last step once more at the end
    if dead:
        assert err.count("the value head has given every position of a batch the same value "
                         "for 5 steps") == 1
        assert "learning_rate (now 0.003, optimizer adam)" in err
        assert set(spreads) == {0.0}
    else:
        assert "value head" not in err
        assert min(spreads) > 0


def test_weights_that_are_not_finite_are_never_saved(tmp_path):
    trainer = Trainer(tiny(training_steps=3), tmp_path, progress=False)
    trainer.train()
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with torch.no_grad():
        next(trainer.network.parameters()).fill_(math.inf)
    with pytest.raises(Diverged, match="not finite, so they were not saved"):
        trainer.save()
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


# --- 3. config values that passed validation and broke the run ---------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("train_ratio", math.nan, "'train_ratio'.*finite"),
    ("train_ratio", math.inf, "'train_ratio'.*finite"),
    ("train_ratio", 0.0, "'train_ratio'.*> 0"),
    ("learning_rate", math.inf, "'learning_rate'.*finite"),
    ("value_loss_weight", math.inf, "'value_loss_weight'.*finite"),
    ("discount", math.nan, "'discount'"),
    ("priority_alpha", -math.inf, "'priority_alpha'"),
    ("value_bounds", (-math.inf, 1.0), "'value_bounds'"),
    ("temperature_schedule", "nan", "'temperature_schedule'"),
    ("temperature_schedule", "inf", "'temperature_schedule'"),
    ("on_nonfinite_loss", "ignore", "'on_nonfinite_loss'"),
    ("batch_size", 200_000, "'batch_size' = 200000 is larger than 'replay_capacity'"),
])
def test_config_refuses_values_that_would_break_a_run(field, value, message):
    with pytest.raises(ValueError, match=message):
        preset("tictactoe", **{field: value})


def test_a_refused_run_makes_no_folder(tmp_path):
    """Checks that fail leave nothing behind, so the corrected retry is not refused."""
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="a search of 1,000,000,000 simulations.*bytes"):
        Trainer(tiny(num_simulations=1_000_000_000), out, progress=False)
    with pytest.raises(ValueError, match="replay_capacity=.*needs.*bytes"):
        Trainer(tiny(replay_capacity=10**13), out, progress=False)
    with pytest.raises(ValueError, match="'gpu' is not a device name"):
        Trainer(tiny(), out, device="gpu", progress=False)
    assert not out.exists()
    Trainer(tiny(training_steps=1), out, progress=False).train()  # the retry runs
    assert (out / "checkpoint.pt").exists()


def test_devices_are_checked():
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="'gpu' is not a device name"):
        check_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            check_device("cuda")


@pytest.mark.parametrize("limit", [math.nan, math.inf, 0, -1])
def test_train_refuses_a_wall_clock_limit_that_is_not_one(tmp_path, limit):
    trainer = Trainer(tiny(training_steps=2), tmp_path, progress=False)
    with pytest.raises(ValueError, match="max_wall_s"):
        trainer.train(max_wall_s=limit)


# --- 4./5. the run folder as one unit; damaged files ------------------------------------------

def test_a_torn_metrics_line_does_not_swallow_the_next_one(tmp_path):
    Trainer(tiny(training_steps=3), tmp_path, progress=False).train(log_every=1)
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"train_step": 4, "env_')  # a crash in the middle of a line
    resumed = Trainer(None, tmp_path, resume=True, progress=False)
    resumed.train(max_wall_s=3.0, log_every=1)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # every line whole
    assert [row["train_step"] for row in read_metrics(tmp_path / "metrics.jsonl")][:4] == \
        [1, 2, 3, 3]


def test_a_damaged_replay_file_is_named_with_what_to_do(tmp_path):
    Trainer(tiny(training_steps=1000), tmp_path, progress=False).train(
        stop=lambda trainer: trainer.train_step == 3)
    damaged = sorted((tmp_path / "replay").glob("chunks-*.npz"))[0]
    damaged.write_bytes(damaged.read_bytes()[:100])  # truncated
    with pytest.raises(ValueError, match=f"{damaged.name} is not a readable replay file.*"
                                         "drop-replay") as caught:
        Trainer(None, tmp_path, resume=True, progress=False)
    assert "\n" not in str(caught.value)
    from muzero_lite.__main__ import main

    assert main(["train", "--drop-replay", "tictactoe", "--out", str(tmp_path)]) == 2
    assert main(["train", "--resume", "--drop-replay", "--out", str(tmp_path),
                 "--max-wall-s", "3", "--no-progress"]) == 0  # refills and learns on
    saved = load_checkpoint(tmp_path / "checkpoint.pt")["counters"]
    assert saved["train_step"] > 3 and saved["replay_files"] >= 1


def test_a_missing_replay_file_is_named_with_what_to_do(tmp_path):
    Trainer(tiny(training_steps=3), tmp_path, progress=False).train()
    last = sorted((tmp_path / "replay").glob("chunks-*.npz"))[-1]
    last.unlink()
    with pytest.raises(ValueError, match=f"{last.name} is missing.*drop-replay"):
        Trainer(None, tmp_path, resume=True, progress=False)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not a run"])
def test_a_damaged_checkpoint_is_refused_in_one_line(tmp_path, damage):
    Trainer(tiny(training_steps=3), tmp_path, progress=False).train()
    path = tmp_path / "checkpoint.pt"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    else:
        save_checkpoint(path, {"weights": torch.ones(3)})
    with pytest.raises(ValueError) as caught:
        Trainer(None, tmp_path, resume=True, progress=False)
    message = str(caught.value)
    assert "checkpoint.pt" in message and "\n" not in message
    assert "weights_only=False" not in message


def test_weights_of_another_network_size_are_refused_in_one_line(tmp_path):
    Trainer(tiny(training_steps=3), tmp_path, progress=False).train()
    path = tmp_path / "checkpoint.pt"
    state = load_checkpoint(path)
    state["config"]["hidden_size"] = 32  # the weights say 16
    save_checkpoint(path, {k: v for k, v in state.items() if k != "format"})
    with pytest.raises(ValueError, match="do not fit the network") as caught:
        Trainer(None, tmp_path, resume=True, progress=False)
    assert "\n" not in str(caught.value)


def test_resume_without_a_checkpoint_says_there_is_nothing_to_resume(tmp_path):
    with pytest.raises(ValueError, match="holds no checkpoint.pt"):
        Trainer(None, tmp_path, resume=True, progress=False)


# --- 6. out folders, the lock -------------------------------------------------------------------

def test_a_file_as_the_run_folder_is_refused_before_anything_runs(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        Trainer(tiny(), tmp_path / "afile", progress=False)
    with pytest.raises(ValueError, match="is a file, not a folder"):
        Trainer(tiny(), tmp_path / "afile" / "run", progress=False)


def test_a_folder_without_write_permission_is_refused_before_anything_runs(tmp_path,
                                                                          monkeypatch):
    # (root may write anywhere, so the permission answer is the one os.access gives.)
    monkeypatch.setattr(training.os, "access", lambda path, mode: False)
    with pytest.raises(ValueError, match="cannot write to .*permission denied"):
        Trainer(tiny(), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_a_lock_held_by_a_live_process_is_refused_and_a_stale_one_taken_over(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".lock").write_text(f"{sleeper.pid} {socket.gethostname()}\n")
        with pytest.raises(ValueError, match=f"in use by another training \\(process "
                                             f"{sleeper.pid}\\)"):
            Trainer(tiny(), tmp_path, progress=False)
    finally:
        sleeper.kill()
        sleeper.wait()
    # The same pid, now dead: a kill -9 left the lock behind; it is stale.
    Trainer(tiny(training_steps=2), tmp_path, progress=False).train()
    assert not (tmp_path / ".lock").exists()
    (tmp_path / ".lock").write_text("123 some-other-host\n")
    with pytest.raises(ValueError, match="on some-other-host.*delete"):
        RunLock(tmp_path).acquire()


def test_two_trainings_into_one_folder_the_second_is_refused(tmp_path):
    """A CLI run trains in the folder; a second training there (resume or fresh) is refused
    while it runs, naming the process."""
    out = tmp_path / "run"
    sets = sum([["--set", f"{k}={v}"] for k, v in TINY.items()], [])
    cmd = [sys.executable, "-m", "muzero_lite", "train", "tictactoe", "--out", str(out),
           "--no-progress", "--set", "training_steps=100000", "--max-wall-s", "60", *sets]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out / "checkpoint.pt").exists():
            time.sleep(0.1)
        assert (out / ".lock").exists()
        with pytest.raises(ValueError, match=f"process {first.pid}"):
            Trainer(None, out, resume=True, progress=False)
        second = subprocess.run([sys.executable, "-m", "muzero_lite", "train", "--resume",
                                 "--out", str(out)], capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 2
        assert f"in use by another training (process {first.pid})" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
    assert first.returncode == 143  # 128 + SIGTERM, after saving
    assert not (out / ".lock").exists()


def test_a_trainer_whose_folder_another_run_rewrote_refuses_to_train(tmp_path):
    a = Trainer(tiny(training_steps=2), tmp_path, progress=False)
    Trainer(tiny(training_steps=2), tmp_path, progress=False).train()  # b got there first
    with pytest.raises(ValueError, match="changed by another run"):
        a.train()


# --- 7. signals ---------------------------------------------------------------------------------

def test_sigterm_saves_like_ctrl_c_and_exits_143(tmp_path):
    out = tmp_path / "run"
    sets = sum([["--set", f"{k}={v}"] for k, v in TINY.items()], [])
    proc = subprocess.Popen([sys.executable, "-m", "muzero_lite", "train", "tictactoe",
                             "--out", str(out), "--no-progress", "--set",
                             "training_steps=100000", *sets],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "checkpoint.pt").exists():
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "interrupted (SIGTERM): saved step" in stdout
    saved = load_checkpoint(out / "checkpoint.pt")["counters"]["train_step"]
    assert saved == read_metrics(out / "metrics.jsonl")[-1]["train_step"]  # saved at the stop


def test_a_second_signal_stops_at_once_leaving_the_last_checkpoint(tmp_path):
    def two_ctrl_cs(trainer) -> bool:
        if trainer.train_step == 5:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
        return False

    trainer = Trainer(tiny(training_steps=100), tmp_path, progress=False)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(stop=two_ctrl_cs)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["counters"]["train_step"] == 3
    assert not (tmp_path / ".lock").exists()
    assert signal.getsignal(signal.SIGINT) == before  # put back


def test_one_signal_sets_stopped_by(tmp_path):
    def ctrl_c(trainer) -> bool:
        if trainer.train_step == 4:
            signal.raise_signal(signal.SIGINT)
        return False

    trainer = Trainer(tiny(training_steps=100), tmp_path, progress=False)
    trainer.train(stop=ctrl_c)
    assert trainer.stopped_by == signal.SIGINT and trainer.train_step == 4
    assert load_checkpoint(tmp_path / "checkpoint.pt")["counters"]["train_step"] == 4


# --- 2. the clock, per preset -------------------------------------------------------------------

CLOCK_PRESETS = {
    "tictactoe": {},
    "cartpole": {},
    "gym:Acrobot-v1": {},
    "connect4": dict(num_envs=8, num_simulations=8, channels=8, num_blocks=1, batch_size=32,
                     replay_capacity=10_000),
    "atari:Pong": dict(num_envs=2, num_simulations=4, channels=8, batch_size=8,
                       replay_capacity=5_000, chunk_moves=5, train_ratio=2.0),
}


@pytest.mark.parametrize("name", sorted(CLOCK_PRESETS))
def test_max_wall_s_holds_for_every_preset(tmp_path, name):
    """The whole of train(), closing checkpoint and plot included, ends within
    max(5 s, 2%) of the limit: shrunken presets (quick mode) so a move is short."""
    if name.startswith("atari"):
        pytest.importorskip("ale_py")
    limit = 8.0
    overrides = {"training_steps": 10**6, **CLOCK_PRESETS[name]}
    trainer = Trainer(preset(name, **overrides), tmp_path, progress=False)
    started = time.perf_counter()
    trainer.train(max_wall_s=limit)
    took = time.perf_counter() - started
    assert took <= limit + max(5.0, 0.02 * limit), took
    assert trainer.wall_s <= limit + max(5.0, 0.02 * limit)  # what metrics.jsonl records
    assert trainer.env_steps > 0


def test_a_checkpoint_config_without_the_new_field_loads_with_its_default():
    c = MuZeroConfig(on_nonfinite_loss="skip")
    assert MuZeroConfig.from_dict(c.to_dict()) == c
    older = {k: v for k, v in c.to_dict().items() if k != "on_nonfinite_loss"}
    assert MuZeroConfig.from_dict(older).on_nonfinite_loss == "stop"
