"""A long embedding pass (a whole audio-only pool) keeps its finished rows when it is killed."""

from __future__ import annotations

import pytest

from tqse.data.manifest import audio_cache_key, read_clips
from tqse.query import cache as cache_module
from tqse.query.builtin import ASSET_DIR
from tqse.query.cache import EmbeddingCache, build_cache
from tqse.query.hash_encoder import HashEncoder

FIXTURE = ASSET_DIR.parent / "fixture" / "clips.jsonl"


class DiesAfter(HashEncoder):
    """Embeds ``budget`` batches of audio, then fails like a killed process."""

    def __init__(self, budget: int):
        super().__init__(dim=8)
        self.budget = budget

    def embed_audio(self, wav, sample_rate):
        if self.budget == 0:
            raise KeyboardInterrupt
        self.budget -= 1
        return super().embed_audio(wav, sample_rate)


def test_a_killed_pass_keeps_flushed_rows_and_the_rerun_embeds_only_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "FLUSH_EVERY", 4)
    clips = read_clips(FIXTURE)
    with pytest.raises(KeyboardInterrupt):
        build_cache(DiesAfter(budget=5), clips, tmp_path, sample_rate=16000, crop_seconds=1.0, batch_size=2)
    kept = EmbeddingCache.open(tmp_path, DiesAfter(0).name)
    assert len(kept) == 8                       # two flushes of 4 survived the kill
    rerun = DiesAfter(budget=len(clips))
    full = build_cache(rerun, clips, tmp_path, sample_rate=16000, crop_seconds=1.0, batch_size=2)
    assert len(full) == len(clips) and all(full.has_audio(audio_cache_key(c, 1.0)) for c in clips)
    assert rerun.budget == len(clips) - 2       # only the 4 missing clips were embedded (2 batches)


def test_a_segment_of_a_long_corpus_recording_has_its_own_cache_row():
    from tqse.data.manifest import ClipRecord

    first = ClipRecord(path="a_0.flac", extra={"sha256": "f" * 64, "clip_sha256": "a" * 64})
    second = ClipRecord(path="a_1.flac", extra={"sha256": "f" * 64, "clip_sha256": "b" * 64})
    assert audio_cache_key(first, 4.0) != audio_cache_key(second, 4.0)
