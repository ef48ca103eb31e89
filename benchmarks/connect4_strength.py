"""How strong is a Connect Four agent? Alpha-beta at depths 1 to 5, random, and the tactics
check; print one JSON line.

    python benchmarks/connect4_strength.py [CHECKPOINT] [--games 50] [--depths 1 2 3 4 5]
        [--simulations N] [--save data/runs/connect4/strength.json]

CHECKPOINT defaults to the shipped agent, ``data/checkpoints/connect4.pt``. Everything is the
package's own evaluator: ``evaluate.evaluate_agent`` gives the random row, the alpha-beta
depth-4 row and the tactics check (immediate wins taken in 200 positions, single threats
blocked in 200), exactly as ``python -m muzero_lite evaluate CHECKPOINT --games N`` prints
them; ``evaluate.play_match`` against ``alphabeta.alphabeta_player(depth)`` adds the other
depths. The agent plays greedily (most visits, no noise) with the checkpoint's number of
simulations unless ``--simulations`` says otherwise.

Every game opens with 2 random moves (``evaluate.OPENING_MOVES``), so that the deterministic
agent plays different games. Every depth plays the same openings as ``evaluate_agent``'s
depth-4 row: the opening generator seeded 0, moved past the 2N games against random that
``evaluate_agent`` plays first. The rows then differ only by the opponent's depth. Each
alpha-beta player is seeded 0 (it breaks ties at random) and plays the agent's N games as X
first, then its N games as O, as in ``evaluate_agent``.

``--save PATH`` also writes the JSON (indented) to PATH; chapter 08 reads it. The ``table``
has ``evaluate_agent``'s shape (``[wins, draws, losses]`` per opponent and side), so
``evaluate.format_report`` prints it. Progress goes to stderr. On the project's 2-core CPU
the default (50 games per side, 6 opponents, 50 simulations) took 4 minutes for an agent that
loses quickly; a stronger agent plays longer games and takes longer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

from muzero_lite.checks import whole_number_argument

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = "data/checkpoints/connect4.pt"
DEFAULT_DEPTHS = (1, 2, 3, 4, 5)


def openings(games_per_side: int):
    """``make_game`` for the alpha-beta matches: the same openings ``evaluate_agent`` gives
    its depth-4 row (its generator, seeded 0, first serves 2 x games_per_side games against
    random; each opening draws exactly ``OPENING_MOVES`` moves)."""
    from muzero_lite import games
    from muzero_lite.evaluate import OPENING_MOVES, _random_openings

    make = _random_openings(lambda: games.make("connect4"), OPENING_MOVES, seed=0)
    for _ in range(2 * games_per_side):
        make()
    return make


def match_against_depth(agent: Any, depth: int, games_per_side: int,
                        num_simulations: int | None = None) -> dict[str, list[int]]:
    """``[wins, draws, losses]`` of the agent as X and as O against alpha-beta at ``depth``."""
    from muzero_lite.alphabeta import alphabeta_player
    from muzero_lite.evaluate import play_match

    def player(game: Any) -> int:
        return agent.act(game, num_simulations)

    opponent = alphabeta_player(depth, seed=0)
    make_game = openings(games_per_side)
    table = {}
    for index, side in enumerate("XO"):
        record = play_match(make_game, player, opponent, games_per_side, agent_plays=index)
        table[side] = [record.wins, record.draws, record.losses]
    return table


def rates(sides: dict[str, list[int]]) -> dict[str, float]:
    """Win rate as X, as O and over both sides; score = (wins + draws / 2) / games."""
    total = [sum(column) for column in zip(*sides.values(), strict=True)]
    out = {f"win_rate_{side.lower()}": round(wdl[0] / max(sum(wdl), 1), 4)
           for side, wdl in sides.items()}
    out["win_rate"] = round(total[0] / max(sum(total), 1), 4)
    out["score"] = round((total[0] + total[1] / 2) / max(sum(total), 1), 4)
    return out


def command_line(argv: list[str]) -> str:
    """The command as typed from the repository root (the script's path made relative)."""
    script = Path(argv[0]).resolve()
    if script.is_relative_to(ROOT):
        argv = [script.relative_to(ROOT).as_posix(), *argv[1:]]
    return " ".join(["python", *(shlex.quote(part) for part in argv)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", nargs="?", default=DEFAULT_CHECKPOINT,
                   help=f"a Connect Four checkpoint (default {DEFAULT_CHECKPOINT})")
    p.add_argument("--games", type=whole_number_argument, default=50, metavar="N",
                   help="games per side against each opponent (default 50)")
    p.add_argument("--depths", type=whole_number_argument, nargs="+", default=list(DEFAULT_DEPTHS),
                   metavar="D", help="alpha-beta depths (default 1 2 3 4 5; 4 is always "
                                     "played, by evaluate_agent)")
    p.add_argument("--simulations", type=whole_number_argument, default=None, metavar="N",
                   help="search simulations per move (default: the checkpoint's config)")
    p.add_argument("--save", default=None, metavar="PATH", help="also write the JSON here")
    args = p.parse_args(argv)

    from muzero_lite.agent import load_agent
    from muzero_lite.checkpoint import load_checkpoint
    from muzero_lite.evaluate import ALPHABETA_DEPTH, evaluate_agent

    torch.set_num_threads(1)  # the lockstep search is fastest on one thread
    started = time.perf_counter()
    try:
        agent = load_agent(args.checkpoint)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if agent.config.game != "connect4":
        print(f"error: {args.checkpoint} plays {agent.config.game}, not connect4",
              file=sys.stderr)
        return 2
    counters = load_checkpoint(args.checkpoint)["counters"]
    n, sims = args.games, args.simulations

    print(f"evaluate_agent: random, alpha-beta depth {ALPHABETA_DEPTH}, tactics "
          f"({n} games per side)...", file=sys.stderr, flush=True)
    report = evaluate_agent(agent, games=n, num_simulations=sims)
    table = {"random": report["table"]["random"]}
    depths = sorted(set(args.depths) | {ALPHABETA_DEPTH})
    for depth in depths:
        if depth == ALPHABETA_DEPTH:
            sides = report["table"][f"alphabeta{ALPHABETA_DEPTH}"]
        else:
            print(f"alpha-beta depth {depth}...", file=sys.stderr, flush=True)
            sides = match_against_depth(agent, depth, n, sims)
        table[f"alphabeta{depth}"] = sides
        print(f"  depth {depth}: as X {sides['X']}, as O {sides['O']} (W/D/L)",
              file=sys.stderr, flush=True)

    result = {
        "benchmark": "connect4_strength",
        "command": command_line([__file__, *(sys.argv[1:] if argv is None else argv)]),
        "checkpoint": args.checkpoint,
        "checkpoint_sha256": hashlib.sha256(Path(args.checkpoint).read_bytes()).hexdigest(),
        "train_steps": int(counters["train_step"]),
        "env_steps": int(counters["env_steps"]),
        "network": agent.config.network,
        "num_simulations": sims or agent.config.num_simulations,
        "game": "connect4",
        "games_per_side": n,
        "opening_moves": report["opening_moves"],
        "depths": depths,
        "table": table,
        "rates": {opponent: rates(sides) for opponent, sides in table.items()},
        "tactics": report["tactics"],
        "wall_s": round(time.perf_counter() - started, 1),
    }
    line = json.dumps(result)
    if args.save:
        path = Path(args.save)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
