"""Clip making, bandwidth, dedup and mixing on real fixture audio and simple signals."""

import numpy as np
import pytest

from tqse.audio.io import load_audio
from tqse.audio.resample import resample
from tqse.data.corpus import clips as cl
from tqse.data.corpus.dedup import duplicate_clusters, fingerprint, similarity
from tqse.data.corpus.mixtures import mix_at_snr, plan_mixtures
from tqse.data.mixing import LOWPASS_CUTOFFS, random_lowpass

from corpus_fakes import FIXTURE, tone

SR = 32000


def test_trim_silence_cuts_only_the_silent_ends():
    wav = np.concatenate([np.zeros(SR), tone(440, 1.0), np.zeros(SR // 2)])
    out = cl.trim_silence(wav)
    assert abs(len(out) - SR) <= SR // 50
    assert len(cl.trim_silence(np.zeros(SR, dtype=np.float32))) == 0


def test_one_shots_are_looped_from_takes_not_zero_padded():
    rng = np.random.default_rng(0)
    bell, _ = load_audio(FIXTURE / "perc_bell.flac", SR)
    bell2, _ = load_audio(FIXTURE / "perc_bell2.flac", SR)
    bell, bell2 = cl.trim_silence(bell), cl.trim_silence(bell2)
    assert len(bell) < 10 * SR
    (clip,) = cl.make_clips(bell, [bell2], 10 * SR, 3, rng)
    assert len(clip) == 10 * SR
    assert np.abs(clip).max() == pytest.approx(cl.PEAK, rel=1e-4)
    levels = cl.frame_db(clip, SR // 10)
    # sound is spread over the whole clip: the last 3 seconds are not silence
    assert levels[-30:].max() > levels.max() - 30
    # the first event is the clip's own recording: its waveform appears (scaled) at the start
    ref = bell[400:4400]
    window = clip[: int(0.4 * SR) + 5000]
    corr = max(float(np.dot(window[k: k + 4000], ref) / (np.linalg.norm(window[k: k + 4000]) * np.linalg.norm(ref)
                                                       + 1e-9)) for k in range(0, len(window) - 4000))
    assert corr > 0.95


def test_long_recordings_give_non_overlapping_segments():
    rng = np.random.default_rng(1)
    wav = np.random.default_rng(2).standard_normal(35 * SR).astype(np.float32) * 0.1
    segs = cl.segments(wav, 10 * SR, 5, rng)
    assert len(segs) == 3 and all(len(s) == 10 * SR for s in segs)
    starts = sorted(int(np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(wav, 64) ==
                                                 s[:64], axis=1))[0]) for s in segs)
    assert all(b - a >= 10 * SR for a, b in zip(starts, starts[1:]))


@pytest.mark.parametrize("orig_sr", [8000, 22050])
def test_bandwidth_reveals_band_limited_originals(orig_sr):
    noise = np.random.default_rng(0).standard_normal(3 * orig_sr).astype(np.float32) * 0.1
    up = resample(noise, orig_sr, SR)
    bw = cl.effective_bandwidth(up)
    assert 0.8 * orig_sr / 2 < bw < 1.05 * orig_sr / 2
    full = np.random.default_rng(0).standard_normal(3 * SR).astype(np.float32) * 0.1
    assert cl.effective_bandwidth(full) > 15000


def test_fingerprint_matches_reencoded_duplicate_but_not_other_sounds():
    amen, _ = load_audio(FIXTURE / "loop_amen.flac", SR)
    copy = resample(resample(amen, SR, 22050), 22050, SR) * 0.3      # resampled, quieter copy
    other, _ = load_audio(FIXTURE / "loop_breakbeat.flac", SR)
    prints = [fingerprint(amen), fingerprint(copy), fingerprint(other)]
    assert similarity(prints[0], prints[1]) > 0.95 > similarity(prints[0], prints[2])
    ids = duplicate_clusters(prints, [len(amen) / SR, len(copy) / SR, len(other) / SR])
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize("snr", [-5.0, 0.0, 4.5])
def test_mix_at_snr_hits_the_snr_and_sums_exactly(snr):
    t, _ = load_audio(FIXTURE / "guit_em9.flac", SR)
    i, _ = load_audio(FIXTURE / "loop_amen.flac", SR)
    n = min(len(t), len(i))
    mix, t_s, i_s = mix_at_snr(t[:n], i[:n] * 5, snr)
    measured = 10 * np.log10(np.mean(t_s.astype(np.float64) ** 2) / np.mean(i_s.astype(np.float64) ** 2))
    assert measured == pytest.approx(snr, abs=1e-3)
    assert np.allclose(mix, t_s + i_s, atol=1e-6)
    assert np.abs(mix).max() <= cl.PEAK + 1e-6


def test_mixture_plan_is_seeded_and_never_mixes_a_class_family_with_itself():
    rows = [{"path": f"c/{k}_{n}.flac", "class": k, "split": s, "captions": ["x"]}
            for k in ("speech female", "speech male", "dog", "rain", "water")
            for s in ("val", "test") for n in range(3)]
    pools = {s: [r for r in rows if r["split"] == s] for s in ("val", "test")}
    plan = plan_mixtures(rows, pools, 2, seed=3)
    assert plan == plan_mixtures(rows, pools, 2, seed=3)
    pairs = [(t["class"], i["class"]) for items in plan.values() for t, i, _ in items]
    assert pairs and all(a != b for a, b in pairs)
    assert ("speech female", "speech male") not in pairs and ("rain", "water") not in pairs
    snrs = [snr for items in plan.values() for _, _, snr in items]
    assert all(-5 <= s <= 5 for s in snrs) and len(set(snrs)) > 1


def test_random_lowpass_band_limits_and_can_be_off():
    noise = np.random.default_rng(0).standard_normal(2 * SR).astype(np.float32) * 0.1
    limited = random_lowpass(noise, np.random.default_rng(1), p=1.0, sample_rate=SR)
    assert cl.effective_bandwidth(limited) <= max(LOWPASS_CUTOFFS) + 300
    assert cl.effective_bandwidth(limited) < cl.effective_bandwidth(noise) - 3000
    assert random_lowpass(noise, np.random.default_rng(1), p=0.0, sample_rate=SR) is noise
