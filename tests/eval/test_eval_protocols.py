"""AudioSep benchmark layouts, metric definitions and aggregation rules."""

from __future__ import annotations

import numpy as np
import pytest

from tqse.data.manifest import ManifestError
from tqse.eval import protocols
from tqse.eval.protocols import aggregate, audiosep_sdr, audiosep_si_sdr, load_benchmark


def test_every_benchmark_reads_its_layout_and_query_column(audiosep_root):
    caps = load_benchmark("audiocaps", audiosep_root)
    assert [i.text for i in caps] == ["a dog barks, then a car passes", "guitar chords", "a bell rings twice"]
    assert caps[0].mixture.endswith("audiocaps/mixture-0.wav") and caps[0].source.endswith("segment-0.wav")
    assert [i.text for i in load_benchmark("audiocaps", audiosep_root, "labels")] == ["Dog Vehicle"] * 3
    clotho = load_benchmark("clotho", audiosep_root)  # duplicated 'noise_wav1' header, 5 columns
    assert [i.text for i in clotho] == [i.text for i in caps]
    vgg = load_benchmark("vggsound", audiosep_root)
    assert [i.text for i in vgg] == ["playing accordion", "dog barking"]  # s0_text, not s1_text
    assert vgg[0].mixture.endswith("vggsound/data/mix_wav/abc_000030+++def_000010.wav")
    music = load_benchmark("music", audiosep_root)
    assert [i.group for i in music] == ["violin", "violin", "violin", "erhu"]
    for name in protocols.BENCHMARKS:
        assert not protocols.missing_files(load_benchmark(name, audiosep_root)), name


def test_audioset_lists_class_dirs_first_ten_sorted_with_display_name_queries(audiosep_root):
    items = load_benchmark("audioset", audiosep_root)
    class0 = [i for i in items if i.group == "0"]
    assert [i.id for i in class0] == [f"class_id=0,index={k:03d}" for k in range(10)]
    class1 = [i for i in items if i.group == "1"]
    assert len(class1) == 3 and {i.text for i in class1} == {"Male speech, man speaking"}
    assert class1[0].source.endswith("class_id=1/class_id=1,index=000,source.wav")
    assert not any(i.group == "2" for i in items)  # class without a folder: no items, no crash


def test_root_may_be_the_evaluation_folder(audiosep_root):
    a = load_benchmark("esc50", audiosep_root)
    b = load_benchmark("esc50", audiosep_root / "evaluation")
    assert [(i.mixture, i.text) for i in a] == [(i.mixture, i.text) for i in b]


def test_layout_errors_name_what_is_missing(tmp_path, audiosep_root):
    with pytest.raises(ManifestError, match="audiocaps_eval.csv"):
        load_benchmark("audiocaps", tmp_path)
    with pytest.raises(ManifestError, match="unknown benchmark"):
        load_benchmark("fsd50k", audiosep_root)
    with pytest.raises(ManifestError, match="query field"):
        load_benchmark("clotho", audiosep_root, "labels")


def _reference_sdr(ref, est, eps=1e-10):  # AudioSep utils.calculate_sdr, written out independently
    return 10 * np.log10(np.clip(np.mean(ref**2), eps, None) / np.clip(np.mean((est - ref) ** 2), eps, None))


def test_sdr_is_audiosep_energy_ratio_with_clipped_means():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(32000).astype(np.float32) * 0.1
    n = rng.standard_normal(32000).astype(np.float32) * 0.05
    assert audiosep_sdr(s, s + n) == pytest.approx(_reference_sdr(s, s + n), abs=1e-4)
    assert audiosep_sdr(s, s + n) == pytest.approx(10 * np.log10(np.sum(s**2) / np.sum(n**2)), abs=1e-4)
    # a perfect estimate hits the 1e-10 clip: 10 log10(mean(s^2) / 1e-10), not infinity
    assert audiosep_sdr(s, s) == pytest.approx(10 * np.log10(np.mean(s.astype(np.float64) ** 2) / 1e-10))


def test_si_sdr_is_absolute_without_mean_removal():
    rng = np.random.default_rng(1)
    s = rng.standard_normal(16000) * 0.1 + 0.2  # DC offset: AudioSep does not remove it
    e = 0.5 * s + 0.01 * rng.standard_normal(16000)
    eps = np.finfo(np.float32).eps
    a = (eps + s @ e) / (s @ s + eps)
    expected = 10 * np.log10((eps + np.sum((a * s) ** 2)) / (eps + np.sum((e - a * s) ** 2)))
    assert audiosep_si_sdr(s, e) == pytest.approx(expected, abs=1e-6)
    assert audiosep_si_sdr(s, 3.0 * e) == pytest.approx(audiosep_si_sdr(s, e), abs=1e-6)  # scale-invariant


def test_aggregation_rules_give_hand_computed_values():
    rows = [{"group": "a", "sdri": v} for v in (1.0, 2.0, 10.0)] + [{"group": "b", "sdri": v} for v in (4.0, 6.0)]
    # mean of 5 clips = 23 / 5; per-class means 13/3 and 5; per-class medians 2 and 5
    assert aggregate(rows, "mean", ["sdri"])["sdri"] == pytest.approx(4.6)
    assert aggregate(rows, "class_mean", ["sdri"])["sdri"] == pytest.approx((13 / 3 + 5) / 2)
    assert aggregate(rows, "class_median", ["sdri"])["sdri"] == pytest.approx(3.5)
    # AudioSet uses nanmedian per class and nanmean over classes: a NaN clip is ignored
    rows.append({"group": "b", "sdri": float("nan")})
    assert aggregate(rows, "class_median", ["sdri"])["sdri"] == pytest.approx(3.5)
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate(rows, "median")


def test_protocol_assigns_audiosep_aggregation_per_benchmark():
    assert protocols.AGGREGATION == {"audioset": "class_median", "music": "class_mean"}
    assert set(protocols.AUDIOSEP_README) == set(protocols.BENCHMARKS)
