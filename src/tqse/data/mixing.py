"""Two-source mixing at a drawn SNR (seed paper Sec. IV-A: SNR ~ U[-5, 5] dB), and per-source band-limiting;
numpy, no state.

The interferer is rescaled so that the *measured* SNR of the returned pair equals the requested one; if
the sum would clip, mixture, target and interferer are scaled by the same gain (the SNR is unchanged).
"""

from __future__ import annotations

import numpy as np

PEAK_LIMIT = 0.99


def mix_at_snr(target: np.ndarray, interferer: np.ndarray, snr_db: float,
               peak_limit: float = PEAK_LIMIT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(mixture, target, interferer_scaled)`` with ``10 log10(|t|^2/|i|^2) == snr_db``.

    Args:
        target, interferer: float arrays of equal length ``[T]``.
        snr_db: target-to-interferer energy ratio in dB.
        peak_limit: maximum absolute sample value of the mixture.
    """
    if target.shape != interferer.shape:
        raise ValueError(f"target {target.shape} and interferer {interferer.shape} differ in length")
    target_energy = float(np.sum(target.astype(np.float64) ** 2))
    interferer_energy = max(float(np.sum(interferer.astype(np.float64) ** 2)), 1e-12)
    gain = np.sqrt(target_energy / (interferer_energy * 10 ** (snr_db / 10)))
    interferer = (interferer * gain).astype(np.float32)
    target = target.astype(np.float32)
    mixture = target + interferer
    peak = float(np.max(np.abs(mixture))) if mixture.size else 0.0
    if peak > peak_limit:
        scale = peak_limit / peak
        mixture, target, interferer = mixture * scale, target * scale, interferer * scale
    return mixture.astype(np.float32), target, interferer


def measured_snr(target: np.ndarray, interferer: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(target.astype(np.float64) ** 2) / np.sum(interferer.astype(np.float64) ** 2)))


LOWPASS_CUTOFFS = (4000.0, 5500.0, 8000.0, 11025.0)     # telephone, 11/16/22.05 kHz originals


def random_lowpass(wav: np.ndarray, rng: np.random.Generator, p: float, sample_rate: int) -> np.ndarray:
    """With probability ``p``, band-limit ``wav`` to a cutoff typical of band-limited sources.

    Training-time augmentation so that "nothing above 11 kHz" cannot identify a class whose sources happen
    to be 22.05 kHz originals (the built-in corpus records each clip's ``bandwidth_hz``). FFT brick wall
    with a 10 % cosine taper.

    Shape:
        wav: [..., T]; returns the same shape.
    """
    if rng.random() >= p:
        return wav
    cutoff = float(rng.choice(LOWPASS_CUTOFFS))
    spec = np.fft.rfft(wav, axis=-1)
    freqs = np.fft.rfftfreq(wav.shape[-1], 1 / sample_rate)
    gain = np.clip((cutoff - freqs) / (0.1 * cutoff), 0.0, 1.0)
    gain = 0.5 - 0.5 * np.cos(np.pi * gain)
    return np.fft.irfft(spec * gain, n=wav.shape[-1], axis=-1).astype(np.float32)
