"""MuZeroConfig: the paper's defaults, presets, and errors that name the bad field."""

import pytest

from muzero_lite.config import (
    GPU_SETTINGS,
    PRESETS,
    MuZeroConfig,
    cpu_advice,
    parse_overrides,
    preset,
    quick_mode,
)


def test_defaults_are_the_papers_constants():
    c = MuZeroConfig()
    # pUCT constants, root noise, unroll length, optimiser: App. B, G and the pseudocode.
    assert (c.pb_c_init, c.pb_c_base) == (1.25, 19652.0)
    assert (c.dirichlet_alpha, c.exploration_fraction) == (0.25, 0.25)
    assert (c.num_unroll_steps, c.td_steps, c.discount) == (5, 10, 0.997)
    assert (c.momentum, c.weight_decay, c.lr_decay_rate) == (0.9, 1e-4, 0.1)
    assert (c.priority_alpha, c.priority_beta) == (1.0, 1.0)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_and_round_trips_through_a_dict(name):
    c = preset(name)
    assert MuZeroConfig.from_dict(c.to_dict()) == c


def test_board_presets_are_undiscounted_with_known_bounds():
    for name in ("tictactoe", "connect4"):
        c = preset(name)
        assert c.discount == 1.0 and c.value_bounds == (-1.0, 1.0)
        assert c.td_steps >= c.max_moves  # the target is the final outcome


def test_atari_preset_uses_the_papers_601_categories():
    assert 2 * preset("atari").support_size + 1 == 601


@pytest.mark.parametrize(
    "field, value",
    [("discount", 1.5), ("num_simulations", 0), ("num_simulations", 2.5), ("pb_c_init", 0),
     ("network", "transformer"), ("optimizer", "rmsprop"), ("value_bounds", (1.0, -1.0)),
     ("temperature_schedule", "sometimes"), ("support_size", -1), ("game", "")],
)
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"'{field}'"):
        MuZeroConfig(**{field: value})


def test_fixed_temperature_is_allowed():
    assert MuZeroConfig(temperature_schedule="0.25").temperature_schedule == "0.25"


def test_unknown_override_suggests_the_closest_name():
    with pytest.raises(ValueError, match="did you mean 'num_simulations'"):
        preset("tictactoe", num_simulatons=3)
    with pytest.raises(ValueError, match="did you mean 'num_simulations'"):
        parse_overrides(["num_simulatons=3"])
    with pytest.raises(ValueError, match="did you mean 'discount'"):
        MuZeroConfig().replace(discont=0.9)


def test_unknown_preset_suggests_the_closest_name():
    with pytest.raises(ValueError, match="did you mean 'tictactoe'"):
        preset("tictactoes")


def test_overrides_are_typed_from_the_field():
    got = parse_overrides(["num_simulations=1_000", "learning_rate=1e-3", "downsample=true",
                           "value_bounds=-1,1", "network=resnet", "seed=3"])
    assert got == {"num_simulations": 1000, "learning_rate": 1e-3, "downsample": True,
                   "value_bounds": (-1.0, 1.0), "network": "resnet", "seed": 3}
    assert parse_overrides(["value_bounds=none"]) == {"value_bounds": None}
    assert preset("tictactoe", **got).num_simulations == 1000


@pytest.mark.parametrize("item, msg", [("num_simulations", "key=value"),
                                       ("num_simulations=many", "expects int"),
                                       ("downsample=perhaps", "expects bool"),
                                       ("discount=high", "expects float")])
def test_bad_override_text(item, msg):
    with pytest.raises(ValueError, match=msg):
        parse_overrides([item])


def test_replace_validates():
    c = preset("tictactoe")
    assert c.replace(num_simulations=7).num_simulations == 7
    with pytest.raises(ValueError, match="'num_simulations'"):
        c.replace(num_simulations=-7)


def test_quick_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("MUZERO_LITE_QUICK", "1")
    assert quick_mode()
    monkeypatch.setenv("MUZERO_LITE_QUICK", "0")
    assert not quick_mode()


@pytest.mark.parametrize("field", ["downsample", "reanalyze_noise"])
def test_bool_fields_refuse_other_values(field):
    with pytest.raises(ValueError, match=f"'{field}' = 1 is not allowed: True or False"):
        preset("cartpole", **{field: 1})


def test_on_a_gpu_a_preset_takes_the_measured_gpu_settings_and_overrides_still_win():
    assert set(GPU_SETTINGS) <= set(PRESETS)
    pong = preset("atari:Pong", gpu=True)
    assert (pong.num_envs, pong.pipeline, pong.train_ratio) == (256, "overlap", 0.01)
    assert pong.game == "atari:Pong" and pong.num_simulations == preset("atari").num_simulations
    assert preset("atari:Pong", gpu=True, num_envs=64).num_envs == 64
    assert preset("connect4", gpu=True).pipeline == "overlap"
    assert preset("tictactoe", gpu=True) == preset("tictactoe")  # nothing to change
    assert preset("atari:Pong") == preset("atari:Pong", gpu=False)
    with pytest.raises(TypeError, match="gpu must be True or False"):
        preset("atari", gpu="cuda")


def test_atari_game_presets_are_the_atari_preset_on_that_game():
    pong = preset("atari:Pong", num_envs=8)
    assert pong.game == "atari:Pong" and pong.num_envs == 8
    assert pong.replace(game="atari:Breakout") == preset("atari", num_envs=8)
    with pytest.raises(ValueError, match="chunk_moves"):
        preset("atari:Pong", chunk_moves=0)


def test_cpu_advice_is_for_the_gpu_sized_presets_while_their_network_is_kept():
    c4 = preset("connect4")
    assert cpu_advice("connect4", c4).startswith("note: the connect4 preset is sized for a GPU")
    assert "atari preset" in cpu_advice("atari:Breakout", preset("atari:Breakout", num_envs=8))
    # What the network's cost depends on: a smaller ResNet silences it, an MLP-only size not.
    assert cpu_advice("connect4", c4.replace(num_blocks=2)) is None
    assert cpu_advice("connect4", c4.replace(channels=32)) is None
    assert cpu_advice("connect4", c4.replace(hidden_size=32)) is not None
    assert cpu_advice("connect4", preset("connect4", channels=c4.channels)) is not None
    assert cpu_advice("tictactoe", preset("tictactoe")) is None
    assert cpu_advice("gym:Acrobot-v1", preset("gym:Acrobot-v1")) is None
    with pytest.raises(ValueError, match="unknown preset"):
        cpu_advice("conect4", c4)
