"""MS-CLAP 2023 backend: the real msclap HTSAT + a 1-layer GPT-2, saved as {'model': state_dict}.

Slow (the HTSAT alone is 28 M parameters, a 170 MB temporary file) and skipped when the optional
packages (msclap, torchlibrosa, librosa) are missing.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tqse.errors import CheckpointError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("msclap", "torchlibrosa", "librosa")),
                       reason="optional extra 'msclap' not installed"),
]


@pytest.fixture(scope="module")
def msclap_files(tmp_path_factory):
    from transformers import GPT2Config

    from tqse.query.msclap import build_msclap

    torch.manual_seed(0)
    net = build_msclap(gpt2_config=GPT2Config(vocab_size=420, n_positions=80, n_embd=768, n_layer=1, n_head=12))
    path = tmp_path_factory.mktemp("msclap") / "CLAP_weights_test.pth"
    torch.save({"model": net.state_dict()}, path)
    return net.eval(), path


@pytest.fixture(scope="module")
def encoder(msclap_files, gpt2_tokenizer_dir):
    from tqse.query import load_encoder

    return load_encoder(str(msclap_files[1]), tokenizer=gpt2_tokenizer_dir)  # .pth -> msclap


def test_matches_msclap_forward_and_normalises(encoder, msclap_files):
    net, _ = msclap_files
    assert encoder.name.startswith("msclap:") and encoder.dim == 1024 and encoder.sample_rate == 44100
    wav = (0.1 * np.random.default_rng(0).standard_normal((2, 7 * 44100))).astype(np.float32)
    with torch.no_grad():
        reference = F.normalize(net.audio_encoder(torch.from_numpy(wav))[0], dim=-1)
    assert torch.allclose(encoder.embed_audio(wav, 44100), reference, atol=1e-5)
    tokens = encoder.tokenizer(["a dog barks <|endoftext|>"], max_length=77, padding="max_length", return_tensors="pt")
    assert tokens["input_ids"][0, -1] == 0  # right-padded with '!' = 0, so msclap pools the last real token
    with torch.no_grad():
        reference = F.normalize(net.caption_encoder({k: tokens[k] for k in ("input_ids", "attention_mask")}), dim=-1)
    assert torch.allclose(encoder.embed_text(["a dog barks"]), reference, atol=1e-5)


def test_deterministic_batched_resampled_eval(encoder):
    wav = (0.1 * np.random.default_rng(1).standard_normal((2, 9 * 32000))).astype(np.float32)  # > 7 s
    batch = encoder.embed_audio(wav, 32000)
    assert torch.equal(batch, encoder.embed_audio(wav, 32000))
    assert torch.allclose(batch[1], encoder.embed_audio(wav[1], 32000)[0], atol=1e-5)
    encoder.train()
    assert not any(m.training for m in encoder.modules())
    features = encoder.audio_features(wav, 32000)
    assert torch.allclose(encoder.embed_features(features), batch, atol=1e-5)
    text = encoder.embed_text(["rain on a roof", "a dog barks"])
    assert torch.allclose(text[1], encoder.embed_text(["a dog barks"])[0], atol=1e-5)


def test_rejects_missing_keys_and_missing_tokenizer(msclap_files, gpt2_tokenizer_dir, tmp_path):
    from tqse.query.msclap import MsClapEncoder

    net, path = msclap_files
    sd = {k: v for k, v in net.state_dict().items() if "projection.linear2" not in k}
    torch.save({"model": sd}, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="missing keys"):
        MsClapEncoder(tmp_path / "broken.pth", tokenizer=gpt2_tokenizer_dir)
    with pytest.raises(CheckpointError, match="tokenizer"):
        MsClapEncoder(path)
