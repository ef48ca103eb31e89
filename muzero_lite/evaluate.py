"""How strong is an agent? Opponents, win/draw/loss tables and a perfect-play check.

A *player* here is anything callable as ``player(game) -> action``: a trained agent
(``agent.act``), a random mover, or exact minimax. Games are played with the real rules.

For tic-tac-toe "perfect" has a precise meaning: the game is a draw under best play, so an agent
plays perfectly if it never loses, as X or as O, whatever the opponent replies. We check that
exhaustively: the agent moves (deterministically) and we branch on *every* legal reply of the
opponent, so each reachable line of play is tried once.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import numpy as np
import torch

from muzero_lite.config import MuZeroConfig
from muzero_lite.games.base import BoardGame, Game
from muzero_lite.games.tictactoe import TicTacToe

__all__ = [
    "Player",
    "Record",
    "random_player",
    "minimax_player",
    "minimax_values",
    "minimax_scores",
    "play_game",
    "play_match",
    "perfect_play_check",
    "PerfectPlayReport",
    "format_table",
    "greedy_returns",
    "evaluate_agent",
    "format_report",
    "perfect_play_stop",
    "mean_return_stop",
]

Player = Callable[[Game], int]


def random_player(seed: int = 0) -> Player:
    """Picks uniformly among the legal moves (its own generator, so matches are repeatable)."""
    rng = np.random.default_rng(seed)

    def play(game: Game) -> int:
        return int(rng.choice(game.legal_actions()))

    return play


# --- exact minimax for small board games ------------------------------------------------------

def minimax_values(game: BoardGame) -> dict[int, int]:
    """The exact game value of each legal move, from the mover's view: +1 win, 0 draw, -1 loss.

    Negamax over the full game tree with a cache keyed by the board, so tic-tac-toe's ~5,500
    positions are solved once per process. Only for games small enough to solve (tic-tac-toe).
    """
    return {a: _sign(score) for a, score in minimax_scores(game).items()}


def minimax_scores(game: BoardGame) -> dict[int, int]:
    """Like `minimax_values`, but a win scores 1 + the cells still empty when it happens, so a
    faster win scores higher (and a slower loss hurts less): the player prefers quick wins."""
    return {a: _move_score(_after(game, a)) for a in game.legal_actions()}


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _after(game: BoardGame, action: int) -> BoardGame:
    child = game.clone()
    child.step(action)
    return child


def _move_score(child: BoardGame) -> int:
    """Score, for the player who just moved, of the position `child` their move made."""
    if child.terminal():
        if child.winner() is None:
            return 0
        return 1 + int((child.board < 0).sum())  # only the mover can have just won
    return -_negamax(_key(child))


_GAMES: dict[tuple, BoardGame] = {}


def _key(game: BoardGame) -> tuple:
    key = (type(game).__name__, game.board.tobytes(), game.to_play())
    _GAMES.setdefault(key, game)
    return key


@cache
def _negamax(key: tuple) -> int:
    """Score of a non-terminal position for the player to move."""
    game = _GAMES[key]
    return max(_move_score(_after(game, a)) for a in game.legal_actions())


def minimax_player(seed: int | None = None) -> Player:
    """Plays a best move by exact minimax, the fastest win first; remaining ties are broken at
    random if `seed` is given, else by the lowest action (deterministic)."""
    rng = np.random.default_rng(seed) if seed is not None else None

    def play(game: Game) -> int:
        if not isinstance(game, BoardGame):
            raise TypeError(f"minimax needs a small board game, got {type(game).__name__}")
        scores = minimax_scores(game)
        best = max(scores.values())
        moves = [a for a, v in scores.items() if v == best]
        return int(rng.choice(moves)) if rng is not None else moves[0]

    return play


# --- matches -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """Results of one side of a match, from the evaluated agent's view."""

    wins: int
    draws: int
    losses: int

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses


def play_game(make_game: Callable[[], Game], players: tuple[Player, Player]) -> int | None:
    """Play one two-player game; return the winner (0 or 1) or None for a draw."""
    game = make_game()
    while not game.terminal():
        game.step(players[game.to_play()](game))
    return game.winner()


def play_match(make_game: Callable[[], Game], agent: Player, opponent: Player,
               games: int, agent_plays: int) -> Record:
    """`games` games with the agent as player `agent_plays` (0 = X, moves first)."""
    players = (agent, opponent) if agent_plays == 0 else (opponent, agent)
    wins = draws = losses = 0
    for _ in range(games):
        winner = play_game(make_game, players)
        if winner is None:
            draws += 1
        elif winner == agent_plays:
            wins += 1
        else:
            losses += 1
    return Record(wins, draws, losses)


def format_table(rows: dict[str, dict[str, Record]]) -> str:
    """A text table: one row per opponent, W/D/L as X and as O."""
    lines = [f"{'opponent':<12}{'as X (W/D/L)':>16}{'as O (W/D/L)':>16}"]
    for name, sides in rows.items():
        cells = [f"{r.wins}/{r.draws}/{r.losses}" for r in (sides["X"], sides["O"])]
        lines.append(f"{name:<12}{cells[0]:>16}{cells[1]:>16}")
    return "\n".join(lines)


# --- perfect play ------------------------------------------------------------------------------

@dataclass(frozen=True)
class PerfectPlayReport:
    """Every line of play against every opponent reply, as X and as O."""

    games_as_x: int
    losses_as_x: int
    games_as_o: int
    losses_as_o: int
    agent_moves: int  # positions where the agent moved
    optimal_moves: int  # of those, moves whose minimax value equals the best available

    @property
    def perfect(self) -> bool:
        return self.losses_as_x == 0 and self.losses_as_o == 0

    def as_dict(self) -> dict:
        return {"games_as_x": self.games_as_x, "losses_as_x": self.losses_as_x,
                "games_as_o": self.games_as_o, "losses_as_o": self.losses_as_o,
                "optimal_move_rate": round(self.optimal_moves / max(self.agent_moves, 1), 4),
                "perfect": self.perfect}


def perfect_play_check(make_game: Callable[[], BoardGame], agent: Player) -> PerfectPlayReport:
    """Play the (deterministic) agent against every possible opponent reply, as X and as O.

    Tic-tac-toe is a draw under best play, so a perfect agent loses none of these games. We also
    count how many of the agent's moves were minimax-optimal (a perfect agent may still miss a
    faster win, which is why losses, not this rate, decide "perfect").
    """
    counts = {"games": [0, 0], "losses": [0, 0], "moves": 0, "optimal": 0}
    # An agent that can search many positions at once decides them all up front, a batch per
    # round; any other player is asked position by position below. Same moves either way.
    memo: dict[tuple, int] = (_decide_in_batches(make_game, agent)
                              if hasattr(agent, "act_many") else {})

    def explore(game: BoardGame, side: int) -> None:
        if game.terminal():
            counts["games"][side] += 1
            counts["losses"][side] += game.winner() == 1 - side
            return
        if game.to_play() == side:
            key = (game.board.tobytes(), side)
            if key not in memo:
                memo[key] = int(agent(game.clone()))
            action = memo[key]
            values = minimax_values(game)
            if action not in values:
                raise ValueError(f"the agent chose illegal move {action} in\n{game.render()}")
            counts["moves"] += 1
            counts["optimal"] += values[action] == max(values.values())
            explore(_after(game, action), side)
        else:
            for reply in game.legal_actions():
                explore(_after(game, reply), side)

    for side in (0, 1):
        explore(make_game(), side)
    return PerfectPlayReport(counts["games"][0], counts["losses"][0], counts["games"][1],
                             counts["losses"][1], counts["moves"], counts["optimal"])


def _decide_in_batches(make_game: Callable[[], BoardGame], agent: Any) -> dict[tuple, int]:
    """The agent's move in every position the check can reach, one batched search per round:
    each round walks forward from the positions decided so far (the agent's moves, every
    opponent reply) to the next positions where the agent must move, and searches them all."""
    moves: dict[tuple, int] = {}
    walk = [(make_game(), side) for side in (0, 1)]
    while walk:
        frontier: dict[tuple, tuple[BoardGame, int]] = {}
        while walk:
            game, side = walk.pop()
            if game.terminal():
                continue
            if game.to_play() != side:
                walk.extend((_after(game, reply), side) for reply in game.legal_actions())
                continue
            key = (game.board.tobytes(), side)
            if key in moves:
                walk.append((_after(game, moves[key]), side))
            else:
                frontier[key] = (game, side)
        if frontier:
            keys = list(frontier)
            moves.update(zip(keys, agent.act_many([frontier[k][0] for k in keys]),
                             strict=True))
            walk = [frontier[k] for k in keys]
    return moves


# --- whole-agent reports (the command line and the benchmarks use these) ----------------------

def greedy_returns(agent: Any, episodes: int = 20, num_simulations: int | None = None,
                   seed: int = 0) -> list[float]:
    """Returns of ``episodes`` greedy one-player episodes, played in lockstep (one batched
    search per step for all unfinished episodes)."""
    from muzero_lite import games as games_module

    _check_count("episodes", episodes)
    _check_count("num_simulations", num_simulations, none_ok=True)

    envs = [games_module.make(agent.config.game, seed=seed + i) for i in range(episodes)]
    totals = [0.0] * episodes
    steps = [0] * episodes
    live = list(range(episodes))
    while live:
        results = agent.search_many([envs[i] for i in live], num_simulations)
        actions = results.visit_counts.argmax(dim=1).tolist()
        for i, action in zip(list(live), actions, strict=True):
            totals[i] += envs[i].step(int(action))
            steps[i] += 1
            if envs[i].terminal() or steps[i] >= agent.config.max_moves:
                live.remove(i)
                envs[i].close()
    return totals


def evaluate_agent(agent: Any, games: int | None = None,
                   num_simulations: int | None = None) -> dict[str, Any]:
    """A report for any agent: two-player board games play random (and, for tic-tac-toe,
    minimax and the exhaustive perfect-play check) as X and as O; one-player games report
    the mean greedy return."""
    from muzero_lite import games as games_module

    _check_count("games", games, none_ok=True)
    _check_count("num_simulations", num_simulations, none_ok=True)
    name = agent.config.game
    if agent.num_players == 1:
        returns = greedy_returns(agent, games or 20, num_simulations)
        return {"game": name, "episodes": len(returns),
                "mean_return": round(float(np.mean(returns)), 2),
                "min_return": round(float(np.min(returns)), 2)}

    def player(game: Game) -> int:
        return agent.act(game, num_simulations)

    def make_game() -> Game:
        return games_module.make(name)

    n = games or 100
    opponents: dict[str, Player] = {"random": random_player(0)}
    if name == "tictactoe":
        opponents["minimax"] = minimax_player(seed=0)
    if name == "connect4":
        from muzero_lite.alphabeta import alphabeta_player

        opponents[f"alphabeta{ALPHABETA_DEPTH}"] = alphabeta_player(ALPHABETA_DEPTH, seed=0)
        make_game = _random_openings(make_game, OPENING_MOVES, seed=0)
    table = {opp: {side: play_match(make_game, player, fn, n, agent_plays=i)
                   for i, side in enumerate("XO")}
             for opp, fn in opponents.items()}
    report: dict[str, Any] = {"game": name, "games_per_side": n, "table": {
        opp: {side: [r.wins, r.draws, r.losses] for side, r in sides.items()}
        for opp, sides in table.items()}}
    if name == "tictactoe":
        report["perfect_play"] = perfect_play_check(make_game, player).as_dict()
    if name == "connect4":
        from muzero_lite.alphabeta import tactics_check

        report["opening_moves"] = OPENING_MOVES
        report["tactics"] = tactics_check(player, count=200, seed=0).as_dict()
    return report


ALPHABETA_DEPTH = 4  # the Connect Four yardstick: alpha-beta 4 plies deep, heuristic beyond
OPENING_MOVES = 2  # Connect Four games open with 2 random moves, so they differ


def _random_openings(make_game: Callable[[], Game], moves: int, seed: int) -> Callable[[], Game]:
    """``make_game`` followed by ``moves`` random moves, different for every game."""
    rng = np.random.default_rng(seed)

    def make() -> Game:
        game = make_game()
        for _ in range(moves):
            game.step(int(rng.choice(game.legal_actions())))
        return game

    return make


def format_report(report: dict[str, Any]) -> str:
    """The report as text: a W/D/L table, or the mean return."""
    if "table" not in report:
        return (f"{report['game']}: mean return {report['mean_return']} over "
                f"{report['episodes']} greedy episodes (min {report['min_return']})")
    rows = {opp: {side: Record(*wdl) for side, wdl in sides.items()}
            for opp, sides in report["table"].items()}
    text = f"{report['game']}: {report['games_per_side']} games per side\n" + format_table(rows)
    if "tactics" in report:
        t = report["tactics"]
        text += (f"\n(games open with {report['opening_moves']} random moves)"
                 f"\ntactics: took an immediate win in {t['wins_taken']}/{t['win_positions']} "
                 f"positions, blocked a single threat in {t['blocks_made']}/"
                 f"{t['block_positions']}")
    if "perfect_play" in report:
        p = report["perfect_play"]
        verdict = "PERFECT" if p["perfect"] else "not perfect"
        text += (f"\nperfect-play check (every opponent reply): {verdict}; "
                 f"losses as X {p['losses_as_x']}/{p['games_as_x']}, "
                 f"as O {p['losses_as_o']}/{p['games_as_o']}, "
                 f"optimal moves {p['optimal_move_rate']:.1%}")
    return text


PERFECT_PLAY_GAMES = ("tictactoe",)  # the games whose perfect play perfect_play_check knows


class Trainee(Protocol):
    """What a stop callback reads of the ``training.Trainer`` it watches (evaluate sits below
    training and does not import it)."""

    config: MuZeroConfig
    train_step: int
    network: torch.nn.Module
    game_info: dict[str, Any]

    def record_evaluation(self, result: dict[str, Any]) -> None: ...


def perfect_play_stop(every: int = 250) -> Callable[[Trainee], bool]:
    """A ``Trainer.train(stop=...)`` callback: every ``every`` learner steps, run the
    perfect-play check with the current network; stop once it passes (tic-tac-toe only)."""
    from muzero_lite.agent import Agent

    _check_count("every", every)

    def stop(trainer: Trainee) -> bool:
        if trainer.config.game not in PERFECT_PLAY_GAMES:
            raise ValueError("perfect_play_stop checks tic-tac-toe only, not "
                             f"{trainer.config.game}; use mean_return_stop for one-player games")
        if trainer.train_step % every:
            return False
        agent = Agent(trainer.network, trainer.config, 2)  # eval mode: the learner sets it back
        report = perfect_play_check(lambda: TicTacToe(), agent)
        trainer.record_evaluation(report.as_dict())
        return report.perfect

    return stop


def mean_return_stop(goal: float, every: int = 1000,
                     episodes: int = 20) -> Callable[[Trainee], bool]:
    """A ``Trainer.train(stop=...)`` callback for one-player games: every ``every`` learner
    steps, play ``episodes`` greedy episodes; stop once their mean return reaches ``goal``."""
    from muzero_lite.agent import Agent

    if (not isinstance(goal, numbers.Real) or isinstance(goal, bool)
            or not math.isfinite(goal)):
        raise ValueError(f"goal must be a finite number, got {goal!r}")
    _check_count("every", every)
    _check_count("episodes", episodes)

    def stop(trainer: Trainee) -> bool:
        if trainer.game_info["num_players"] != 1:
            raise ValueError("mean_return_stop is for one-player games, not "
                             f"{trainer.config.game}; use perfect_play_stop for tic-tac-toe")
        if trainer.train_step % every:
            return False
        agent = Agent(trainer.network, trainer.config, 1)  # eval mode: the learner sets it back
        returns = greedy_returns(agent, episodes, seed=10_000 + trainer.config.seed)
        trainer.record_evaluation({"mean_return": round(float(np.mean(returns)), 2),
                                   "episodes": episodes})
        return float(np.mean(returns)) >= goal

    return stop


def _check_count(name: str, value: Any, none_ok: bool = False) -> None:
    """Refuse a count below 1 (or not a whole number), naming the argument."""
    if value is None and none_ok:
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        allowed = "a whole number >= 1" + (" or None" if none_ok else "")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
