"""Smoke tests of the benchmark scripts on tiny budgets: they run and print one JSON line.

They measure nothing: the numbers reported in the README come from full runs.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_script(*args: str) -> dict:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, lines  # one JSON line, nothing else on stdout
    return json.loads(lines[0])


def test_reanalyze_gain_runs_both_arms_and_saves_the_curves(tmp_path):
    saved = tmp_path / "gain.json"
    result = run_script("benchmarks/reanalyze_gain.py", "--seeds", "0", "--env-steps", "320",
                        "--eval-every", "160", "--episodes", "2", "--threshold", "5",
                        "--save", str(saved))
    assert result["benchmark"] == "reanalyze_gain" and result["env_step_budget"] == 320
    runs = {run["arm"]: run for run in json.loads(saved.read_text())["runs"]}
    for arm, summary in (("baseline", "baseline"), ("reanalyze", "reanalyze_arm")):
        curve = runs[arm]["curve"]
        assert [p["train_steps"] for p in curve] == [80, 160]  # every 160 env steps x ratio 0.5
        assert result[summary]["return_at_budget"] == [curve[-1]["mean_return"]]
        # An episode of CartPole lasts at least 8 steps: threshold 5 is met at the first check.
        assert result[summary]["env_steps_to_threshold"] == [curve[0]["env_steps"]]
    assert result["reanalyze_arm"]["reanalyze_s_mean"] > 0 == result["baseline"][
        "reanalyze_s_mean"]
    # The saved curves summarised again, with a threshold no run reached.
    again = run_script("benchmarks/reanalyze_gain.py", "--from-saved", str(saved),
                       "--threshold", "1000")
    assert again["baseline"]["return_at_budget"] == result["baseline"]["return_at_budget"]
    assert again["reanalyze_arm"]["env_steps_to_threshold"] == [None]
    assert again["reanalyze_arm"]["env_steps_to_threshold_median"] is None
    assert again["gain"]["env_steps_to_threshold_median_ratio"] is None
    assert again["reanalyze_arm"]["checks_at_or_above_threshold"] == "0/2"
    # The same runs twice cannot be pooled.
    done = subprocess.run([sys.executable, "benchmarks/reanalyze_gain.py", "--from-saved",
                           str(saved), str(saved)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and "repeat an (arm, seed) run" in done.stderr


def test_reanalyze_gain_refuses_bad_arguments():
    done = subprocess.run([sys.executable, "benchmarks/reanalyze_gain.py", "--fraction", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "--fraction must be in (0, 1]" in done.stderr


def test_crash_drill_kills_resumes_and_checks_the_invariants():
    result = run_script("benchmarks/crash_drill.py", "--kills", "2", "--seed", "1")
    assert result["benchmark"] == "crash_drill" and result["invariants_held"] == 2
    steps = result["train_step_after_each"]
    assert steps == sorted(steps) and steps[0] > 0
    assert result["kills_that_left_a_stale_lock"] == 2  # kill -9 cannot clean up; resume did


def test_gpu_run_one_shot_runs_end_to_end_on_the_cpu(tmp_path):
    """The one-shot GPU script, shrunken (--tiny) for the CPU: it trains, evaluates a
    two-player agent, keeps what comes back from the device and drops the replay."""
    out = tmp_path / "c4"
    result = run_script("benchmarks/gpu_run.py", "connect4", "--tiny", "--max-wall-s", "6",
                        "--eval-games", "1", "--device", "cpu", "--out", str(out))
    assert result["benchmark"] == "gpu_run" and result["device"] == "cpu"
    assert result["train_wall_s"] <= 6 + 5 and result["env_steps"] > 0
    assert set(result["evaluation"]["table"]) == {"random", "alphabeta4"}
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "curves.png",
                                                     "metrics.jsonl", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["train_steps"] == \
        result["train_steps"]


def test_gpu_throughput_measures_every_phase_on_the_cpu():
    # train_ratio 1: 4 learner steps a move, so even a busy machine learns in each phase.
    result = run_script("benchmarks/gpu_throughput.py", "--tiny", "--presets", "connect4",
                        "--seconds", "1", "--train-ratio", "1")
    assert result["benchmark"] == "gpu_throughput" and result["device"] == "cpu"
    c4 = result["results"]["connect4"]
    assert set(c4["network_ms"]) == {"eager_fp32", "eager_bf16"}  # graphs only on CUDA
    assert c4["chosen"] in c4["network_ms"]
    assert 0 <= c4["search"]["outside_network_share"] < 1
    for phase in ("overlap", "serial", "process"):
        assert c4[phase]["env_steps_per_s"] > 0 and c4[phase]["learner_steps_per_s"] > 0
    assert c4["train_ratio"] == 1.0
    assert c4["selfplay_alone_env_steps_per_s"] > 0 and c4["learner_alone_steps_per_s"] > 0
    prefetch = c4["learner_prefetch"]
    assert prefetch["on_by_default"] is False  # sampling ahead pays only beside a GPU
    assert prefetch["steps_per_s_on"] > 0 and prefetch["steps_per_s_off"] > 0
    assert set(result["met"]["connect4"]) == set(result["targets"])


def test_learner_overhead_times_both_sizes_and_counts_the_operations():
    result = run_script("benchmarks/learner_overhead.py", "--presets", "connect4_small",
                        "--steps", "1", "--full-steps-cpu", "1")
    assert result["benchmark"] == "learner_overhead"
    trivial, full = result["rows"]  # the recorded learner only where CUDA is
    assert (trivial["size"], full["size"]) == ("trivial", "full")
    assert trivial["learner_graph"] == full["learner_graph"] == "off"
    assert (trivial["channels"], trivial["batch_size"]) == (2, 4)
    assert (full["channels"], full["num_blocks"], full["batch_size"]) == (32, 2, 128)
    assert trivial["ops_per_step"] > 500  # a K = 5 unroll, forward and backward
    assert 0 < trivial["ms_per_step"] and 0 < full["ms_per_step"]


def test_connect4_strength_plays_every_depth_with_evaluate_agents_openings(tmp_path):
    """Tiny numbers on the shipped agent: one JSON line (and the saved file) with a row per
    depth, the depth-4 row and the tactics exactly what `python -m muzero_lite evaluate`
    reports, and the other depths played from the same openings as that row."""
    import importlib.util

    from muzero_lite.agent import load_agent
    from muzero_lite.evaluate import evaluate_agent, format_report

    checkpoint = "data/checkpoints/connect4.pt"
    saved = tmp_path / "strength.json"
    result = run_script("benchmarks/connect4_strength.py", checkpoint, "--games", "1",
                        "--depths", "1", "3", "--simulations", "2", "--save", str(saved))
    assert json.loads(saved.read_text()) == result
    assert result["benchmark"] == "connect4_strength" and result["depths"] == [1, 3, 4]
    assert result["command"].startswith(f"python benchmarks/connect4_strength.py {checkpoint} ")
    assert list(result["table"]) == ["random", "alphabeta1", "alphabeta3", "alphabeta4"]
    for opponent, sides in result["table"].items():
        assert [sum(sides[s]) for s in "XO"] == [1, 1]
        assert result["rates"][opponent]["win_rate"] == (sides["X"][0] + sides["O"][0]) / 2
    assert "alphabeta3" in format_report(result)  # the table has evaluate_agent's shape

    done = subprocess.run([sys.executable, "-m", "muzero_lite", "evaluate", checkpoint, "--games",
                           "1", "--simulations", "2", "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=True)
    cli = json.loads(done.stdout)
    assert result["table"]["alphabeta4"] == cli["table"]["alphabeta4"]
    assert result["table"]["random"] == cli["table"]["random"]
    assert result["tactics"] == cli["tactics"]

    # The other depths start from the openings of evaluate_agent's depth-4 row, game by game.
    spec = importlib.util.spec_from_file_location("connect4_strength",
                                                  ROOT / "benchmarks" / "connect4_strength.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent = load_agent(ROOT / checkpoint)

    class Spy:  # the agent, noting the two opening moves of each game it plays
        config, num_players = agent.config, agent.num_players

        def __init__(self):
            self.openings = []

        def act(self, game, num_simulations=None):
            if len(game.moves) in (2, 3):  # its first move, as X or as O
                self.openings.append(tuple(game.moves[:2]))
            return agent.act(game, num_simulations)

    spy = Spy()
    report = evaluate_agent(spy, games=2, num_simulations=2)
    assert len(spy.openings) == 8  # random then alpha-beta 4, 2 games per side each
    again = Spy()
    assert module.match_against_depth(again, 4, 2, 2) == report["table"]["alphabeta4"]
    assert again.openings == spy.openings[4:]
    assert len(set(spy.openings)) > 1  # the openings differ from game to game
    done = subprocess.run([sys.executable, "benchmarks/connect4_strength.py", "nowhere.pt"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2 and "no checkpoint at nowhere.pt" in done.stderr


def test_reward_head_check_reads_the_model_and_the_search_on_the_shipped_agent():
    result = run_script("benchmarks/reward_head_check.py", "--positions", "6", "--tactics", "3")
    assert result["benchmark"] == "reward_head_check" and result["positions"] == 6
    assert 0 <= result["winning_move_has_the_top_reward"] <= 1
    tactics = result["tactics"]
    assert tactics["win_positions"] == tactics["block_positions"] == 3
    assert 0 <= tactics["wins_taken"] <= 3 and 0 <= tactics["blocks_made"] <= 3
    done = subprocess.run([sys.executable, "benchmarks/reward_head_check.py",
                           "data/checkpoints/tictactoe.pt"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2 and "plays tictactoe, not connect4" in done.stderr


def test_connect4_lookahead_unrolls_the_model_along_the_moves_played():
    result = run_script("benchmarks/connect4_lookahead.py", "--games", "3", "--tactics", "2",
                        "--simulations", "1", "3")
    assert result["benchmark"] == "connect4_lookahead" and result["games"] == 3
    rows = result["lookahead"]
    assert [row["k"] for row in rows] == list(range(6))  # K = 5 in the shipped agent
    # k = 0 is the representation itself; each k loses the last position of every game.
    assert rows[0]["correlation_model_seen"] == 1.0
    assert rows[0]["value_spread_model"] == rows[0]["value_spread_seen"]
    assert [row["positions"] for row in rows] == [rows[0]["positions"] - 3 * k
                                                  for k in range(6)]
    assert set(result["tactics_by_simulations"]) == {"1", "3"}

    # The unroll, one position by hand: s_t, then g along a_t, a_{t+1}.
    import importlib.util

    import numpy as np
    import torch

    from muzero_lite.agent import load_agent

    spec = importlib.util.spec_from_file_location("connect4_lookahead",
                                                  ROOT / "benchmarks" / "connect4_lookahead.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent = load_agent(ROOT / "data" / "checkpoints" / "connect4.pt")
    played = module.play_games(agent, 1, np.random.default_rng(4))[0]
    values = module.model_values(agent, played, unroll=5)
    t, net = 2, agent.network
    with torch.inference_mode():
        latent = net.initial_inference(torch.as_tensor(played["observations"][t:t + 1])).latent
        for k in (1, 2):
            out = net.recurrent_inference(latent, torch.tensor([played["actions"][t + k - 1]]))
            latent = out.latent
            assert abs(float(out.value[0]) - values[k][t]) < 1e-5
    assert len(values[2]) == len(played["actions"]) - 2
