"""Sample-rate conversion with soxr (high quality, CPU, numpy in and out)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(wav: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample ``wav`` (shape ``[T]`` or ``[T, C]``) from ``sr_in`` to ``sr_out`` Hz.

    Returns float32. The identity when the rates match (no copy of the data is made).
    """
    wav = np.asarray(wav, dtype=np.float32)
    if sr_in == sr_out or wav.shape[0] == 0:
        return wav
    return soxr.resample(wav, sr_in, sr_out, quality="HQ").astype(np.float32, copy=False)


def match_length(wav: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad ``[T]`` to ``length`` samples: a resampling round trip can be off by a sample."""
    if wav.shape[0] >= length:
        return wav[:length]
    return np.pad(wav, (0, length - wav.shape[0]))


class StreamResampler:
    """Chunk-by-chunk resampling whose concatenated output equals one-shot resampling (up to soxr's
    streaming delay handling), so long files never need to be in memory at once."""

    def __init__(self, sr_in: int, sr_out: int, channels: int = 1):
        self.identity = sr_in == sr_out
        self._stream = None if self.identity else soxr.ResampleStream(
            sr_in, sr_out, channels, dtype="float32", quality="HQ")

    def process(self, chunk: np.ndarray, last: bool = False) -> np.ndarray:
        chunk = np.ascontiguousarray(chunk, dtype=np.float32)
        if self.identity:
            return chunk
        return self._stream.resample_chunk(chunk, last=last)
