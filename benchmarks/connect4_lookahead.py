"""How far ahead can a Connect Four agent's search trust its learned model? Print one JSON line.

    python benchmarks/connect4_lookahead.py [CHECKPOINT] [--games 200] [--tactics 200]
        [--simulations 1 10 50 200]

The search never consults the game: every node below the root is the dynamics network's guess
of the position after a move, and its value is the prediction network's value of that guess.
Two checks of what that costs:

* **The model's value k moves ahead.** ``--games`` games (numpy seed 0) open with 2 to 10
  random moves, then the agent plays both sides by its prior (one simulation), with one move
  in ten random. From every position ``s_t`` the model is unrolled along the moves actually
  played; at each ``k = 0..K`` its value is compared with the representation's value of the
  real position ``s_{t+k}`` (what the network says when it *sees* that board) and with the
  game's outcome for the player to move there. ``k = 0`` is the representation itself.
  A model that keeps up has a value spread (standard deviation) like the real one's and a
  correlation with it near 1.
* **What the search adds.** The evaluator's tactics (immediate wins taken, single threats
  blocked; ``--tactics`` positions of each kind, seed 0) at each of ``--simulations``. One
  simulation picks the prior's favourite move; if more simulations do not do better, the
  search is not finding anything the prior missed.

CHECKPOINT defaults to ``data/checkpoints/connect4.pt``. Takes about 2 minutes with the
defaults (most of it the tactics at 200 simulations).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from muzero_lite.agent import Agent, load_agent  # noqa: E402
from muzero_lite.alphabeta import tactics_check  # noqa: E402
from muzero_lite.checks import whole_number_argument  # noqa: E402
from muzero_lite.games.connect4 import ConnectFour  # noqa: E402

RANDOM_MOVE_RATE = 0.1  # one move in ten random, so the games do not all look alike


def play_games(agent: Agent, count: int, rng: np.random.Generator) -> list[dict]:
    """Games of the agent against itself (prior moves), after a random opening."""
    games = []
    for _ in range(count):
        game, observations, actions, players = ConnectFour(), [], [], []
        opening = int(rng.integers(2, 11))
        while not game.terminal():
            observations.append(game.observation())
            players.append(game.to_play())
            if len(actions) < opening or rng.random() < RANDOM_MOVE_RATE:
                action = int(rng.choice(game.legal_actions()))
            else:
                action = agent.act(game, 1)
            actions.append(action)
            game.step(action)
        games.append({"observations": np.stack(observations), "actions": np.array(actions),
                      "players": np.array(players), "winner": game.winner()})
    return games


def model_values(agent: Agent, played: dict, unroll: int) -> list[np.ndarray]:
    """``values[k][t]``: the model's value of ``s_{t+k}``, reached from the representation of
    ``s_t`` by ``k`` dynamics steps along the moves played (``k = 0``: the representation's
    own value of ``s_t``). Row ``t`` exists while ``s_{t+k}`` is a position of the game."""
    network, moves = agent.network.eval(), played["actions"]
    length = len(moves)
    with torch.inference_mode():
        root = network.initial_inference(torch.as_tensor(played["observations"]))
        latent, values = root.latent, [root.value.numpy()]
        for k in range(1, min(unroll, length - 1) + 1):
            # Row t holds s_t unrolled k - 1 moves; its next move is a_{t+k-1}.
            step = network.recurrent_inference(latent[: length - k],
                                               torch.as_tensor(moves[k - 1:length - 1]))
            latent = step.latent
            values.append(step.value.numpy())
    return values


def lookahead(agent: Agent, games: list[dict], unroll: int) -> list[dict]:
    """Per k: the model's value k moves ahead against the real position's and the outcome."""
    model = [[] for _ in range(unroll + 1)]
    seen = [[] for _ in range(unroll + 1)]
    outcome = [[] for _ in range(unroll + 1)]
    for played in games:
        players, winner = played["players"], played["winner"]
        values = model_values(agent, played, unroll)
        real = values[0]
        for k, value in enumerate(values):
            positions = np.arange(len(value)) + k
            model[k] += value.tolist()
            seen[k] += real[positions].tolist()
            won = np.zeros(len(value)) if winner is None else np.where(
                players[positions] == winner, 1.0, -1.0)
            outcome[k] += won.tolist()
    rows = []
    for k in range(unroll + 1):
        m, s, z = np.array(model[k]), np.array(seen[k]), np.array(outcome[k])
        rows.append({"k": k, "positions": len(m),
                     "value_spread_model": round(float(m.std()), 3),
                     "value_spread_seen": round(float(s.std()), 3),
                     "correlation_model_seen": round(float(np.corrcoef(m, s)[0, 1]), 3),
                     "correlation_model_outcome": round(float(np.corrcoef(m, z)[0, 1]), 3),
                     "correlation_seen_outcome": round(float(np.corrcoef(s, z)[0, 1]), 3)})
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="?", default=str(ROOT / "data/checkpoints/connect4.pt"))
    p.add_argument("--games", type=whole_number_argument, default=200)
    p.add_argument("--tactics", type=whole_number_argument, default=200)
    p.add_argument("--simulations", type=whole_number_argument, nargs="+",
                   default=[1, 10, 50, 200], metavar="N")
    args = p.parse_args()
    torch.set_num_threads(1)
    agent = load_agent(args.checkpoint)
    if agent.config.game != "connect4":
        p.error(f"{args.checkpoint} plays {agent.config.game}, not connect4")
    games = play_games(agent, args.games, np.random.default_rng(0))
    unroll = agent.config.num_unroll_steps
    tactics = {}
    for sims in args.simulations:
        report = tactics_check(lambda game, n=sims: agent.act(game, n), args.tactics, seed=0)
        tactics[str(sims)] = {"wins_taken": report.wins_taken, "blocks_made": report.blocks_made}
        print(f"{sims} simulations: {tactics[str(sims)]}", file=sys.stderr)
    print(json.dumps({
        "benchmark": "connect4_lookahead", "checkpoint": args.checkpoint,
        "games": args.games, "mean_game_length": round(float(np.mean(
            [len(g["actions"]) for g in games])), 2),
        "lookahead": lookahead(agent, games, unroll),
        "tactics_positions": args.tactics, "tactics_by_simulations": tactics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
