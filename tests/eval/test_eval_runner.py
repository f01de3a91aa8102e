"""The evaluation runner with simple separators: identity, oracle, resumption, batching, manifests."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tqse.audio.io import load_audio, save_audio
from tqse.data.manifest import write_jsonl
from tqse.eval import protocols
from tqse.eval.protocols import load_benchmark, manifest_items
from tqse.eval.runner import evaluate, evaluate_sets, read_scores

RATE = 32000


def identity(mixture, text):
    return mixture


def test_identity_separator_scores_zero_improvement(audiosep_root, tmp_path):
    items = load_benchmark("audiocaps", audiosep_root)
    summary = evaluate(items, identity, sample_rate=RATE, out_dir=tmp_path, name="audiocaps", progress=False)
    assert summary["clips"] == 3
    assert summary["metrics"]["sdri"] == 0.0 and summary["metrics"]["si_sdri"] == 0.0
    assert summary["metrics"]["sdr"] == pytest.approx(summary["metrics_mixture"]["sdr_mixture"])
    assert json.loads((tmp_path / "audiocaps.json").read_text())["metrics"] == summary["metrics"]


def test_oracle_separator_hits_the_clipped_sdr_and_csv_has_every_clip(audiosep_root, tmp_path):
    items = load_benchmark("esc50", audiosep_root)
    sources = {i.mixture: load_audio(i.source, RATE, allow_silent=True)[0] for i in items}
    texts = []

    def oracle(mixture, text):
        texts.append(text)
        return next(s for m, s in sources.items() if np.allclose(load_audio(m, RATE)[0], mixture))

    evaluate(items, oracle, sample_rate=RATE, out_dir=tmp_path, name="esc50", progress=False)
    rows = read_scores(tmp_path / "esc50.csv")
    assert [r["id"] for r in rows] == ["0", "1", "2"] and texts == ["dog", "rain", "dog"]
    for row, item in zip(rows, items):
        s = sources[item.mixture].astype(np.float64)
        assert row["sdr"] == pytest.approx(10 * np.log10(np.mean(s**2) / 1e-10), abs=1e-4)
        assert row["sdri"] > 60


def test_audioset_and_music_summaries_use_their_class_rules(audiosep_root, tmp_path):
    def half(mixture, text):  # a fixed, clip-dependent score so the aggregation rule shows
        return 0.5 * mixture

    for name in ("audioset", "music"):
        items = load_benchmark(name, audiosep_root)
        summary = evaluate(items, half, sample_rate=RATE, out_dir=tmp_path, name=name,
                           aggregation=protocols.AGGREGATION[name], progress=False)
        rows = read_scores(tmp_path / f"{name}.csv")
        by_group: dict[str, list[float]] = {}
        for r in rows:
            by_group.setdefault(r["group"], []).append(r["sdri"])
        pick = np.median if name == "audioset" else np.mean
        expected = np.mean([pick(v) for v in by_group.values()])
        assert summary["groups"] == 2 and summary["metrics"]["sdri"] == pytest.approx(expected)
        assert summary["metrics"]["sdri"] != pytest.approx(np.mean([r["sdri"] for r in rows]))


def test_resume_skips_scored_clips_and_gives_the_same_summary(audiosep_root, tmp_path):
    items = load_benchmark("audioset", audiosep_root)
    calls = []

    def flaky(mixture, text):
        if len(calls) == 5:
            raise KeyboardInterrupt  # killed mid-run
        calls.append(text)
        return 0.8 * mixture

    with pytest.raises(KeyboardInterrupt):
        evaluate(items, flaky, sample_rate=RATE, out_dir=tmp_path / "a", name="audioset", progress=False)
    calls.clear()
    calls_before = len(items)

    def steady(mixture, text):
        calls.append(text)
        return 0.8 * mixture

    resumed = evaluate(items, steady, sample_rate=RATE, out_dir=tmp_path / "a", name="audioset",
                       aggregation="class_median", progress=False)
    assert len(calls) == calls_before - 5 and resumed["resumed"] == 5
    full = evaluate(items, steady, sample_rate=RATE, out_dir=tmp_path / "b", name="audioset",
                    aggregation="class_median", progress=False)
    assert resumed["metrics"] == pytest.approx(full["metrics"])
    with open(tmp_path / "a" / "audioset.csv") as f:
        assert sorted(int(r["index"]) for r in csv.DictReader(f)) == list(range(len(items)))


def test_batched_scores_equal_per_clip_scores(audiosep_root, tmp_path):
    items = load_benchmark("clotho", audiosep_root)

    def separate(mixture, text):
        return mixture * (len(text) % 7) / 7

    def separate_batch(mixtures, texts):
        assert len(mixtures) > 1
        return [separate(m, t) for m, t in zip(mixtures, texts)]

    one = evaluate(items, separate, sample_rate=RATE, out_dir=tmp_path / "one", name="c", progress=False)
    two = evaluate(items, separate, separate_batch=separate_batch, batch_size=2, sample_rate=RATE,
                   out_dir=tmp_path / "two", name="c", progress=False)
    assert one["metrics"] == two["metrics"]


def test_mixture_manifest_uses_the_chosen_query_field(tmp_path, audiosep_root):
    src, _ = load_audio(audiosep_root / "evaluation/data/esc50/segment-0.wav")
    mix, _ = load_audio(audiosep_root / "evaluation/data/esc50/mixture-0.wav")
    save_audio(tmp_path / "t.wav", src, RATE)
    save_audio(tmp_path / "m.wav", mix, RATE)
    write_jsonl(tmp_path / "test.jsonl", [{"mixture": "m.wav", "target": "t.wav", "class": "dog",
                                           "caption": "a dog barks", "class_caption": "this is the sound of dog"}])
    items = manifest_items(tmp_path / "test.jsonl", "class_caption")
    assert items[0].text == "this is the sound of dog" and items[0].group == "dog"
    summary = evaluate(items, identity, sample_rate=RATE, out_dir=tmp_path / "out", name="test", progress=False)
    assert summary["metrics"]["sdri"] == 0.0


def test_sets_sharing_audio_load_each_mixture_once_and_score_as_separate_runs(tmp_path, audiosep_root, monkeypatch):
    from tqse.eval import runner

    rows = []
    for i in range(3):
        src, _ = load_audio(audiosep_root / f"evaluation/data/esc50/segment-{i}.wav")
        mix, _ = load_audio(audiosep_root / f"evaluation/data/esc50/mixture-{i}.wav")
        save_audio(tmp_path / f"t{i}.wav", src, RATE)
        save_audio(tmp_path / f"m{i}.wav", mix, RATE)
        rows.append({"mixture": f"m{i}.wav", "target": f"t{i}.wav", "class": "dog", "caption": f"caption {i}",
                     "class_caption": "the sound of dog"})
    write_jsonl(tmp_path / "set.jsonl", rows)

    def by_text(mixture, text):  # a query-dependent separator: each field gets its own scores
        return mixture * (1 + len(text) % 3) / 4

    sets = {field: manifest_items(tmp_path / "set.jsonl", field) for field in ("caption", "class_caption")}
    loads = []
    real_load = runner.load_audio
    monkeypatch.setattr(runner, "load_audio", lambda path, *a, **k: loads.append(path) or real_load(path, *a, **k))
    both = evaluate_sets(sets, by_text, sample_rate=RATE, out_dir=tmp_path / "both", progress=False)
    assert len(loads) == 2 * 3  # a source and a mixture per mixture, not per field
    for field, items in sets.items():
        alone = evaluate(items, by_text, sample_rate=RATE, out_dir=tmp_path / field, name=field, progress=False)
        assert both[field]["metrics"] == alone["metrics"] and both[field]["clips"] == 3
        assert (tmp_path / "both" / f"{field}.csv").read_text().count("\n") == 4
    assert both["caption"]["metrics"] != both["class_caption"]["metrics"]


def test_without_an_output_folder_nothing_is_written_and_scores_keep_full_precision(tmp_path, audiosep_root):
    from tqse.eval.metrics import DEFAULT

    items = load_benchmark("esc50", audiosep_root)
    summary = evaluate_sets({"esc50": items}, lambda m, t: 0.5 * m, sample_rate=RATE, progress=False,
                            metrics=DEFAULT, out_dir=None)["esc50"]
    expected = []
    for item in items:
        source, _ = load_audio(item.source, RATE, allow_silent=True)
        mixture, _ = load_audio(item.mixture, RATE, allow_silent=True)
        expected.append(DEFAULT.score(source, 0.5 * mixture, mixture)["si_sdri"])
    assert summary["metrics"]["si_sdri"] == float(np.mean(expected))
    assert not list(tmp_path.iterdir())
