"""Does a Connect Four agent's learned model see an immediate win? Print one JSON line.

    python benchmarks/reward_head_check.py [CHECKPOINT] [--positions 200] [--tactics 200]

Inside the search, a win is seen only through the dynamics network's reward for the winning
move (the game is not consulted). This asks the model directly: in ``--positions`` positions
where the player to move can win at once (``alphabeta.tactics_positions``, seed 0), the
predicted reward of every legal move, averaged over the winning moves and over the others,
and how often a winning move gets the highest reward. Then the agent's own search, greedy,
through ``alphabeta.tactics_check`` (``--tactics`` positions of each kind, seed 0; 200 as in
``evaluate_agent``): immediate wins taken, single threats blocked. CHECKPOINT defaults to
``data/checkpoints/connect4.pt``.
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

from muzero_lite.agent import load_agent  # noqa: E402
from muzero_lite.alphabeta import tactics_check, tactics_positions, winning_moves  # noqa: E402
from muzero_lite.checks import whole_number_argument  # noqa: E402


def reward_head(agent, positions: int) -> dict[str, float]:
    """The model's reward for winning and other moves, in positions with an immediate win."""
    network = agent.network.eval()
    on_wins, on_others, top = [], [], 0
    to_win, _ = tactics_positions(positions, seed=0)
    for game in to_win:
        wins, legal = winning_moves(game, game.to_play()), game.legal_actions()
        with torch.inference_mode():
            root = network.initial_inference(torch.as_tensor(game.observation()[None]))
            latent = root.latent.expand(len(legal), *root.latent.shape[1:])
            rewards = network.recurrent_inference(latent, torch.tensor(legal)).reward.tolist()
        reward = dict(zip(legal, rewards, strict=True))
        on_wins += [reward[a] for a in wins]
        on_others += [reward[a] for a in legal if a not in wins]
        top += max(reward, key=reward.get) in wins
    return {"reward_on_winning_moves": round(float(np.mean(on_wins)), 4),
            "reward_on_other_moves": round(float(np.mean(on_others)), 4),
            "winning_move_has_the_top_reward": round(top / len(to_win), 4)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="?", default=str(ROOT / "data/checkpoints/connect4.pt"))
    p.add_argument("--positions", type=whole_number_argument, default=200)
    p.add_argument("--tactics", type=whole_number_argument, default=200)
    args = p.parse_args()
    torch.set_num_threads(1)
    agent = load_agent(args.checkpoint)
    if agent.config.game != "connect4":
        p.error(f"{args.checkpoint} plays {agent.config.game}, not connect4")
    result = {"benchmark": "reward_head_check", "checkpoint": args.checkpoint,
              "positions": args.positions, **reward_head(agent, args.positions),
              "tactics": tactics_check(agent, count=args.tactics, seed=0).as_dict()}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
