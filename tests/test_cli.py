"""The command line's promise: every error a user can type is one line on stderr, exit 2, and
never a traceback. Most cases run ``main(argv)`` in-process (fast); a few run the real process.
"""

from __future__ import annotations

import math
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import muzero_lite.training
from muzero_lite.__main__ import main
from muzero_lite.checkpoint import load_checkpoint, save_checkpoint
from muzero_lite.device import check_device
from muzero_lite.evaluate import evaluate_agent, greedy_returns, mean_return_stop, perfect_play_stop

ROOT = Path(__file__).resolve().parents[1]
TICTACTOE = ROOT / "data" / "checkpoints" / "tictactoe.pt"


@pytest.fixture
def files(tmp_path):
    """Bad checkpoints and run folders, made on demand by name."""
    def make(kind: str) -> str:
        if kind == "garbage":
            path = tmp_path / "garbage.pt"
            path.write_bytes(bytes(range(256)) * 7)
        elif kind == "empty_file":
            path = tmp_path / "empty.pt"
            path.write_bytes(b"")
        elif kind == "missing":
            path = tmp_path / "missing.pt"
        elif kind == "folder":
            path = tmp_path / "folder"
            path.mkdir(exist_ok=True)
        elif kind == "mismatched":  # a config that no longer matches the saved weights
            state = load_checkpoint(TICTACTOE)
            state["config"]["hidden_size"] += 16
            path = tmp_path / "mismatched.pt"
            save_checkpoint(path, state)
        elif kind == "incomplete":  # a valid checkpoint file without the network
            state = load_checkpoint(TICTACTOE)
            del state["network"]
            path = tmp_path / "incomplete.pt"
            save_checkpoint(path, state)
        elif kind == "ttt_run":  # a run folder holding a tic-tac-toe checkpoint
            path = tmp_path / "ttt_run"
            path.mkdir(exist_ok=True)
            (path / "checkpoint.pt").write_bytes(TICTACTOE.read_bytes())
        else:
            raise AssertionError(kind)
        return str(path)
    return make


def _expand(args, files):
    """``{garbage}`` and the like become paths made by the ``files`` fixture."""
    return [files(a[1:-1]) if a.startswith("{") and a.endswith("}") else a for a in args]


BAD_INPUTS = [
    # argparse's own errors: one line, with a pointer to --help
    (["--bogus"], r"required|unrecognized"),
    (["train", "tictactoe", "--bogus"], r"unrecognized arguments: --bogus.*--help"),
    (["evaluate"], r"required: checkpoint"),
    (["frobnicate"], r"invalid choice: 'frobnicate'"),
    (["play", "x.pt", "--as", "z"], r"--as: invalid choice"),
    # counts and numbers, checked before anything is loaded or built
    (["evaluate", "x.pt", "--games", "0"], r"--games: must be >= 1, got 0"),
    (["evaluate", "x.pt", "--games", "-5"], r"--games: must be >= 1, got -5"),
    (["evaluate", "x.pt", "--games", "many"], r"--games: expects a whole number"),
    (["evaluate", "x.pt", "--simulations", "0"], r"--simulations: must be >= 1"),
    (["play", "x.pt", "--simulations", "0"], r"--simulations: must be >= 1"),
    (["train", "tictactoe", "--eval-every", "0"], r"--eval-every: must be >= 1"),
    (["train", "tictactoe", "--max-wall-s", "nan"], r"--max-wall-s: must be a finite number"),
    (["train", "tictactoe", "--max-wall-s", "inf"], r"--max-wall-s: must be a finite number"),
    (["train", "tictactoe", "--max-wall-s", "-1"], r"--max-wall-s: .*> 0"),
    (["train", "cartpole", "--until-return", "inf"], r"--until-return: must be a finite"),
    # stop rules the game cannot use
    (["train", "cartpole", "--until-perfect"], r"--until-perfect .*not cartpole"),
    (["train", "gym:Acrobot-v1", "--until-perfect"], r"--until-perfect .*not gym:Acrobot-v1"),
    (["train", "tictactoe", "--until-return", "1"],
     r"--until-return is for one-player games; tictactoe has two players"),
    (["train", "connect4", "--until-return", "1"], r"connect4 has two players"),
    (["train", "tictactoe", "--until-perfect", "--until-return", "1"], r"not allowed with"),
    # names and config values
    (["train", "tictactoes"], r"unknown preset 'tictactoes'; did you mean 'tictactoe'"),
    (["train", "tictactoe", "--set", "num_simulatons=3"], r"did you mean 'num_simulations'"),
    (["train", "tictactoe", "--set", "train_ratio=nan"], r"'train_ratio'"),
    (["train", "tictactoe", "--set", "batch_size=999999"], r"'batch_size'.*replay_capacity"),
    (["train", "tictactoe", "--set", "num_simulations"], r"not of the form key=value"),
    (["train"], r"train needs a preset .* or --resume --out DIR"),
    # devices
    (["train", "tictactoe", "--device", "gpu"], r"'gpu' is not a device name: use cpu, cuda"),
    (["train", "tictactoe", "--device", "meta"], r"not supported"),
    # checkpoints given to evaluate and play
    (["evaluate", "{missing}"], r"no checkpoint at .*missing\.pt"),
    (["play", "{missing}"], r"no checkpoint at .*missing\.pt"),
    (["evaluate", "{folder}"], r"no checkpoint at .*folder"),
    (["evaluate", "{garbage}"], r"garbage\.pt is not a readable muzero-lite checkpoint"),
    (["play", "{empty_file}"], r"empty\.pt is not a readable muzero-lite checkpoint"),
    (["evaluate", "{mismatched}"],
     r"mismatched\.pt: the saved weights do not fit the network its config describes"),
    (["play", "{mismatched}"], r"the saved weights do not fit"),
    (["evaluate", "{incomplete}"], r"incomplete\.pt.*not a complete muzero-lite checkpoint"),
    # run folders given to train
    (["train", "--resume", "--out", "{folder}"], r"holds no run to resume"),
    (["train", "--resume", "--out", "{missing}"], r"no run folder"),
    (["train", "--resume"], r"--resume needs the run folder"),
    (["train", "tictactoe", "--resume", "--out", "{ttt_run}", "--set", "seed=1"],
     r"drop --set"),
    (["train", "connect4", "--resume", "--out", "{ttt_run}"],
     r"ttt_run holds a tictactoe run, not connect4"),
    (["train", "tictactoe", "--out", "{ttt_run}"], r"already holds a run"),
    (["train", "tictactoe", "--out", "{garbage}"], r"is a file, not a folder"),
]


@pytest.mark.parametrize("args, pattern", BAD_INPUTS,
                         ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_on_stderr(args, pattern, files, capsys):
    assert main(_expand(args, files)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert re.search(pattern, err), err
    assert "weights_only=False" not in err  # never advise loading a file by running its code


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_refused(capsys):
    assert main(["train", "tictactoe", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CUDA is not available on this machine" in err


def test_check_device():
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="cpu, cuda, cuda:N .* mps"):
        check_device("gpu")


def test_the_real_process_prints_one_line(tmp_path):
    """Run as ``python -m muzero_lite``: one stderr line, exit 2, no traceback."""
    for args, pattern in ((["evaluate", str(tmp_path / "nowhere.pt")], "no checkpoint"),
                          (["train", "tictactoe", "--max-wall-s", "nan"], "--max-wall-s")):
        done = subprocess.run([sys.executable, "-m", "muzero_lite", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and pattern in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


# --- things that succeed -----------------------------------------------------------------------

def test_version(capsys):
    assert main(["--version"]) == 0
    assert re.fullmatch(r"muzero-lite \d+\.\d+\S*( \(not installed\))?\n", capsys.readouterr().out)


@pytest.mark.parametrize("args", [["--list-keys"], ["train", "--list-keys"]])
def test_list_keys(args, capsys):
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"^num_simulations = 50$", out, re.M)
    assert re.search(r"^train_ratio = ", out, re.M)
    assert max(len(line) for line in out.splitlines()) <= 100


def test_help_still_works(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage:" in out and "--list-keys" in out and "gym:<id>" in out


class FakeTrainer:
    """Stands in for the Trainer: records how it was made, trains instantly."""

    made: list[dict] = []
    stopped_by: int | None = None
    raise_in_train: BaseException | None = None

    def __init__(self, config, out, resume=False, device="cpu", progress=True,
                 drop_replay=False, init_from=None):
        FakeTrainer.made.append({"config": config, "out": Path(out), "resume": resume,
                                 "device": device, "drop_replay": drop_replay,
                                 "init_from": init_from})
        self.out = Path(out)
        self.train_step = 7

    def train(self, max_wall_s=None, stop=None, actors=0, ray_address=None, actor_gpus=0.0):
        FakeTrainer.made[-1]["max_wall_s"] = max_wall_s
        FakeTrainer.made[-1]["actors"] = (actors, ray_address)
        FakeTrainer.made[-1]["actor_gpus"] = actor_gpus
        if FakeTrainer.raise_in_train is not None:
            raise FakeTrainer.raise_in_train
        self.stopped_by = FakeTrainer.stopped_by
        return {"train_step": self.train_step}


@pytest.fixture
def fake_trainer(monkeypatch, tmp_path):
    FakeTrainer.made, FakeTrainer.stopped_by, FakeTrainer.raise_in_train = [], None, None
    monkeypatch.setattr(muzero_lite.training, "Trainer", FakeTrainer)
    monkeypatch.chdir(tmp_path)
    return FakeTrainer


def test_a_game_name_trains_with_a_preset(fake_trainer, capsys):
    assert main(["train", "gym:Acrobot-v1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "settings: the cartpole preset, playing gym:Acrobot-v1"
    made = fake_trainer.made[0]
    assert made["config"].game == "gym:Acrobot-v1" and made["config"].network == "mlp"
    assert made["out"] == Path("runs/gym_Acrobot-v1")


def test_a_preset_name_prints_no_settings_line(fake_trainer, capsys):
    assert main(["train", "tictactoe", "--no-progress"]) == 0
    assert not capsys.readouterr().out.startswith("settings:")
    assert fake_trainer.made[0]["out"] == Path("runs/tictactoe")


def test_a_preset_sized_for_a_gpu_says_so_before_a_cpu_run(fake_trainer, capsys):
    assert main(["train", "connect4", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("note: the connect4 preset is sized for a GPU")
    assert "--set channels=32 --set num_blocks=2" in err  # the CPU recipe that learned
    assert main(["train", "atari:Pong", "--out", "p", "--no-progress"]) == 0
    assert "the atari preset is sized for a GPU" in capsys.readouterr().err
    assert main(["train", "connect4", "--set", "hidden_size=8", "--out", "h", "--no-progress"]) == 0
    assert "sized for a GPU" in capsys.readouterr().err  # an MLP size: the ResNet is unchanged
    # Not when the user already chose a size, asked for --quick, or runs a laptop-sized preset.
    for argv in (["connect4", "--set", "channels=32", "--out", "c"],
                 ["atari:Pong", "--quick", "--out", "q"], ["tictactoe"]):
        assert main(["train", *argv, "--no-progress"]) == 0
        assert "sized for a GPU" not in capsys.readouterr().err, argv
    assert len(fake_trainer.made) == 6


def test_quick_shrinks_the_preset_and_keeps_what_set_says(fake_trainer, capsys):
    assert main(["train", "atari:Pong", "--quick", "--set", "num_envs=2", "--no-progress"]) == 0
    made = fake_trainer.made[0]
    assert made["config"].num_simulations == 4 and made["config"].channels == 8
    assert made["config"].num_envs == 2  # --set wins over --quick
    assert made["max_wall_s"] == 60.0
    assert main(["train", "tictactoe", "--quick", "--max-wall-s", "5", "--out", "q",
                 "--no-progress"]) == 0
    assert fake_trainer.made[1]["max_wall_s"] == 5.0
    assert main(["train", "--resume", "--quick", "--out", "q", "--no-progress"]) == 2
    assert "drop --quick" in capsys.readouterr().err


def test_actors_reach_train_and_ray_address_needs_them(fake_trainer, capsys):
    pytest.importorskip("ray")
    assert main(["train", "tictactoe", "--actors", "3", "--ray-address", "auto",
                 "--no-progress"]) == 0
    assert fake_trainer.made[0]["actors"] == (3, "auto")
    assert main(["train", "tictactoe", "--ray-address", "auto", "--no-progress"]) == 2
    assert "--ray-address goes with --actors" in capsys.readouterr().err
    assert main(["train", "tictactoe", "--actors", "-1", "--no-progress"]) == 2
    assert "--actors -1" in capsys.readouterr().err
    assert main(["train", "tictactoe", "--actors", "4", "--actor-gpus", "0.25",
                 "--no-progress"]) == 0
    assert fake_trainer.made[-1]["actor_gpus"] == 0.25
    assert main(["train", "tictactoe", "--actor-gpus", "0.5", "--no-progress"]) == 2
    assert "--actor-gpus goes with --actors" in capsys.readouterr().err
    assert main(["train", "tictactoe", "--actors", "2", "--actor-gpus", "2",
                 "--no-progress"]) == 2
    assert "--actor-gpus 2: give the share of a GPU" in capsys.readouterr().err


@pytest.mark.parametrize("name", [None, "tictactoe"])
def test_resume_needs_no_name(name, fake_trainer, files, capsys):
    folder = files("ttt_run")
    args = ["train", *([name] if name else []), "--resume", "--out", folder, "--no-progress"]
    assert main(args) == 0
    made = fake_trainer.made[0]
    assert made["resume"] and made["config"] is None and made["out"] == Path(folder)


@pytest.mark.parametrize("number, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_run_stopped_by_a_signal_exits_128_plus_it(number, code, fake_trainer, capsys):
    fake_trainer.stopped_by = number
    assert main(["train", "tictactoe", "--out", "r", "--no-progress"]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert signal.Signals(number).name in err and "--resume --out r" in err


def test_a_second_ctrl_c_exits_130_in_one_line(fake_trainer, capsys):
    fake_trainer.raise_in_train = KeyboardInterrupt("second SIGINT: stopped at once")
    assert main(["train", "tictactoe", "--out", "r", "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("interrupted")


def test_a_second_sigterm_exits_143(fake_trainer, capsys):
    stop = KeyboardInterrupt("second SIGTERM: stopped at once")
    stop.signal = signal.SIGTERM  # as the Trainer's handler raises it
    fake_trainer.raise_in_train = stop
    assert main(["train", "tictactoe", "--out", "r", "--no-progress"]) == 143


# --- the same checks at the Python entry points -------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: evaluate_agent(object(), games=0), "games"),
    (lambda: evaluate_agent(object(), games=-5), "games"),
    (lambda: evaluate_agent(object(), num_simulations=0), "num_simulations"),
    (lambda: greedy_returns(object(), episodes=0), "episodes"),
    (lambda: perfect_play_stop(every=0), "every"),
    (lambda: mean_return_stop(100.0, every=0), "every"),
    (lambda: mean_return_stop(100.0, episodes=0), "episodes"),
    (lambda: mean_return_stop(math.nan), "goal"),
])
def test_python_entry_points_check_their_arguments(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        call()


def test_the_documented_top_level_imports_work():
    """ARCHITECTURE.md and README show `from muzero_lite import games, load_agent`."""
    code = ("import sys; import muzero_lite.config; assert 'torch' not in sys.modules; "
            "from muzero_lite import games, load_agent, preset, Trainer, Agent, search, "
            "evaluate_agent, MuZeroConfig; agent = load_agent('data/checkpoints/tictactoe.pt'); "
            "game = games.make('tictactoe'); print(agent.act(game) in game.legal_actions()); "
            "import muzero_lite.training, muzero_lite.__main__, muzero_lite.viz; "
            "assert 'ray' not in sys.modules, 'Ray is imported only with actors'")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    import muzero_lite

    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        muzero_lite.nothing  # noqa: B018


def test_init_from_trains_on_with_the_saved_config_and_what_set_changes(fake_trainer, capsys):
    agent = Path(__file__).resolve().parents[1] / "data" / "checkpoints" / "tictactoe.pt"
    assert main(["train", "--init-from", str(agent), "--set", "seed=3", "--no-progress"]) == 0
    made = fake_trainer.made[0]
    saved = load_checkpoint(agent)["config"]
    assert made["init_from"] == str(agent) and made["out"] == Path("runs/tictactoe")
    assert made["config"].seed == 3 and made["config"].hidden_size == saved["hidden_size"]
    for refused, why in [(["tictactoe"], "drop 'tictactoe'"), (["--resume"], "pick one"),
                         (["--quick"], "drop --quick")]:
        assert main(["train", *refused, "--init-from", str(agent), "--no-progress"]) == 2
        assert why in capsys.readouterr().err
    assert len(fake_trainer.made) == 1
