"""benchmarks/table1.py, issue 24's fair Table I, in a small setting: the fixture clips, the hash encoder and the
tiny Conformer (configs/setups/fixture.yaml merged after every row), two steps per run. Neutral start -> rows
(one with another row's manipulation) -> scores on three sets -> report -> export, and the bias measurement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT, load_script

from tqse.config import load_config
from tqse.models.card import render_card
from tqse.query.hash_encoder import HashEncoder
from tqse.query.provider import QueryProvider

table1 = load_script(ROOT / "benchmarks" / "table1.py")
FIXTURE = str(ROOT / "configs" / "setups" / "fixture.yaml")
# row -> (query mode per training dataset, manipulations the provider applies, PCA-inv)
ROWS = {"A0": ({"ac": "text"}, (), False), "A2": ({"ac": "text"}, ("dropout",), False),
        "A3": ({"ac": "audio"}, (), False), "A8": ({"ac": "audio"}, ("noise",), False),
        "A9": ({"ac": "audio"}, ("dropout",), False), "A9R": ({"ac": "audio"}, ("dropout",), False),
        "A9N": ({"ac": "audio"}, ("dropout",), False), "A7": ({"ac": "audio"}, (), True),
        "AV0": ({"ac": "text"}, (), False), "AV5": ({"ac": "text", "unl": "audio"}, ("dropout",), False)}


@pytest.fixture(scope="module")
def mixtures(tmp_path_factory):
    """Three fixed fixture mixtures that also name the interferer's class (the wrong-query control)."""
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.locations import fixture_manifest
    from tqse.data.manifest import read_clips

    folder = tmp_path_factory.mktemp("mixtures")
    manifest = write_fixed_mixtures(read_clips(fixture_manifest(), split="test"), folder, 3, segment_seconds=1.0,
                                    sample_rate=16000)
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    manifest.write_text("".join(json.dumps({**row, "interferer_class": "choir"}) + "\n" for row in lines))
    return manifest


def small(tmp_path: Path, mixtures: Path, *argv: str) -> list[str]:
    """The script's arguments for the small setting (everything written under ``tmp_path``)."""
    return [*argv, "--steps", "2", "--max-seeds", "1", "--threads", "1", "--setup", FIXTURE,
            "--out", str(tmp_path / "runs"), "--results", str(tmp_path / "results"),
            "--starts", str(tmp_path / "starts"), "--checkpoints", str(tmp_path / "checkpoints"),
            "--records", str(tmp_path / "records"),
            "--eval", *(f"{name}={mixtures}" for name in ("test", "ood", "unseen")), "--",
            "data.segment_seconds=0.5", "data.preload=false", "query.cache_dir=null", "data.manifests.unl=fixture",
            "data.manifests.itf=fixture", f"eval.manifest={mixtures}", "eval.max_mixtures=2", "train.val_every=1",
            "train.warmup_steps=1"]


@pytest.mark.parametrize("row", list(ROWS))
def test_every_row_resolves_its_modality_and_manipulations(row):
    modes, manipulations, pca_inv = ROWS[row]
    config = load_config([table1.CONFIGS / table1.ROWS[row][0]])
    provider = QueryProvider(HashEncoder(dim=32), config.query, config.data.sample_rate)
    assert {name: provider.mode_of(name) for name in config.data.use} == modes
    assert provider.chain == manipulations
    dropout = config.query.manipulation.dropout
    assert (dropout.rescale, dropout.renormalize) == (row == "A9R", row == "A9N")
    assert (config.query.manipulation.pca.enabled, config.query.manipulation.pca.inverse) == (pca_inv, pca_inv)
    assert (config.model.name, config.data.sample_rate, config.data.segment_seconds, config.train.batch_size) == \
        ("small-s2", 16000, 4.0, 8)  # the shipped default model's architecture, 8 x 4 s at 16 kHz
    expected = "corpus:pool" if row.startswith("AV") else "corpus:default"
    assert config.data.manifests[config.data.use[0]] == expected and config.eval.manifest == "corpus:default:val"


def test_the_budget_is_the_pilot_rules_steps_unless_minutes_are_asked_for():
    default, timed = table1.parse_args([]), table1.parse_args(["--minutes", "40"])
    assert (default.steps, default.minutes) == (9300, None) and (timed.steps, timed.minutes) == (None, 40.0)
    row = table1.row_run(default, "A0", 0, None, Path("runs/x"))
    assert row.train.steps == 9300


def test_the_plan_runs_the_claim_with_three_seeds_before_the_other_rows():
    order = table1.plan(table1.parse_args([]))
    claim = [r for r, (_, seeds, phase) in table1.ROWS.items() if phase == 1]
    assert order[:3 * len(claim)] == [(row, seed) for seed in range(3) for row in claim]
    assert {r for r, _ in order[3 * len(claim):]} == {"A2", "A8", "A7"} and len(order) == 3 * len(claim) + 6


def test_av5_takes_another_rows_manipulation_and_nothing_else():
    assert table1.manipulation_overrides("A9R") == ["query.manipulation.dropout.enabled=false",
                                                    "query.manipulation.dropout.enabled=true",
                                                    "query.manipulation.dropout.rescale=true"]
    config = load_config([table1.CONFIGS / "AV5.yaml"], table1.manipulation_overrides("A8"))
    assert not config.query.manipulation.dropout.enabled and config.query.manipulation.noise.enabled


def test_every_row_and_each_av5_form_is_compared_with_its_captions_row():
    """The README compares each row with more than one seed to its captions row by the rule, so the report must
    hold that comparison for every row, A7 and the ``--av5-from`` forms included, as soon as they have runs."""
    from tqse.workflows.study import comparison_table

    scores = {"A0": [4.0, 4.4], "A7": [2.9, 3.1], "AV0": [4.5, 4.7], "AV5": [2.0, 2.4], "AV5-A8": [4.4, 4.9]}
    runs = {f"{row}-s{seed}": {"test-class_caption": {"metrics": {"si_sdri": v}}}
            for row, values in scores.items() for seed, v in enumerate(values)}
    table = comparison_table(runs, table1.PAIRS, ["test-class_caption"])
    assert "| A7 - A0 | -1.20 (real) |" in table
    assert "| AV5-A8 - AV0 | +0.05 (within spread) |" in table and "| AV5-A8 - AV5 | +2.45 (real) |" in table
    assert "AV5-A9R" not in table  # a form without runs adds no line


def test_av5_takes_the_audio_row_with_the_best_mean_validation_score_and_says_while_that_is_provisional():
    """Issue 24.3: AV5's manipulation is "the best audio row's", chosen on validation: a row's mean over its seeds
    (one lucky seed does not choose), caption rows never (they have no manipulation of audio queries)."""
    def record(name: str, score: float) -> dict:
        return {"name": name, "best": {"step": 300, "score": score}}

    early = [record("A0-s0", 9.0), record("A3-s0", 0.6), record("A9-s0", 1.5), record("A9R-s0", 2.0),
             record("A9R-s1", 0.2)]
    choice = table1.av5_choice(early)
    assert "| A9R | 2 of 3 | 1.10 ± 1.27 (2) |" in choice and "| A0 |" not in choice
    assert choice.endswith("A9's (`--av5-from A9`; provisional: A3, A8, A9, A9R, A9N, A7 still lack seeds).")
    done = [record(f"{row}-s{seed}", score + seed / 10) for row, score in
            (("A3", 0.1), ("A8", 0.4), ("A9", 0.2), ("A9R", 0.3), ("A9N", 0.0), ("A7", -1.0))
            for seed in range(table1.ROWS[row][1])]
    assert table1.av5_choice(done).endswith("A8's (`--av5-from A8`; final: every audio row has its seeds).")
    assert table1.av5_choice([record("A0-s0", 1.0)]).startswith("No audio row is scored yet")


def test_prepare_embeds_each_manifest_once_with_audio_where_a_row_queries_by_audio(tmp_path, mixtures, monkeypatch):
    import tqse.query.cache
    from tqse.data.locations import fixture_manifest
    from tqse.data.manifest import audio_cache_key, read_clips

    calls, real = [], tqse.query.cache.build_cache
    monkeypatch.setattr(tqse.query.cache, "build_cache",
                        lambda encoder, clips, *a, **kw: calls.append(len(clips)) or real(encoder, clips, *a, **kw))
    argv = [arg if arg != "query.cache_dir=null" else f"query.cache_dir={tmp_path / 'cache'}"
            for arg in small(tmp_path, mixtures, "--prepare", "--rows", "A0", "A3", "AV0")]
    assert table1.main(argv) == 0
    train = read_clips(fixture_manifest(), split="train")
    assert calls == [len(train)]  # the fixture manifest stands for every dataset here: embedded once, with audio
    cache = tqse.query.cache.EmbeddingCache.open(tmp_path / "cache", HashEncoder(dim=32).name)
    assert all(cache.has_audio(audio_cache_key(c, 0.5)) and all(map(cache.has_text, c.captions)) for c in train)
    assert table1.main(argv) == 0 and calls == [len(train)]  # nothing left to embed


def test_the_study_queries_through_built_in_encoder_version_1_and_prepare_embeds_with_it():
    from tqse.query.builtin import BuiltinEncoder

    encoders = {table1.load_encoder(load_config([table1.CONFIGS / table1.ROWS[row][0]])).name for row in ("A0", "AV5")}
    assert encoders == {BuiltinEncoder(version=1).name} != {BuiltinEncoder(version=2).name}


def test_a_setup_that_swaps_the_encoder_unsets_the_pinned_version_with_null():
    from tqse.train.setup import encoder_spec

    pinned = load_config([table1.CONFIGS / "A0.yaml"])
    swapped = load_config([table1.CONFIGS / "A0.yaml", FIXTURE])
    assert encoder_spec(pinned)["kwargs"] == {"version": 1}
    assert encoder_spec(swapped) == {"name": "hash", "path": None, "kwargs": {"dim": 32}}


def test_the_bias_measurements_separator_is_the_text_trained_starts():
    from tqse.models import resolve_preset

    warm = json.loads((ROOT / table1.TEXT_START / "config.json").read_text())
    tcn = load_config([table1.CONFIGS / "neutral_start_tcn.yaml"])
    assert (warm["model"], warm["kwargs"]) == resolve_preset(tcn.model.name, query_dim=512, sample_rate=16000)
    assert tcn.train.objective == "louder" and table1.parse_args(["--bias"]).bias_model == tcn.model.name


def test_small_setting_trains_scores_reports_and_exports(tmp_path, mixtures):
    from tqse.extract import Extractor

    with pytest.raises(SystemExit, match="no neutral start"):
        table1.main(small(tmp_path, mixtures, "--rows", "A0", "--neutral-start"))
    assert table1.main(small(tmp_path, mixtures, "--neutral")) == 0
    start = tmp_path / "starts" / "neutral_start"
    card = (start / "README.md").read_text()
    assert "louder" in card and json.loads((start / "config.json").read_text())["training"]["steps"] == 2
    assert table1.main(small(tmp_path, mixtures, "--rows", "A0", "A9R", "AV5", "--av5-from", "A9N", "--neutral-start",
                             "--export")) == 0
    runs = {p.name.rsplit("-", 1)[0] for p in (tmp_path / "runs").iterdir() if (p / "config.yaml").exists()}
    assert runs == {"A0-s0", "A9R-s0", "AV5-A9N-s0"}
    table = (tmp_path / "results" / "table_si_sdri.md").read_text()
    for column in ("test-interferer_class_caption", "ood-caption", "unseen-class_caption", "unseen48-caption",
                   "test-target_audio"):
        assert column in table
    comparisons = (tmp_path / "results" / "comparisons.md").read_text()
    assert "| A9R - A0 |" in comparisons and "target_audio" not in comparisons  # rows compare on text queries
    for run in (tmp_path / "runs").glob("*-s0-*"):  # the last checkpoint too, scored with every query
        assert json.loads((run / "eval_last" / "scored_checkpoint.json").read_text()) == {"checkpoint": "last",
                                                                                          "step": 2}
        assert {p.stem for p in (run / "eval_last").glob("*.json")} >= {"test-target_audio", "ood-caption"}
    assert "unseen-target_audio" in (tmp_path / "results" / "table_last_si_sdri.md").read_text()
    last = {r["name"]: r["scores_last"]["test-class_caption"]["si_sdri"]
            for r in json.loads((tmp_path / "results" / "runs.json").read_text())}
    row = next(line for line in (tmp_path / "results" / "comparisons_last.md").read_text().splitlines()
               if line.startswith("| A9R - A0 |"))
    assert row.split("|")[2].strip() == f"{last['A9R-s0'] - last['A0-s0']:+.2f} (one seed)"
    assert "| A0-s0 | not reached yet |" in (tmp_path / "results" / "budget_rule.md").read_text()  # 2 steps
    assert "±" not in (tmp_path / "results" / "budget.md").read_text()  # one seed a row: no spread to print
    records = json.loads((tmp_path / "results" / "runs.json").read_text())
    assert all(r["steps"] == 2 and set(r["val_curve"]) == set(table1.CURVES.values()) for r in records)
    assert all(r["scores_last"]["test-target_audio"] != r["scores"]["test-class_caption"] for r in records)
    for record in records:  # scoring time: every clip of both scored checkpoints, each scored once
        csvs = [*(tmp_path / "runs" / record["folder"]).glob("eval*/*.csv")]
        clip_seconds = [float(line.split(",")[-1]) for f in csvs for line in f.read_text().splitlines()[1:]]
        assert len(csvs) == 2 * 3 * 4 and sum(clip_seconds) > 0
        assert record["scoring_seconds"] == pytest.approx(sum(clip_seconds))
    assert "| scoring minutes |" in (tmp_path / "results" / "budget.md").read_text()
    assert (tmp_path / "results" / "data.md").read_text().startswith("Every run was validated and scored on the same")
    by_run = (tmp_path / "results" / "runs_test.md").read_text()
    for record in records:  # each run on its own: best step, then its test scores as runs.json has them
        best, last = record["scores"], record["scores_last"]
        assert (f"| {record['name']} | {record['best']['step']} | {best['test-class_caption']['si_sdri']:+.2f} / "
                f"{best['test-caption']['si_sdri']:+.2f} / {best['test-interferer_class_caption']['si_sdri']:+.2f} | "
                f"{last['test-class_caption']['si_sdri']:+.2f} / {last['test-caption']['si_sdri']:+.2f} / "
                f"{last['test-target_audio']['si_sdri']:+.2f} |") in by_run
    for png in ("bars.png", "curves.png"):
        assert (tmp_path / "results" / png).read_bytes()[:4] == b"\x89PNG"
    exported = tmp_path / "checkpoints" / "AV5-A9N"  # packaged as `tqse package` does: the project's card
    config = json.loads((exported / "config.json").read_text())
    assert config["name"] == "tqse-table1-fair-AV5-A9N" and config["exported_from"]["run"].startswith("AV5-A9N-s0-")
    assert config["training"]["steps"] == 2 + config["training"]["continued_from"]["steps"]  # after the start's
    assert set(config["scores"]) == {"test", "ood", "unseen"}  # the study's three sets, as --eval named them
    assert "Row AV5-A9N of tqse's fair Table I" in config["training"]["selection"]["note"]
    assert (exported / "README.md").read_text() == render_card(config)
    assert "CC0" in (exported / "TRAINING_DATA.md").read_text()
    assert Extractor.from_pretrained(exported).extract(noise(), text="a dog barking", sample_rate=16000).shape == (8000,)


def test_rows_start_from_random_weights_unless_told_to_take_the_neutral_start(tmp_path, mixtures):
    args = table1.parse_args(small(tmp_path, mixtures))
    config = table1.row_run(args, "A3", 1, table1.neutral_start(args, "conformer"), tmp_path)
    assert config.train.init_from is None and config.train.init_reset == [] and config.name == "A3-s1"


def test_scores_of_a_checkpoint_that_is_no_longer_the_best_are_redone(tmp_path, mixtures):
    import shutil

    table1.main(small(tmp_path, mixtures, "--rows", "A0"))
    run = next(p for p in (tmp_path / "runs").iterdir() if p.name.startswith("A0-s0"))
    stamp = json.loads((run / "eval" / "scored_checkpoint.json").read_text())
    (run / "eval" / "scored_checkpoint.json").write_text(json.dumps({**stamp, "step": -1}))  # as if it moved
    (run / "eval" / "stale.marker").write_text("")
    shutil.rmtree(tmp_path / "records")  # as if the grid had stopped before keeping the run's record
    table1.main(small(tmp_path, mixtures, "--rows", "A0"))
    assert not (run / "eval" / "stale.marker").exists() and (run / "eval" / "test-caption.json").exists()
    assert json.loads((run / "eval" / "scored_checkpoint.json").read_text()) == stamp


def test_a_run_still_training_is_left_out_of_the_report_and_its_curves(tmp_path, mixtures, monkeypatch):
    """A row's curve is its seeds' mean at the steps all validated: a seed in progress would cut it short."""
    import shutil

    table1.main(small(tmp_path, mixtures, "--rows", "A0"))
    done = next(p for p in (tmp_path / "runs").iterdir() if p.name.startswith("A0-s0"))
    training = tmp_path / "runs" / "A0-s1-inprogress"  # trained one step, not scored yet
    training.mkdir()
    (training / "config.yaml").write_text((done / "config.yaml").read_text().replace("name: A0-s0", "name: A0-s1"))
    shutil.copy(done / "metrics.jsonl", training / "metrics.jsonl")
    plotted = {}
    monkeypatch.setattr(table1, "plot_curves", lambda runs, out, *a, **k: plotted.update(runs) or out)
    table1.main(small(tmp_path, mixtures, "--report-only"))
    assert set(plotted) == {"A0-s0"}
    assert [r["name"] for r in json.loads((tmp_path / "results" / "runs.json").read_text())] == ["A0-s0"]
    assert "A0-s1" not in (tmp_path / "results" / "budget_rule.md").read_text()


def test_a_run_still_training_is_not_exported_even_when_its_validation_leads(tmp_path, mixtures, capsys):
    """The grid is paused for the export after each run, so the next run's early best checkpoint lies beside
    the finished ones: it must not become the row's exported model."""
    import shutil

    table1.main(small(tmp_path, mixtures, "--rows", "A0", "--export", "A0"))
    done = next(p for p in (tmp_path / "runs").iterdir() if p.name.startswith("A0-s0"))
    training = tmp_path / "runs" / "A0-s1-inprogress"  # a copy of the run before its scoring
    shutil.copytree(done, training, ignore=shutil.ignore_patterns("eval", "eval_last"))
    best = json.loads((done / "checkpoints" / "best.json").read_text())
    (training / "checkpoints" / "best.json").write_text(json.dumps({**best, "score": best["score"] + 10}))
    capsys.readouterr()
    table1.main(small(tmp_path, mixtures, "--report-only", "--export", "A0"))
    assert f"A0: {tmp_path / 'checkpoints' / 'A0'} (from {done.name}, exported before)" in capsys.readouterr().out


def test_a_run_whose_folder_is_lost_is_reported_from_its_record_and_not_trained_again(tmp_path, mixtures, capsys):
    """Run folders are ignored by git and a new machine starts without them: the committed record keeps the run."""
    import shutil

    table1.main(small(tmp_path, mixtures, "--rows", "A0"))
    run = next(p for p in (tmp_path / "runs").iterdir() if p.name.startswith("A0-s0"))
    record = tmp_path / "records" / run.name
    assert (record / "eval" / "test-caption.csv").is_file() and (record / "eval_last" / "test-caption.csv").is_file()
    assert (record / "checkpoints" / "best.json").is_file()
    assert not [p for p in (record / "checkpoints").iterdir() if p.is_dir()]  # no weights in git
    assert set(json.loads((record / "data.json").read_text())) >= {"train:ac", "train:itf", "train:unl", "val",
                                                                   "score:test", "score:ood", "score:unseen"}
    reported = json.loads((tmp_path / "results" / "runs.json").read_text())
    shutil.rmtree(tmp_path / "runs")  # the machine is lost
    capsys.readouterr()
    assert table1.main(small(tmp_path, mixtures, "--rows", "A0", "--export", "A0")) == 0
    assert not (tmp_path / "runs").exists()  # not trained again
    assert json.loads((tmp_path / "results" / "runs.json").read_text()) == reported
    out = capsys.readouterr().out
    assert f"== A0-s0: done, its record is kept in {tmp_path / 'records'}" in out  # named by its record
    assert f"A0: not exported: its best seed {run.name} has only its record here" in out
    assert not (tmp_path / "checkpoints" / "A0").exists()


def test_a_best_seed_exported_before_its_folder_was_lost_stays_exported(tmp_path, mixtures, capsys):
    import shutil

    table1.main(small(tmp_path, mixtures, "--rows", "A0", "--export", "A0"))  # export after each run
    exported = tmp_path / "checkpoints" / "A0"
    run = next(p for p in (tmp_path / "runs").iterdir() if p.name.startswith("A0-s0"))
    assert table1.exported_run(exported) == run.name
    weights = (exported / "model.safetensors").read_bytes()
    shutil.rmtree(tmp_path / "runs")
    capsys.readouterr()
    table1.main(small(tmp_path, mixtures, "--report-only", "--export", "A0"))
    assert f"A0: {exported} (from {run.name}, exported before)" in capsys.readouterr().out
    assert (exported / "model.safetensors").read_bytes() == weights


def test_a_finished_run_is_not_visited_again_so_its_record_stays_as_kept(tmp_path, mixtures, capsys):
    """The grid restarts after every pause: a scored, recorded run must not be rescored and its record rewritten."""
    table1.main(small(tmp_path, mixtures, "--rows", "A0"))
    run = next(p for p in (tmp_path / "runs").iterdir() if p.name.startswith("A0-s0"))
    kept = {p: p.read_bytes() for p in (tmp_path / "records" / run.name).rglob("*") if p.is_file()}
    capsys.readouterr()
    table1.main(small(tmp_path, mixtures, "--rows", "A0"))
    assert f"== A0-s0: done, its record is kept in {tmp_path / 'records'}" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in (tmp_path / "records" / run.name).rglob("*") if p.is_file()} == kept


def test_a_record_short_of_the_budget_does_not_stop_the_run(tmp_path, mixtures):
    import shutil

    table1.main(small(tmp_path, mixtures, "--rows", "A0"))
    run = next(p for p in (tmp_path / "runs").iterdir() if p.name.startswith("A0-s0"))
    args = table1.parse_args(small(tmp_path, mixtures))
    assert table1.recorded_in_full(args, run, args.records)
    shutil.rmtree(run)
    assert table1.recorded_in_full(args, run, args.records)
    args.steps = 3  # a longer budget than the record's: the run is trained again
    assert not table1.recorded_in_full(args, run, args.records)


def test_the_bias_mode_runs_both_starts_of_a0_and_a3_keeps_each_runs_record_and_spans_machines(tmp_path, mixtures):
    import shutil

    table1.main(small(tmp_path, mixtures, "--neutral", "tcn"))
    text_start = tmp_path / "starts" / "neutral_start_tcn"  # any start of the same separator stands in for v0 here
    bias = small(tmp_path, mixtures, "--bias", "--bias-model", "tiny", "--text-start", str(text_start))
    assert table1.main(bias) == 0
    report = (tmp_path / "results" / "bias" / "comparisons.md").read_text()
    assert "| text-A0 - neutral-A0 |" in report and "| neutral-A0 - neutral-A3 |" in report
    records = tmp_path / "results" / "bias" / "records"
    assert sorted(p.name.rsplit("-", 1)[0] for p in records.iterdir()) == \
        ["neutral-A0-s0", "neutral-A3-s0", "text-A0-s0", "text-A3-s0"]
    shutil.rmtree(tmp_path / "runs" / "bias")  # a new machine: the run folders are gone, the records are not
    table1.main(bias)
    assert not (tmp_path / "runs" / "bias").exists() or not any((tmp_path / "runs" / "bias").iterdir())
    assert (tmp_path / "results" / "bias" / "comparisons.md").read_text() == report
    assert not any(p.name == "records" for p in (tmp_path / "results").iterdir())  # the grid's records stay apart


def noise():
    import numpy as np

    return (np.random.default_rng(0).standard_normal(8000) * 0.1).astype("float32")


def pilot_run(folder: Path, level_at) -> Path:
    """A run folder whose template validation, every 5 CPU minutes up to 90, is ``level_at(minutes)``."""
    folder.mkdir()
    (folder / "config.yaml").write_text(f"name: {folder.name.rsplit('-', 1)[0]}\n")
    lines = []
    for minutes in range(5, 91, 5):
        step = minutes * 100
        lines += [{"step": step, "loss": 0.0, "train_seconds": minutes * 60.0},
                  {"step": step, "val_si_sdri": level_at(minutes)}]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


def test_the_pilot_rule_picks_the_first_budget_after_which_the_curve_rises_slowly(tmp_path):
    # +0.5 dB per 5 minutes up to minute 40, flat after: from 40 the smoothed curve gains 0.17 dB in 15 minutes
    levelling = pilot_run(tmp_path / "A0-s0-0000aaaa", lambda m: min(m, 40) / 10)
    assert table1.budget_by_rule(levelling) == {"minutes": 40.0, "step": 4000, "curve_minutes": 90.0}
    # already flat before 30 minutes: the floor of 30 holds
    assert table1.budget_by_rule(pilot_run(tmp_path / "A0-s1-0000bbbb", lambda m: 2.0))["minutes"] == 30.0
    still_rising = pilot_run(tmp_path / "A0-s2-0000cccc", lambda m: m / 10)
    assert table1.budget_by_rule(still_rising)["minutes"] is None
    assert "| A0-s2 | not reached yet | - | 90.0 |" in table1.rule_lines([still_rising])


def test_the_report_says_which_runs_saw_which_data(tmp_path):
    def run(name: str, data: dict | None) -> Path:
        folder = pilot_run(tmp_path / name, lambda m: 1.0)
        if data is not None:
            (folder / "data.json").write_text(json.dumps(data))
        return folder

    shared = {"score:test": "aa", "val": "bb"}
    same = [run(f"A0-s{seed}-0000aaa{seed}", {**shared, "train:ac": "t0"}) for seed in (0, 1)]
    other_row = run("AV5-s0-0000bbbb", {**shared, "train:ac": "t1", "train:unl": "t2"})  # rows differ by design
    assert table1.data_lines([*same, other_row]).startswith("Every run was validated and scored on the same files")
    other_scores = run("A3-s0-0000cccc", {"score:test": "cc", "val": "bb", "train:ac": "t0"})
    lines = table1.data_lines([*same, other_scores]).splitlines()
    assert lines[0].startswith("**Not every run is known to have seen the same data**")
    assert "| A0-s0, A0-s1 | score:test aa, val bb, train:ac t0 |" in lines
    assert "| A3-s0 | score:test cc, val bb, train:ac t0 |" in lines
    other_seed = run("A0-s2-0000dddd", {**shared, "train:ac": "t9"})  # a seed trained on other files
    assert table1.data_lines([*same, other_seed]).startswith("**Not every run")
    assert "| A3-s1 | not recorded |" in table1.data_lines([run("A3-s1-0000eeee", None)]).splitlines()


def test_the_report_says_which_machine_trained_each_run(tmp_path):
    def run(name: str, env: dict | None) -> Path:
        folder = pilot_run(tmp_path / name, lambda m: 1.0)
        if env is not None:
            (folder / "env.json").write_text(json.dumps({"torch": "2.13.0+cpu", **env}))
        return folder

    epyc = {"cpu": "AMD EPYC", "cpu_capability": "AVX512"}
    runs = [run("A0-s0-0000aaaa", epyc), run("A3-s0-0000bbbb", epyc),
            run("A9-s0-0000cccc", {"cpu": "Intel Xeon", "cpu_capability": "AVX2"}), run("A9R-s0-0000dddd", None)]
    lines = table1.machine_lines(runs).splitlines()
    assert "| AMD EPYC, AVX512, torch 2.13.0+cpu | A0-s0, A3-s0 |" in lines
    assert "| Intel Xeon, AVX2, torch 2.13.0+cpu | A9-s0 |" in lines
    assert "| not recorded (trained before env.json named the CPU) | A9R-s0 |" in lines
    resumed = run("A9N-s0-0000eeee", epyc)  # env.json names the last call's machine; the history names both
    xeon = {"cpu": "Intel Xeon", "cpu_capability": "AVX2", "torch": "2.13.0+cpu"}
    calls = [{"from_step": 0, "torch": "2.13.0+cpu", **epyc}, {"from_step": 600, **xeon}, {"from_step": 800, **xeon}]
    (resumed / "environments.jsonl").write_text("".join(json.dumps(call) + "\n" for call in calls))
    assert ("| AMD EPYC, AVX512, torch 2.13.0+cpu then Intel Xeon, AVX2, torch 2.13.0+cpu | A9N-s0 |"
            in table1.machine_lines([resumed]).splitlines())


def test_window_means_average_each_curve_over_ten_cpu_minutes(tmp_path):
    run = pilot_run(tmp_path / "A0-s0-0000dddd", lambda m: m / 10)  # validations at minutes 5, 10, ..., 90
    lines = table1.window_means(run).splitlines()
    # windows (0, 10], (10, 20], ...: the run's last validation, at minute 90, closes the 80-90 window
    assert lines[0].startswith("| A0-s0, CPU minutes | 0-10 | 10-20 |") and lines[0].endswith("| 80-90 |")
    assert lines[2].startswith("| class templates | 0.75 | 1.75 | 2.75 |")  # (0.5+1.0) / (1.5+2.0) / (2.5+3.0)


COMMITTED = ROOT / "experiments" / "checkpoints"  # `benchmarks/table1.py --export`: each row's best seed so far


@pytest.mark.parametrize("row", sorted(p.name for p in COMMITTED.iterdir() if (p / "config.json").is_file()))
def test_each_committed_row_checkpoint_is_its_rows_best_seed_by_validation_and_loads(row):
    """Issue 24.4: a committed row checkpoint is the seed the declared selection picks from the committed records
    (validation only, never a test set), so a landing that changes a row's best seed and forgets the export fails
    here; and it still loads and extracts."""
    from helpers import fixture_mixtures

    from tqse.extract import Extractor
    from tqse.models.model_dir import read_model_config
    from tqse.workflows.study import best_seed

    records = sorted((ROOT / "experiments" / "table1_fair" / "records").iterdir())
    exported = read_model_config(COMMITTED / row)["exported_from"]["run"]
    assert best_seed(records, row).name == exported
    item = fixture_mixtures()[0]
    estimate = Extractor.from_pretrained(COMMITTED / row, device="cpu").extract(item.mixture, item.sample_rate,
                                                                                 text=item.query)
    assert estimate.shape == item.mixture.shape and np.isfinite(estimate).all()
