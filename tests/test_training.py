"""The training loop end to end on tiny budgets: files, checkpoints, resume, the CLI."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from muzero_lite import games
from muzero_lite.__main__ import main
from muzero_lite.agent import load_agent
from muzero_lite.checkpoint import load_checkpoint, save_checkpoint
from muzero_lite.config import preset
from muzero_lite.evaluate import evaluate_agent, format_report
from muzero_lite.replay import ChunkStore
from muzero_lite.selfplay import temperature
from muzero_lite.training import Trainer, plot_curves, read_metrics

# train_ratio 0.5: two learner steps per move of the 4 games, so these runs stay short and
# train_step <= train_ratio * env_steps holds exactly (the preset's 0.1 would need 5x the play).
TINY = dict(num_simulations=4, num_envs=4, batch_size=16, hidden_size=16, latent_size=8,
            training_steps=30, checkpoint_interval=10, lr_decay_steps=30, train_ratio=0.5)
TINY_SET = [f"{k}={v}" for k, v in TINY.items() if k != "training_steps"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    trainer = Trainer(preset("tictactoe", **TINY), out, progress=False)
    last = trainer.train(log_every=10)
    return out, trainer, last


def test_a_run_writes_its_folder(tiny_run):
    out, trainer, last = tiny_run
    for name in ("checkpoint.pt", "metrics.jsonl", "curves.png"):
        assert (out / name).stat().st_size > 0, name
    assert ChunkStore(out / "replay").numbers()  # the replay, in chunk files
    assert last["train_step"] == 30 == trainer.train_step
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["train_step"] for r in rows][:3] == [10, 20, 30]
    assert all(np.isfinite(r["loss"]) for r in rows)
    # The learner keeps the ratio: at most train_ratio * env_steps steps.
    assert trainer.train_step <= trainer.config.train_ratio * trainer.env_steps


def test_a_new_trainer_refuses_a_folder_that_holds_a_run(tiny_run):
    out, _, _ = tiny_run
    with pytest.raises(ValueError, match="already holds a run"):
        Trainer(preset("tictactoe", **TINY), out, progress=False)


def test_checkpoint_loads_with_weights_only_and_plays(tiny_run):
    out, trainer, _ = tiny_run
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["counters"]["train_step"] == 30
    assert state["game"]["num_actions"] == 9
    agent = load_agent(out / "checkpoint.pt")
    game = games.make("tictactoe")
    game.step(4)
    move = agent.act(game)
    assert move in game.legal_actions()
    assert agent.act(game) == move  # greedy and deterministic


def test_checkpoint_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable") as caught:
        load_checkpoint(tmp_path / "junk.pt")
    assert "weights_only=False" not in str(caught.value)  # never advise running its code
    torch.save({"format": 99}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="format"):
        load_checkpoint(tmp_path / "old.pt")
    save_checkpoint(tmp_path / "ok.pt", {"x": torch.ones(2)})
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no leftovers


def test_resume_in_process_restores_everything(tiny_run, tmp_path):
    out, trainer, _ = tiny_run
    resumed = Trainer(None, out, resume=True, progress=False)
    assert (resumed.train_step, resumed.env_steps, resumed.episodes) == (
        trainer.train_step, trainer.env_steps, trainer.episodes)
    assert len(resumed.replay) == len(trainer.replay)
    for a, b in zip(resumed.network.parameters(), trainer.network.parameters(), strict=True):
        assert torch.equal(a, b)
    assert resumed.rng.bit_generator.state == trainer.rng.bit_generator.state
    assert torch.equal(resumed.generator.get_state(), trainer.generator.get_state())


def test_ctrl_c_saves_and_the_resumed_run_continues(tmp_path):
    """Kill a CLI run mid-way with SIGINT (Ctrl-C); it saves and exits cleanly, and the
    resumed run starts from exactly the saved step with the saved replay."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "muzero_lite", "train", "tictactoe", "--out", str(out),
           "--no-progress", "--set", "training_steps=100000", *sum([["--set", s]
                                                                    for s in TINY_SET], [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait for the first checkpoint, then interrupt
        if (out / "checkpoint.pt").exists():
            break
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr  # 128 + SIGINT: the shell sees an interrupted run
    assert "interrupted (SIGINT): saved step" in stdout
    saved = load_checkpoint(out / "checkpoint.pt")["counters"]
    store = ChunkStore(out / "replay")
    saved_positions = sum(len(c) for n in store.numbers() for c in store.read(n))
    assert saved["train_step"] > 0
    assert saved["train_step"] == read_metrics(out / "metrics.jsonl")[-1]["train_step"]

    resumed = Trainer(None, out, resume=True, progress=False)
    assert resumed.train_step == saved["train_step"]
    assert resumed.env_steps == saved["env_steps"]
    assert len(resumed.replay) == saved_positions
    resumed.train(max_wall_s=1.0, log_every=5)
    steps = [r["train_step"] for r in read_metrics(out / "metrics.jsonl")]
    assert steps == sorted(steps) and steps[-1] > saved["train_step"]  # continued, not restarted
    assert len(resumed.replay) >= saved_positions


def test_curves_plot_from_metrics(tiny_run, tmp_path):
    out, _, _ = tiny_run
    fig = plot_curves(out / "metrics.jsonl", tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000
    assert [ax.get_title() for ax in fig.axes] == ["self-play return", "training losses"]


def test_temperature_schedules():
    ttt = preset("tictactoe")
    assert temperature(ttt, 0, 0.0) == 1.0
    assert temperature(ttt, ttt.greedy_after_moves, 0.0) == 0.0
    cp = preset("cartpole")
    assert [temperature(cp, 0, p) for p in (0.1, 0.6, 0.9)] == [1.0, 0.5, 0.25]
    assert temperature(cp.replace(temperature_schedule="0.3"), 5, 0.5) == 0.3


def test_tictactoe_preset_samples_every_move_and_targets_the_outcome():
    # Issue 3: greedy play after move 4 left ~500 distinct positions in 20,000 stored ones and
    # self-play never improved. The preset now samples all 9 moves at T = 1 ...
    ttt = preset("tictactoe")
    assert [temperature(ttt, move, 0.0) for move in range(ttt.max_moves)] == [1.0] * 9
    # ... its value target is the final outcome (td_steps >= 9 moves, gamma = 1: no bootstrap)
    assert ttt.td_steps >= ttt.max_moves and ttt.discount == 1.0
    # ... and it samples replay uniformly, so every importance weight is (1 / (N P))^0 = 1.
    assert (ttt.priority_alpha, ttt.priority_beta) == (0.0, 0.0)


def test_evaluate_reports(tiny_run):
    out, _, _ = tiny_run
    agent = load_agent(out / "checkpoint.pt")
    report = evaluate_agent(agent, games=2, num_simulations=2)
    assert set(report["table"]) == {"random", "minimax"}
    assert sum(report["table"]["random"]["X"]) == 2
    assert "perfect-play check" in format_report(report)


def test_load_agent_zeroes_subnormal_weights(tiny_run, tmp_path):
    """Weights below float32's normal range (1.2e-38) are set to 0 on loading, where they
    would slow the CPU's arithmetic; normal weights, however small, are kept exactly."""
    out, _, _ = tiny_run
    state = load_checkpoint(out / "checkpoint.pt")
    weight = state["network"]["policy_head.weight"]
    weight[0, 0], weight[0, 1], weight[0, 2] = 1e-40, -3e-39, 2e-38  # two subnormal, one not
    save_checkpoint(tmp_path / "checkpoint.pt", state)
    loaded = load_agent(tmp_path / "checkpoint.pt").network.policy_head.weight
    assert loaded[0, 0] == 0.0 and loaded[0, 1] == 0.0
    assert loaded[0, 2] == weight[0, 2] != 0.0
    assert torch.equal(loaded[1:], weight[1:])


def test_one_player_evaluation_and_training(tmp_path):
    config = preset("cartpole", **{**TINY, "training_steps": 4, "max_moves": 20})
    trainer = Trainer(config, tmp_path, progress=False)
    trainer.train(log_every=2)
    agent = load_agent(tmp_path / "checkpoint.pt")
    report = evaluate_agent(agent, games=3, num_simulations=2)
    assert report["episodes"] == 3 and 1 <= report["mean_return"] <= 20
    assert "mean return" in format_report(report)


# --- the command line ------------------------------------------------------------------------

def test_cli_train_evaluate(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["train", "tictactoe", "--out", str(out), "--no-progress",
            "--set", "training_steps=10", *sum([["--set", s] for s in TINY_SET], [])]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["train_step"] == 10
    assert main(args) == 2  # the folder holds a run: refuse to overwrite it
    assert "already holds a run" in capsys.readouterr().err
    assert main(["evaluate", str(out / "checkpoint.pt"), "--games", "2", "--simulations", "2",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["game"] == "tictactoe"


@pytest.mark.parametrize("args, message", [
    (["train", "tictactoe", "--set", "num_simulatons=3"], "did you mean 'num_simulations'"),
    (["train", "tictactoes"], "did you mean 'tictactoe'"),
    (["train", "tictactoe", "--set", "discount=2"], "'discount'"),
    (["evaluate", "nowhere.pt"], "no checkpoint"),
    (["play", "nowhere.pt"], "no checkpoint"),
])
def test_cli_bad_input_is_named(args, message, capsys, tmp_path):
    if args[0] == "train":
        args = [*args, "--out", str(tmp_path / "x")]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_cli_play_asks_again_on_bad_moves(tiny_run, capsys):
    out, _, _ = tiny_run
    answers = iter(["abc", "9", "-1", "4", "4", "0", "1", "2", "3", "5", "6", "7", "8"])
    assert main(["play", str(out / "checkpoint.pt"), "--simulations", "2"],
                input_fn=lambda prompt: next(answers)) == 0
    text = capsys.readouterr().out
    assert "'abc' is not a number" in text
    assert "9 is not a legal move here" in text
    assert "-1 is not a legal move here" in text
    assert text.count("agent plays") >= 3
    assert any(end in text for end in ("draw", "you win", "the agent wins"))


def test_cli_play_ends_cleanly_when_input_runs_out(tiny_run, capsys):
    out, _, _ = tiny_run

    def no_input(prompt):
        raise EOFError

    assert main(["play", str(out / "checkpoint.pt"), "--as", "o", "--simulations", "2"],
                input_fn=no_input) == 2
    assert "left unfinished" in capsys.readouterr().err


def test_cli_play_refuses_one_player_games(tmp_path, capsys):
    config = preset("cartpole", **{**TINY, "training_steps": 2, "max_moves": 10})
    Trainer(config, tmp_path, progress=False).train()
    assert main(["play", str(tmp_path / "checkpoint.pt")]) == 2
    assert "two-player" in capsys.readouterr().err



def test_cli_until_return_stops_at_the_goal(tmp_path, capsys):
    out = tmp_path / "cp"
    args = ["train", "cartpole", "--out", str(out), "--no-progress", "--until-return", "1",
            "--eval-every", "10", "--set", "training_steps=2000", "--set", "max_moves=20",
            *sum([["--set", s] for s in TINY_SET], [])]
    assert main(args) == 0
    # Every CartPole episode returns >= 1, so the first check (step 10) stops the run.
    assert json.loads(capsys.readouterr().out.splitlines()[0])["train_step"] == 10


# --- Reanalyze in the Trainer --------------------------------------------------------------------

def _spy_on_learning(monkeypatch):
    """Record every reanalyze_batch call and the batch each loss was computed on."""
    from muzero_lite import training

    calls, losses_on = [], []
    real_reanalyze, real_loss = training.reanalyze_batch, training.unrolled_loss

    def reanalyze(batch, buffer, network, config, **kwargs):
        out = real_reanalyze(batch, buffer, network, config, **kwargs)
        calls.append({"in": batch, "out": out, **kwargs})
        return out

    def loss(network, batch, **kwargs):
        losses_on.append(batch)
        return real_loss(network, batch, **kwargs)

    monkeypatch.setattr(training, "reanalyze_batch", reanalyze)
    monkeypatch.setattr(training, "unrolled_loss", loss)
    return calls, losses_on


def test_reanalyze_off_never_touches_the_sampled_targets(monkeypatch, tmp_path):
    calls, losses_on = _spy_on_learning(monkeypatch)
    trainer = Trainer(preset("tictactoe", **{**TINY, "training_steps": 4}), tmp_path,
                      progress=False)
    trainer.train()
    assert calls == [] and len(losses_on) == 4
    assert "reanalyze_s" not in read_metrics(tmp_path / "metrics.jsonl")[-1]


def test_reanalyze_on_feeds_fresh_targets_to_every_learner_step(monkeypatch, tmp_path):
    calls, losses_on = _spy_on_learning(monkeypatch)
    # Symmetries off: they would turn the loss's batch after Reanalyze (test_augment.py).
    config = preset("tictactoe", **{**TINY, "training_steps": 4}, reanalyze_fraction=0.5,
                    td_steps=3, augment_symmetries=False)
    trainer = Trainer(config, tmp_path, progress=False)
    trainer.train()
    assert len(calls) == len(losses_on) == 4
    changed_rows = []
    for call, used in zip(calls, losses_on, strict=True):
        assert call["fraction"] == 0.5 and call["td_steps"] == 3
        assert call["two_player"] is True and call["generator"] is trainer.generator
        # The loss sees the reanalysed targets, not the stored ones.
        np.testing.assert_array_equal(used.target_policies.numpy(), call["out"].target_policies)
        np.testing.assert_array_equal(used.target_values.numpy(), call["out"].target_values)
        # Half of the 16 rows got fresh policies: rows whose step-0 target changed are among
        # them (a fresh search may, rarely, repeat a stored distribution exactly).
        changed = (call["out"].target_policies[:, 0] != call["in"].target_policies[:, 0]).any(1)
        assert changed.sum() <= 8
        changed_rows.append(int(changed.sum()))
        # The stored legal moves mask the re-search: no fresh target visits an occupied cell.
        stones = call["in"].observations[:, 0] + call["in"].observations[:, 1]  # both players
        assert not (call["out"].target_policies[:, 0] > 0)[stones.reshape(16, 9) > 0].any()
    assert sum(changed_rows) > 0
    row = read_metrics(tmp_path / "metrics.jsonl")[-1]
    assert row["reanalyze_s"] > 0 and np.isfinite(row["loss"])
    # The Reanalyze time is a counter like wall_s: a resumed run goes on from it.
    resumed = Trainer(None, tmp_path, resume=True, progress=False)
    assert resumed.reanalyze_s == trainer.reanalyze_s > 0
