"""End-to-end build on a fake package made of the committed fixture (the fetch layer is mocked)."""

import json
import time

import numpy as np
import pytest

from tqse.audio.io import audio_info, load_audio
from tqse.data.corpus import build_corpus, credits_text, ensure_corpus
from tqse.data.manifest import iter_jsonl, read_clips, read_mixtures

from corpus_fakes import SMALL, check_splits


def _build(out, fake_apt, **kw):
    return build_corpus("tiny", out, clip_seconds=3.0, seed=0, cache=out.parent / "cache", fetcher=fake_apt,
                        spec_overrides=SMALL, **kw)


def _rows(path):
    return [obj for _, obj in iter_jsonl(path)]


# the fixture's file names mapped onto target classes with three recording groups each
RULES = [(r"/guit_", "acoustic guitar", "a guitar"), (r"/loop_", "drums", "a drum loop"),
         (r"/(perc_bell|ambi_glass)", "bell", "a bell"), (r"/(ambi_|bass_)", "ambience", "a drone")]


@pytest.fixture
def built(tmp_path, fake_apt, monkeypatch):
    from tqse.data.corpus import taxonomy

    monkeypatch.setitem(taxonomy.RULES, "sonic-pi-samples", RULES)
    out = tmp_path / "corpus"
    return _build(out, fake_apt), fake_apt


def test_build_writes_the_documented_layout(built):
    clips_path, _ = built
    root = clips_path.parent
    rows = _rows(clips_path)
    every = rows + _rows(root / "interferers.jsonl")
    assert len({r["path"] for r in every}) == len(every)          # one file per clip line
    assert rows and {"path", "class", "captions", "split", "source", "recording_group", "licence"} <= set(rows[0])
    for r in rows:
        info = audio_info(root / r["path"])
        assert info.sample_rate == 32000 and info.frames == 3 * 32000 and info.channels == 1
        assert r["captions"][0] == f"this is the sound of {r['class']}"
        assert r["source"].startswith("sonic-pi-samples 1.0-1")
    # the per-file stanza of the copyright file gives loop_amen its own licence and credit
    amen = [r for r in rows if r["original"].endswith("/loop_amen.flac")]
    assert amen and amen[0]["licence"] == "CC0" and "Dolfeus" in amen[0]["credit"]
    assert read_clips(clips_path)              # the shared manifest reader accepts it
    for split in ("val", "test"):
        mixes = read_mixtures(root / "mixtures" / f"{split}.jsonl")
        for m in mixes:
            mix, _ = load_audio(m.mixture, 32000)
            tgt, _ = load_audio(m.target, 32000)
            itf, _ = load_audio(m.interferer, 32000, allow_silent=True)
            assert np.allclose(mix, tgt + itf, atol=3e-4)         # 16-bit FLAC rounding only
            assert m.class_caption == f"this is the sound of {m.label}" and m.caption
    stats = json.loads((root / "stats.json").read_text())
    assert stats["n_classes"] == len({r["class"] for r in rows})


def test_duplicates_are_grouped_and_never_split(built):
    clips_path, _ = built
    rows = _rows(clips_path) + _rows(clips_path.parent / "interferers.jsonl")
    assert check_splits(rows, set()) == []
    # every fixture file ships twice (gain-changed copy): one copy becomes clips, the other is a duplicate
    originals = {r["original"] for r in rows}
    assert not any(o.endswith("_2.flac") and o.replace("_2.flac", ".flac") in originals for o in originals)
    assert all(r["duplicates"] for r in rows if "/alt/" not in r["original"])
    assert not any(r["duplicates"] for r in rows if "/alt/" in r["original"])     # reversed: not a copy


def test_second_build_is_a_noop(built, tmp_path):
    clips_path, fake_apt = built
    before = {p: p.stat().st_mtime_ns for p in clips_path.parent.rglob("*.flac")}
    manifest = clips_path.read_bytes()
    t = time.time()
    assert _build(clips_path.parent, fake_apt) == clips_path
    assert time.time() - t < 5
    assert clips_path.read_bytes() == manifest
    assert {p: p.stat().st_mtime_ns for p in clips_path.parent.rglob("*.flac")} == before
    assert ensure_corpus("tiny", clips_path.parent) == clips_path


def test_killed_build_resumes_to_the_same_result(built):
    clips_path, fake_apt = built
    root = clips_path.parent
    manifest = clips_path.read_text()
    # simulate a kill during clip writing: last part and every later output gone, state not done
    state = json.loads((root / "state.json").read_text())
    state["stages"] = {"scan": True}
    (root / "state.json").write_text(json.dumps(state))
    parts = sorted((root / "work" / "parts").glob("sfx_*.jsonl"))
    parts[-1].unlink()
    (root / "clips.jsonl").unlink()
    for m in (root / "mixtures" / "test").glob("*.flac"):
        m.unlink()
    assert _build(root, fake_apt) == clips_path
    assert clips_path.read_text() == manifest


def test_a_new_package_version_rebuilds(built, caplog):
    clips_path, fake_apt = built
    fake_apt.version = "2.0-1"
    with caplog.at_level("INFO"):
        _build(clips_path.parent, fake_apt)
    assert "versions changed" in caplog.text
    assert all(r["source"] == "sonic-pi-samples 2.0-1" for r in _rows(clips_path))


def test_credits_and_cli(built, capsys):
    import argparse

    from tqse.commands import corpus

    clips_path, _ = built
    assert "sonic-pi-samples 1.0-1" in credits_text(clips_path.parent)
    parser = argparse.ArgumentParser()
    corpus.register(parser.add_subparsers())
    args = parser.parse_args(["corpus", "credits", "--out", str(clips_path.parent)])
    assert args.func(args) == 0
    assert "licence: MIT AND CC0" in capsys.readouterr().out
    args = parser.parse_args(["corpus", "audit", "--out", str(clips_path.parent), "--per-class", "1", "--no-png"])
    assert args.func(args) == 0
    assert "flagged" in capsys.readouterr().out


def test_a_new_seed_rewrites_mixtures_instead_of_reusing_files(built, fake_apt):
    clips_path, _ = built
    root = clips_path.parent
    before = {m.mixture: m.target for m in read_mixtures(root / "mixtures" / "test.jsonl")}
    build_corpus("tiny", root, clip_seconds=3.0, seed=7, cache=root.parent / "cache", fetcher=fake_apt,
                 spec_overrides=SMALL)
    for m in read_mixtures(root / "mixtures" / "test.jsonl"):
        mix, _ = load_audio(m.mixture, 32000)
        tgt, _ = load_audio(m.target, 32000)
        itf, _ = load_audio(m.interferer, 32000, allow_silent=True)
        assert np.allclose(mix, tgt + itf, atol=3e-4)
        ref, _ = load_audio(root / "mixtures" / m.extra["target_clip"], 32000)
        scale = float(np.dot(tgt, ref) / np.dot(ref, ref))
        assert np.allclose(tgt, scale * ref, atol=3e-4)          # the target really is that clip
    assert before


def test_a_full_disk_stops_with_one_line_and_the_build_resumes(tmp_path, fake_apt, monkeypatch):
    import errno

    from tqse.data.corpus import build, taxonomy
    from tqse.errors import CorpusError, TqseError

    monkeypatch.setitem(taxonomy.RULES, "sonic-pi-samples", RULES)
    real_save, calls = build.save_audio, []

    def fills_up(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 6:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(build, "save_audio", fills_up)
    out = tmp_path / "corpus"
    with pytest.raises(CorpusError, match="no space left on the disk .* run the same command again") as caught:
        _build(out, fake_apt)
    assert isinstance(caught.value, TqseError) and "\n" not in str(caught.value)
    monkeypatch.setattr(build, "save_audio", real_save)
    resumed = _build(out, fake_apt)
    straight = _build(tmp_path / "straight", fake_apt)
    assert resumed.read_text().replace(str(out), "") == straight.read_text().replace(str(tmp_path / "straight"), "")
