"""`data.preload`: every clip decoded once into memory, cached on disk, and mixed exactly like from files."""

import numpy as np
import pytest

from tqse.audio.io import load_audio
from tqse.config import DataConfig
from tqse.data.dataset import MixtureDataset
from tqse.data.mixing import measured_snr
from tqse.data.preload import ClipStore


def test_store_holds_each_clip_at_the_model_rate_to_int16_precision(fixture_clips):
    store = ClipStore.build(fixture_clips[:3], 16000)
    for index, clip in enumerate(fixture_clips[:3]):
        expected, _ = load_audio(clip.path, 16000, allow_silent=True)
        assert store.frames(index) == len(expected)
        np.testing.assert_allclose(store.audio(index), np.clip(expected, -1, 1), atol=1 / 32767)
    np.testing.assert_array_equal(store.audio(1, 100, 50), store.audio(1)[100:150])


def test_store_is_cached_on_disk_and_reused(fixture_clips, tmp_path):
    first = ClipStore.build(fixture_clips[:2], 16000, tmp_path)
    cached = list(tmp_path.glob("clips-*.npz"))
    assert len(cached) == 1 and not list(tmp_path.glob(".*tmp*"))
    mtime = cached[0].stat().st_mtime_ns
    again = ClipStore.build(fixture_clips[:2], 16000, tmp_path)
    np.testing.assert_array_equal(again.samples, first.samples)
    assert cached[0].stat().st_mtime_ns == mtime  # read, not rewritten
    ClipStore.build(fixture_clips[:2], 8000, tmp_path)
    assert len(list(tmp_path.glob("clips-*.npz"))) == 2  # another rate is another store


@pytest.fixture(scope="module")
def preloaded(fixture_clips):
    config = DataConfig(sample_rate=16000, segment_seconds=1.0, preload=True)
    return MixtureDataset(fixture_clips, config, seed=3)


def test_preloaded_examples_are_deterministic_and_mixed_at_the_drawn_snr(preloaded):
    for index in range(10):
        item = preloaded[index]
        np.testing.assert_array_equal(item.mixture, preloaded[index].mixture)
        assert item.mixture.shape == (16000,) and np.abs(item.target).max() > 1e-4
        assert measured_snr(item.target, item.mixture - item.target) == pytest.approx(item.snr_db, abs=1e-3)


def test_preloaded_target_is_a_crop_of_its_clip(preloaded, fixture_clips):
    item = preloaded[5]
    clip = np.clip(load_audio(item.clip.path, 16000, allow_silent=True)[0], -1, 1)
    scaled = item.target / np.abs(item.target).max()
    # The target is a (possibly peak-scaled) window of the clip: find it by correlation.
    best = max(abs(np.dot(scaled, clip[s:s + 16000]) / (np.linalg.norm(clip[s:s + 16000]) * np.linalg.norm(scaled) + 1e-9))
               for s in range(0, max(len(clip) - 16000, 0) + 1, 1))
    assert best > 0.999
