"""Tiny random encoders in the real key layouts, built offline once per session (see clap_offline.md §10)."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

CORPUS = ["a dog barks loudly", "a man is speaking", "rain falls on a roof", "a siren wails",
          "drums and a snare", "a guitar chord rings", "birds sing in the morning", "a bell is struck"] * 10


def train_bpe(out_dir, specials: list[str], vocab_size: int = 400) -> str:
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS, vocab_size=vocab_size, min_frequency=1, special_tokens=specials)
    os.makedirs(out_dir, exist_ok=True)
    bpe.save_model(str(out_dir))
    return str(out_dir)


@pytest.fixture(scope="session")
def roberta_tokenizer_dir(tmp_path_factory) -> str:
    # RoBERTa's specials are ids 0..4 (<s>, <pad>, </s>, <unk>, <mask>) like the real roberta-base vocab.
    return train_bpe(tmp_path_factory.mktemp("roberta_tok"), ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])


@pytest.fixture(scope="session")
def gpt2_tokenizer_dir(tmp_path_factory) -> str:
    # GPT-2 style: no special tokens in front, so the byte alphabet puts '!' at id 0 (msclap's pad id).
    return train_bpe(tmp_path_factory.mktemp("gpt2_tok"), [], vocab_size=400)


@pytest.fixture(scope="session")
def tiny_clap(roberta_tokenizer_dir):
    from transformers import ClapConfig, ClapModel

    torch.manual_seed(0)
    cfg = ClapConfig(
        text_config=dict(vocab_size=420, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=80, layer_norm_eps=1e-5,
                         pad_token_id=1, bos_token_id=0, eos_token_id=2, type_vocab_size=1),
        audio_config=dict(patch_embeds_hidden_size=16, depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 2, 2],
                          hidden_size=128, window_size=8, spec_size=256, num_mel_bins=64),
        projection_dim=32)
    model = ClapModel(cfg).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so a wrong key mapping shows up
        bn = model.audio_model.audio_encoder.batch_norm
        bn.running_mean.normal_(0, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    return model


@pytest.fixture(scope="session")
def laion_pt(tiny_clap, tmp_path_factory) -> str:
    from tqse.query.laion import hf_to_laion_state_dict

    path = tmp_path_factory.mktemp("laion") / "tiny_laion.pt"
    torch.save({"state_dict": hf_to_laion_state_dict(tiny_clap.state_dict()), "epoch": 1}, path)
    return str(path)


@pytest.fixture(scope="session")
def clap_dir(tiny_clap, roberta_tokenizer_dir, tmp_path_factory) -> str:
    from transformers import RobertaTokenizer

    out = tmp_path_factory.mktemp("clap_dir")
    tiny_clap.save_pretrained(out)
    RobertaTokenizer.from_pretrained(roberta_tokenizer_dir).save_pretrained(out)
    return str(out)
