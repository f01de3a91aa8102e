"""LAION-CLAP / ClapModel backend on a tiny random model saved in the original LAION and hub layouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tqse.errors import CheckpointError
from tqse.query import load_encoder
from tqse.query.laion import LaionClapEncoder, hf_to_laion_state_dict

CAPTIONS = ["a dog barks loudly", "rain falls on a roof"]


@pytest.fixture(scope="module")
def encoder(laion_pt, roberta_tokenizer_dir):
    return LaionClapEncoder(laion_pt, tokenizer=roberta_tokenizer_dir, text_heads=2)


def _noise(seconds: float, sr: int, n: int = 2, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal((n, int(seconds * sr)))).astype(np.float32)


def test_pt_loader_reproduces_the_original_model(encoder, tiny_clap):
    # Reference: the model the .pt was written from, fed by transformers' own processing.
    from transformers import ClapFeatureExtractor

    assert encoder.name.startswith("laion-clap:") and encoder.dim == 32
    tokens = encoder.tokenizer(CAPTIONS, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = tiny_clap.get_text_features(**tokens)
    reference = F.normalize(out if torch.is_tensor(out) else out.pooler_output, dim=-1)
    assert torch.allclose(encoder.embed_text(CAPTIONS), reference, atol=1e-5)
    wav = _noise(10.0, 48000, n=1)
    fe = ClapFeatureExtractor(frequency_min=50, truncation="rand_trunc", padding="repeatpad")
    with torch.no_grad():
        out = tiny_clap.get_audio_features(**fe(list(wav), sampling_rate=48000, return_tensors="pt"))
    reference = F.normalize(out if torch.is_tensor(out) else out.pooler_output, dim=-1)
    assert torch.allclose(encoder.embed_audio(wav, 48000), reference, atol=1e-5)


def test_hub_folder_gives_the_same_embeddings(encoder, clap_dir):
    folder = load_encoder(clap_dir)  # dispatched on the folder's ClapModel config.json
    assert folder.name.startswith("hf-clap:")
    assert torch.allclose(folder.embed_text(CAPTIONS), encoder.embed_text(CAPTIONS), atol=1e-5)
    wav = _noise(3.0, 32000)
    assert torch.allclose(folder.embed_audio(wav, 32000), encoder.embed_audio(wav, 32000), atol=1e-5)


def test_deterministic_crop_batching_resampling_and_eval_mode(encoder):
    long = _noise(12.0, 48000)  # longer than 10 s: the libraries would crop at random
    assert torch.equal(encoder.embed_audio(long, 48000), encoder.embed_audio(long, 48000))
    wav = _noise(4.0, 32000, n=3, seed=1)
    batch = encoder.embed_audio(wav, 32000)
    assert torch.allclose(batch[2], encoder.embed_audio(wav[2], 32000)[0], atol=1e-5)
    assert torch.allclose(batch.norm(dim=-1), torch.ones(3), atol=1e-5)
    upsampled = torch.from_numpy(wav).repeat_interleave(3, dim=-1)  # 96 kHz stair-step: rate handled
    assert encoder.embed_audio(upsampled, 96000).shape == batch.shape
    encoder.train()
    assert not any(m.training for m in encoder.modules())
    assert torch.allclose(encoder.embed_audio(wav, 32000), batch, atol=1e-6)
    text = encoder.embed_text(CAPTIONS)
    assert torch.allclose(text[1], encoder.embed_text(CAPTIONS[1:])[0], atol=1e-5) and not text.requires_grad


def test_features_expose_the_mel_for_specaugment(encoder):
    wav = _noise(2.0, 48000, n=1)
    features = encoder.audio_features(wav, 48000)
    assert features.shape[1:] == (1001, 64)
    assert torch.allclose(encoder.embed_features(features), encoder.embed_audio(wav, 48000), atol=1e-6)


def test_rejects_missing_and_unexpected_keys(tiny_clap, roberta_tokenizer_dir, tmp_path):
    sd = hf_to_laion_state_dict(tiny_clap.state_dict())
    dropped = {k: v for k, v in sd.items() if "layer.0.attention.self.query" not in k}
    torch.save({"state_dict": dropped}, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match="missing keys"):
        LaionClapEncoder(tmp_path / "missing.pt", tokenizer=roberta_tokenizer_dir, text_heads=2)
    torch.save({"state_dict": {**sd, "module.text_branch.extra_layer.weight": torch.zeros(2)}}, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match="unexpected keys"):
        LaionClapEncoder(tmp_path / "extra.pt", tokenizer=roberta_tokenizer_dir, text_heads=2)


def test_rejects_a_tokenizer_without_vocabulary(laion_pt, tmp_path):
    import json

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    (tmp_path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(specials)}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    with pytest.raises(CheckpointError, match="lost its vocabulary"):
        LaionClapEncoder(laion_pt, tokenizer=tmp_path, text_heads=2)


def test_missing_files_and_tokenizer_fail_clearly(laion_pt, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_encoder("laion", path=str(tmp_path / "nope.pt"), tokenizer=str(tmp_path))
    with pytest.raises(CheckpointError, match="not found"):
        load_encoder(str(tmp_path / "nope.pt"))
    with pytest.raises(CheckpointError, match="tokenizer"):
        load_encoder(laion_pt)  # a .pt is dispatched to laion, which needs the roberta tokenizer


class _Pickled:  # a checkpoint entry that only the pickle loader can restore
    pass


def test_pickled_checkpoints_need_the_explicit_flag(tiny_clap, roberta_tokenizer_dir, tmp_path):
    sd = hf_to_laion_state_dict(tiny_clap.state_dict())
    torch.save({"state_dict": sd, "args": _Pickled()}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="trust_checkpoint"):
        LaionClapEncoder(tmp_path / "pickled.pt", tokenizer=roberta_tokenizer_dir, text_heads=2)
    trusted = LaionClapEncoder(tmp_path / "pickled.pt", tokenizer=roberta_tokenizer_dir, text_heads=2,
                               trust_checkpoint=True)
    assert trusted.dim == 32
