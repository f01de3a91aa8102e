"""Audio-side augmentation of training sources: random EQ, a low cut, speed, synthetic reverb, level.

Why: the built-in data are clean game and soundfont recordings; recordings from elsewhere differ in
microphone colour, room and playback speed, and a model that has only heard the clean versions separates
them worse (docs/EFFICIENCY.md, "unseen sources"). Each source crop of a training mixture is changed
independently before mixing, so the mixture and its reference change together; a reverberated target is
the reference as heard in the room. The level change applies to the whole example after mixing (the SNR is
left as drawn). Every draw comes from the example's generator, so examples stay a pure function of
``(seed, index)``, and every step keeps the crop's length and rate.

CPU cost per 4 s crop at 16 kHz is a few milliseconds (FFT filtering and convolution), well under the
separator's step. Shapes: ``[T]`` float32 at ``sample_rate``.
"""

from __future__ import annotations

import numpy as np
import soxr

from tqse.config import AugmentConfig

EQ_POINTS = 6          # the random EQ curve: gains at this many log-spaced frequencies, interpolated
HIGHPASS_HZ = (150.0, 400.0)


def random_eq(wav: np.ndarray, rng: np.random.Generator, gain_db: tuple[float, float],
              sample_rate: int) -> np.ndarray:
    """A smooth random EQ curve (gains drawn at log-spaced frequencies, interpolated in log-frequency)."""
    spec = np.fft.rfft(wav)
    freqs = np.fft.rfftfreq(len(wav), 1 / sample_rate)
    anchors = np.geomspace(50.0, sample_rate / 2, EQ_POINTS)
    gains = rng.uniform(*gain_db, size=EQ_POINTS)
    curve = np.interp(np.log(np.maximum(freqs, 1.0)), np.log(anchors), gains)
    return np.fft.irfft(spec * 10 ** (curve / 20), n=len(wav)).astype(np.float32)


def highpass(wav: np.ndarray, cutoff_hz: float, sample_rate: int) -> np.ndarray:
    """A low cut with a one-octave cosine slope (telephones and small speakers lose the bass)."""
    spec = np.fft.rfft(wav)
    freqs = np.fft.rfftfreq(len(wav), 1 / sample_rate)
    ramp = np.clip(np.log2(np.maximum(freqs, 1.0) / (cutoff_hz / 2)), 0.0, 1.0)
    return np.fft.irfft(spec * (0.5 - 0.5 * np.cos(np.pi * ramp)), n=len(wav)).astype(np.float32)


def change_speed(wav: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (pitch and tempo together), then crop or tile back to the length."""
    out = soxr.resample(wav, 1.0, 1.0 / factor).astype(np.float32)
    if len(out) >= len(wav):
        return out[: len(wav)]
    return np.resize(out, len(wav)).astype(np.float32)


def synthetic_rir(rng: np.random.Generator, rt60_s: float, sample_rate: int) -> np.ndarray:
    """Exponentially decaying noise (60 dB down after ``rt60_s``) after a unit direct path and a short gap."""
    length = int(min(rt60_s, 1.5) * sample_rate)
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-6.908 * t / rt60_s)
    gap = int(rng.uniform(0.002, 0.01) * sample_rate)
    rir = np.zeros(length + gap, dtype=np.float64)
    rir[0] = 1.0
    # direct-to-reverberant ratio between about 0 and 12 dB
    rir[gap:] += tail * 10 ** (-rng.uniform(0.0, 12.0) / 20) / np.sqrt(np.sum(tail ** 2) + 1e-12)
    return rir


def reverberate(wav: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve and keep the first ``len(wav)`` samples; the level of the dry signal is kept."""
    n = len(wav) + len(rir) - 1
    size = 1 << (n - 1).bit_length()
    wet = np.fft.irfft(np.fft.rfft(wav, size) * np.fft.rfft(rir, size), n=size)[: len(wav)]
    dry_rms, wet_rms = np.sqrt(np.mean(wav ** 2) + 1e-12), np.sqrt(np.mean(wet ** 2) + 1e-12)
    return (wet * (dry_rms / wet_rms)).astype(np.float32)


class SourceAugment:
    """Augments one source crop (:meth:`source`) and one finished example (:meth:`level`).

    Args:
        config: the ``data.augment`` section; when not enabled both calls return their input unchanged and
            draw nothing from the generator (runs without augmentation are unchanged by its existence).
        sample_rate: rate of the crops.
    """

    def __init__(self, config: AugmentConfig, sample_rate: int):
        self.config, self.sample_rate = config, sample_rate

    def source(self, wav: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = self.config
        if not c.enabled:
            return wav
        if rng.random() < c.p_speed:
            wav = change_speed(wav, float(rng.uniform(*c.speed)))
        if rng.random() < c.p_eq:
            wav = random_eq(wav, rng, tuple(c.eq_db), self.sample_rate)
        if rng.random() < c.p_highpass:
            wav = highpass(wav, float(rng.uniform(*HIGHPASS_HZ)), self.sample_rate)
        if rng.random() < c.p_reverb:
            wav = reverberate(wav, synthetic_rir(rng, float(rng.uniform(*c.rt60_s)), self.sample_rate))
        return wav

    def level(self, mixture: np.ndarray, target: np.ndarray, rng: np.random.Generator,
              peak_limit: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
        """The same gain on mixture and target (never above ``peak_limit``)."""
        if not self.config.enabled:
            return mixture, target
        gain = 10 ** (rng.uniform(*self.config.gain_db) / 20)
        peak = float(np.max(np.abs(mixture))) * gain
        if peak > peak_limit:
            gain *= peak_limit / peak
        return (mixture * gain).astype(np.float32), (target * gain).astype(np.float32)
