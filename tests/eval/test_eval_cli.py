"""``tqse eval`` and ``tqse report`` end to end on a tiny random model (hash encoder)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from tqse.commands import evaluate as eval_cmd
from tqse.commands import report as report_cmd
from tqse.data.manifest import write_jsonl
from tqse.errors import USER_ERRORS
from tqse.eval.protocols import load_benchmark
from tqse.eval.runner import read_scores
from tqse.workflows.bench import random_model_dir


def _parse(module, argv):
    parser = argparse.ArgumentParser(prog="tqse")
    module.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return random_model_dir(tmp_path_factory.mktemp("model") / "tiny")


def test_eval_benchmarks_and_manifest_in_one_report_then_resume(model_dir, audiosep_root, tmp_path, capsys):
    esc = audiosep_root / "evaluation" / "data" / "esc50"
    write_jsonl(tmp_path / "corpus_test.jsonl", [
        {"mixture": str(esc / "mixture-0.wav"), "target": str(esc / "segment-0.wav"), "class": "dog",
         "caption": "a dog", "class_caption": "this is the sound of dog"}])
    out = tmp_path / "eval"
    argv = ["eval", "--checkpoint", str(model_dir), "--benchmark", "esc50", "music", "--root", str(audiosep_root),
            "--manifest", str(tmp_path / "corpus_test.jsonl"), "--query-field", "class_caption",
            "--out", str(out), "--device", "cpu", "--batch-size", "2", "--no-progress"]
    args = _parse(eval_cmd, argv)
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "AudioSep README: AudioSet 7.74 / VGGSound 9.14 / AudioCaps 8.22 / Clotho 6.85" in printed
    summaries = {n: json.loads((out / f"{n}.json").read_text()) for n in ("esc50", "music", "corpus_test")}
    assert summaries["music"]["aggregation"] == "class_mean" and summaries["esc50"]["clips"] == 3
    for s in summaries.values():
        assert all(np.isfinite(v) for v in s["metrics"].values())
    report = (out / "report.md").read_text()
    assert "corpus_test" in report and "ESC-50" in report
    assert args.func(args) == 0  # second run: everything resumed, same numbers
    again = json.loads((out / "esc50.json").read_text())
    assert again["resumed"] == 3 and again["metrics"] == pytest.approx(summaries["esc50"]["metrics"])


def test_batched_model_equals_per_clip_model(model_dir, audiosep_root, tmp_path):
    from tqse.extract import Extractor
    from tqse.eval.runner import ModelSeparator, evaluate

    sep = ModelSeparator(Extractor.from_pretrained(model_dir, device="cpu"), 32000)
    items = load_benchmark("audiocaps", audiosep_root)
    one = evaluate(items, sep, sample_rate=32000, out_dir=tmp_path / "1", name="a", progress=False)
    three = evaluate(items, sep, separate_batch=sep.batch, batch_size=3, sample_rate=32000,
                     out_dir=tmp_path / "3", name="a", progress=False)
    assert three["metrics"] == pytest.approx(one["metrics"], abs=1e-3)


def test_target_audio_queries_each_mixture_by_its_targets_own_audio(model_dir, audiosep_root, tmp_path):
    from tqse.audio.io import load_audio
    from tqse.eval.protocols import AUDIOSEP
    from tqse.extract import Extractor

    def si_sdr(reference, estimate):
        return AUDIOSEP.score(reference, estimate, mixture)["si_sdr"]

    esc = audiosep_root / "evaluation" / "data" / "esc50"
    rows = [{"mixture": str(esc / f"mixture-{i}.wav"), "target": str(esc / f"segment-{i}.wav"), "class": "dog",
             "caption": "a dog", "class_caption": "this is the sound of dog"} for i in range(2)]
    write_jsonl(tmp_path / "m.jsonl", rows)
    args = _parse(eval_cmd, ["eval", "--checkpoint", str(model_dir), "--manifest", str(tmp_path / "m.jsonl"),
                             "--query-field", "target_audio", "--out", str(tmp_path / "eval"), "--no-progress"])
    assert args.func(args) == 0
    scored = read_scores(tmp_path / "eval" / "m.csv")
    assert [r["text"] for r in scored] == [r["target"] for r in rows]  # the query named in each row is its target
    extractor = Extractor.from_pretrained(model_dir, device="cpu")
    for row, clip in zip(rows, scored):
        mixture, rate = load_audio(row["mixture"])
        target, _ = load_audio(row["target"], rate)
        by_audio = extractor.extract(mixture, rate, audio_query=row["target"])
        by_path_as_text = extractor.extract(mixture, rate, text=row["target"])
        assert clip["si_sdr"] == pytest.approx(si_sdr(target, by_audio), abs=1e-3)
        assert abs(si_sdr(target, by_audio) - si_sdr(target, by_path_as_text)) > 1e-3
    args = _parse(eval_cmd, ["eval", "--checkpoint", str(model_dir), "--benchmark", "esc50", "--root",
                             str(audiosep_root), "--query-field", "target_audio"])
    with pytest.raises(USER_ERRORS, match="manifests only"):
        args.func(args)


def test_eval_errors_are_user_errors(model_dir, tmp_path):
    from tqse.errors import USER_ERRORS

    args = _parse(eval_cmd, ["eval", "--checkpoint", str(model_dir), "--benchmark", "esc50"])
    with pytest.raises(USER_ERRORS, match="--root"):
        args.func(args)
    args = _parse(eval_cmd, ["eval", "--checkpoint", str(model_dir), "--benchmark", "esc50", "--root",
                             str(tmp_path)])
    with pytest.raises(USER_ERRORS, match="esc50_eval.csv"):
        args.func(args)


@pytest.mark.parametrize("out", ["a_file", "a_file/below"])
def test_eval_out_on_a_file_is_named_before_any_scoring(model_dir, tmp_path, capsys, out):
    """It was a raw ``[Errno 17] File exists`` after the model had loaded."""
    from tqse.cli import main

    (tmp_path / "a_file").write_text("x")
    argv = ["eval", "--checkpoint", str(model_dir), "--manifest", str(tmp_path / "m.jsonl"), "--out", str(tmp_path / out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"--out {tmp_path / out}: {tmp_path / 'a_file'} is a file, not a folder"), err


def test_report_tables_and_plots_several_runs(tmp_path, capsys):
    for run, value in (("runA", 5.0), ("runB", 6.5)):
        for name in ("audiocaps", "corpus_test"):
            (tmp_path / run / "eval").mkdir(parents=True, exist_ok=True)
            (tmp_path / run / "eval" / f"{name}.json").write_text(json.dumps(
                {"format": "tqse-eval/1", "name": name, "metrics": {"sdri": value, "si_sdr": value - 1}}))
    args = _parse(report_cmd, ["report", str(tmp_path / "runA"), str(tmp_path / "runB"),
                               "--out", str(tmp_path / "r.md"), "--plot", str(tmp_path / "r.png")])
    assert args.func(args) == 0
    table = (tmp_path / "r.md").read_text()
    assert "| runA | 5.00 | 5.00 |" in table and "| runB | 6.50 | 6.50 |" in table
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    args = _parse(report_cmd, ["report", str(tmp_path / "runA"), "--metric", "si_sdr"])
    args.func(args)
    assert "SI-SDR (dB): AudioSet - / VGGSound - / AudioCaps 4.00" in capsys.readouterr().out
