"""benchmarks/generalization_gap.py: mixtures of training clips only, drawn once, scored like `val`."""

import json
from pathlib import Path

import pytest

from helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "generalization_gap.py"


def _script():
    return load_script(SCRIPT)


def test_training_mixtures_use_only_training_clips_and_are_written_once(tmp_path):
    from tqse.data.manifest import read_clips, read_mixtures
    from tqse.data.locations import fixture_manifest

    gap = _script()
    manifest = gap.training_mixtures(fixture_manifest(), tmp_path, 4)
    train_clips = {Path(c.path).resolve() for c in read_clips(fixture_manifest(), split="train")}
    rows = read_mixtures(manifest)
    targets = {(tmp_path / row.extra["target_clip"]).resolve() for row in rows}
    assert len(rows) == 4 and targets <= train_clips
    stamp = Path(rows[0].mixture).stat().st_mtime_ns
    assert gap.training_mixtures(fixture_manifest(), tmp_path, 4) == manifest
    assert Path(rows[0].mixture).stat().st_mtime_ns == stamp, "a second call reuses the mixtures"


def test_the_gap_is_the_difference_of_the_two_sets_scored_with_the_shipped_model(tmp_path):
    from tqse.extract import Extractor
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips, read_mixtures
    from tqse.data.locations import fixture_manifest

    gap = _script()
    seen = gap.training_mixtures(fixture_manifest(), tmp_path, 3)
    unseen = write_fixed_mixtures(read_clips(fixture_manifest(), split="test"), tmp_path, 3, sample_rate=16000,
                                  segment_seconds=10.0, name="unseen")
    result = gap.gap(Extractor.from_pretrained(device="cpu"), seen, unseen, 3)
    for field in gap.FIELDS:
        assert result["gap"][field] == pytest.approx(result["train clips"][field] - result["val clips"][field],
                                                     abs=0.011)
    for name, manifest in (("train clips", seen), ("val clips", unseen)):  # the SNR range is read, not assumed
        snrs = [row.snr_db for row in read_mixtures(manifest)]
        assert result[name]["snr_db"] == [round(min(snrs), 1), round(max(snrs), 1)]
    assert json.loads(json.dumps(result)) == result
