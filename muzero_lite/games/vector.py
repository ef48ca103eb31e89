"""Many games stepped together: what batched self-play drives.

Self-play searches all its games at once, so it wants their observations, legal moves and
players as arrays, and hands back one action per game. A ``GameVector`` is that view:

    vector.observations()  [B, ...]  what the representation network reads now
    vector.frames()        [B, ...]  what the replay stores for this step: the observation
                                     itself, or (Atari, ``frame_history`` set) the newest frame
    vector.legal_masks()   [B, A]    bool
    vector.to_plays()      [B]       0 or 1
    rewards, over, done = vector.step(actions)
                                     a game that ended is replaced by a new one in its slot;
                                     ``over``: it ended, ``done``: in a real terminal state
    vector.restart(slots)            start new games in these slots (a move limit was hit)

``GameList`` runs any ``Game`` objects (board games, gymnasium); ``games.atari_vector`` steps
Atari games in ale-py's C++ vector environment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from muzero_lite.games.base import Game

__all__ = ["GameList", "GameVector"]


class GameVector:
    """The interface (see the module docstring); subclasses set these attributes."""

    num_envs: int
    num_actions: int
    num_players: int
    observation_shape: tuple[int, ...]
    frame_shape: tuple[int, ...]  # what frames() returns per game
    frame_history: int | None = None  # frames per observation, when frames() are single frames

    def observations(self) -> np.ndarray:
        raise NotImplementedError

    def frames(self) -> np.ndarray:
        return self.observations()

    def legal_masks(self) -> np.ndarray:
        raise NotImplementedError

    def to_plays(self) -> np.ndarray:
        raise NotImplementedError

    def step(self, actions: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def restart(self, slots: Sequence[int]) -> None:
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - nothing to free by default
        """Free emulators and windows."""


class GameList(GameVector):
    """``num_envs`` independent ``Game`` objects, each made with its own seed."""

    def __init__(self, make_game: Callable[[int], Game], num_envs: int, seed: int = 0):
        self._make_game = make_game
        self._next_seed = seed
        self.games = [self._new_game() for _ in range(num_envs)]
        first = self.games[0]
        self.num_envs = num_envs
        self.num_actions = first.num_actions
        self.num_players = first.num_players
        self.observation_shape = tuple(first.observation_shape)
        self.frame_shape = self.observation_shape

    def _new_game(self) -> Game:
        # Each game gets its own seed, so environments with randomness differ across slots.
        self._next_seed += 1
        return self._make_game(self._next_seed)

    def observations(self) -> np.ndarray:
        return np.stack([game.observation() for game in self.games])

    def legal_masks(self) -> np.ndarray:
        return np.stack([game.legal_mask() for game in self.games])

    def to_plays(self) -> np.ndarray:
        return np.array([game.to_play() for game in self.games], dtype=np.int64)

    def step(self, actions: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        over = np.zeros(self.num_envs, dtype=bool)
        done = np.zeros(self.num_envs, dtype=bool)
        for i, (game, action) in enumerate(zip(self.games, actions, strict=True)):
            rewards[i] = game.step(int(action))
            if game.terminal():
                # A time limit (gym's truncation) is not a real end of the game.
                over[i], done[i] = True, not game.truncated
                self.restart([i])
        return rewards, over, done

    def restart(self, slots: Sequence[int]) -> None:
        for i in slots:
            self.games[i].close()
            self.games[i] = self._new_game()

    def close(self) -> None:
        for game in self.games:
            game.close()
