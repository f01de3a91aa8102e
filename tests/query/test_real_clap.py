"""Opt-in checks of real user checkpoints (``pytest -m real_clap``), driven by environment variables:

    TQSE_LAION_CKPT=.../music_speech_audioset_epoch_15_esc_89.98.pt  TQSE_ROBERTA_TOKENIZER=<roberta-base dir>
    TQSE_MSCLAP_CKPT=.../CLAP_weights_2023.pth                       TQSE_GPT2_TOKENIZER=<gpt2 dir>
    TQSE_TRUST_CHECKPOINT=1   (only if the file needs the pickle loader)

Each test is skipped when its variables are not set. On the committed fixture a real CLAP must rank the
matching caption of drum and bell clips above the other captions.
"""

from __future__ import annotations

import os

import pytest
import torch

from tqse.data.manifest import read_clips
from tqse.query import load_encoder
from tqse.query.builtin import ASSET_DIR
from tqse.query.gap import embed_clips, modality_gap

pytestmark = pytest.mark.real_clap
FIXTURE = ASSET_DIR.parent / "fixture" / "clips.jsonl"
CASES = {
    "laion": ("TQSE_LAION_CKPT", "TQSE_ROBERTA_TOKENIZER", 512, 48000),
    "msclap": ("TQSE_MSCLAP_CKPT", "TQSE_GPT2_TOKENIZER", 1024, 44100),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_checkpoint(name):
    ckpt_var, tok_var, dim, rate = CASES[name]
    if not (os.environ.get(ckpt_var) and os.environ.get(tok_var)):
        pytest.skip(f"set {ckpt_var} and {tok_var} to check a real {name} checkpoint")
    encoder = load_encoder(name, path=os.environ[ckpt_var], tokenizer=os.environ[tok_var],
                           trust_checkpoint=os.environ.get("TQSE_TRUST_CHECKPOINT") == "1")
    assert encoder.dim == dim and encoder.sample_rate == rate
    text = encoder.embed_text(["the sound of a dog barking", "a dog barks", "heavy rain on a window"])
    assert float(text[0] @ text[1]) > float(text[0] @ text[2])
    audio, captions = embed_clips(encoder, read_clips(FIXTURE), caption_index=1)  # "this is the sound of X"
    gap = modality_gap(audio, captions)
    assert gap["paired_cos"] > gap["unpaired_cos"]
    assert 0.0 < gap["paired_cos"] < 0.9  # the paper's modality gap: paired cosine far from 1
    assert torch.allclose(audio.norm(dim=-1), torch.ones(len(audio)), atol=1e-4)
