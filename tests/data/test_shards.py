"""Tar shards (WebDataset layout): round trip, deterministic per-rank order, exact resumption."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
import torch

from tqse.audio.io import load_audio
from tqse.data.manifest import ManifestError, read_clips
from tqse.workflows.bench import measure_shard_read
from tqse.data.shards import INDEX_NAME, ShardStream, iter_clips, shard_order, write_shards
from tqse.data.locations import fixture_manifest


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    write_shards(read_clips(fixture_manifest()), out, clips_per_shard=3)
    return out


def _keys(stream):
    return (record.path.rsplit("#", 1)[1] for record, _, _ in stream)  # lazy: streams may be infinite


def test_round_trip_keeps_audio_and_metadata(shard_dir):
    clips = read_clips(fixture_manifest())
    index = shard_dir / INDEX_NAME
    got = list(iter_clips(index, shuffle=False))
    assert len(got) == len(clips) == 12
    for clip, (record, wav, sr) in zip(clips, got):
        ref, ref_sr = load_audio(clip.path)
        assert sr == ref_sr and np.array_equal(wav, ref)
        assert record.captions == clip.captions and record.label == clip.label
        assert record.frames == ref.shape[0] and record.extra["split"] == clip.extra["split"]
    with tarfile.open(shard_dir / "shard-000000.tar") as tar:  # WebDataset: key.ext pairs, in order
        assert tar.getnames() == ["000000000.flac", "000000000.json", "000000001.flac", "000000001.json",
                                  "000000002.flac", "000000002.json"]


def test_shard_order_is_deterministic_disjoint_and_complete():
    parts = [shard_order(10, seed=3, epoch=1, rank=r, world_size=2, worker=w, num_workers=2)
             for r in range(2) for w in range(2)]
    assert sorted(i for p in parts for i in p) == list(range(10))
    assert parts[0] == shard_order(10, seed=3, epoch=1, rank=0, world_size=2, worker=0, num_workers=2)
    assert parts[0] != shard_order(10, seed=3, epoch=2, rank=0, world_size=2, worker=0, num_workers=2)
    with pytest.raises(ManifestError, match="at least 8 shards"):
        shard_order(4, seed=0, epoch=0, world_size=4, num_workers=2)


def test_ranks_read_disjoint_clips_covering_the_set(shard_dir):
    keys = [list(_keys(ShardStream(shard_dir / INDEX_NAME, seed=1, rank=r, world_size=2))) for r in range(2)]
    assert not set(keys[0]) & set(keys[1]) and len(keys[0]) + len(keys[1]) == 12


@pytest.mark.parametrize("shuffle_buffer", [0, 4])
def test_resume_continues_exactly_across_epochs(shard_dir, shuffle_buffer):
    def stream():
        return ShardStream(shard_dir / INDEX_NAME, seed=7, shuffle_buffer=shuffle_buffer, infinite=True)

    full = []
    for key in _keys(stream()):
        full.append(key)
        if len(full) == 30:  # 2.5 epochs of 12
            break
    resumed = stream()
    resumed.set_start(batches_done=9, batch_size=2)  # 18 clips consumed: 1.5 epochs
    tail = []
    for key in _keys(resumed):
        tail.append(key)
        if len(tail) == 12:
            break
    assert tail == full[18:30]
    assert full[:12] != full[12:24] and sorted(full[:12]) == sorted(full[12:24])  # reshuffled per epoch


def test_resume_with_dataloader_workers(shard_dir):
    def loader(start):
        ds = ShardStream(shard_dir / INDEX_NAME, seed=2, infinite=True)
        ds.set_start(start, batch_size=2)
        return torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2,
                                           collate_fn=lambda b: [r.path for r, _, _ in b])

    full = []
    for batch in loader(0):
        full.append(batch)
        if len(full) == 10:
            break
    tail = []
    for batch in loader(5):
        tail.append(batch)
        if len(tail) == 5:
            break
    assert tail == full[5:10]


def test_min_seconds_pipe_urls_and_resumable_writing(tmp_path, shard_dir):
    durations = [r.frames / r.sample_rate for r, _, _ in iter_clips(shard_dir / INDEX_NAME, shuffle=False)]
    limit = sorted(durations)[3]
    kept = list(iter_clips(shard_dir / INDEX_NAME, shuffle=False, min_seconds=limit))
    assert len(kept) == sum(d >= limit for d in durations)
    piped = ShardStream(shard_dir / INDEX_NAME, url_template=f"pipe:cat {shard_dir}/{{name}}", shuffle=False)
    assert len(list(piped)) == 12
    out = tmp_path / "w"
    write_shards(read_clips(fixture_manifest()), out, clips_per_shard=5, sample_rate=16000)
    first = (out / "shard-000000.tar").stat().st_mtime_ns
    (out / "shard-000002.tar").unlink()
    index = write_shards(read_clips(fixture_manifest()), out, clips_per_shard=5, sample_rate=16000)
    assert (out / "shard-000000.tar").stat().st_mtime_ns == first  # finished shards are not rewritten
    assert (out / "shard-000002.tar").exists() and index["total"] == 12
    assert {sr for _, _, sr in iter_clips(out / INDEX_NAME)} == {16000}


def test_unreadable_clips_are_skipped_and_counted(tmp_path):
    clips = read_clips(fixture_manifest())[:3]
    clips[1].path = str(tmp_path / "gone.flac")
    index = write_shards(clips, tmp_path / "s", clips_per_shard=2)
    assert index["total"] == 2 and index["skipped"] == {"unreadable": 1}


def test_measure_shard_read_reports_positive_throughput(tmp_path):
    numbers = measure_shard_read(tmp_path, n_clips=4, seconds=0.2, clip_seconds=1.0)
    assert numbers["shard_read_clips_per_s_per_core"] > 0 and numbers["manifest_build_clips_per_s_per_core"] > 0
