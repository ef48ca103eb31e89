"""A trained MuZero as something that plays: network + search, behind ``agent.act(game)``.

The network and the search are joined in ``planning.run_search`` (re-exported here), which
self-play, Reanalyze, evaluation, the command line and the notebooks all search through; an
``Agent`` adds the config it was trained with and turns a search into a move.

    from muzero_lite import load_agent, games
    agent = load_agent("data/checkpoints/tictactoe.pt")
    game = games.make("tictactoe")
    action = agent.act(game, num_simulations=50)    # greedy, no noise, deterministic
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from muzero_lite.checkpoint import load_checkpoint
from muzero_lite.config import MuZeroConfig
from muzero_lite.games.base import Game
from muzero_lite.networks import MuZeroNetwork

# Re-exported: the network and the search joined live one layer down (planning.py), where
# Reanalyze can use them too.
from muzero_lite.planning import network_for, run_search, search_config
from muzero_lite.search import SearchResult

__all__ = ["Agent", "load_agent", "network_for", "run_search", "search_config"]


class Agent:
    """A network and the config it was trained with; plays greedily with search."""

    def __init__(self, network: MuZeroNetwork, config: MuZeroConfig, num_players: int):
        self.network = network.eval()  # BatchNorm in eval mode: a batch of one is fine
        self.config = config
        self.num_players = num_players

    def search(self, game: Game, num_simulations: int | None = None,
               noise: bool = False, generator: torch.Generator | None = None) -> SearchResult:
        """The search the agent would run in `game`'s current position (the widget draws it)."""
        return self.search_many([game], num_simulations, noise, generator)

    def search_many(self, games: Sequence[Game], num_simulations: int | None = None,
                    noise: bool = False,
                    generator: torch.Generator | None = None) -> SearchResult:
        """One batched search for several games' current positions (row i = games[i])."""
        if any(game.terminal() for game in games):
            raise ValueError("a game is over: there is no move to search for")
        cfg = search_config(self.config, self.num_players == 2, noise, num_simulations)
        observations = np.stack([game.observation() for game in games])
        legal = np.stack([game.legal_mask() for game in games])
        return run_search(self.network, observations, legal, cfg, generator)

    def act(self, game: Game, num_simulations: int | None = None) -> int:
        """The most visited legal root action: greedy, no noise, deterministic (ties go to the
        lowest action)."""
        counts = self.search(game, num_simulations).visit_counts[0]
        return int(torch.argmax(counts))

    def act_many(self, games: Sequence[Game], num_simulations: int | None = None) -> list[int]:
        """``act`` for several games, in one batched search (row i = games[i])."""
        if not games:
            return []
        counts = self.search_many(games, num_simulations).visit_counts
        return [int(a) for a in torch.argmax(counts, dim=1)]

    def __call__(self, game: Game) -> int:  # so an agent is an evaluate.Player
        return self.act(game)


def load_agent(path: str | Path, device: str | torch.device = "cpu") -> Agent:
    """An agent from a checkpoint written by the trainer (loaded with weights_only=True).

    A file that is not such a checkpoint raises FileNotFoundError or ValueError, with a
    one-line message naming the file (never torch's long error text)."""
    state = load_checkpoint(path, device=device)
    try:
        config = MuZeroConfig.from_dict(state["config"])
        game = state["game"]
        shape, num_actions = game["observation_shape"], int(game["num_actions"])
        num_players = int(game["num_players"])
        weights = state["network"]
    except (KeyError, TypeError, AttributeError) as err:
        what = f"no {err} entry" if isinstance(err, KeyError) else "a damaged entry"
        raise ValueError(f"{path} is not a complete muzero-lite checkpoint ({what})") from None
    except ValueError as err:  # the config's values are refused, with the field named
        raise ValueError(f"{path} holds a config this version refuses: {err}") from err
    network = network_for(config, shape, num_actions)
    try:
        network.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as err:  # torch: size mismatch, missing keys
        raise ValueError(f"{path}: the saved weights do not fit the network its config "
                         "describes (the file was changed, or comes from another version of "
                         "muzero-lite)") from err
    _zero_subnormal_weights(network)
    return Agent(network.to(device), config, num_players)


def _zero_subnormal_weights(network: torch.nn.Module) -> None:
    """Weights below float32's normal range (about 1.2e-38 in size) become 0.

    Weight decay shrinks unused weights towards 0, and a network trained without flushing
    them (``Trainer.train`` flushes; checkpoints from before it did not) keeps thousands. Each
    one sends the CPU's arithmetic down a slow path: the shipped tic-tac-toe agent's
    perfect-play check took 3.3 s with them and 0.4 s without. Their part of any output is
    far below float32's rounding, so the outputs do not change."""
    with torch.no_grad():
        for weights in network.parameters():
            weights.masked_fill_(weights.abs() < torch.finfo(weights.dtype).tiny, 0.0)
