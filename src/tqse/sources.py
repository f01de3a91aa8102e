"""What an extraction reads: a file (streamed block by block), an in-memory array, or standard input.

Each source knows its rate, channel count and length before any processing, rejects empty audio on every
path (a header-only WAV used to "succeed" on the streamed path), and measures the input's peak so very loud
float input (values up to 3e38) can be scaled into the model's range and back.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soundfile as sf

from tqse.audio.io import AudioError, audio_info, iter_blocks

STDIN = "-"
LOUD_PEAK = 1.0  # above full scale the input is scaled to peak 1 for the model and the output scaled back


@dataclass
class Source:
    """Audio to extract from: ``blocks(n)`` yields float32 ``[m, C]`` blocks of at most ``n`` frames."""

    name: str
    sample_rate: int
    channels: int
    frames: int
    blocks: Callable[[int], Iterator[np.ndarray]]
    path: Path | None = None  # the file, when there is one (an output must never overwrite it)
    peak_fn: Callable[[], float] = field(default=lambda: 1.0)

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    def input_gain(self) -> float:
        """Factor that brings the input's peak to at most 1 (1.0 for ordinary input)."""
        peak = self.peak_fn()
        if not np.isfinite(peak):
            raise AudioError(f"{self.name}: audio contains NaN/Inf samples")
        return 1.0 / peak if peak > LOUD_PEAK else 1.0


def _check_length(name: str, frames: int) -> None:
    if frames <= 0:
        raise AudioError(f"{name}: audio has zero length (no samples after the header)")


def _check_rate(name: str, rate: int) -> None:
    from tqse.options import MAX_RATE, MIN_RATE

    if not MIN_RATE <= rate <= MAX_RATE:  # a corrupt header can claim 1 Hz or 2 GHz: soxr would hang or zero it
        raise AudioError(f"{name}: sample rate {rate} Hz is outside what tqse handles ({MIN_RATE}-{MAX_RATE} Hz)")


def file_source(path: str | os.PathLike) -> Source:
    """A file streamed from disk; float files get a peak pre-pass (integer PCM cannot exceed full scale)."""
    if str(path) == STDIN:
        return stdin_source()
    info = audio_info(path)
    _check_length(info.path, info.frames)
    _check_rate(info.path, info.sample_rate)
    is_float = sf.info(info.path).subtype in ("FLOAT", "DOUBLE")

    def peak() -> float:
        if not is_float:
            return 1.0
        return max((float(np.abs(b).max()) for b in iter_blocks(info.path, 1 << 18, mono=False)), default=0.0)

    return Source(info.path, info.sample_rate, info.channels, info.frames,
                  lambda n: iter_blocks(info.path, n, mono=False), Path(info.path), peak)


def array_source(data: np.ndarray, sample_rate: int, name: str = "input audio") -> Source:
    """``data``: ``[C, T]`` (any float dtype; kept as is until each block is scaled)."""
    _check_length(name, data.shape[-1])
    data = np.asarray(data)

    def blocks(n: int) -> Iterator[np.ndarray]:
        for start in range(0, data.shape[1], n):
            yield data[:, start:start + n].T

    def peak() -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.abs(data).max())

    return Source(name, int(sample_rate), data.shape[0], data.shape[1], blocks, None, peak)


def stdin_source() -> Source:
    """Standard input, read whole (a pipe cannot be read twice); any format soundfile can decode."""
    raw = sys.stdin.buffer.read()
    if not raw:
        raise AudioError("standard input: empty (pipe audio into tqse, e.g. `cat mix.wav | tqse extract - ...`)")
    try:
        data, rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"standard input: not a readable audio stream ({err})") from None
    _check_rate("standard input", rate)
    return array_source(data.T, rate, "standard input")
