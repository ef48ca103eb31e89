"""Atari 2600 games through ale-py and gymnasium, preprocessed the way MuZero reads them.

The paper (Schrittwieser et al. 2020, Appendix "Network Input") feeds the representation
network the last 32 RGB frames at 96x96 together with the last 32 actions, each action
broadcast to a plane, so the network can see motion and what caused it. We do the same with
a shorter default `history`:

    observation(): uint8 [history * (channels + 1), screen_size, screen_size]
        steps oldest -> newest; for each step: the frame's channels (3 RGB, or 1 grayscale),
        then one action plane filled with round(255 * (a + 1) / num_actions), where a is the
        action that led to that frame. 0 means "no action": the first frame of an episode and
        the zero padding before it (an episode's first observation is all zeros but its last
        step). The network divides by 255.

Why `history=8` and not 32: the stacked input is what replay buffers and the first conv pay
for. 32 RGB frames + 32 action planes are 128 planes of 96x96 (1.2 MB per observation as
uint8); 8 steps are 32 planes (0.3 MB) and a 4x cheaper first layer, while still covering
32 emulator frames (about half a second at frame skip 4), enough to see where the ball is
going (DQN saw only 4 frames).

Other settings follow the paper's Atari setup: frame skip 4 with max-pooling over the last
two frames (removes sprite flicker), up to 30 random no-op actions at the start of an episode,
episodes cut at 108,000 frames (27,000 agent steps, 30 minutes of play), raw game scores as
rewards (no clipping: the value transform h(x) handles the scale, paper Appendix F).
"""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np

from muzero_lite.checks import check_int
from muzero_lite.games.base import Game, check_seed


def action_plane_value(action: int | None, num_actions: int) -> int:
    """The uint8 value an action plane is filled with: round(255 * (a + 1) / num_actions).

    None ("no action yet") is 0, so every real action, even action 0, differs from padding.
    E.g. Breakout's 4 actions give 64, 128, 191, 255.
    """
    if action is None:
        return 0
    return round(255 * (action + 1) / num_actions)


def ale_env_id(game_name: str) -> str:
    """gymnasium's id for an Atari game: "Breakout" or "breakout" -> "ALE/Breakout-v5",
    "space_invaders" -> "ALE/SpaceInvaders-v5"; a full "ALE/..." id is used as given."""
    if game_name.startswith("ALE/"):
        return game_name
    camel = "".join(part[:1].upper() + part[1:] for part in game_name.split("_"))
    return f"ALE/{camel}-v5"


class AtariGame(Game):
    """One Atari game, one player; see the module docstring for the observation layout.

    Attributes besides the `Game` ones: `channels` (3 RGB / 1 grayscale), `history`,
    `terminated` / `truncated` (truncated: cut at max_episode_frames, not a real end),
    `episode_return`, `episode_steps`, `lives`.
    """

    num_players = 1

    def __init__(
        self,
        game_name: str,
        seed: int | None = None,
        frame_skip: int = 4,
        screen_size: int = 96,
        history: int = 8,
        grayscale: bool = False,
        noop_max: int = 30,
        max_episode_frames: int = 108_000,
        sticky_action_prob: float = 0.0,
    ) -> None:
        if not isinstance(game_name, str) or not game_name:
            raise TypeError(f"game_name must be a str such as 'Breakout', got {game_name!r}")
        check_seed(seed)
        check_int("frame_skip", frame_skip, 1)
        check_int("screen_size", screen_size, 1)
        check_int("history", history, 1)
        check_int("noop_max", noop_max, 0)
        check_int("max_episode_frames", max_episode_frames, 1)
        if not isinstance(grayscale, bool):
            raise TypeError(f"grayscale must be a bool, got {grayscale!r}")
        if isinstance(sticky_action_prob, bool) or not (
            isinstance(sticky_action_prob, int | float) and 0.0 <= sticky_action_prob <= 1.0
        ):
            raise ValueError(
                f"sticky_action_prob must be a float in [0, 1], got {sticky_action_prob!r}"
            )

        # Imported here, not at module top, so `import muzero_lite.games` never loads the
        # emulator unless an Atari game is made.
        import ale_py

        gym.register_envs(ale_py)
        # Silence ALE's start-up banner before the emulator is created: notebooks checked by
        # nbval would otherwise show it as a stray stderr output.
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)

        env_id = ale_env_id(game_name)
        try:
            env = gym.make(
                env_id,
                frameskip=1,  # AtariPreprocessing skips (and max-pools) frames itself
                repeat_action_probability=float(sticky_action_prob),
                max_num_frames_per_episode=max_episode_frames,
            )
        except gym.error.Error as error:
            raise ValueError(
                f"no Atari game {game_name!r} (looked for {env_id!r}): {error}"
            ) from error
        self.env = gym.wrappers.AtariPreprocessing(
            env,
            noop_max=noop_max,
            frame_skip=frame_skip,
            screen_size=screen_size,
            terminal_on_life_loss=False,
            grayscale_obs=grayscale,
            grayscale_newaxis=True,  # keep a channel axis: [H, W, 1]
            scale_obs=False,  # keep frames as uint8 (4x smaller in replay than float32)
        )

        self.name = f"atari:{game_name}"
        self.env_id = env_id
        self.history = history
        self.channels = 1 if grayscale else 3
        self.screen_size = screen_size
        self.num_actions = int(env.action_space.n)
        self.observation_shape = (history * (self.channels + 1), screen_size, screen_size)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """New episode (after 1..noop_max random no-ops); a seed makes its frames reproducible."""
        frame, info = self.env.reset(seed=check_seed(seed))
        # The last `history` steps; older ones fall off the left end.
        self._frames: deque[np.ndarray] = deque(maxlen=self.history)
        self._action_values: deque[int] = deque(maxlen=self.history)
        self._push(frame, None)
        self.terminated = False
        self.truncated = False
        self.episode_return = 0.0
        self.episode_steps = 0
        self.lives = int(info.get("lives", 0))

    def _push(self, frame_hwc: np.ndarray, action: int | None) -> None:
        self._frames.append(np.ascontiguousarray(frame_hwc.transpose(2, 0, 1), dtype=np.uint8))
        self._action_values.append(action_plane_value(action, self.num_actions))

    def legal_actions(self) -> list[int]:
        """All of the game's minimal action set (e.g. 4 in Breakout), none once it is over."""
        return [] if self.terminal() else list(range(self.num_actions))

    def step(self, action: int) -> float:
        """Play `action` for `frame_skip` frames; return the summed raw game score."""
        action = self._check_move(action)
        frame, reward, terminated, truncated, info = self.env.step(action)
        self._push(frame, action)
        self.terminated = bool(terminated)
        self.truncated = bool(truncated)
        self.episode_return += float(reward)
        self.episode_steps += 1
        self.lives = int(info.get("lives", self.lives))
        return float(reward)

    def terminal(self) -> bool:
        return self.terminated or self.truncated

    def frame(self) -> np.ndarray:
        """The newest frame alone, uint8 [channels, screen_size, screen_size].

        Replay can store these one per step and rebuild stacks, instead of `history` copies.
        """
        return self._frames[-1].copy()

    def observation(self) -> np.ndarray:
        """uint8 [history * (channels + 1), S, S], oldest step first (layout: module docs)."""
        steps = np.zeros(
            (self.history, self.channels + 1, self.screen_size, self.screen_size), dtype=np.uint8
        )
        first = self.history - len(self._frames)  # slots before it stay zero: padding
        for slot, (frame, action_value) in enumerate(
            zip(self._frames, self._action_values, strict=True), start=first
        ):
            steps[slot, : self.channels] = frame
            steps[slot, self.channels] = action_value
        return steps.reshape(self.observation_shape)

    def clone(self) -> AtariGame:
        raise NotImplementedError(
            f"{self.name} cannot be cloned: the emulator and its preprocessing wrappers have "
            "no copy. MuZero searches Atari with its learned model instead."
        )

    def render(self) -> str:
        status = " (truncated)" if self.truncated else " (terminated)" if self.terminated else ""
        return (
            f"{self.name}  step {self.episode_steps}  return {self.episode_return:g}  "
            f"lives {self.lives}{status}"
        )

    def close(self) -> None:
        self.env.close()

    def __repr__(self) -> str:
        return f"AtariGame({self.name.removeprefix('atari:')!r})"
