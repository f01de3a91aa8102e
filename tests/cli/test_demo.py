"""The main job (`tqse demo`), shrunk: trains, scores, extracts an example, installs the default model."""

import json

import soundfile as sf

from tqse.cli import main
from tqse.data.locations import fixture_dir


def test_demo_trains_scores_and_installs_the_default_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TQSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TQSE_DATA", str(tmp_path / "no-corpus"))
    assert main(["demo", "--train", "--out", str(tmp_path / "demo"), "--steps", "3", "--preset", "tiny", "--encoder", "hash",
                 "--tier", "none"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["test_class_caption"]["count"] == 24
    assert (tmp_path / "home" / "models" / "demo" / "model.safetensors").exists()
    out = tmp_path / "bell.wav"
    assert main(["extract", str(fixture_dir() / "perc_bell.flac"), "-q", "a bell", "-o", str(out)]) == 0
    assert sf.info(str(out)).frames == sf.info(str(fixture_dir() / "perc_bell.flac")).frames


def test_default_data_is_a_built_corpus_else_the_fixture(tmp_path, monkeypatch):
    from tqse.data.locations import default_training_manifest
    from tqse.data.locations import fixture_manifest

    monkeypatch.setenv("TQSE_DATA", str(tmp_path))
    assert default_training_manifest() == fixture_manifest()
    corpus = tmp_path / "tiny"
    corpus.mkdir()
    (corpus / "clips.jsonl").write_text("")
    (corpus / "state.json").write_text(json.dumps({"stages": {"done": False}}))
    assert default_training_manifest() == fixture_manifest()  # a half-built corpus is not used
    (corpus / "state.json").write_text(json.dumps({"stages": {"done": True}}))
    assert default_training_manifest() == corpus / "clips.jsonl"


def test_eval_defaults_to_the_built_corpus_mixtures(tmp_path, monkeypatch, tiny_model, capsys):
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips
    from tqse.data.locations import fixture_manifest

    monkeypatch.setenv("TQSE_DATA", str(tmp_path))
    assert main(["eval", "--checkpoint", str(tiny_model), "--out", str(tmp_path / "e")]) == 2
    assert "nothing to evaluate" in capsys.readouterr().err
    corpus = tmp_path / "tiny"
    write_fixed_mixtures(read_clips(fixture_manifest(), split="test"), corpus / "mixtures", 2, segment_seconds=1.0)
    (corpus / "clips.jsonl").write_text("")
    (corpus / "state.json").write_text(json.dumps({"stages": {"done": True}}))
    assert main(["eval", "--checkpoint", str(tiny_model), "--out", str(tmp_path / "e"), "--no-progress"]) == 0
    assert (tmp_path / "e" / "test.json").exists() and not (tmp_path / "e" / "ood.json").exists()


def test_demo_shows_a_model_on_fixture_mixtures_and_writes_its_files(tmp_path, monkeypatch, tiny_model, capsys):
    monkeypatch.setenv("TQSE_DATA", str(tmp_path / "no-corpus"))  # no tiny tier: the CC0 fixture pairs
    out = tmp_path / "show"
    assert main(["demo", "--checkpoint", str(tiny_model), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "CC0 fixture" in printed and printed.count("dB SI-SDRi") == 4
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 4
    for folder in folders:
        mixture = sf.info(str(folder / "mixture.wav"))
        for kind in ("estimate", "reference"):
            info = sf.info(str(folder / f"{kind}.wav"))
            assert (info.frames, info.samplerate) == (mixture.frames, mixture.samplerate)
        assert (folder / "spectrograms.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
