"""LAION-CLAP (and any local ``ClapModel`` folder) through ``transformers.ClapModel``, fully offline.

Two sources:

* the original LAION ``.pt`` (e.g. ``music_speech_audioset_epoch_15_esc_89.98.pt``: HTSAT-base + RoBERTa,
  512-d, 48 kHz, 10 s) plus the user's roberta-base tokenizer folder (``vocab.json`` + ``merges.txt``); the
  keys are renamed to the ``ClapModel`` layout and the architecture is read from the tensor shapes;
* a hub-style folder (``laion/clap-htsat-unfused`` layout: ``config.json``, weights, tokenizer and
  ``preprocessor_config.json``), loaded with ``from_pretrained(..., local_files_only=True)``.

The ``laion_clap`` package is not used: it imports torchvision (unusable with current torch) and calls the
hub at import time. Embeddings from this loader equal ``laion_clap``'s (cosine 1.0000, measured on random
weights, HTSAT-tiny and HTSAT-base). Unlike the libraries, clips longer than 10 s are centre-cropped, not
randomly cropped, so every embedding is reproducible.

Dimensions: B batch, T samples at 48 kHz, N = 1001 mel frames, M = 64 mel bins, D = 512.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from tqse.errors import CheckpointError
from tqse.query.base import FrozenModule, as_batch, fit_length, l2_normalise
from tqse.files import file_sha256
from tqse.query.hf import (check_keys, check_tokenizer, dir_sha256, pooled, require_file, set_hub_offline,
                           state_dict_of, torch_load)

_RENAME = {"text_branch": "text_model", "audio_branch": "audio_model.audio_encoder", "attn": "attention.self",
           "self.proj": "output.dense", "attention.self_mask": "attn_mask", "mlp.fc1": "intermediate.dense",
           "mlp.fc2": "output.dense", "norm1": "layernorm_before", "norm2": "layernorm_after", "bn0": "batch_norm"}
# LAION keys with no ClapModel counterpart: the AudioSet head, torchlibrosa front-end buffers (the mel is
# computed outside the model here), training-only MLPs, and buffers transformers rebuilds itself.
IGNORED = re.compile(r"(^|\.)(text_transform|audio_transform|head|tscam_conv|spectrogram_extractor|"
                     r"logmel_extractor)\.|attn_mask$|position_ids$|token_type_ids$")
_A = "audio_model.audio_encoder."


def laion_to_hf_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an original LAION-CLAP state dict to ``ClapModel`` keys (and split fused qkv weights)."""
    out = {}
    for key, value in sd.items():
        key = key.removeprefix("module.")
        for a, b in _RENAME.items():
            key = key.replace(a, b)
        if m := re.match(r".*sequential\.(\d+)\.", key):
            i = int(m.group(1))
            key = key.replace(f"sequential.{i}.", f"layers.{i // 3}.linear.")
        elif m := re.match(r".*_projection\.(\d+)\.", key):
            i = int(m.group(1))
            key = key.replace(f"_projection.{i}.", f"_projection.linear{1 if i == 0 else 2}.")
        if "qkv" in key:
            d = value.shape[0] // 3
            for j, name in enumerate(("query", "key", "value")):
                out[key.replace("qkv", name)] = value[j * d:(j + 1) * d]
        else:
            out[key] = value
    return out


def hf_to_laion_state_dict(hf_sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse renaming (``ClapModel`` -> original LAION layout): builds test fixtures in the real
    key layout and exports a ``ClapModel`` for tools that expect LAION checkpoints."""
    inverse = [(".attention.output.dense.", ".attn.proj."), (".attention.self.", ".attn."),
               (".intermediate.dense.", ".mlp.fc1."), (".output.dense.", ".mlp.fc2."),
               (".layernorm_before.", ".norm1."), (".layernorm_after.", ".norm2."), (".batch_norm.", ".bn0.")]
    out = {}
    for key, value in hf_sd.items():
        if key.endswith("token_type_ids") or key.endswith("position_ids"):
            continue
        if key.startswith(_A):
            if ".attention.self.key." in key or ".attention.self.value." in key:
                continue
            if ".attention.self.query." in key:
                value = torch.cat([value, hf_sd[key.replace(".query.", ".key.")],
                                   hf_sd[key.replace(".query.", ".value.")]])
                key = key.replace(".query.", ".qkv.")
            key = "audio_branch." + key[len(_A):]
            for a, b in inverse:
                key = key.replace(a, b)
        elif key.startswith("text_model."):
            key = "text_branch." + key[len("text_model."):]
        if m := re.match(r"(.*_projection)\.linear(\d)\.(.*)", key):
            key = f"{m.group(1)}.{0 if m.group(2) == '1' else 2}.{m.group(3)}"
        out["module." + key] = value
    # Real LAION checkpoints carry this buffer (older transformers made it persistent).
    positions = hf_sd["text_model.embeddings.position_embeddings.weight"].shape[0]
    out["module.text_branch.embeddings.position_ids"] = torch.arange(positions)[None]
    return out


def _max_index(sd: dict, pattern: str) -> int:
    found = [int(m.group(1)) for k in sd if (m := re.match(pattern, k))]
    if not found:
        raise CheckpointError(f"checkpoint has no keys matching {pattern!r}: not a LAION-CLAP HTSAT + RoBERTa model")
    return 1 + max(found)


def config_from_state_dict(sd: dict[str, torch.Tensor], text_heads: int | None = None):
    """``ClapConfig`` read from tensor shapes (the text head count is not inferable: ``hidden / 64``,
    which is 12 for roberta-base)."""
    from transformers import ClapConfig

    n_stages = _max_index(sd, rf"{re.escape(_A)}layers\.(\d+)\.")
    depths = [_max_index(sd, rf"{re.escape(_A)}layers\.{s}\.blocks\.(\d+)\.") for s in range(n_stages)]
    heads = [sd[f"{_A}layers.{i}.blocks.0.attention.self.relative_position_bias_table"].shape[1]
             for i in range(n_stages)]
    words = sd["text_model.embeddings.word_embeddings.weight"]
    text = dict(vocab_size=words.shape[0], hidden_size=words.shape[1],
                num_hidden_layers=_max_index(sd, r"text_model\.encoder\.layer\.(\d+)\."),
                num_attention_heads=text_heads or max(1, words.shape[1] // 64),
                intermediate_size=sd["text_model.encoder.layer.0.intermediate.dense.weight"].shape[0],
                max_position_embeddings=sd["text_model.embeddings.position_embeddings.weight"].shape[0],
                type_vocab_size=sd["text_model.embeddings.token_type_embeddings.weight"].shape[0],
                layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    audio = dict(patch_embeds_hidden_size=sd[f"{_A}patch_embed.proj.weight"].shape[0], depths=depths,
                 num_attention_heads=heads, hidden_size=sd["audio_projection.linear1.weight"].shape[1],
                 num_mel_bins=sd[f"{_A}batch_norm.weight"].shape[0], enable_fusion=False)
    projection = sd["audio_projection.linear2.weight"].shape[0]
    return ClapConfig(text_config=text, audio_config=audio, projection_dim=projection)


def load_laion_pt(path: str | Path, text_heads: int | None = None, trust_checkpoint: bool = False):
    """Original LAION ``.pt`` -> ``ClapModel`` (eval), refusing missing or unexpected keys."""
    from transformers import ClapModel

    sd = laion_to_hf_state_dict(state_dict_of(torch_load(path, trust_checkpoint), str(path), ("state_dict",)))
    try:
        model = ClapModel(config_from_state_dict(sd, text_heads)).eval()
    except KeyError as err:
        raise CheckpointError(f"{path}: not a LAION-CLAP checkpoint (no {err} tensor)") from None
    result = model.load_state_dict({k: v for k, v in sd.items() if not IGNORED.search(k)}, strict=False)
    check_keys(result.missing_keys, result.unexpected_keys, str(path), IGNORED)
    return model


class LaionClapEncoder(FrozenModule):
    """LAION-CLAP / ``ClapModel`` query encoder.

    Args:
        path: LAION ``.pt`` file or a ``ClapModel`` folder.
        tokenizer: roberta-base tokenizer folder (required for a ``.pt``; a folder's own tokenizer otherwise).
        trust_checkpoint: allow the pickle loader if ``weights_only=True`` cannot read the ``.pt``.
        text_heads: RoBERTa attention heads, if not ``hidden_size / 64``.
        quantize_int16: round-trip audio through int16 like ``laion_clap``'s numpy path (bit parity).
    """

    def __init__(self, path: str | Path, tokenizer: str | Path | None = None, trust_checkpoint: bool = False,
                 text_heads: int | None = None, quantize_int16: bool = False):
        super().__init__()
        set_hub_offline()
        from transformers import ClapFeatureExtractor, ClapModel, RobertaTokenizer

        path = require_file(path, "CLAP checkpoint")
        if path.is_dir():
            require_file(path / "config.json", "ClapModel config.json")
            self.model = ClapModel.from_pretrained(str(path), local_files_only=True).eval()
            self.name = f"hf-clap:{dir_sha256(path)[:16]}"
        else:
            if tokenizer is None:
                raise CheckpointError(f"{path}: a LAION .pt needs tokenizer=<folder with roberta-base "
                                      "vocab.json + merges.txt> (CLI: --tokenizer)")
            self.model = load_laion_pt(path, text_heads, trust_checkpoint)
            self.name = f"laion-clap:{file_sha256(path)[:16]}"
        tok_dir = require_file(tokenizer if tokenizer is not None else path, "tokenizer folder")
        self.tokenizer = RobertaTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
        check_tokenizer(self.tokenizer, self.model.config.text_config.vocab_size, str(tok_dir))
        audio_cfg = self.model.config.audio_config
        self.fusion = bool(audio_cfg.enable_fusion)
        # LAION's non-fusion front end (fmin 50 Hz); the crop is ours, so truncation never triggers.
        self.features = ClapFeatureExtractor(sampling_rate=48000, max_length_s=10, feature_size=audio_cfg.num_mel_bins,
                                             hop_length=480, fft_window_size=1024, frequency_min=50,
                                             frequency_max=14000, truncation="rand_trunc", padding="repeatpad")
        if path.is_dir() and (path / "preprocessor_config.json").exists():
            saved = ClapFeatureExtractor.from_pretrained(str(path), local_files_only=True)
            for attr in ("frequency_min", "frequency_max", "sampling_rate", "hop_length", "fft_window_size"):
                setattr(self.features, attr, getattr(saved, attr))
            self.features = ClapFeatureExtractor(**{**self.features.to_dict(), "truncation": "rand_trunc"})
        self.quantize_int16 = quantize_int16
        self.dim = int(self.model.config.projection_dim)
        self.sample_rate = int(self.features.sampling_rate)
        self.clip_samples = int(self.features.nb_max_samples)
        self.freeze()
        self.train(False)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=77, return_tensors="pt")
        out = self.model.get_text_features(input_ids=batch["input_ids"].to(self.device),
                                           attention_mask=batch["attention_mask"].to(self.device))
        return l2_normalise(pooled(out))

    @torch.no_grad()
    def audio_features(self, wav, sample_rate: int) -> torch.Tensor:
        wav = fit_length(as_batch(wav, sample_rate, self.sample_rate), self.clip_samples).cpu().numpy()
        if self.quantize_int16:
            wav = (np.clip(wav, -1, 1) * 32767).astype(np.int16).astype(np.float32) / 32767
        feats = self.features(list(wav), sampling_rate=self.sample_rate, return_tensors="pt")["input_features"]
        return feats[:, 0].to(self.device)  # [B, N, M]

    @torch.no_grad()
    def embed_features(self, features: torch.Tensor) -> torch.Tensor:
        x = features.to(self.device)[:, None]
        if self.fusion:  # fused checkpoints take [global, 3 local] mels; a clip <= 10 s repeats the global one
            x = x.repeat(1, 4, 1, 1)
        is_longer = torch.zeros(x.shape[0], 1, dtype=torch.bool, device=x.device)
        return l2_normalise(pooled(self.model.get_audio_features(input_features=x, is_longer=is_longer)))

    def embed_audio(self, wav, sample_rate: int) -> torch.Tensor:
        return self.embed_features(self.audio_features(wav, sample_rate))
