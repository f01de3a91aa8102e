"""Embedding cache: values equal the encoder's, keys follow content + crop, rebuilding is incremental."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from tqse.audio.io import load_audio
from tqse.data.manifest import read_clips
from tqse.errors import QueryError
from tqse.query.builtin import ASSET_DIR
from tqse.query.cache import EmbeddingCache, audio_cache_key, build_cache, crop_clip
from tqse.query.hash_encoder import HashEncoder

FIXTURE = ASSET_DIR.parent / "fixture" / "clips.jsonl"


class CountingEncoder(HashEncoder):
    def __init__(self):
        super().__init__(dim=16)
        self.audio_calls = 0

    def embed_audio(self, wav, sample_rate):
        self.audio_calls += len(wav)
        return super().embed_audio(wav, sample_rate)


def test_cache_holds_the_embeddings_of_the_deterministic_crop(tmp_path):
    encoder, clips = CountingEncoder(), read_clips(FIXTURE)
    cache = build_cache(encoder, clips, tmp_path, sample_rate=32000, crop_seconds=2.0, batch_size=5)
    keys = [audio_cache_key(c, 2.0) for c in clips]
    assert all(cache.has_audio(k) for k in keys) and len(cache) == len(clips)
    wav = crop_clip(load_audio(clips[3].path, 32000)[0], 32000, 2.0)
    assert torch.allclose(cache.audio([keys[3]])[0], encoder.embed_audio(wav[None], 32000)[0], atol=1e-6)
    caption = clips[5].captions[-1]
    assert cache.has_text(caption)
    assert torch.allclose(cache.text([caption]), encoder.embed_text([caption]), atol=1e-6)


def test_a_cache_folder_under_home_written_as_tilde_lands_there_not_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    cache = build_cache(HashEncoder(dim=16), read_clips(FIXTURE)[:2], "~/emb", 32000, 2.0)
    assert cache.folder.parent == tmp_path / "home" / "emb" and len(cache) == 2
    assert not (tmp_path / "~").exists()


def test_rebuild_is_incremental_and_keys_depend_on_crop_and_content(tmp_path):
    clips = read_clips(FIXTURE)
    build_cache(CountingEncoder(), clips[:6], tmp_path, 32000, 2.0)
    again = CountingEncoder()
    cache = build_cache(again, clips, tmp_path, 32000, 2.0)
    assert again.audio_calls == len(clips) - 6 and len(cache) == len(clips)
    assert audio_cache_key(clips[0], 2.0) != audio_cache_key(clips[0], 4.0)
    assert audio_cache_key(clips[0], None) != audio_cache_key(clips[1], None)
    copy = tmp_path / "copy.flac"
    shutil.copy(clips[0].path, copy)  # same bytes elsewhere -> same key (content, not path)
    moved = read_clips(FIXTURE)[0]
    moved.path = str(copy)
    assert audio_cache_key(moved, 2.0) == audio_cache_key(clips[0], 2.0)
    moved.extra["sha256"] = "ab" * 32  # a manifest digest is trusted and saves reading the file
    assert audio_cache_key(moved, 2.0).startswith("ab" * 16)


def test_open_is_memory_mapped_and_errors_are_clear(tmp_path):
    encoder, clips = CountingEncoder(), read_clips(FIXTURE)
    build_cache(encoder, clips, tmp_path, 32000, None)
    cache = EmbeddingCache.open(tmp_path, encoder.name)
    assert isinstance(cache._audio.array, np.memmap)
    with pytest.raises(QueryError, match="tqse embed"):
        cache.audio(["not-a-key"])
    with pytest.raises(QueryError, match="no embedding cache"):
        EmbeddingCache.open(tmp_path, "builtin:0000")
    meta = next(tmp_path.glob("*/meta.json"))
    meta.write_text(json.dumps({"encoder": "other"}))
    with pytest.raises(QueryError, match="built for encoder 'other'"):
        EmbeddingCache.open(tmp_path, encoder.name)
