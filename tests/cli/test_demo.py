"""The main job (`tqse demo`), shrunk: trains, scores, extracts an example, installs the default model."""

import json
import sys
from pathlib import Path

import pytest
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


DEMO_FILES = ("mixture", "right_query", "wrong_query", "residual", "target", "interferer")
PINNED = Path(__file__).resolve().parents[1] / "fixtures" / "demo_pinned.json"


def test_demo_runs_the_demo_set_with_both_queries_and_writes_every_file(tmp_path, tiny_model, capsys, monkeypatch):
    """Issue 25: nine mixtures, the right and the wrong query each, scored and written with a page to listen;
    a model whose card has no scores is told so instead of a typical figure. `--open` opens the page, and
    where no browser can, says which file to open."""
    import webbrowser

    from tqse.data.demo_set import demo_mixtures

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda uri: opened.append(uri) and False)  # no browser here
    out = tmp_path / "show"
    assert main(["demo", "--checkpoint", str(tiny_model), "--out", str(out), "--open"]) == 0
    printed = capsys.readouterr().out
    assert opened == [(out / "index.html").resolve().as_uri()]
    assert printed.rstrip().endswith(f"no browser found here: open {out / 'index.html'} in one")
    items = demo_mixtures()
    assert 6 <= len(items) <= 10
    summary = json.loads((out / "summary.json").read_text())
    assert [r["id"] for r in summary["results"]] == [m.id for m in items]
    for item, row in zip(items, summary["results"]):
        assert f"{row['right']:+8.2f}" in printed and f"{row['wrong']:+8.2f}" in printed and row["meaning"] in printed
        assert repr(item.right_query) in printed and repr(item.wrong_query) in printed
        for kind in DEMO_FILES:
            info = sf.info(str(out / item.id / f"{kind}.wav"))
            assert (info.frames, info.samplerate) == (len(item.mixture), item.sample_rate)
        assert (out / item.id / "spectrograms.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "index.html").read_text()
    assert page.count("<audio") == len(DEMO_FILES) * len(items) and "http" not in page.replace("<!doctype html>", "")
    assert "card has no scores" in printed and f"Listen: {out / 'index.html'}" in printed


def test_the_meaning_line_says_when_the_model_does_badly_or_ignores_its_query():
    from tqse.data.demo_set import demo_mixtures
    from tqse.workflows.showcase import meaning

    dog = next(m for m in demo_mixtures() if m.id == "dog-in-street")
    assert meaning(dog, 7.04, -11.2) == ("The dog is 7.0 dB clearer than in the mixture; asked for the traffic "
                                         "instead, it removes the dog (-11.2 dB).")
    assert meaning(dog, -2.0, -2.5).startswith("The model does badly here: the dog comes out worse")
    assert "does not follow the query" in meaning(dog, 4.0, 3.0)
    assert "mixes the two queries up" in meaning(dog, -4.0, 2.0)
    bells = next(m for m in demo_mixtures() if m.target_name == "the bells")
    assert meaning(bells, 2.0, -9.0).startswith("The bells are only a little clearer")


def test_the_expectation_comes_from_the_cards_unseen_source_score_or_says_there_is_none():
    from tqse.models.model_dir import read_model_config
    from tqse.models.pretrained import shipped_model_dir
    from tqse.workflows.showcase import expectation

    config = read_model_config(shipped_model_dir())
    ood = config["scores"]["ood"]
    without_unseen = config | {"scores": {k: v for k, v in config["scores"].items() if k != "unseen"}}
    text = expectation(without_unseen)
    assert f"{ood['caption']['si_sdri']:+.2f} dB SI-SDRi with natural captions" in text
    assert f"{ood['class_caption']['si_sdri']:+.2f} dB with class templates" in text and "(`ood`)" in text
    # a card with a pool `unseen` set (the shipped v3's): that one is quoted
    unseen = {"caption": {"si_sdri": 1.23, "count": 317}, "class_caption": {"si_sdri": 4.56, "count": 317},
              "snr_db": [-5, 5]}
    assert "+1.23 dB" in expectation(config | {"scores": config["scores"] | {"unseen": unseen}})
    assert "(`unseen`)" in expectation(config | {"scores": config["scores"] | {"unseen": unseen}})
    only_test = config | {"scores": {"test": config["scores"]["test"]}}
    assert "no score on sources it never trained on" in expectation(only_test)


def shipped_model_demo_scores() -> tuple[str, dict[str, dict[str, float]]]:
    from tqse.extract import Extractor
    from tqse.models.pretrained import shipped_model_dir
    from tqse.data.demo_set import demo_mixtures
    from tqse.workflows.showcase import score_mixture

    extractor = Extractor.from_pretrained(shipped_model_dir(), device="cpu")
    scores = {m.id: {k: round(v, 3) for k, v in score_mixture(extractor, m)[0].items()} for m in demo_mixtures()}
    return extractor.config["name"], scores


def test_the_shipped_model_follows_its_query_on_the_demo_set_pinned():
    """With the shipped model the right query beats the wrong one on most mixtures, and every score is pinned.
    A new default model re-pins: `PYTHONPATH=src python tests/cli/test_demo.py --pin`."""
    pinned = json.loads(PINNED.read_text())
    name, scores = shipped_model_demo_scores()
    assert name == pinned["model"], "a new default model: re-pin tests/fixtures/demo_pinned.json (see docstring)"
    assert sum(s["right"] > s["wrong"] for s in scores.values()) >= 0.75 * len(scores)
    for mixture, expected in pinned["scores"].items():
        for kind, value in expected.items():
            assert scores[mixture][kind] == pytest.approx(value, abs=0.05), (mixture, kind)


if __name__ == "__main__" and sys.argv[1:] == ["--pin"]:
    model, found = shipped_model_demo_scores()
    PINNED.write_text(json.dumps({"model": model, "scores": found}, indent=1) + "\n")
