"""The Python API as issue 11 asks: layouts and types in = out, lists of queries batched, models by name,
save_pretrained round trips, hf:// from a local hub snapshot. Traps of the issue are named after them."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from tqse import Extractor
from tqse.audio.io import AudioError
from tqse.errors import CheckpointError, QueryError
from tqse.data.locations import fixture_dir
from tqse.workflows.bench import random_model_dir
from helpers import tone


@pytest.fixture(scope="module")
def extractor(tiny_model):
    return Extractor.from_pretrained(tiny_model, device="cpu")


def test_trap_channels_first_array_is_not_read_as_32000_channels(extractor):
    x = np.stack([tone(300, 1.0, 32000), tone(500, 1.0, 32000)])  # [C=2, T=32000], the torch convention
    out = extractor.extract(x, 32000, text="tone")
    assert out.shape == (2, 32000)
    np.testing.assert_allclose(extractor.extract(x.T, 32000, text="tone").T, out, atol=1e-5)


def test_trap_torch_in_torch_out_same_layout_and_dtype(extractor):
    x = torch.from_numpy(np.stack([tone(300, 0.5, 16000)] * 2)).double()
    out = extractor.extract(x, 16000, text="tone")
    assert isinstance(out, torch.Tensor) and out.shape == x.shape and out.dtype == torch.float64


def test_trap_ambiguous_shape_is_an_error_naming_both_readings(extractor):
    with pytest.raises(AudioError, match=r"ambiguous.*C=8, T=8.*T=8, C=8"):
        extractor.extract(np.ones((8, 8), np.float32), 16000, text="x")
    assert extractor.extract(np.ones((8, 8), np.float32) * 0.1, 16000, text="x", layout="TC").shape == (8, 8)


def test_trap_list_of_queries_gives_a_list_of_outputs_batched(extractor):
    x = tone(300, 0.7, 16000)
    both = extractor.extract(x, 16000, text=["a dog", "a cat"])
    assert isinstance(both, list) and len(both) == 2
    np.testing.assert_allclose(both[1], extractor.extract(x, 16000, text="a cat"), atol=1e-5)


def test_trap_mono_file_returns_1d_like_a_1d_array(extractor, tmp_path):
    mono = fixture_dir() / "perc_bell.flac"
    out = extractor.extract(str(mono), text="bell")
    assert out.ndim == 1 and out.shape[0] == sf.info(str(mono)).frames
    stereo = np.stack([tone(200, 0.5, 22050), tone(300, 0.5, 22050)], 1)
    sf.write(tmp_path / "s.wav", stereo, 22050)
    assert extractor.extract(str(tmp_path / "s.wav"), text="x").shape == stereo.shape  # [T, C] like soundfile


def test_integer_pcm_is_scaled_and_residual_returned(extractor):
    pcm = (tone(300, 0.5, 16000) * 32767).astype(np.int16)
    est, res = extractor.extract(pcm, 16000, text="x", residual=True)
    assert est.dtype == np.float32 and np.abs(est + res - pcm / 32768).max() < 1e-4


def test_from_pretrained_by_name_default_and_path(tmp_path, monkeypatch):
    home = tmp_path / "home"
    random_model_dir(home / "models" / "mine")
    monkeypatch.setenv("TQSE_HOME", str(home))
    monkeypatch.delenv("TQSE_MODEL", raising=False)
    assert Extractor.from_pretrained("mine", device="cpu").model_dir == home / "models" / "mine"
    with pytest.raises(CheckpointError, match="unknown model 'nope'.*mine"):
        Extractor.from_pretrained("nope", device="cpu")
    monkeypatch.setenv("TQSE_MODEL", str(home / "models" / "mine"))
    assert Extractor.from_pretrained(device="cpu").model_dir == home / "models" / "mine"


def test_shipped_default_model_is_listed_first_when_present(tmp_path, monkeypatch):
    import tqse.models.pretrained as pretrained

    random_model_dir(tmp_path / "pkg" / "default_model")
    monkeypatch.setattr(pretrained, "shipped_model_dir", lambda: tmp_path / "pkg" / "default_model")
    monkeypatch.setenv("TQSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TQSE_MODEL", raising=False)
    models = pretrained.list_models()
    assert [m.name for m in models] == ["default"] and models[0].is_default
    assert Extractor.from_pretrained(device="cpu").model_dir == tmp_path / "pkg" / "default_model"


def test_save_pretrained_round_trips_and_writes_a_card_with_scores(extractor, tmp_path):
    from tqse.models.pretrained import list_models, model_info

    out = extractor.save_pretrained(tmp_path / "saved", scores={"sdri": 7.25})
    assert {p.name for p in out.iterdir()} == {"config.json", "model.safetensors", "README.md"}
    again = Extractor.from_pretrained(out, device="cpu")
    x = tone(300, 0.5, 16000)
    np.testing.assert_array_equal(again.extract(x, 16000, text="x"), extractor.extract(x, 16000, text="x"))
    info = model_info(out, "saved")
    assert info.scores == {"sdri": 7.25} and info.sample_rate == 32000 and info.encoder == "hash"
    assert isinstance(list_models(), list)


def test_hf_model_from_a_local_hub_snapshot(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    cache = tmp_path / "hub"
    commit = "a" * 40
    snapshot = cache / "models--org--tiny" / "snapshots" / commit
    random_model_dir(snapshot)
    (cache / "models--org--tiny" / "refs").mkdir(parents=True)
    (cache / "models--org--tiny" / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    extractor = Extractor.from_pretrained("hf://org/tiny", device="cpu")
    assert extractor.model_dir.resolve() == snapshot.resolve()
    with pytest.raises(CheckpointError, match="hf://org/missing: not available"):
        Extractor.from_pretrained("hf://org/missing", device="cpu")


def test_lone_surrogate_and_non_text_queries_are_query_errors(extractor):
    x = tone(300, 0.3, 16000)
    with pytest.raises(QueryError, match="lone surrogate"):
        extractor.extract(x, 16000, text="dog\ud800")
    with pytest.raises(QueryError, match="must be a string"):
        extractor.extract(x, 16000, text=["dog", 5])
    with pytest.raises(QueryError, match="list is empty"):
        extractor.extract(x, 16000, text=[])
