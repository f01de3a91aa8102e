"""Seeds folded into mean ± spread, learning curves, class subsets and the Table I write-up (issue 9)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from helpers import ROOT, load_script

from tqse.commands import report as report_cmd
from tqse.eval.runner import COLUMNS
from tqse.eval.report import run_name
from tqse.workflows.study import study_runs, write_subset

table1 = load_script(ROOT / "benchmarks" / "table1_issue9.py")  # issue 9's Table I report (docs/RESULTS.md)


def _run(root: Path, folder: str, name: str, scores: dict[str, float], curve=((200, 0.5), (400, 1.0))) -> Path:
    """A run folder as `tqse grid` leaves it: resolved config, metrics.jsonl, eval summaries."""
    run = root / folder
    (run / "eval").mkdir(parents=True)
    (run / "config.yaml").write_text(f"name: {name}\ndata: {{}}\n")
    lines = [json.dumps({"step": s, "loss": -v, "train_seconds": s / 2.0}) for s, v in curve]
    lines += [json.dumps({"step": s, "val_si_sdri": v, "val_caption_si_sdri": v - 1}) for s, v in curve]
    (run / "metrics.jsonl").write_text("\n".join(lines) + '\n{"step": 600, "val_si')  # a line cut by a kill
    for set_name, value in scores.items():
        (run / "eval" / f"{set_name}.json").write_text(json.dumps(
            {"format": "tqse-eval/1", "name": set_name, "metrics": {"si_sdri": value, "sdri": value + 1}}))
    return run


def _parse(argv):
    import argparse

    parser = argparse.ArgumentParser()
    report_cmd.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_report_folds_seeds_into_mean_and_sample_sd_and_draws_curves(tmp_path):
    runs = [_run(tmp_path, f"A0-s{seed}-abc{seed}", f"A0-s{seed}", {"test-caption": value})
            for seed, value in enumerate((1.0, 2.0, 3.0))]
    runs.append(_run(tmp_path, "A3-s0-def", "A3-s0", {"test-caption": -1.0}))
    args = _parse(["report", *map(str, runs), "--metric", "si_sdri", "--out", str(tmp_path / "t.md"),
                   "--plot", str(tmp_path / "bars.png"), "--curves", str(tmp_path / "curves.png")])
    assert args.func(args) == 0
    table = (tmp_path / "t.md").read_text()
    # Folder names carry a config hash; the row is the config's name without its seed.
    assert "| A0 | 2.00 ± 1.00 (3) |" in table and "| A3 | -1.00 |" in table
    for png in ("bars.png", "curves.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def _scores_csv(path: Path, rows: list[tuple[str, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, restval="0")
        writer.writeheader()
        for i, (group, value) in enumerate(rows):
            writer.writerow({"index": i, "id": i, "group": group, "text": "q", "si_sdri": value, "sdri": value})


def test_subset_summary_keeps_only_the_mixtures_of_the_given_classes(tmp_path):
    _scores_csv(tmp_path / "eval" / "test-caption.csv", [("bell", 1.0), ("dog", 4.0), ("cat", 8.0), ("dog", 6.0)])
    assert write_subset(tmp_path, {"dog", "cat"}, "test", "test_odd") == ["test_odd-caption"]
    summary = json.loads((tmp_path / "eval" / "test_odd-caption.json").read_text())
    assert summary["clips"] == 3 and summary["metrics"]["si_sdri"] == pytest.approx(6.0)


def test_write_results_puts_our_rows_beside_the_papers(tmp_path):
    out = tmp_path / "runs"
    for seed, value in enumerate((2.0, 4.0)):
        run = _run(out, f"A9-s{seed}-x{seed}", f"A9-s{seed}", {"test-caption": value, "ood-caption": value / 2})
        # Test mixtures of classes a..d: AVh's audio-only half is the odd positions (b, d).
        _scores_csv(run / "eval" / "test-caption.csv", [("a", 0.0), ("b", value), ("c", 0.0), ("d", value)])
    lines = list(table1.write_results(out, tmp_path / "results", classes=["d", "c", "b", "a", "a"]))
    assert any("runs.json: 2 runs" in line for line in lines)
    table = (tmp_path / "results" / "table_si_sdri.md").read_text()
    assert "| A9 | 1.50 ± 0.71 (2) | 3.00 ± 1.41 (2) | 3.00 ± 1.41 (2) |" in table  # ood, test, test_odd
    assert "| A9 | 3.00 | 8.1 | 1.50 | 6.4 | - | 7.0 |" in (tmp_path / "results" / "paper.md").read_text()
    records = json.loads((tmp_path / "results" / "runs.json").read_text())
    assert [r["name"] for r in records] == ["A9-s0", "A9-s1"]
    assert records[0]["steps"] == 400 and records[0]["val_curve"]["caption"] == [[200, -0.5], [400, 0.0]]
    assert (tmp_path / "results" / "curves.png").exists() and (tmp_path / "results" / "bars.png").exists()


def test_study_runs_leave_out_a_run_still_training(tmp_path):
    """Both Table I reports fold seeds into curves at the steps all of them validated: an unscored seed in
    progress would cut its row's curve short, so it is in neither the folders nor the runs."""
    done = _run(tmp_path, "A0-s0-abc", "A0-s0", {"test-caption": 1.0})
    training = _run(tmp_path, "A0-s1-def", "A0-s1", {}, curve=((200, 0.5),))
    folders, runs = study_runs(tmp_path, {"a"}, "test", "test_odd")
    assert folders == [done] and set(runs) == {"A0-s0"} and training.is_dir()


def test_paper_table_skips_rows_the_paper_does_not_have():
    runs = {"A9N-s0": {"test-caption": {"metrics": {"si_sdri": 1.0}}}}
    assert "A9N" not in table1.paper_table(runs)


def test_the_best_seed_exports_as_a_float16_model_folder_that_separates_like_its_run(tmp_path):
    import numpy as np

    from tqse.extract import Extractor
    from tqse.config import load_config
    from tqse.train.loop import train

    setup = Path(__file__).resolve().parents[2] / "configs" / "setups" / "fixture.yaml"
    for seed, score in ((0, 1.0), (1, 3.0)):
        config = load_config([setup], ["data.use=[ac]", "data.segment_seconds=0.5", "train.steps=2",
                                       f"train.seed={seed}", f"name=A9-s{seed}", f"output_dir={tmp_path / 'runs'}"])
        run = train(config)
        (run / "eval").mkdir()
        (run / "eval" / "test-class_caption.json").write_text(json.dumps(
            {"format": "tqse-eval/1", "name": "test-class_caption", "metrics": {"si_sdri": score}}))
    best = table1.best_seed(table1.run_folders(tmp_path / "runs"), "A9", "test-class_caption")
    assert run_name(best) == "A9-s1"
    dest = table1.export_checkpoint(best, tmp_path / "checkpoints" / "A9")
    assert (dest / "eval" / "test-class_caption.json").exists() and (dest / "run_config.yaml").exists()
    mixture = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    ours = Extractor.from_pretrained(dest).extract(mixture, text="a dog barking", sample_rate=16000)
    theirs = Extractor.from_pretrained(best / "checkpoints" / "last").extract(mixture, text="a dog barking", sample_rate=16000)
    assert np.abs(ours - theirs).max() < 1e-2 * np.abs(theirs).max()


def test_curves_fold_seeds_at_common_steps_against_steps_or_cpu_minutes(tmp_path):
    from tqse.eval.report import row_curves

    fast = _run(tmp_path, "A0-s0-aaaa", "A0-s0", {}, curve=((200, 1.0), (400, 2.0)))  # 0.5 s per step
    slow = _run(tmp_path, "A0-s1-bbbb", "A0-s1", {}, curve=((200, 3.0), (400, 4.0), (600, 9.0)))
    lines = (slow / "metrics.jsonl").read_text().splitlines()[:-1]  # seed 1: 1 s per step, one validation more
    (slow / "metrics.jsonl").write_text("\n".join(
        json.dumps({**json.loads(line), "train_seconds": json.loads(line)["step"] * 1.0})
        if "train_seconds" in line else line for line in lines) + "\n")
    dirs = {"A0-s0": fast, "A0-s1": slow}
    assert row_curves(dirs, "val_si_sdri") == {"A0": [(200.0, 2.0), (400.0, 3.0)]}  # step 600: seed 1's alone
    # step 200: 1.7 and 3.3 minutes; step 400: 3.3 and 6.7 (each seed's minutes rounded to 0.1)
    minutes = row_curves(dirs, "val_si_sdri", x="minutes")["A0"]
    assert [(round(m, 2), v) for m, v in minutes] == [(2.5, 2.0), (5.0, 3.0)]
    with pytest.raises(ValueError, match="minutes"):
        row_curves(dirs, "val_si_sdri", x="epochs")
