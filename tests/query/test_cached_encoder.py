"""Queries from the embedding cache alone (`tqse train --queries-from-cache`): no encoder weights needed."""

import pytest
import torch

from tqse.errors import QueryError
from tqse.query.cache import CachedEncoder, EmbeddingCache, audio_cache_key, build_cache


@pytest.fixture
def cache_dir(tmp_path, fixture_clips, hash_encoder):
    build_cache(hash_encoder, fixture_clips[:3], tmp_path / "cache", 16000, 1.0, captions=["a dog barks"])
    return tmp_path / "cache"


def test_cached_encoder_answers_text_from_the_cache_and_refuses_audio(cache_dir, hash_encoder):
    encoder = CachedEncoder.open(cache_dir)
    assert encoder.name == hash_encoder.name and encoder.dim == hash_encoder.dim
    torch.testing.assert_close(encoder.embed_text(["a dog barks"]), hash_encoder.embed_text(["a dog barks"]))
    with pytest.raises(QueryError, match="not in the embedding cache"):
        encoder.embed_text(["never embedded"])
    with pytest.raises(QueryError, match="cache only"):
        encoder.embed_audio(torch.zeros(1, 16000), 16000)


def test_cached_encoder_needs_exactly_one_encoder_in_the_folder(tmp_path):
    with pytest.raises(QueryError, match="found 0"):
        CachedEncoder.open(tmp_path)


def test_subset_copies_held_rows_and_names_the_missing_ones(cache_dir, fixture_clips, tmp_path, hash_encoder):
    source = EmbeddingCache.open(cache_dir, hash_encoder.name)
    keys = [audio_cache_key(c, 1.0) for c in fixture_clips[:4]]
    lost_keys, lost_texts = source.subset(tmp_path / "small", keys[1:], ["a dog barks", "unknown"])
    assert lost_keys == keys[3:] and lost_texts == ["unknown"]
    small = EmbeddingCache.open(tmp_path / "small", hash_encoder.name)
    assert len(small) == 2 and small.has_text("a dog barks")
    torch.testing.assert_close(small.audio(keys[1:3]), source.audio(keys[1:3]))
