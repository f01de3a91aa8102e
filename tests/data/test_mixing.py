import numpy as np
import pytest
import torch

from tqse.config import DataConfig
from tqse.data.dataset import IndexSampler, MixtureDataset, collate
from tqse.data.mixing import measured_snr, mix_at_snr


@pytest.mark.parametrize("snr", [-5.0, -1.3, 0.0, 2.7, 5.0])
def test_measured_snr_equals_the_drawn_one(rng, snr):
    target, interferer = rng.standard_normal(16000) * 0.1, rng.standard_normal(16000) * 0.7
    mixture, target_out, interferer_out = mix_at_snr(target, interferer, snr)
    assert measured_snr(target_out, interferer_out) == pytest.approx(snr, abs=1e-4)
    np.testing.assert_allclose(mixture, target_out + interferer_out, atol=1e-6)


def test_loud_mixtures_are_scaled_without_changing_the_snr(rng):
    target, interferer = rng.standard_normal(8000) * 3, rng.standard_normal(8000) * 3
    mixture, t, i = mix_at_snr(target, interferer, 1.0)
    assert np.abs(mixture).max() <= 0.99 + 1e-6
    assert measured_snr(t, i) == pytest.approx(1.0, abs=1e-4)


@pytest.fixture(scope="module")
def dataset(fixture_clips):
    return MixtureDataset(fixture_clips, DataConfig(sample_rate=16000, segment_seconds=1.0), seed=7)


def test_examples_are_a_pure_function_of_seed_and_index(dataset, fixture_clips):
    a, b = dataset[123], dataset[123]
    np.testing.assert_array_equal(a.mixture, b.mixture)
    other = MixtureDataset(fixture_clips, DataConfig(sample_rate=16000, segment_seconds=1.0), seed=8)[123]
    assert not np.array_equal(a.mixture, other.mixture)


def test_dataset_mixes_at_the_drawn_snr_within_the_range(dataset):
    for index in range(12):
        item = dataset[index]
        assert -5 <= item.snr_db <= 5
        assert measured_snr(item.target, item.mixture - item.target) == pytest.approx(item.snr_db, abs=1e-3)
        assert item.mixture.shape == (16000,)


def test_interferer_comes_from_another_class(fixture_clips):
    ds = MixtureDataset(fixture_clips, DataConfig(sample_rate=16000, segment_seconds=0.5), seed=0)
    for index in range(40):
        rng = np.random.default_rng([0, index])
        target = int(rng.integers(len(fixture_clips)))
        assert fixture_clips[ds._draw_other(target, rng)].label != fixture_clips[target].label


def test_captions_are_drawn_from_the_clip_or_class_template(fixture_clips):
    ds = MixtureDataset(fixture_clips, DataConfig(sample_rate=16000, segment_seconds=0.5), seed=0)
    captions = {c for clip in fixture_clips for c in clip.captions}
    assert all(ds[i].caption in captions for i in range(10))
    vgg = [type(c)(**{**c.__dict__, "dataset": "vgg"}) for c in fixture_clips]
    ds = MixtureDataset(vgg, DataConfig(sample_rate=16000, segment_seconds=0.5, class_caption_datasets=["vgg"]))
    item = ds[3]
    assert item.caption == f"this is the sound of {item.clip.label}"


def test_sampler_partitions_global_batches_across_ranks_and_resumes():
    full = list(IndexSampler(8, steps=3))
    ranks = [list(IndexSampler(8, rank=r, world_size=2, steps=3)) for r in range(2)]
    for step in range(3):
        assert full[step * 8:(step + 1) * 8] == ranks[0][step * 4:(step + 1) * 4] + ranks[1][step * 4:(step + 1) * 4]
    assert list(IndexSampler(8, start_step=2, steps=3)) == full[16:]


def test_worker_processes_give_the_same_batches_as_the_main_process(dataset):
    def batches(workers):
        loader = torch.utils.data.DataLoader(dataset, batch_size=2, sampler=IndexSampler(2, steps=3),
                                             num_workers=workers, collate_fn=collate)
        return [b.mixture for b in loader]

    for a, b in zip(batches(0), batches(2)):
        torch.testing.assert_close(a, b)


def test_random_lowpass_band_limits_some_sources(fixture_clips):
    config = DataConfig(sample_rate=32000, segment_seconds=1.0, random_lowpass=1.0)
    item = MixtureDataset(fixture_clips, config, seed=3)[0]
    spectrum = np.abs(np.fft.rfft(item.target))
    top = spectrum[int(len(spectrum) * 15 / 16):].sum() / spectrum.sum()
    assert top < 1e-3  # nothing left near 16 kHz
    plain = MixtureDataset(fixture_clips, DataConfig(sample_rate=32000, segment_seconds=1.0), seed=3)[0]
    assert not np.allclose(plain.target, item.target)


def test_a_silent_clip_is_skipped_not_fatal(fixture_clips, tmp_path):
    """A mostly silent file in a large manifest once stopped a run with 'no audible crop'."""
    import soundfile as sf

    from tqse.data.manifest import ClipRecord

    sf.write(tmp_path / "silent.flac", np.zeros(32000, np.float32), 32000)
    silent = ClipRecord(str(tmp_path / "silent.flac"), label="silence")
    clips = [silent] * 20 + list(fixture_clips)
    dataset = MixtureDataset(clips, DataConfig(sample_rate=32000, segment_seconds=0.5), seed=0)
    for index in range(10):
        item = dataset[index]
        assert np.abs(item.target).max() > 1e-4 and item.clip is not silent
