"""Many Atari games stepped in C++: ale-py's ``AtariVectorEnv`` behind a ``GameVector``.

Self-play of ``atari:*`` runs here rather than through one ``AtariGame`` per slot: ale-py
steps all games in its own threads, with the same preprocessing ``AtariGame`` asks gymnasium
for (frame skip 4 with max-pooling over the last two frames, up to 30 no-ops at the start,
96x96 RGB, raw scores, no fire on reset, no end on a life lost). The vector environment
returns single frames (``stack_num=1``); the stacked observation the network reads is built
here, in the layout ``AtariGame`` documents (``history`` steps, oldest first, each the frame's
channels then one action plane), so the network sees the same kind of input either way.
One difference, on purpose: ale-py resizes frames in C++, so pixel values can differ
slightly from gymnasium's ``AtariPreprocessing`` (OpenCV); the layout and scale are the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from muzero_lite.games.atari import action_plane_value
from muzero_lite.games.vector import GameVector

__all__ = ["AtariVector", "rom_name"]


def rom_name(game_name: str) -> str:
    """ale-py's ROM name: "Pong" -> "pong", "SpaceInvaders" -> "space_invaders"."""
    name = game_name.removeprefix("ALE/").split("-v")[0]
    if "_" in name or name.islower():
        return name.lower()
    return "".join("_" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


class AtariVector(GameVector):
    """``num_envs`` games of one Atari title; see the module docstring."""

    num_players = 1

    def __init__(self, game_name: str, num_envs: int, seed: int = 0, history: int = 8,
                 screen_size: int = 96, frame_skip: int = 4, noop_max: int = 30,
                 max_moves: int = 27_000, num_threads: int = 0) -> None:
        import ale_py
        from ale_py.vector_env import AtariVectorEnv

        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # no banner in notebooks
        try:
            self.env = AtariVectorEnv(
                rom_name(game_name), num_envs, img_height=screen_size, img_width=screen_size,
                grayscale=False, stack_num=1, frameskip=frame_skip, maxpool=True,
                noop_max=noop_max, reward_clipping=False, use_fire_reset=False,
                episodic_life=False, repeat_action_probability=0.0,
                max_num_frames_per_episode=max_moves * frame_skip,
                autoreset_mode="SameStep", num_threads=num_threads)
        except (AssertionError, RuntimeError) as error:
            raise ValueError(f"no Atari game {game_name!r} in ale-py: {error}") from error
        self.num_envs = num_envs
        self.num_actions = int(self.env.single_action_space.n)
        self.history = history
        self.frame_history = history
        self.frame_shape = (3, screen_size, screen_size)
        self.observation_shape = (history * 4, screen_size, screen_size)
        self._planes = np.array([0] + [action_plane_value(a, self.num_actions)
                                       for a in range(self.num_actions)], dtype=np.uint8)
        # The last `history` steps of every game: frames and the action that led to each.
        self._frames = np.zeros((num_envs, history, 3, screen_size, screen_size), np.uint8)
        self._actions = np.zeros((num_envs, history), dtype=np.uint8)  # plane values
        self._seed = seed
        frames, _ = self.env.reset(seed=self._next_seeds(num_envs))
        self._frames[:, -1] = self._channels_first(frames)

    def _next_seeds(self, count: int) -> np.ndarray:
        seeds = np.arange(self._seed, self._seed + count, dtype=np.int64)
        self._seed += count
        return seeds

    @staticmethod
    def _channels_first(frames: np.ndarray) -> np.ndarray:
        return frames[:, 0].transpose(0, 3, 1, 2)  # [B, 1, H, W, 3] -> [B, 3, H, W]

    def observations(self) -> np.ndarray:
        planes = np.broadcast_to(self._actions[:, :, None, None, None],
                                 (*self._actions.shape, 1, *self.frame_shape[1:]))
        stacked = np.concatenate([self._frames, planes], axis=2)
        return stacked.reshape(self.num_envs, *self.observation_shape)

    def frames(self) -> np.ndarray:
        return self._frames[:, -1].copy()

    def legal_masks(self) -> np.ndarray:
        return np.ones((self.num_envs, self.num_actions), dtype=bool)

    def to_plays(self) -> np.ndarray:
        return np.zeros(self.num_envs, dtype=np.int64)

    def step(self, actions: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        actions = np.asarray(actions, dtype=np.int64)
        frames, rewards, terminated, truncated, _ = self.env.step(actions)
        over = terminated | truncated
        self._push(self._channels_first(frames), self._planes[actions + 1], over)
        return rewards.astype(np.float64), over, terminated.copy()

    def _push(self, frames: np.ndarray, planes: np.ndarray, new_game: np.ndarray) -> None:
        self._frames[:, :-1] = self._frames[:, 1:]
        self._actions[:, :-1] = self._actions[:, 1:]
        self._frames[:, -1] = frames
        self._actions[:, -1] = planes
        # A new game starts from nothing: zero padding, and "no action" for its first frame.
        self._frames[new_game, :-1] = 0
        self._actions[new_game] = 0

    def restart(self, slots: Sequence[int]) -> None:
        slots = np.asarray(slots, dtype=np.int64)
        if not len(slots):
            return
        mask = np.zeros(self.num_envs, dtype=bool)
        mask[slots] = True
        frames, _ = self.env.reset(seed=self._next_seeds(len(slots)),
                                   options={"reset_mask": mask})
        fresh = self._channels_first(frames)
        self._frames[mask] = 0
        self._actions[mask] = 0
        self._frames[mask, -1] = fresh[mask]

    def close(self) -> None:
        self.env.close()
