"""Command line: ``python -m muzero_lite train|evaluate|play``.

    python -m muzero_lite train tictactoe --out runs/ttt [--set num_simulations=50 ...]
    python -m muzero_lite train tictactoe --out runs/ttt --resume
    python -m muzero_lite train atari:Pong --out runs/pong --max-wall-s 120
    python -m muzero_lite evaluate runs/ttt/checkpoint.pt
    python -m muzero_lite play data/checkpoints/tictactoe.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m muzero_lite",
                                description="Train, evaluate and play MuZero agents.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a preset from scratch (or --resume a run)")
    t.add_argument("preset", help="tictactoe, cartpole, connect4, atari, or atari:<Game> "
                                  "(the atari preset on that game, e.g. atari:Pong)")
    t.add_argument("--out", default=None, help="run folder (default: runs/<preset>)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set num_simulations=50 (repeatable)")
    t.add_argument("--resume", action="store_true",
                   help="continue from <out>/checkpoint.pt and the replay files in <out>/replay")
    t.add_argument("--max-wall-s", type=float, default=None,
                   help="stop after this many seconds of training (a checkpoint is saved)")
    t.add_argument("--until-perfect", action="store_true",
                   help="tic-tac-toe: stop as soon as the agent plays perfectly")
    t.add_argument("--until-return", type=float, default=None, metavar="R",
                   help="one-player games: stop once 20 greedy episodes average >= R")
    t.add_argument("--eval-every", type=int, default=500, metavar="N",
                   help="learner steps between the checks of --until-perfect/--until-return")
    t.add_argument("--device", default="cpu", help="cpu or cuda")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="evaluate a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--games", type=int, default=100, help="games per opponent and side")
    e.add_argument("--simulations", type=int, default=None,
                   help="search simulations per move (default: the checkpoint's config)")
    e.add_argument("--json", action="store_true", help="print one JSON line instead of a table")

    q = sub.add_parser("play", help="play against a checkpoint in the terminal")
    q.add_argument("checkpoint")
    q.add_argument("--as", dest="side", choices=["x", "o"], default="x",
                   help="x moves first (default), o moves second")
    q.add_argument("--simulations", type=int, default=None)
    return p


def main(argv: Sequence[str] | None = None, input_fn: Callable[[str], str] = input) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(1)  # the lockstep search is fastest on one thread (DESIGN.md)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "evaluate":
            return _evaluate(args)
        return _play(args, input_fn)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _train(args: argparse.Namespace) -> int:
    from muzero_lite.config import parse_overrides, preset
    from muzero_lite.training import Trainer

    out = Path(args.out or f"runs/{args.preset}")
    overrides = parse_overrides(args.overrides)
    if args.resume:
        if overrides:
            raise ValueError("--resume continues with the saved config; drop --set")
        trainer = Trainer(None, out, resume=True, device=args.device,
                          progress=not args.no_progress)
    else:
        if (out / "checkpoint.pt").exists():
            raise ValueError(f"{out} already holds a run: pass --resume, or another --out")
        trainer = Trainer(preset(args.preset, **overrides), out, device=args.device,
                          progress=not args.no_progress)
    stop = None
    if args.until_perfect:
        from muzero_lite.evaluate import perfect_play_stop
        stop = perfect_play_stop(every=args.eval_every)
    elif args.until_return is not None:
        from muzero_lite.evaluate import mean_return_stop
        stop = mean_return_stop(args.until_return, every=args.eval_every)
    last = trainer.train(max_wall_s=args.max_wall_s, stop=stop)
    print(json.dumps(last))
    print(f"run folder: {out} (checkpoint.pt, metrics.jsonl, curves.png)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from muzero_lite.agent import load_agent
    from muzero_lite.evaluate import evaluate_agent, format_report

    agent = load_agent(args.checkpoint)
    report = evaluate_agent(agent, games=args.games, num_simulations=args.simulations)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def _play(args: argparse.Namespace, input_fn: Callable[[str], str]) -> int:
    from muzero_lite import games
    from muzero_lite.agent import load_agent

    agent = load_agent(args.checkpoint)
    name = agent.config.game
    if agent.num_players != 2:
        raise ValueError(f"play is for two-player board games; {name} has one player")
    game = games.make(name)
    human = 0 if args.side == "x" else 1
    print(f"You are {'XO'[human]}. Moves are numbered:")
    print(_numbering(game))
    while not game.terminal():
        print(game.render())
        if game.to_play() == human:
            game.step(_ask_move(game, input_fn))
        else:
            move = agent.act(game, args.simulations)
            print(f"agent plays {move}")
            game.step(move)
    print(game.render())
    winner = game.winner()
    print("draw" if winner is None else ("you win" if winner == human else "the agent wins"))
    return 0


def _numbering(game) -> str:
    if game.name == "tictactoe":
        return "0 1 2\n3 4 5\n6 7 8"
    return " ".join(str(a) for a in range(game.num_actions)) + "  (columns)"


def _ask_move(game, input_fn: Callable[[str], str]) -> int:
    """Ask until the answer is a legal move; each bad answer is explained, nothing changes."""
    while True:
        try:
            text = input_fn(f"your move {game.legal_actions()}: ").strip()
        except EOFError:
            raise ValueError("no more input: the game was left unfinished") from None
        if not text.lstrip("-").isdigit():
            print(f"'{text}' is not a number; type one of {game.legal_actions()}")
            continue
        move = int(text)
        if move not in game.legal_actions():
            print(f"{move} is not a legal move here; legal moves are {game.legal_actions()}")
            continue
        return move


if __name__ == "__main__":
    sys.exit(main())
