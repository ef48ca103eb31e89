"""The learned model and the search joined: what every caller of the search uses.

Self-play, Reanalyze, evaluation and the agent all plan the same way: the config's network
(``network_for``), the config's search settings (``search_config``), and ``run_search``, which
hands the network to the search as ``recurrent_fn`` (ARCHITECTURE.md, "Contracts"). This module
sits below the learning and the loop, so both can import it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from muzero_lite.config import MuZeroConfig
from muzero_lite.inference import SearchInference
from muzero_lite.networks import MuZeroNetwork, make_network
from muzero_lite.search import RecurrentOutput, RootOutput, SearchConfig, SearchResult, search

__all__ = ["network_for", "run_search", "search_config"]


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

    The root's output and the first simulation's are checked in full by ``search``; later
    simulations only for their shapes (no values read, so no device sync per simulation).

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
            step = network.recurrent_inference(latent, action)
        else:
            step = inference.recurrent(latent, action)
        return RecurrentOutput(step.reward, step.value, step.policy_logits), step.latent

    mask = torch.as_tensor(np.asarray(legal_mask, dtype=bool))
    return search(root, recurrent_fn, config, legal_mask=mask, generator=generator)
