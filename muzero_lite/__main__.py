"""Command line: ``python -m muzero_lite train|evaluate|play``.

    python -m muzero_lite train tictactoe --out runs/ttt [--set num_simulations=50 ...]
    python -m muzero_lite train --resume --out runs/ttt
    python -m muzero_lite train --init-from data/checkpoints/connect4.pt --out runs/c4_more
    python -m muzero_lite train atari:Pong --out runs/pong --max-wall-s 120
    python -m muzero_lite train gym:Acrobot-v1          # the cartpole preset on Acrobot
    python -m muzero_lite train connect4 --actors 4     # self-play in 4 Ray actors
    python -m muzero_lite train --list-keys             # every --set key, default and meaning
    python -m muzero_lite evaluate runs/ttt/checkpoint.pt
    python -m muzero_lite play data/checkpoints/tictactoe.pt

Every error a user can cause (a bad option, a bad value, a missing or damaged file) is one line
on stderr, ``error: ...``, with exit status 2. A run stopped by Ctrl-C or SIGTERM saves its
checkpoint and exits with 128 + the signal number (130, 143).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import signal
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch

from muzero_lite.checks import whole_number_argument

__all__ = ["main"]

PROG = "python -m muzero_lite"


class _UsageError(Exception):
    """An argparse error (unknown option, missing or bad argument), reported in one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line, ``error: ... (see '... --help')``, exit 2,
    instead of the usage block and the error on two lines. ``--help`` is unchanged."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# --- values checked while parsing -----------------------------------------------------------

def _finite_number(text: str, unit: str = "number") -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expects a {unit}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite {unit}, got {text!r}")
    return value


def _seconds(text: str) -> float:
    value = _finite_number(text, "number of seconds")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return value


def _device(text: str) -> torch.device:
    from muzero_lite.device import check_device

    try:
        return check_device(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


# --- --version and --list-keys ---------------------------------------------------------------

def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("muzero-lite")
    except PackageNotFoundError:  # run from a source tree that was never pip-installed
        from muzero_lite import __version__

        return f"{__version__} (not installed)"


def format_keys(width: int | None = None) -> str:
    """Every config key, its default and its meaning, for ``--list-keys``."""
    from muzero_lite.config import describe_fields

    width = width or min(shutil.get_terminal_size((100, 24)).columns, 100)
    lines = [*textwrap.wrap("config keys for train --set KEY=VALUE, with their defaults in "
                            "MuZeroConfig (each preset changes some of them):", width=width),
             ""]
    for name, default, meaning in describe_fields():
        lines.append(f"{name} = {default}")
        lines.extend(textwrap.wrap(meaning or "(no description)", width=width,
                                   initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


class _ListKeys(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                         nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(format_keys())
        parser.exit()


# --- the parser ------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Train, evaluate and play MuZero agents.",
                epilog=f"'{PROG} train --list-keys' lists every config key --set can change.")
    p.add_argument("--version", action="version", version=f"muzero-lite {_version()}")
    p.add_argument("--list-keys", action=_ListKeys,
                   help="list every config key (for train --set), its default and meaning")
    sub = p.add_subparsers(dest="command", required=True, metavar="{train,evaluate,play}")

    t = sub.add_parser("train", help="train a preset or a game from scratch (or --resume a run)")
    t.add_argument("preset", nargs="?", default=None,
                   help="a preset: tictactoe, cartpole, connect4, atari; or a game name, "
                        "played with the preset that suits it: gym:<id> (the cartpole "
                        "preset, e.g. gym:Acrobot-v1) or atari:<Game> (the atari preset, "
                        "e.g. atari:Pong). Optional with --resume")
    t.add_argument("--out", default=None,
                   help="run folder (default: runs/<preset>, with ':' made '_')")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set num_simulations=50 (repeatable; "
                        "--list-keys lists the keys)")
    t.add_argument("--list-keys", action=_ListKeys,
                   help="list every config key, its default and meaning, and exit")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out (its checkpoint.pt and replay files)")
    t.add_argument("--drop-replay", action="store_true",
                   help="with --resume: start the replay afresh (its files are damaged or "
                        "lost); weights, optimizer and counters are kept")
    t.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                   help="start a new run from the weights in CHECKPOINT (a published agent, "
                        "or a run folder's checkpoint.pt): its config (change it with --set, "
                        "network sizes kept) and counters, a fresh optimizer and replay")
    t.add_argument("--max-wall-s", type=_seconds, default=None, metavar="S",
                   help="stop after S seconds of training (a checkpoint is saved)")
    t.add_argument("--actors", type=int, default=0, metavar="N",
                   help="self-play in N Ray actors while this process learns (needs "
                        "pip install -e '.[ray]'); default 0: in this process")
    t.add_argument("--ray-address", default=None, metavar="ADDRESS",
                   help="with --actors: the Ray cluster to join (auto: the one `ray start` "
                        "made on this machine); default: start a local one")
    t.add_argument("--actor-gpus", type=_finite_number, default=0.0, metavar="F",
                   help="with --actors: the share of a GPU each actor takes and searches on "
                        "(0.25: four per GPU); default 0: CPUs")
    t.add_argument("--quick", action="store_true",
                   help="the preset shrunk (4 games, 4 simulations, a tiny network) to show "
                        "the whole pipeline on a CPU; --max-wall-s defaults to 60")
    until = t.add_mutually_exclusive_group()
    until.add_argument("--until-perfect", action="store_true",
                       help="tic-tac-toe: stop as soon as the agent plays perfectly")
    until.add_argument("--until-return", type=_finite_number, default=None, metavar="R",
                       help="one-player games: stop once 20 greedy episodes average >= R")
    t.add_argument("--eval-every", type=whole_number_argument, default=500, metavar="N",
                   help="learner steps between two checks of --until-perfect or "
                        "--until-return (default 500)")
    t.add_argument("--device", type=_device, default="cpu",
                   help="cpu (default), cuda, cuda:N or mps")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")

    e = sub.add_parser("evaluate", help="evaluate a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--games", type=whole_number_argument, default=None, metavar="N",
                   help="two-player games: games per opponent and side (default 100); "
                        "one-player games: greedy episodes (default 20)")
    e.add_argument("--simulations", type=whole_number_argument, default=None, metavar="N",
                   help="search simulations per move (default: the checkpoint's config)")
    e.add_argument("--json", action="store_true", help="print one JSON line instead of a table")

    q = sub.add_parser("play", help="play against a checkpoint in the terminal")
    q.add_argument("checkpoint")
    q.add_argument("--as", dest="side", choices=["x", "o"], default="x",
                   help="x moves first (default), o moves second")
    q.add_argument("--simulations", type=whole_number_argument, default=None, metavar="N",
                   help="search simulations per move (default: the checkpoint's config)")
    return p


# --- main ------------------------------------------------------------------------------------

def _fail(message: str, code: int = 2) -> int:
    """Print ``message`` as one line on stderr; return the exit status."""
    text = "; ".join(part.strip() for part in str(message).splitlines() if part.strip())
    print(text, file=sys.stderr, flush=True)
    return code


def main(argv: Sequence[str] | None = None, input_fn: Callable[[str], str] = input) -> int:
    """Run the command line; return the exit status (0, 2 for any error, 128 + signal)."""
    try:
        args = _parser().parse_args(argv)
    except _UsageError as err:
        return _fail(f"error: {err}")
    except SystemExit as done:  # --help, --version, --list-keys
        return done.code if isinstance(done.code, int) else 0
    torch.set_num_threads(1)  # lockstep search: fastest on 1 thread (ARCHITECTURE.md, Conventions)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "evaluate":
            return _evaluate(args)
        return _play(args, input_fn)
    except KeyboardInterrupt as err:  # a second Ctrl-C or SIGTERM in a run; Ctrl-C elsewhere
        # 128 + the signal: 130 for Ctrl-C, 143 for a second SIGTERM (the Trainer sets .signal)
        number = int(getattr(err, "signal", signal.SIGINT))
        what = f"interrupted ({err})" if str(err) else "interrupted"
        out = getattr(args, "run_folder", None)
        if out is not None and (out / "checkpoint.pt").is_file():
            what += (f": {out} keeps its last complete checkpoint; continue with: "
                     f"{PROG} train --resume --out {out}")
        return _fail(what, 128 + number)
    except (ValueError, OSError) as err:  # FileNotFoundError, PermissionError, ... are OSErrors
        return _fail(f"error: {_message(err)}")
    except (MemoryError, torch.OutOfMemoryError) as err:
        where = "GPU" if isinstance(err, torch.OutOfMemoryError) else "CPU"
        return _fail(f"error: out of {where} memory; lower batch_size, num_envs or "
                     "replay_capacity (--set)")


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror and err.filename is not None:
        return f"{err.filename}: {err.strerror}"  # "[Errno 13] Permission denied: 'x'" shortened
    return str(err) or type(err).__name__


def _folder_name(name: str) -> str:
    """A folder name safe on any file system: gym:Acrobot-v1 -> gym_Acrobot-v1."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"


def _saved_run(out: Path) -> tuple[str, int]:
    """The game and number of players of the run saved in ``out`` (for --resume)."""
    from muzero_lite.checkpoint import load_checkpoint

    path = out / "checkpoint.pt"
    if not out.is_dir():
        raise ValueError(f"--resume: there is no run folder {out}")
    if not path.is_file():
        raise ValueError(f"--resume: {out} holds no run to resume (no checkpoint.pt); start "
                         f"one with: {PROG} train <preset> --out {out}")
    state = load_checkpoint(path)
    try:
        game, players = state["config"]["game"], int(state["game"]["num_players"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{path} is not a complete muzero-lite checkpoint (no config or "
                         "game)") from None
    return game, players


def _num_players(game: str) -> int:
    from muzero_lite import games

    probe = games.make(game)
    try:
        return probe.num_players
    finally:
        probe.close()


def _check_stop_rule(args: argparse.Namespace, game: str, players: int) -> None:
    """--until-perfect needs a game with a perfect-play check, --until-return a one-player
    game: refused before the run starts, not at its first check."""
    from muzero_lite.evaluate import PERFECT_PLAY_GAMES

    perfect = game in PERFECT_PLAY_GAMES
    if args.until_perfect and not perfect:
        hint = "; for a one-player game use --until-return R" if players == 1 else ""
        raise ValueError("--until-perfect needs a game whose perfect play can be checked "
                         f"({', '.join(PERFECT_PLAY_GAMES)}), not {game}{hint}")
    if args.until_return is not None and players != 1:
        hint = "; use --until-perfect" if perfect else ""
        raise ValueError(f"--until-return is for one-player games; {game} has two players{hint}")


def _train(args: argparse.Namespace) -> int:
    from muzero_lite.config import GPU_SETTINGS, cpu_advice, parse_overrides, preset, preset_for

    overrides = parse_overrides(args.overrides)
    name = args.preset
    if name is not None:
        preset_for(name)  # an unknown name is refused first, with the closest preset
    if args.resume:
        if overrides:
            raise ValueError("--resume continues with the saved config; drop --set")
        if args.quick:
            raise ValueError("--resume continues with the saved config; drop --quick")
    elif args.drop_replay:
        raise ValueError("--drop-replay goes with --resume")
    if args.init_from is not None:
        if args.resume:
            raise ValueError("--init-from starts a new run; --resume continues one: pick one")
        if name is not None:
            raise ValueError("--init-from trains on with the config saved beside the weights; "
                             f"drop '{name}' (change settings with --set)")
        if args.quick:
            raise ValueError("--quick shrinks the network, which the saved weights would not "
                             "fit; drop --quick (and shorten the run with --max-wall-s)")
    if args.actors < 0:
        raise ValueError(f"--actors {args.actors}: give a whole number >= 0")
    if args.ray_address is not None and not args.actors:
        raise ValueError("--ray-address goes with --actors N")
    if not 0 <= args.actor_gpus <= 1:
        raise ValueError(f"--actor-gpus {args.actor_gpus:g}: give the share of a GPU each "
                         "actor takes, in [0, 1]")
    if args.actor_gpus and not args.actors:
        raise ValueError("--actor-gpus goes with --actors N")
    if args.actors:
        try:
            import ray  # noqa: F401 - only to say what is missing before anything starts
        except ImportError:
            raise ValueError("--actors needs Ray: pip install -e '.[ray]'") from None
    if args.quick:
        from muzero_lite.config import QUICK
        overrides = {**QUICK, **overrides}  # what --set says wins
        if args.max_wall_s is None:
            args.max_wall_s = 60.0
    if args.resume:
        if args.out is None and name is None:
            raise ValueError("--resume needs the run folder: --resume --out DIR")
        out = Path(args.out or f"runs/{_folder_name(name)}")
        game, players = _saved_run(out)
        if name is not None:
            wanted = preset(name).game
            if wanted != game:
                raise ValueError(f"{out} holds a {game} run, not {wanted}; drop the name to "
                                 f"resume it ({PROG} train --resume --out {out})")
        config = None
    elif args.init_from is not None:
        from muzero_lite.checkpoint import load_checkpoint
        from muzero_lite.config import MuZeroConfig

        saved = load_checkpoint(args.init_from)
        config = MuZeroConfig.from_dict(saved["config"]).replace(**overrides)
        out = Path(args.out or f"runs/{_folder_name(config.game)}")
        if (out / "checkpoint.pt").exists():
            raise ValueError(f"{out} already holds a run: pass another --out")
        game, players = config.game, int(saved["game"]["num_players"])
    else:
        if name is None:
            raise ValueError("train needs a preset (tictactoe, cartpole, connect4, atari) or a "
                             f"game name (gym:<id>, atari:<Game>), or --resume --out DIR; see "
                             f"'{PROG} train --help'")
        on_gpu = args.device.type == "cuda"
        config = preset(name, gpu=on_gpu, **overrides)
        gpu_settings = {k: v for k, v in GPU_SETTINGS.get(preset_for(name), {}).items()
                        if k not in overrides}
        if on_gpu and gpu_settings:
            shown = " ".join(f"{k}={v}" for k, v in gpu_settings.items())
            print(f"settings on a GPU: {shown} (--set KEY=VALUE to change)", flush=True)
        out = Path(args.out or f"runs/{_folder_name(name)}")
        if (out / "checkpoint.pt").exists():
            raise ValueError(f"{out} already holds a run: pass --resume, or another --out")
        game, players = config.game, _num_players(config.game)
    _check_stop_rule(args, game, players)
    if config is not None and name is not None and args.device.type == "cpu" and not args.quick:
        advice = cpu_advice(name, config)  # a preset sized for a GPU: say so, and what to run
        if advice is not None:
            print(advice, file=sys.stderr, flush=True)

    from muzero_lite.training import Trainer

    if config is not None and name is not None and preset_for(name) != name:
        print(f"settings: the {preset_for(name)} preset, playing {config.game}", flush=True)
    args.run_folder = out  # for the message if a second Ctrl-C escapes
    trainer = Trainer(config, out, resume=args.resume, device=args.device,
                      progress=not args.no_progress, drop_replay=args.drop_replay,
                      init_from=args.init_from)
    stop = None
    if args.until_perfect:
        from muzero_lite.evaluate import perfect_play_stop
        stop = perfect_play_stop(every=args.eval_every)
    elif args.until_return is not None:
        from muzero_lite.evaluate import mean_return_stop
        stop = mean_return_stop(args.until_return, every=args.eval_every)
    last = trainer.train(max_wall_s=args.max_wall_s, stop=stop, actors=args.actors,
                         ray_address=args.ray_address, actor_gpus=args.actor_gpus)
    print(json.dumps(last))
    print(f"run folder: {out} (checkpoint.pt, metrics.jsonl, curves.png)")
    stopped_by = getattr(trainer, "stopped_by", None)  # a signal number, set by train()
    if stopped_by is not None:
        signame = _signal_name(stopped_by)
        return _fail(f"stopped by {signame}: step {trainer.train_step} is saved in {out}; "
                     f"continue with: {PROG} train --resume --out {out}",
                     128 + int(stopped_by))
    return 0


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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
