"""Spectrogram images for the web page with numpy and zlib only (matplotlib is a dev extra, not a runtime one).

Frequencies are drawn on the mel scale (HTK formula), so the few kHz where most sounds live are not squeezed
into the bottom rows. Every image of one extraction shares one dB range (the mixture's peak down ``dynamic_range_db``), so the
mixture, the extracted sound and the residual are drawn on the same colour scale; the page draws the axes,
their labels and the colour bar around the images from :class:`SpectrogramScale`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import asdict, dataclass

import numpy as np

N_FFT = 1024
HOP = 256
# Anchor colours of a perceptually ordered dark-blue -> magenta -> yellow map (our own choice of anchors).
_ANCHORS = np.array([[0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99], [212, 72, 66],
                     [245, 125, 21], [250, 193, 39], [252, 255, 164]], np.float64)


def colormap(levels: int = 256) -> np.ndarray:
    """``[levels, 3]`` uint8 RGB lookup table, dark (quiet) to bright (loud)."""
    x = np.linspace(0, len(_ANCHORS) - 1, levels)
    rgb = [np.interp(x, np.arange(len(_ANCHORS)), _ANCHORS[:, c]) for c in range(3)]
    return np.stack(rgb, axis=1).round().astype(np.uint8)


@dataclass(frozen=True)
class SpectrogramScale:
    """What the page needs to label an image: time and frequency extent and the shared dB range."""

    seconds: float
    max_hz: float
    db_min: float
    db_max: float

    def to_json(self) -> dict:
        return {**{k: round(float(v), 3) for k, v in asdict(self).items()}, "frequency_scale": "mel"}


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, np.float64) / 2595.0) - 1.0)


def power_db(wav: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Mono ``[T]`` -> ``[F, frames]`` power in dB (Hann window, centred frames, zero-padded edges)."""
    wav = np.asarray(wav, np.float32)
    padded = np.pad(wav, (n_fft // 2, n_fft // 2 + n_fft))
    frames = max(1, 1 + (len(wav)) // hop)
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    db = np.empty((n_fft // 2 + 1, frames), np.float32)
    for start in range(0, frames, 512):  # frames in blocks: bounded memory for long files
        idx = np.arange(start, min(frames, start + 512))[:, None] * hop + np.arange(n_fft)[None]
        spec = np.fft.rfft(padded[idx] * window, axis=1)
        db[:, start:start + len(idx)] = (10 * np.log10(np.abs(spec) ** 2 + 1e-10)).T
    return db


def shared_scale(mixture_db: np.ndarray, seconds: float, sample_rate: int,
                 dynamic_range_db: float = 80.0) -> SpectrogramScale:
    peak = float(mixture_db.max())
    return SpectrogramScale(seconds, sample_rate / 2, peak - dynamic_range_db, peak)


def render(db: np.ndarray, scale: SpectrogramScale, width: int = 640, height: int = 200) -> bytes:
    """``[F, frames]`` dB -> PNG bytes: ``height`` mel-spaced rows up to ``scale.max_hz`` (low at the bottom),
    columns max-pooled to at most ``width``."""
    pooled = _mel_rows(_pool(db, width, axis=1), height, scale.max_hz)
    norm = np.clip((pooled - scale.db_min) / max(scale.db_max - scale.db_min, 1e-6), 0.0, 1.0)
    lut = colormap()
    image = lut[(norm[::-1] * (len(lut) - 1)).round().astype(np.int64)]
    return png(image)


def colorbar(height: int = 200, width: int = 12) -> bytes:
    """Vertical colour bar PNG, loud at the top, for the page's legend."""
    lut = colormap()[::-1]
    rows = lut[np.linspace(0, len(lut) - 1, height).round().astype(np.int64)]
    return png(np.repeat(rows[:, None, :], width, axis=1))


def _mel_rows(db: np.ndarray, height: int, max_hz: float) -> np.ndarray:
    """Linear-frequency rows ``[F, n]`` (0 .. ``max_hz``) -> ``[height, n]`` equally spaced in mel, each row
    the max over the bins it covers (at least one)."""
    n_bins = db.shape[0]
    edges_hz = mel_to_hz(np.linspace(0.0, float(hz_to_mel(max_hz)), height + 1))
    edges = np.clip(np.round(edges_hz / max_hz * (n_bins - 1)).astype(np.int64), 0, n_bins - 1)
    return np.stack([db[lo:max(hi, lo + 1)].max(axis=0) for lo, hi in zip(edges[:-1], edges[1:])])


def _pool(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Max-pool ``axis`` down to at most ``size`` entries (never upsamples; the browser stretches)."""
    n = values.shape[axis]
    if n <= size:
        return values
    edges = np.linspace(0, n, size + 1).astype(np.int64)
    return np.maximum.reduceat(values, edges[:-1], axis=axis)


def png(rgb: np.ndarray) -> bytes:
    """Encode ``[H, W, 3]`` uint8 as a PNG (8-bit truecolour, no filter)."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
