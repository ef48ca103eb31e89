"""Batched self-play: many games advance in lockstep, one search for all of them per move.

Each call to ``SelfPlay.step()`` plays one move in every game: it stacks the B observations,
runs ONE search for the B roots (so every simulation is one batched network call for all
games), samples each game's move from its visit counts with the temperature schedule
(paper App. D), and records (o_t, a_t, u_{t+1}, nu_t, pi_t, to_play_t) in that game's
trajectory. A finished game is handed back as a ``Trajectory`` and a new game starts in its slot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from muzero_lite.acting import (
    board_game_temperature,
    select_action,
    training_progress_temperature,
)
from muzero_lite.agent import run_search, search_config
from muzero_lite.config import MuZeroConfig
from muzero_lite.games.base import Game
from muzero_lite.networks import MuZeroNetwork
from muzero_lite.replay import Trajectory

__all__ = ["Episode", "SelfPlay", "temperature"]


def temperature(config: MuZeroConfig, move_number: int, progress: float) -> float:
    """The visit-count temperature for a move (paper App. D).

    "moves": T = 1 for the first ``greedy_after_moves`` moves of a game, then 0 (greedy);
    "progress": 1.0, 0.5, 0.25 after 50% and 75% of training; a number: that, always.
    """
    if config.temperature_schedule == "moves":
        return board_game_temperature(move_number, config.greedy_after_moves)
    if config.temperature_schedule == "progress":
        return training_progress_temperature(min(max(progress, 0.0), 1.0))
    return float(config.temperature_schedule)


@dataclass(frozen=True)
class Episode:
    """A finished self-play game and its summary."""

    trajectory: Trajectory
    episode_return: float  # one player: sum of rewards; two players: outcome for player 0
    length: int


class SelfPlay:
    """``num_envs`` games played in lockstep by one network through one batched search."""

    def __init__(self, config: MuZeroConfig, make_game: Callable[[int], Game],
                 network: MuZeroNetwork, generator: torch.Generator, seed: int = 0):
        self.config = config
        self.network = network
        self.generator = generator
        self._make_game = make_game
        self._next_seed = seed
        self.games = [self._new_game() for _ in range(config.num_envs)]
        self.num_players = self.games[0].num_players
        self.num_actions = self.games[0].num_actions
        self.trajectories = [Trajectory() for _ in self.games]
        self.returns = [0.0 for _ in self.games]
        self.search_config = search_config(config, self.num_players == 2, noise=True)

    def _new_game(self) -> Game:
        # Each game gets its own seed, so environments with randomness differ across slots.
        self._next_seed += 1
        return self._make_game(self._next_seed)

    def step(self, progress: float = 0.0) -> list[Episode]:
        """One move in every game; returns the games that finished with it."""
        observations = np.stack([g.observation() for g in self.games])
        legal = np.stack([g.legal_mask() for g in self.games])
        was_training = self.network.training
        self.network.eval()
        result = run_search(self.network, observations, legal, self.search_config,
                            self.generator)
        self.network.train(was_training)

        counts = result.visit_counts.cpu()
        policies = (counts / counts.sum(dim=1, keepdim=True)).numpy().astype(np.float32)
        root_values = result.root_value.cpu().numpy()
        finished = []
        for i, game in enumerate(self.games):
            trajectory = self.trajectories[i]
            t = temperature(self.config, len(trajectory), progress)
            action = int(select_action(counts[i], t, generator=self.generator))
            to_play = game.to_play()
            reward = game.step(action)
            trajectory.append(observations[i], action, reward, float(root_values[i]),
                              policies[i], to_play)
            # Two players: the return is the outcome for player 0 (X).
            self.returns[i] += reward if to_play == 0 else -reward
            cut_off = len(trajectory) >= self.config.max_moves
            if game.terminal() or cut_off:
                # A time limit (gym's truncation, or max_moves) is not a real end of the game.
                done = game.terminal() and not getattr(game, "truncated", False)
                finished.append(Episode(trajectory.finish(done=done),
                                        self.returns[i], len(trajectory)))
                game.close()
                self.games[i] = self._new_game()
                self.trajectories[i] = Trajectory()
                self.returns[i] = 0.0
        return finished
