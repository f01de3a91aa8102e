"""Two-source mixing at a drawn SNR (seed paper Sec. IV-A: SNR ~ U[-5, 5] dB), numpy, no state.

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
