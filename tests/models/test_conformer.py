import pytest
import torch

from tqse.models import PRESETS, build_model, count_parameters
from tqse.models.model_dir import load_model_dir, model_config, save_model_dir
from tqse.models.separator import Separator


@pytest.mark.parametrize("preset", ["tiny", "small", "paper"])
def test_every_conformer_preset_builds_with_its_defaults(preset):
    model = build_model(preset)
    assert model.query_dim == 512
    assert len(model.layers) == PRESETS[preset][1]["n_layers"]


def test_paper_preset_matches_section_iv_b():
    model = build_model("paper")
    assert (model.stft.n_fft, model.stft.hop) == (1024, 512)  # 32 ms / 16 ms at 32 kHz
    layer = model.layers[0]
    assert layer.attn.heads == 4 and layer.ffn1.net[1].out_features == 1024 and layer.attn.qkv.in_features == 256
    assert 25e6 < count_parameters(model) < 35e6


def tiny(**kwargs):
    torch.manual_seed(0)
    return build_model("tiny", query_dim=8, sample_rate=16000, **kwargs).eval()


def test_output_has_the_input_length_for_odd_lengths():
    model = tiny()
    for length in (1000, 16001, 23457):
        assert model(torch.randn(2, length), torch.randn(2, 8)).shape == (2, length)


def test_batched_output_equals_per_item_output():
    model = tiny()
    x, q = torch.randn(3, 16000), torch.randn(3, 8)
    batched = model(x, q)
    single = torch.cat([model(x[i:i + 1], q[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)


def test_the_query_changes_the_output():
    model = tiny()
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(1, 16000)
    assert (model(x, torch.randn(1, 8)) - model(x, torch.randn(1, 8))).abs().max() > 1e-3


def test_wrong_query_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"query must be \[B, 8\]"):
        tiny()(torch.randn(1, 16000), torch.randn(1, 9))


def test_save_load_round_trip_gives_identical_output(tmp_path):
    kwargs = {"query_dim": 8, "sample_rate": 16000, **PRESETS["tiny"][1]}
    model = Separator("conformer", kwargs).eval()
    save_model_dir(tmp_path / "m", model_config(model.model_args(), 16000, {"name": "hash"}), model.state_dict())
    loaded, config = load_model_dir(tmp_path / "m")
    x, q = torch.randn(1, 8000), torch.randn(1, 8)
    torch.testing.assert_close(loaded(x, q), model(x, q))
    assert config["model"] == "conformer" and config["sample_rate"] == 16000
    assert (tmp_path / "m" / "model.safetensors").exists() and not list(tmp_path.glob(".m.*"))
