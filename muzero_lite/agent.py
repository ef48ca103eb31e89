"""A trained MuZero as something that plays: network + search, behind ``agent.act(game)``.

This is the glue between pieces that know nothing of each other: the network (arrays in,
arrays out), the search (which sees a model only through ``recurrent_fn``) and the games.
Self-play, evaluation, the command line and the notebooks all search through ``run_search``.

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
from muzero_lite.inference import SearchInference
from muzero_lite.networks import MuZeroNetwork, make_network
from muzero_lite.search import RecurrentOutput, RootOutput, SearchConfig, SearchResult, search

__all__ = ["Agent", "load_agent", "network_for", "run_search", "search_config"]


def network_for(config: MuZeroConfig, observation_shape: Sequence[int],
                num_actions: int) -> MuZeroNetwork:
    """The network the config describes, sized for a game's observations and actions."""
    if config.network == "mlp":
        return make_network("mlp", tuple(observation_shape), num_actions,
                            latent_size=config.latent_size, hidden_size=config.hidden_size,
                            support_size=config.support_size)
    return make_network("resnet", tuple(observation_shape), num_actions,
                        channels=config.channels, num_blocks=config.num_blocks,
                        support_size=config.support_size, downsample=config.downsample)


def search_config(config: MuZeroConfig, two_player: bool, noise: bool,
                  num_simulations: int | None = None) -> SearchConfig:
    """The search's own settings, read off the run's config. No noise = greedy evaluation."""
    return SearchConfig(
        num_simulations=num_simulations or config.num_simulations,
        discount=config.discount,
        pb_c_init=config.pb_c_init,
        pb_c_base=config.pb_c_base,
        dirichlet_alpha=config.dirichlet_alpha,
        exploration_fraction=config.exploration_fraction if noise else 0.0,
        two_player=two_player,
        value_bounds=config.value_bounds,
    )


@torch.inference_mode()
def run_search(network: MuZeroNetwork, observations: np.ndarray, legal_mask: np.ndarray,
               config: SearchConfig, generator: torch.Generator | None = None,
               inference: SearchInference | None = None) -> SearchResult:
    """Search from B observations at once: one initial inference, then one batched
    recurrent inference per simulation for all B trees (ARCHITECTURE.md, "Contracts").

    The hot path trusts what it builds itself: the search's actions are in range by
    construction (it picks among the network's own A logits), so the network skips its
    action range check, and the network's heads are wrapped with
    ``RecurrentOutput.trusted`` (no per-call NaN checks). Together that is about 20 µs less
    per simulation on the benchmark CPU (more on a GPU, where each check is a device sync);
    the root's output is still fully checked, once per search.

    ``inference``: how to call the network on its device (``inference.SearchInference``: CUDA
    graphs, bf16); None calls it directly, in float32."""
    device = next(network.parameters()).device
    observations = torch.as_tensor(observations, device=device)
    if inference is None:
        out = network.initial_inference(observations)
    else:
        assert inference.network is network, "the inference wraps another network"
        out = inference.initial(observations)
    root = RootOutput(prior_logits=out.policy_logits, value=out.value, latent=out.latent)

    def recurrent_fn(latent: torch.Tensor, action: torch.Tensor):
        if inference is None:
            step = network.recurrent_inference(latent, action, check_action_range=False)
        else:
            step = inference.recurrent(latent, action)
        return (RecurrentOutput.trusted(step.reward, step.value, step.policy_logits),
                step.latent)

    mask = torch.as_tensor(np.asarray(legal_mask, dtype=bool))
    return search(root, recurrent_fn, config, legal_mask=mask, generator=generator)


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
    return Agent(network.to(device), config, num_players)
