"""Every knob of a MuZero run in one dataclass, with the paper's values beside each field.

The paper is Schrittwieser et al. 2020, "Mastering Atari, Go, Chess and Shogi by Planning with a
Learned Model"; "App. B" etc. name its appendices, "pseudocode" its published pseudocode.
A preset (``preset("tictactoe")``) scales the paper down to one machine and says by how much.

Bad values raise ``ValueError`` naming the field and what is allowed, so a typo on the command
line (``--set num_simulatons=10``) is answered with the closest valid name instead of being
silently ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["MuZeroConfig", "PRESETS", "QUICK", "preset", "preset_for", "parse_overrides",
           "quick_mode", "describe_fields"]


@dataclass(frozen=True)
class MuZeroConfig:
    # --- the game ------------------------------------------------------------------------
    game: str = "tictactoe"  # a name for muzero_lite.games.make ("gym:<id>", "atari:<Game>")
    seed: int = 0  # seeds torch, numpy and the environments

    # --- networks (App. F) ---------------------------------------------------------------
    network: str = "mlp"  # "mlp" for vector/small boards, "resnet" for images (paper: ResNet)
    hidden_size: int = 64  # MLP hidden layer width
    latent_size: int = 32  # MLP hidden-state size (paper: 256 planes of 6x6 in Atari)
    channels: int = 64  # ResNet planes (paper: 256)
    num_blocks: int = 6  # ResNet residual blocks per function (paper: 16)
    downsample: bool = False  # the paper's Atari path, 96x96 frames down to 6x6 (App. F)
    support_size: int = 0  # 0: scalar value/reward heads (board games, MSE);
    #                        S > 0: 2S+1 categories after h(x) (paper Atari: S=300, 601 bins)

    # --- search (App. B, pseudocode) -----------------------------------------------------
    num_simulations: int = 50  # paper: 800 in board games, 50 in Atari
    discount: float = 0.997  # gamma; paper: 0.997 Atari, 1.0 board games
    pb_c_init: float = 1.25  # c1 of the pUCT rule
    pb_c_base: float = 19652.0  # c2 of the pUCT rule
    dirichlet_alpha: float = 0.25  # root noise; paper: 0.25 Atari, 0.3 chess, 0.03 Go
    exploration_fraction: float = 0.25  # share of noise mixed into the root prior
    value_bounds: tuple[float, float] | None = None  # known bounds seed min-max; (-1, 1) boards

    # --- acting (App. D) -----------------------------------------------------------------
    # "moves": T=1 for the first `greedy_after_moves` moves of a game, then greedy (board
    # games: 30 moves in the paper). "progress": T = 1.0, 0.5, 0.25 after 50% and 75% of
    # training (paper Atari). A number: that temperature always.
    temperature_schedule: str = "progress"
    greedy_after_moves: int = 30  # "moves": how many moves of a game are played at T=1
    max_moves: int = 27_000  # episode cut-off; paper Atari: 27,000 (30 minutes of play)

    # --- self-play ----------------------------------------------------------------------
    num_envs: int = 16  # games stepped in lockstep, one batched network call per simulation
    # Learner steps per environment step, paced after every self-play move (never caught up in
    # bursts): each new position is then sampled train_ratio * batch_size times on average.
    train_ratio: float = 0.5
    # A running game hands its steps to the replay every chunk_moves moves (and when it ends),
    # so long games are learned from while they are played (EfficientZero, LightZero: 200-400
    # moves; 25 lets a laptop CPU, at a move per 2 s, start learning Atari within a minute).
    chunk_moves: int = 25

    # --- targets and replay (App. G, pseudocode make_target) ------------------------------
    num_unroll_steps: int = 5  # K; paper: 5
    td_steps: int = 10  # n of the n-step value target; paper: 10 Atari, the game length boards
    replay_capacity: int = 100_000  # positions kept (paper: window of 1e6 games)
    priority_alpha: float = 1.0  # prioritized replay exponent; paper Atari: 1
    priority_beta: float = 1.0  # importance-weight exponent; paper Atari: 1
    # Train each sampled position through a random symmetry of the board (rotations, mirror
    # images): AlphaGo Zero did, over the 8 of the Go board; the MuZero paper does not say.
    # Board games only (tic-tac-toe 8, Connect Four 2); a game without symmetries refuses it.
    augment_symmetries: bool = False

    # --- training (App. G, pseudocode) ------------------------------------------------------
    training_steps: int = 1_000_000  # paper: 1e6 mini-batches
    batch_size: int = 1024  # paper: 2048 board games, 1024 Atari
    optimizer: str = "sgd"  # paper: SGD with momentum
    learning_rate: float = 0.05  # paper: 0.05 Atari, 0.1 chess and shogi, 0.01 Go
    lr_decay_rate: float = 0.1  # exponential decay: lr * rate^(step / decay_steps)
    lr_decay_steps: int = 350_000  # paper: 350e3 Atari, 400e3 board games
    momentum: float = 0.9  # paper: 0.9
    weight_decay: float = 1e-4  # c of the L2 term; paper: 1e-4
    value_loss_weight: float = 1.0  # paper: 1, and 0.25 with Reanalyze
    reward_loss_weight: float = 1.0  # board games in the paper have no reward loss (0)
    checkpoint_interval: int = 1000  # learner steps between checkpoints

    # --- Reanalyze (App. H) ---------------------------------------------------------------
    reanalyze_fraction: float = 0.0  # share of samples given fresh search targets; paper: 0.8
    # Dirichlet noise at the re-searched roots, as in self-play. The paper does not say;
    # EfficientZero adds it. Measured without it (chapter 07): an untrained network's
    # noise-free search gives every CartPole state the same visit counts, the policy head
    # learns one action everywhere, and 3 of 3 seeds stayed at greedy return 9.5.
    reanalyze_noise: bool = True

    # --- safety (not in the paper) ----------------------------------------------------------
    # A NaN or infinite loss: "stop" the run (the last good checkpoint is kept as it is), or
    # "skip" that batch and go on (a run that keeps diverging still stops at the checkpoint).
    on_nonfinite_loss: str = "stop"

    # --- the machine (not in the paper: its actors and learner ran on separate hardware) ----
    # "serial": self-play and the learner take turns in one thread (the loop chapter 06
    # teaches); "overlap": self-play runs in a second thread beside the learner (one GPU);
    # "process": self-play runs in a child process (a second CPU core, no shared GIL).
    pipeline: str = "serial"
    weight_sync_interval: int = 20  # overlap/process: learner steps between the actor's weights
    # How the search calls the network: "auto" (CUDA graphs on a GPU, eager elsewhere),
    # "eager", "graph" (CUDA only), "compile" (torch.compile, mode "reduce-overhead").
    inference: str = "auto"
    # Network calls in "bf16" autocast or "fp32"; "auto": bf16 on a GPU. Losses stay in fp32.
    precision: str = "auto"
    # "on": the learner's forward and backward pass recorded once as a CUDA graph and replayed
    # (muzero_lite/loss_graph.py; CUDA only), "off": launched op by op. Off until measured on a
    # GPU (benchmarks/learner_overhead.py).
    learner_graph: str = "off"

    # validation -----------------------------------------------------------------------------
    def __post_init__(self) -> None:
        _validate(self)

    def replace(self, **overrides: Any) -> MuZeroConfig:
        """A copy with some fields changed; unknown names are refused with the closest one."""
        _check_names(overrides)
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (checkpoints store this, never a pickled object)."""
        d = dataclasses.asdict(self)
        if d["value_bounds"] is not None:
            d["value_bounds"] = list(d["value_bounds"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MuZeroConfig:
        d = dict(d)
        _check_names(d)
        if d.get("value_bounds") is not None:
            d["value_bounds"] = tuple(float(x) for x in d["value_bounds"])
        return cls(**d)


_NETWORKS = ("mlp", "resnet")
_OPTIMIZERS = ("sgd", "adam")
_SCHEDULES = ("moves", "progress")
_NONFINITE = ("stop", "skip")
_PIPELINES = ("serial", "overlap", "process")
_LEARNER_GRAPH = ("off", "on")
_INFERENCE = ("auto", "eager", "graph", "compile")  # = inference.MODES (config imports nothing)
_PRECISIONS = ("auto", "fp32", "bf16")


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"config field '{name}' = {value!r} is not allowed: {allowed}")


def _validate(c: MuZeroConfig) -> None:
    positive_ints = ("hidden_size", "latent_size", "channels", "num_blocks", "num_simulations",
                     "max_moves", "num_envs", "chunk_moves", "td_steps", "replay_capacity",
                     "training_steps", "batch_size", "lr_decay_steps", "checkpoint_interval",
                     "weight_sync_interval",
                     "greedy_after_moves")
    for name in positive_ints:
        v = getattr(c, name)
        if not _is_int(v) or v < 1:
            _fail(name, v, "a whole number >= 1")
    for name in ("support_size", "num_unroll_steps", "seed"):
        v = getattr(c, name)
        if not _is_int(v) or v < 0:
            _fail(name, v, "a whole number >= 0")
    if c.seed >= 2**32:  # numpy, torch and gymnasium all take it (and seed * 1e6 fits 64 bits)
        _fail("seed", c.seed, "a whole number below 2**32")
    unit_interval = ("discount", "exploration_fraction", "reanalyze_fraction", "momentum",
                     "lr_decay_rate")
    for name in unit_interval:
        v = getattr(c, name)
        if not _is_number(v) or not 0.0 <= v <= 1.0:
            _fail(name, v, "a number in [0, 1]")
    non_negative = ("priority_alpha", "priority_beta", "weight_decay", "value_loss_weight",
                    "reward_loss_weight")
    for name in non_negative:
        v = getattr(c, name)
        if not _is_number(v) or v < 0:
            _fail(name, v, "a finite number >= 0")
    # train_ratio 0 would never learn, and never reach training_steps.
    for name in ("pb_c_init", "pb_c_base", "dirichlet_alpha", "learning_rate", "train_ratio"):
        v = getattr(c, name)
        if not _is_number(v) or v <= 0:
            _fail(name, v, "a finite number > 0")
    for name in ("downsample", "reanalyze_noise"):
        v = getattr(c, name)
        if not isinstance(v, bool):
            _fail(name, v, "True or False")
    if c.network not in _NETWORKS:
        _fail("network", c.network, f"one of {_NETWORKS}")
    if c.optimizer not in _OPTIMIZERS:
        _fail("optimizer", c.optimizer, f"one of {_OPTIMIZERS}")
    for name, allowed in (("on_nonfinite_loss", _NONFINITE), ("pipeline", _PIPELINES),
                          ("inference", _INFERENCE), ("precision", _PRECISIONS),
                          ("learner_graph", _LEARNER_GRAPH)):
        if getattr(c, name) not in allowed:
            _fail(name, getattr(c, name), f"one of {allowed}")
    if c.temperature_schedule not in _SCHEDULES:
        try:
            t = float(c.temperature_schedule)
        except (TypeError, ValueError):
            t = -1.0
        if not (math.isfinite(t) and t >= 0):
            _fail("temperature_schedule", c.temperature_schedule,
                  f"one of {_SCHEDULES} or a fixed temperature >= 0 such as '0.25'")
    if c.value_bounds is not None:
        b = c.value_bounds
        if (not isinstance(b, tuple) or len(b) != 2 or not all(_is_number(x) for x in b)
                or not b[0] < b[1]):
            _fail("value_bounds", b, "None or a pair (low, high) with low < high")
    if not isinstance(c.game, str) or not c.game:
        _fail("game", c.game, "a game name such as 'tictactoe', 'cartpole', 'gym:<id>'")
    # Across fields: a batch is drawn from the positions the replay can hold.
    if c.batch_size > c.replay_capacity:
        raise ValueError(f"config field 'batch_size' = {c.batch_size} is larger than "
                         f"'replay_capacity' = {c.replay_capacity}: a batch is sampled from "
                         "the replay, so raise replay_capacity or lower batch_size")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    """A finite int or float (NaN and inf pass every ``v < 0`` test, so they are refused)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


_FIELD_TYPES = {f.name: f.type for f in fields(MuZeroConfig)}


def _check_names(overrides: dict[str, Any]) -> None:
    for name in overrides:
        if name not in _FIELD_TYPES:
            close = difflib.get_close_matches(name, _FIELD_TYPES, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"unknown config field '{name}'{hint}")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Turn command-line ``key=value`` strings into typed field values.

    The type comes from the field's current annotation, so ``num_simulations=25`` becomes an
    int and ``value_bounds=-1,1`` a pair. Unknown keys are refused with the closest name.
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"override '{item}' is not of the form key=value")
        key, raw = (s.strip() for s in item.split("=", 1))
        _check_names({key: None})
        out[key] = _convert(key, raw)
    return out


def _convert(key: str, raw: str) -> Any:
    kind = str(_FIELD_TYPES[key])
    try:
        if kind == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        if kind == "int":
            return int(raw.replace("_", ""))
        if kind == "float":
            return float(raw)
        if kind.startswith("tuple"):
            if raw.lower() in ("none", ""):
                return None
            return tuple(float(x) for x in raw.split(","))
    except ValueError:
        raise ValueError(f"config field '{key}' expects {kind}, got {raw!r}") from None
    return raw


# --- presets -------------------------------------------------------------------------------
# Each preset scales the paper down to the hardware named, and says by how much. A value that
# differs from the obvious one says why in a line; the measurements behind it, with commands
# that rerun them, are in data/preset_choices.md.

PRESETS: dict[str, dict[str, Any]] = {
    # Laptop CPU, minutes. Paper board games: 800 simulations, batch 2048, 1e6 steps.
    "tictactoe": dict(
        game="tictactoe",
        # Wider than 64/32: it loses fewer lines early on. Paper: 16 blocks of 256 planes.
        network="mlp", hidden_size=128, latent_size=64,
        # At 25 only the two top priors get visits: low-prior blocks and wins go unseen. Paper: 800.
        num_simulations=100,
        discount=1.0,  # board games are undiscounted
        dirichlet_alpha=1.0,  # ~10 / legal moves (9): a rule of thumb (AlphaZero: 0.3 chess)
        value_bounds=(-1.0, 1.0),  # outcomes are -1, 0, +1: seed min-max with them
        # T = 1 for the whole game, so the replay covers what an opponent can steer into
        # (paper: the first 30 moves of chess and Go, also most of a game).
        temperature_schedule="moves", greedy_after_moves=9,
        max_moves=9,
        num_envs=32,
        # 10 new positions per batch of 128: fresh, varied games rather than refitting old ones.
        train_ratio=0.1,
        td_steps=9,  # >= game length, so the target is the final outcome (paper: max_moves)
        replay_capacity=20_000,
        # Uniform replay: alpha = beta = 1 (paper Atari) shrank the step 5x for no better play.
        priority_alpha=0.0, priority_beta=0.0,
        # Each batch row turned or mirrored at random (AlphaGo Zero): perfect play after 4,500-
        # 7,000 learner steps, not 9,500-17,500 (seeds 0-2, data/preset_choices.md).
        augment_symmetries=True,
        # The run stops at perfect play or the wall-clock limit, about 10,000 steps in 600 s.
        training_steps=20_000, batch_size=128,  # paper: 1e6 x 2048
        optimizer="adam", learning_rate=3e-3,  # Adam converges faster on tiny budgets than SGD
        lr_decay_steps=20_000,
        # The paper's board games learn no reward; here the winning move's reward is the only
        # way the learned model sees a win inside the tree, and at weight 1 it is drowned by
        # the noisier value and policy losses.
        reward_loss_weight=50.0,
        checkpoint_interval=500,
    ),
    # Laptop CPU, minutes. CartPole pays +1 per step up to 500.
    "cartpole": dict(
        game="cartpole",
        network="mlp", hidden_size=64, latent_size=32,
        support_size=10,  # returns up to ~100 (discounted): h(100) ~ 9.1, so 21 bins suffice
        num_simulations=25,  # paper Atari: 50
        discount=0.997,
        dirichlet_alpha=0.25, exploration_fraction=0.25,
        temperature_schedule="progress",
        max_moves=500,
        num_envs=16,
        td_steps=50,  # paper Atari: 10; longer returns help an undiscounted-looking task
        replay_capacity=50_000,
        training_steps=30_000, batch_size=128,  # runs stop at the goal, well before
        optimizer="adam", learning_rate=3e-3, lr_decay_steps=30_000,
        checkpoint_interval=500,
    ),
    # One GPU. Paper: 800 simulations, 16 blocks of 256 planes, batch 2048.
    "connect4": dict(
        game="connect4",
        network="resnet", channels=64, num_blocks=6,
        num_simulations=100,  # 8x fewer than the paper's 800
        discount=1.0, dirichlet_alpha=0.3, value_bounds=(-1.0, 1.0),
        temperature_schedule="moves", greedy_after_moves=10,
        max_moves=42, num_envs=256, td_steps=42,
        replay_capacity=1_000_000, training_steps=100_000, batch_size=512,
        # Adam, as muzero-general (5e-3) and LightZero (3e-3) train Connect Four: with the
        # paper's SGD at 0.1 the 2 x 32 ResNet's value head went dead (one value for every
        # position) and the run never learned (data/preset_choices.md).
        optimizer="adam", learning_rate=3e-3, lr_decay_steps=100_000,
        # As tic-tac-toe: the winning move's reward is how the model sees a win in the tree.
        reward_loss_weight=50.0,
        # Each batch row seen as it is or mirrored left-right, at random: on the 2 x 32 ResNet
        # it took and blocked more immediate wins at 7 of 8 checkpoints over two seeds, and won
        # more games (data/preset_choices.md).
        augment_symmetries=True,
        checkpoint_interval=2_000,
    ),
    # One GPU. Paper: 96x96 RGB, 32-frame history, 16 blocks of 256 planes, batch 1024, 1e6 steps.
    "atari": dict(
        game="atari:Breakout",
        network="resnet", channels=64, num_blocks=2, downsample=True,
        support_size=300,  # the paper's 601 categories
        num_simulations=50, discount=0.997, dirichlet_alpha=0.25,
        temperature_schedule="progress",
        # 64 games keep a move within seconds on a laptop CPU; a GPU takes more (--set num_envs).
        max_moves=27_000, num_envs=64, td_steps=10,
        # 500k positions (paper: 1e6 games) of one stored frame each: 13 GiB, fits 24 GiB.
        replay_capacity=500_000, training_steps=100_000, batch_size=256,
        optimizer="sgd", learning_rate=0.05, lr_decay_steps=35_000,
        checkpoint_interval=5_000,
    ),
}


def quick_mode() -> bool:
    """True when MUZERO_LITE_QUICK=1: every training budget shrinks so notebooks run in CI."""
    return os.environ.get("MUZERO_LITE_QUICK", "") not in ("", "0", "false", "False")


# `train --quick`: any preset shrunk to show its whole pipeline (self-play, replay, learner,
# checkpoint) within a minute on a laptop CPU. It learns next to nothing.
QUICK = dict(num_envs=4, num_simulations=4, batch_size=16, chunk_moves=5, replay_capacity=20_000,
             train_ratio=1.0, checkpoint_interval=50, hidden_size=32, latent_size=16,
             channels=8, num_blocks=1, learning_rate=0.01)


def preset_for(name: str) -> str:
    """The preset whose settings ``preset(name)`` uses: ``name`` itself, ``"atari"`` for
    ``"atari:<Game>"``, ``"cartpole"`` (a small MLP for vector observations) for ``"gym:<id>"``.
    """
    if name.startswith("atari:"):
        return "atari"
    if name.startswith("gym:"):
        return "cartpole"
    if name not in PRESETS:
        close = difflib.get_close_matches(name, PRESETS, n=1, cutoff=0.4)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"unknown preset '{name}'{hint} (presets: {', '.join(PRESETS)}; "
                         "or a game name: atari:<Game>, gym:<id>)")
    return name


# What changes on a GPU (``preset(name, gpu=True)``, so ``train PRESET --device cuda``): the
# settings of the runs measured on one (README "One GPU"). The presets keep what a CPU can run.
GPU_SETTINGS: dict[str, dict[str, Any]] = {
    # 256 games fill the GPU's batches; self-play in a thread beside the learner; with the
    # learner at ~9 steps/s, 0.01 lets self-play run at ~900 env steps/s
    # (data/runs/pong/summary.json: 9.2 learner and 944 env steps/s on one H200).
    "atari": dict(num_envs=256, pipeline="overlap", train_ratio=0.01),
    # Measured with the shipped 2 x 32 network (data/runs/connect4_gpu/summary.json).
    "connect4": dict(pipeline="overlap"),
}

# What a CPU run of a preset sized for a GPU costs, and what runs there instead: `train` says it
# before such a run starts. Learner steps timed on this project's 2-core CPU (README "One GPU",
# data/benchmarks/learner_overhead_cpu.json: 5.9 s and 5.0 s a step at full size).
CPU_ADVICE: dict[str, str] = {
    "connect4": ("its 6 x 64 ResNet takes about 6 s a learner step on a 2-core CPU, and no CPU "
                 "run of it has learned; the shipped agent (data/checkpoints/connect4.json) "
                 "learned on a CPU with --set channels=32 --set num_blocks=2 "
                 "--set num_simulations=50 --set num_envs=64 --set batch_size=128 "
                 "--set train_ratio=0.1 --set replay_capacity=200000 --set pipeline=process"),
    "atari": ("a learner step takes about 5 s and a move about 2 s on a 2-core CPU, too slow to "
              "learn a game; --quick shows the whole pipeline in a minute, --device cuda trains"),
}
# The fields that set a ResNet preset's cost per learner step.
NETWORK_SIZE_FIELDS = ("network", "channels", "num_blocks")


def cpu_advice(name: str, config: MuZeroConfig) -> str | None:
    """The note `train` prints before a CPU run of ``config`` made from ``name`` (a preset or
    game name), or None: only for presets sized for a GPU, and only while ``config`` keeps the
    preset's network (a ``--set`` of another size is the user's choice)."""
    base = preset_for(name)
    if base not in CPU_ADVICE:
        return None
    sized = PRESETS[base]
    default = MuZeroConfig()
    if any(getattr(config, f) != sized.get(f, getattr(default, f)) for f in NETWORK_SIZE_FIELDS):
        return None
    return f"note: the {base} preset is sized for a GPU: {CPU_ADVICE[base]}"


def preset(name: str, gpu: bool = False, **overrides: Any) -> MuZeroConfig:
    """The named preset, with optional field overrides (checked like every other value).

    A game name picks the preset that suits it and plays that game: ``"atari:Pong"`` is the
    ``atari`` preset on Pong, ``"gym:Acrobot-v1"`` the ``cartpole`` preset on Acrobot.
    ``gpu=True`` applies the preset's ``GPU_SETTINGS`` first; ``overrides`` still win."""
    if not isinstance(gpu, bool):
        raise TypeError(f"gpu must be True or False, got {gpu!r}")
    base = preset_for(name)
    _check_names(overrides)
    game = {"game": name} if base != name else {}
    on_gpu = GPU_SETTINGS.get(base, {}) if gpu else {}
    return MuZeroConfig(**{**PRESETS[base], **game, **on_gpu, **overrides})


def describe_fields() -> list[tuple[str, str, str]]:
    """(name, default, meaning) of every config field, the meaning read from the comment
    beside the field in this file, so ``--list-keys`` and the source never disagree."""
    import inspect

    source = inspect.getsource(MuZeroConfig).splitlines()
    meanings: dict[str, str] = {}
    pending: list[str] = []  # comment lines above a field
    field_line = re.compile(r"^    (\w+): [^=]+= [^#]+?(?:  # (.*))?$")
    last = None
    for line in source:
        stripped = line.strip()
        match = field_line.match(line)
        if match:
            last, beside = match.group(1), match.group(2)
            meanings[last] = beside or " ".join(pending)
            pending = []
        elif stripped.startswith("# ---") or not stripped:
            pending, last = [], None
        elif stripped.startswith("#   ") and last:  # a comment beside a field, continued
            meanings[last] += " " + stripped.lstrip("# ")
        elif stripped.startswith("#"):
            pending.append(stripped.lstrip("# "))
    defaults = MuZeroConfig()
    return [(f.name, repr(getattr(defaults, f.name)), meanings.get(f.name, ""))
            for f in fields(MuZeroConfig)]
