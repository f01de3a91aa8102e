"""An encoder with the same audio side (built-in version 2 over version 1) reuses the cached audio embeddings."""

from __future__ import annotations

import numpy as np

from tqse.data.manifest import read_clips
from tqse.query.builtin import ASSET_DIR
from tqse.query.cache import EmbeddingCache, build_cache, share_audio
from tqse.query.hash_encoder import HashEncoder

FIXTURE = ASSET_DIR.parent / "fixture" / "clips.jsonl"


class TextSide(HashEncoder):
    """Same audio as the base hash encoder, another text side, and it must never run its audio tower."""

    def __init__(self, base: HashEncoder):
        super().__init__(dim=base.dim)
        self.audio_name, self.name = base.name, base.name + "-text2"

    def embed_text(self, texts):
        return -super().embed_text(texts)

    def embed_audio(self, wav, sample_rate):
        raise AssertionError("the shared audio embeddings should have been used")


def test_audio_rows_are_shared_and_captions_are_the_new_encoders(tmp_path):
    clips = read_clips(FIXTURE)
    base = HashEncoder(dim=16)
    build_cache(base, clips, tmp_path, 32000, 4.0)
    other = TextSide(base)
    assert share_audio(tmp_path, other) == len(EmbeddingCache.open(tmp_path, base.name))
    assert share_audio(tmp_path, other) == 0  # already there
    cache = build_cache(other, clips, tmp_path, 32000, 4.0)  # embeds only the captions
    keys = list(cache._audio.keys)
    assert np.array_equal(cache.audio(keys).numpy(), EmbeddingCache.open(tmp_path, base.name).audio(keys).numpy())
    caption = clips[0].captions[0]
    assert np.allclose(cache.text([caption]).numpy(), other.embed_text([caption]).numpy())
    assert share_audio(tmp_path, base) == 0  # an encoder that shares nothing


def test_building_a_cache_for_a_text_side_version_shares_without_being_asked(tmp_path):
    clips = read_clips(FIXTURE)
    base = HashEncoder(dim=16)
    build_cache(base, clips, tmp_path, 32000, 4.0)
    cache = build_cache(TextSide(base), clips, tmp_path, 32000, 4.0)  # TextSide's audio tower would raise
    assert len(cache) == len(EmbeddingCache.open(tmp_path, base.name))
