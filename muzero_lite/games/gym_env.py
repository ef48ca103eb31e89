"""Any gymnasium environment with a Discrete action space, as a one-player `Game`.

MuZero needs a finite set of actions to search over (the tree branches on each of them, paper
Section 2), so only `gymnasium.spaces.Discrete` action spaces are supported; continuous
control needs a different search (e.g. Sampled MuZero) and is out of scope.

    game = GymGame("CartPole-v1", seed=0)    # also games.make("cartpole") / make("gym:<id>")
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from muzero_lite.games.base import Game, check_seed


class GymGame(Game):
    """A gymnasium env behind the `Game` interface; one player, so `to_play()` is always 0.

    observation(): the env's observation as float32, in the shape the env gives it (a Box
    observation keeps its shape; other spaces, e.g. Discrete states in FrozenLake, are
    flattened by `gymnasium.spaces.flatten`, which one-hot encodes Discrete values).
    terminal() is `terminated or truncated`; `.truncated` says the episode was cut by a time
    limit rather than really ended, so value targets can bootstrap past the cut instead of
    treating it as an absorbing state.
    """

    num_players = 1

    def __init__(self, env_id: str, seed: int | None = None, **make_kwargs: Any) -> None:
        if not isinstance(env_id, str):
            raise TypeError(f"env_id must be a str such as 'CartPole-v1', got {env_id!r}")
        check_seed(seed)
        try:
            env = gym.make(env_id, **make_kwargs)
        except gym.error.Error as error:
            raise ValueError(f"gymnasium cannot make env_id {env_id!r}: {error}") from error
        if not isinstance(env.action_space, gym.spaces.Discrete):
            env.close()
            raise ValueError(
                f"env {env_id!r} has action space {env.action_space}; only Discrete action "
                "spaces are supported (MuZero's search branches on a finite set of actions)"
            )
        self.env = env
        self.env_id = env_id
        self.name = f"gym:{env_id}"
        self.num_actions = int(env.action_space.n)
        # Discrete(n, start=s) numbers its actions s .. s+n-1; ours are always 0 .. n-1.
        self._action_start = int(env.action_space.start)
        self._box_observation = isinstance(env.observation_space, gym.spaces.Box)
        self.observation_shape = tuple(
            env.observation_space.shape
            if self._box_observation
            else (gym.spaces.flatdim(env.observation_space),)
        )
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """New episode; a seed makes it reproducible (None continues the env's own RNG)."""
        raw_observation, _ = self.env.reset(seed=check_seed(seed))
        self._observation = self._to_array(raw_observation)
        self.terminated = False
        self.truncated = False
        self.episode_return = 0.0
        self.episode_steps = 0

    def _to_array(self, raw_observation: Any) -> np.ndarray:
        if self._box_observation:
            return np.asarray(raw_observation, dtype=np.float32)
        return gym.spaces.flatten(self.env.observation_space, raw_observation).astype(np.float32)

    def legal_actions(self) -> list[int]:
        return [] if self.terminal() else list(range(self.num_actions))

    def step(self, action: int) -> float:
        action = self._check_move(action)
        raw_observation, reward, terminated, truncated, _ = self.env.step(
            self._action_start + action
        )
        self._observation = self._to_array(raw_observation)
        self.terminated = bool(terminated)
        self.truncated = bool(truncated)
        self.episode_return += float(reward)
        self.episode_steps += 1
        return float(reward)

    def terminal(self) -> bool:
        return self.terminated or self.truncated

    def observation(self) -> np.ndarray:
        return self._observation.copy()

    def clone(self) -> GymGame:
        raise NotImplementedError(
            f"{self.name} cannot be cloned: a gymnasium env has no general copy of its state. "
            "Search it with the learned model (MuZero's way), or use a board game for "
            "searches that need the real rules."
        )

    def render(self) -> str:
        status = " (truncated)" if self.truncated else " (terminated)" if self.terminated else ""
        return f"{self.name}  step {self.episode_steps}  return {self.episode_return:g}{status}"

    def close(self) -> None:
        self.env.close()

    def __repr__(self) -> str:
        return f"GymGame({self.env_id!r})"
