"""``tqse prepare`` and ``tqse shards`` in-process."""

from __future__ import annotations

import argparse
import json

from tqse.commands import prepare
from tqse.data.manifest import read_clips
from tqse.data.locations import fixture_dir


def _run(argv):
    parser = argparse.ArgumentParser(prog="tqse")
    prepare.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_prepare_folder_then_shards_write_and_info(tmp_path, capsys):
    manifest = tmp_path / "fixture.jsonl"
    assert _run(["prepare", "folder", str(fixture_dir()), "--out", str(manifest), "--dataset", "cc0",
                 "--sha256", "--workers", "2"]) == 0
    assert "12 clips kept of 12" in capsys.readouterr().out
    clips = read_clips(manifest, split="train")  # the trainer's default data.split
    assert {c.dataset for c in clips} == {"cc0"} and all(len(c.embedding_key) == 64 for c in clips)
    assert all(not c.captions for c in clips)  # audio-only
    assert _run(["shards", "write", str(manifest), "--out", str(tmp_path / "sh"), "--clips-per-shard", "4"]) == 0
    capsys.readouterr()
    assert _run(["shards", "info", str(tmp_path / "sh" / "shards.json"), "--world-size", "3"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["clips"] == 12 and sorted(sum(info["order"].values(), [])) == [0, 1, 2]


def test_prepare_audiosep_json_and_vggsound(tmp_path, capsys):
    src = fixture_dir()
    (tmp_path / "d.json").write_text(json.dumps({"data": [{"wav": str(src / "perc_bell.flac"),
                                                           "caption": "a bell"}]}))
    assert _run(["prepare", "audiosep-json", str(tmp_path / "d.json"), "--out", str(tmp_path / "a.jsonl")]) == 0
    assert read_clips(tmp_path / "a.jsonl")[0].captions == ["a bell"]
    audio = tmp_path / "vgg"
    audio.mkdir()
    (audio / "aaaaaaaaaaa_000005.flac").write_bytes((src / "perc_bell.flac").read_bytes())
    (tmp_path / "v.csv").write_text("aaaaaaaaaaa,5,church bell ringing,train\n")
    assert _run(["prepare", "vggsound", "--csv", str(tmp_path / "v.csv"), "--audio", str(audio),
                 "--out", str(tmp_path / "v.jsonl")]) == 0
    clip = read_clips(tmp_path / "v.jsonl")[0]
    assert clip.label == "church bell ringing" and clip.captions == ["this is the sound of church bell ringing"]


def test_engine_mixes_from_a_prepared_manifest(tmp_path):
    from tqse.config import DataConfig
    from tqse.data.dataset import MixtureDataset

    _run(["prepare", "folder", str(fixture_dir()), "--out", str(tmp_path / "m.jsonl"), "--label-from-parent"])
    clips = read_clips(tmp_path / "m.jsonl", split="train")
    example = MixtureDataset(clips, DataConfig(segment_seconds=1.0, different_class=False), seed=0)[3]
    assert example.mixture.shape == example.target.shape == (32000,)
    assert example.clip.dataset == "folder"
