"""Dataset readers on tiny imitations of each dataset's on-disk format, and the manifest builder."""

from __future__ import annotations

import hashlib
import json

import pytest

from tqse.audio.io import save_audio
from tqse.data.manifest import ManifestError, read_clips
from tqse.data.readers import (audiocaps_candidates, audiosep_json_candidates, build_manifest,
                               clotho_candidates, folder_candidates, read_audioset_ids, vggsound_candidates)
from helpers import tone


def _wav(path, seconds=1.5, rate=32000, freq=440.0):
    save_audio(path, tone(freq, seconds, rate), rate)
    return path


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_audiocaps_groups_captions_finds_file_names_and_counts_missing(tmp_path):
    audio = tmp_path / "audio"
    _wav(audio / "sub" / "Yabcdefghijk.wav")             # AudioSet-style Y prefix
    _wav(audio / "bbbbbbbbbbb_30.flac", rate=16000)      # {id}_{start}
    (tmp_path / "test.csv").write_text(
        "audiocap_id,youtube_id,start_time,caption\n"
        "1,abcdefghijk,0,A man speaks\n2,abcdefghijk,0,\"Someone talks, then stops\"\n"
        "3,bbbbbbbbbbb,30,Rain falls\n4,ccccccccccc,10,A missing clip\n")
    rows = audiocaps_candidates(tmp_path / "test.csv", audio, split="test")
    report = build_manifest(rows, tmp_path / "m.jsonl", dataset="audiocaps", workers=2)
    assert report.kept == 2 and report.skipped["missing"] == 1
    lines = _lines(tmp_path / "m.jsonl")
    assert lines[0]["captions"] == ["A man speaks", "Someone talks, then stops"]
    assert lines[0]["path"] == "audio/sub/Yabcdefghijk.wav" and lines[0]["dataset"] == "audiocaps"
    assert lines[1]["caption"] == "Rain falls" and (lines[1]["frames"], lines[1]["sample_rate"]) == (24000, 16000)
    clips = read_clips(tmp_path / "m.jsonl")  # the engine reads what the reader wrote
    assert clips[0].captions[1] == "Someone talks, then stops" and clips[1].dataset == "audiocaps"
    (tmp_path / "bad.csv").write_text("youtube_id,caption\nx,y\n")
    with pytest.raises(ManifestError, match="bad.csv:1"):
        audiocaps_candidates(tmp_path / "bad.csv", audio)


def test_clotho_keeps_five_captions_and_skips_short_clips(tmp_path):
    _wav(tmp_path / "dev" / "Santa Motor.wav", seconds=2.0)
    _wav(tmp_path / "dev" / "short one.wav", seconds=0.3)
    header = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
    caps = ",".join(f"\"caption {k}, long\"" for k in range(1, 6))
    (tmp_path / "c.csv").write_text(header + f"Santa Motor.wav,{caps}\nshort one.wav,{caps}\n")
    report = build_manifest(clotho_candidates(tmp_path / "c.csv", tmp_path / "dev"), tmp_path / "c.jsonl",
                            dataset="clotho", min_seconds=1.0)
    assert report.kept == 1 and report.skipped["too_short"] == 1
    assert _lines(tmp_path / "c.jsonl")[0]["captions"] == [f"caption {k}, long" for k in range(1, 6)]


def test_vggsound_class_caption_split_filter_and_audioset_exclusion(tmp_path):
    audio = tmp_path / "vgg"
    for yid in ("aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"):
        _wav(audio / f"{yid}_000030.flac")
    (tmp_path / "vggsound.csv").write_text(
        "aaaaaaaaaaa,30,dog barking,train\nbbbbbbbbbbb,30,\"playing piano, jazz\",train\n"
        "ccccccccccc,30,rain,test\n")
    (tmp_path / "audioset.csv").write_text("# YTID, start_seconds, end_seconds, positive_labels\n"
                                           "Ybbbbbbbbbbb, 30.000, 40.000, \"/m/05r5c\"\n")
    ids = read_audioset_ids(tmp_path / "audioset.csv")
    assert ids == {"bbbbbbbbbbb"}
    rows, removed = vggsound_candidates(tmp_path / "vggsound.csv", audio, split="train", audioset_ids=ids)
    assert removed == 1 and len(rows) == 1
    build_manifest(rows, tmp_path / "v.jsonl", dataset="vggsound")
    line = _lines(tmp_path / "v.jsonl")[0]
    assert line["class"] == "dog barking" and line["caption"] == "this is the sound of dog barking"
    all_rows, _ = vggsound_candidates(tmp_path / "vggsound.csv", audio, split=None)
    assert [r["class"] for r in all_rows] == ["dog barking", "playing piano, jazz", "rain"]


def test_folder_is_recursive_mixed_format_and_survives_bad_files(tmp_path):
    root = tmp_path / "any"
    _wav(root / "a" / "b" / "one.flac", rate=44100)
    _wav(root / "two.wav", rate=16000)
    _wav(root / "a" / "three.ogg", rate=48000)
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00garbage")
    (root / "empty.mp3").write_bytes(b"")
    (root / "notes.txt").write_text("not audio")
    rows = folder_candidates(root)
    assert len(rows) == 5
    report = build_manifest(rows, tmp_path / "f.jsonl", dataset="extra", workers=3)
    assert report.kept == 3 and report.skipped["unreadable"] == 2
    lines = _lines(tmp_path / "f.jsonl")
    assert all("caption" not in x and "captions" not in x for x in lines)
    assert sorted(x["sample_rate"] for x in lines) == [16000, 44100, 48000]
    labelled = folder_candidates(root, label_from_parent=True)
    assert {r.get("class") for r in labelled} == {None, "a", "b"}


def test_audiosep_json_paths_relative_to_the_datafile(tmp_path):
    _wav(tmp_path / "wavs" / "x.wav")
    (tmp_path / "d.json").write_text(json.dumps({"data": [{"wav": "wavs/x.wav", "caption": "a tone"},
                                                          {"wav": str(tmp_path / "nope.wav"), "caption": "gone"}]}))
    report = build_manifest(audiosep_json_candidates(tmp_path / "d.json"), tmp_path / "a.jsonl", dataset="wavcaps")
    assert report.kept == 1 and report.skipped["missing"] == 1
    assert _lines(tmp_path / "a.jsonl")[0] == {"path": "wavs/x.wav", "caption": "a tone", "split": "train",
                                               "frames": 48000, "sample_rate": 32000, "dataset": "wavcaps"}
    assert len(read_clips(tmp_path / "a.jsonl", split="train")) == 1  # what training keeps by default
    (tmp_path / "bad.json").write_text(json.dumps([{"wav": "x"}]))
    with pytest.raises(ManifestError, match="'data' list"):
        audiosep_json_candidates(tmp_path / "bad.json")


def test_build_resumes_from_partial_decisions_and_hashes_content(tmp_path):
    paths = [_wav(tmp_path / "a" / f"{i}.wav", freq=200.0 + 50 * i) for i in range(4)]
    rows = [{"path": str(p)} for p in paths]
    # an interrupted run recorded a decision for clip 0 (deliberately different from what a fresh check
    # gives, to prove it is reused rather than recomputed) plus a half-written line
    partial = tmp_path / "m.jsonl.partial"
    partial.write_text(json.dumps({"_skip": "too_short", "_key": str(paths[0])}) + "\n{\"path\": \"trunc")
    report = build_manifest(rows, tmp_path / "m.jsonl", dataset="x", sha256=True)
    assert report.resumed == 1 and report.skipped["too_short"] == 1 and report.kept == 3
    assert not partial.exists()
    lines = _lines(tmp_path / "m.jsonl")
    assert [x["path"] for x in lines] == ["a/1.wav", "a/2.wav", "a/3.wav"]  # candidate order kept
    assert lines[0]["embedding_key"] == hashlib.sha256(paths[1].read_bytes()).hexdigest()
    fresh = build_manifest(rows, tmp_path / "m.jsonl", dataset="x", resume=False)
    assert fresh.kept == 4
    with pytest.raises(ManifestError, match="no usable clips"):
        build_manifest([{"path": str(tmp_path / "nothing.wav")}], tmp_path / "e.jsonl", dataset="x")
