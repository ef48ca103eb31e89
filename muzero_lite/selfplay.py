"""Batched self-play: many games advance in lockstep, one search for all of them per move.

Each call to ``SelfPlay.step()`` plays one move in every game: it stacks the B observations,
runs ONE search for the B roots (so every simulation is one batched network call for all
games), samples each game's move from its visit counts with the temperature schedule
(paper App. D), and records (o_t, a_t, u_{t+1}, nu_t, pi_t, to_play_t, legal moves) for that
game. Every ``chunk_moves`` moves of a game, and when it ends, its new steps are handed back as
a ``replay.Chunk``, so the replay learns from a long game while it is still being played
(EfficientZero and LightZero hand over blocks of 200-400 moves the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from muzero_lite import games
from muzero_lite.acting import (
    board_game_temperature,
    select_action,
    training_progress_temperature,
)
from muzero_lite.config import MuZeroConfig
from muzero_lite.games.vector import GameList, GameVector
from muzero_lite.inference import SearchInference
from muzero_lite.networks import MuZeroNetwork
from muzero_lite.planning import run_search, search_config
from muzero_lite.replay import Chunk

__all__ = ["EpisodeEnd", "SelfPlay", "make_game_vector", "temperature"]


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


def make_game_vector(config: MuZeroConfig, seed: int) -> GameVector:
    """``config.num_envs`` games of ``config.game``: Atari in ale-py's C++ vector environment,
    everything else as a list of ``Game`` objects."""
    if config.game.startswith(games.ATARI_PREFIX):
        from muzero_lite.games.atari_vector import AtariVector

        return AtariVector(config.game[len(games.ATARI_PREFIX):], config.num_envs, seed=seed,
                           max_moves=config.max_moves)
    return GameList(lambda s: games.make(config.game, seed=s), config.num_envs, seed=seed)


@dataclass(frozen=True)
class EpisodeEnd:
    """A game that finished: its return and length (the steps went out as chunks)."""

    episode_return: float  # one player: sum of rewards; two players: outcome for player 0
    length: int


class _Steps:
    """The steps of one game not yet handed over, as growing lists of columns."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in _COLUMNS}

    def __len__(self) -> int:
        return len(self.columns["actions"])

    def append(self, **step: object) -> None:
        for name, value in step.items():
            self.columns[name].append(value)

    def chunk(self, key: int, first: bool, game_over: bool, done: bool) -> Chunk:
        c = self.columns
        return Chunk(
            key=key, observations=np.stack(c["observations"]),
            actions=np.array(c["actions"], dtype=np.int64),
            rewards=np.array(c["rewards"], dtype=np.float32),
            root_values=np.array(c["root_values"], dtype=np.float32),
            policies=np.stack(c["policies"]), to_plays=np.array(c["to_plays"], dtype=np.int64),
            legal_masks=np.stack(c["legal_masks"]), first=first, game_over=game_over, done=done)


_COLUMNS = ("observations", "actions", "rewards", "root_values", "policies", "to_plays",
            "legal_masks")


class SelfPlay:
    """``num_envs`` games played in lockstep by one network through one batched search.

    ``first_key`` numbers the games (the keys of their chunks): a resumed run passes the
    number it stopped at, so a key never names two games of one run.
    """

    def __init__(self, config: MuZeroConfig, network: MuZeroNetwork,
                 generator: torch.Generator, seed: int = 0, first_key: int = 0,
                 make_vector: Callable[[MuZeroConfig, int], GameVector] = make_game_vector,
                 inference: SearchInference | None = None):
        self.config = config
        self.network = network
        self.inference = inference  # how the search calls the network (None: directly)
        self.generator = generator
        self.vector = make_vector(config, seed)
        self.num_players = self.vector.num_players
        self.num_actions = self.vector.num_actions
        self.search_config = search_config(config, self.num_players == 2, noise=True)
        self.next_key = first_key
        n = self.vector.num_envs
        self._keys = [self._new_key() for _ in range(n)]
        self._steps = [_Steps() for _ in range(n)]
        self._first = [True] * n  # the unsent steps start the game
        self._moves = [0] * n
        self._returns = [0.0] * n

    def _new_key(self) -> int:
        self.next_key += 1
        return self.next_key - 1

    def step(self, progress: float = 0.0) -> tuple[list[Chunk], list[EpisodeEnd]]:
        """One move in every game; returns the chunks ready for the replay and the games
        that ended."""
        vector, cfg = self.vector, self.config
        observations = vector.observations()
        frames = observations if vector.frame_history is None else vector.frames()
        legal = vector.legal_masks()
        to_plays = vector.to_plays()
        was_training = self.network.training
        self.network.eval()
        result = run_search(self.network, observations, legal, self.search_config,
                            self.generator, self.inference)
        self.network.train(was_training)

        counts = result.visit_counts.cpu()
        policies = (counts / counts.sum(dim=1, keepdim=True)).numpy().astype(np.float32)
        root_values = result.root_value.cpu().numpy()
        actions = np.array([
            int(select_action(counts[i], temperature(cfg, self._moves[i], progress),
                              generator=self.generator))
            for i in range(vector.num_envs)])
        rewards, over, done = vector.step(actions)

        chunks, ended, cut = [], [], []
        for i in range(vector.num_envs):
            self._steps[i].append(observations=frames[i], actions=actions[i],
                                  rewards=rewards[i], root_values=root_values[i],
                                  policies=policies[i], to_plays=to_plays[i],
                                  legal_masks=legal[i])
            self._moves[i] += 1
            # Two players: the return is the outcome for player 0 (X).
            self._returns[i] += rewards[i] if to_plays[i] == 0 else -rewards[i]
            cut_off = not over[i] and self._moves[i] >= cfg.max_moves
            game_over = bool(over[i]) or cut_off
            if game_over or len(self._steps[i]) >= cfg.chunk_moves:
                chunks.append(self._steps[i].chunk(self._keys[i], self._first[i], game_over,
                                                   bool(done[i]) and not cut_off))
                self._steps[i] = _Steps()
                self._first[i] = False
            if game_over:
                ended.append(EpisodeEnd(float(self._returns[i]), self._moves[i]))
                self._keys[i], self._first[i] = self._new_key(), True
                self._moves[i], self._returns[i] = 0, 0.0
                if cut_off:
                    cut.append(i)
        vector.restart(cut)
        return chunks, ended

    def close(self) -> None:
        self.vector.close()
