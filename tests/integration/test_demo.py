"""The main job (`tqse demo`), shrunk: trains, scores, extracts an example, installs the default model."""

import json

import soundfile as sf

from tqse.cli import main
from tqse.testing import fixture_dir


def test_demo_trains_scores_and_installs_the_default_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TQSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TQSE_DATA", str(tmp_path / "no-corpus"))
    assert main(["demo", "--out", str(tmp_path / "demo"), "--steps", "3", "--preset", "tiny", "--encoder", "hash",
                 "--tier", "none"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["test_class_caption"]["count"] == 24
    assert (tmp_path / "home" / "models" / "demo" / "model.safetensors").exists()
    out = tmp_path / "bell.wav"
    assert main(["extract", str(fixture_dir() / "perc_bell.flac"), "-q", "a bell", "-o", str(out)]) == 0
    assert sf.info(str(out)).frames == sf.info(str(fixture_dir() / "perc_bell.flac")).frames


def test_default_data_is_a_built_corpus_else_the_fixture(tmp_path, monkeypatch):
    from tqse.data.defaults import default_training_manifest
    from tqse.testing import fixture_manifest

    monkeypatch.setenv("TQSE_DATA", str(tmp_path))
    assert default_training_manifest() == fixture_manifest()
    corpus = tmp_path / "tiny"
    corpus.mkdir()
    (corpus / "clips.jsonl").write_text("")
    (corpus / "state.json").write_text(json.dumps({"stages": {"done": False}}))
    assert default_training_manifest() == fixture_manifest()  # a half-built corpus is not used
    (corpus / "state.json").write_text(json.dumps({"stages": {"done": True}}))
    assert default_training_manifest() == corpus / "clips.jsonl"
