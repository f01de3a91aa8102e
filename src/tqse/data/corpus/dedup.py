"""Find exact and near-duplicate recordings by a spectral fingerprint (not by file name).

Games re-ship the same freesound recordings (a rain loop in several tilesets, a wolf howl in two games),
sometimes re-encoded or resampled. Two recordings are duplicates when their durations agree within 10 %
and the frame-by-frame log energies in 16 bands below 4 kHz (so an 8 kHz copy still matches a 44.1 kHz one)
correlate above 0.95 over the first few seconds. Duplicates are merged into one recording group, so they
never sit on both sides of a split, and only one copy counts as a distinct recording.
"""

from __future__ import annotations

import numpy as np

from tqse.data.corpus.clips import SAMPLE_RATE

N_FFT, HOP, N_BANDS, MAX_FRAMES = 1024, 512, 16, 320      # 320 frames of 16 ms = ~5 s
_EDGES = np.geomspace(60, 4000, N_BANDS + 1)


def fingerprint(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Log band energies of the first ~5 s of a (trimmed) recording.

    Shape:
        wav: [T]; returns [frames, 16] float32 (frames >= 1).
    """
    wav = wav[: MAX_FRAMES * HOP + N_FFT]
    if len(wav) < N_FFT:
        wav = np.pad(wav, (0, N_FFT - len(wav)))
    frames = np.lib.stride_tricks.sliding_window_view(wav, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * np.hanning(N_FFT), axis=1)) ** 2
    freqs = np.fft.rfftfreq(N_FFT, 1 / sample_rate)
    bands = np.stack([power[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) + 1e-10
                      for lo, hi in zip(_EDGES[:-1], _EDGES[1:])], axis=1)
    return (10 * np.log10(bands)).astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two fingerprints over their common frames (1.0 = same sound, any gain)."""
    n = min(len(a), len(b))
    x, y = a[:n].ravel() - a[:n].mean(), b[:n].ravel() - b[:n].mean()
    denom = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denom) if denom > 0 else (1.0 if np.allclose(a[:n], b[:n]) else 0.0)


def duplicate_clusters(prints: list[np.ndarray], durations: list[float],
                       threshold: float = 0.95) -> list[int]:
    """Cluster id per recording: recordings with the same id are duplicates of each other.

    A cheap pre-filter on per-band means (and duration) keeps this near-linear in practice.

    Returns:
        list of cluster ids (the index of the cluster's first member).
    """
    n = len(prints)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    means = np.stack([p.mean(axis=0) - p.mean() for p in prints]) if n else np.zeros((0, N_BANDS))
    dur = np.asarray(durations, dtype=np.float64)
    for i in range(n):
        close = np.flatnonzero((np.abs(means[i + 1:] - means[i]).max(axis=1) < 8.0)
                               & (np.minimum(dur[i + 1:], dur[i]) >= 0.9 * np.maximum(dur[i + 1:], dur[i])))
        for j in close + i + 1:
            if find(i) != find(j) and similarity(prints[i], prints[j]) > threshold:
                parent[max(find(i), find(j))] = min(find(i), find(j))
    return [find(i) for i in range(n)]
