"""Validation of the extraction options, in one place for the Python API and the CLI.

Every number a user can pass (chunk and overlap lengths, block size, sample rates) is checked here before any
audio is read or any model runs, so a bad value is a one-line :class:`~tqse.errors.OptionError` naming the
option, never a hang (``sample_rate=nan`` used to loop forever in the resampler), a raw ``OverflowError`` or
silently wrong output (``overlap_seconds=-1`` zeroed a third of the result).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from tqse.errors import OptionError

MIN_RATE, MAX_RATE = 1000, 768_000  # soxr and libsndfile are exercised in this range; 2e9 Hz gave zeros
MAX_CHUNK_SECONDS = 3600.0
MIN_CHUNK_SECONDS = 0.05  # shorter chunks are below the model's STFT window: pure padding
CLIP_MODES = ("rescale", "clamp", "none")
DEPTHS = ("int16", "int24", "float32")


def number(name: str, value, *, minimum: float = 0.0, maximum: float = math.inf, allow_min: bool = True) -> float:
    """``value`` as a finite float in ``[minimum, maximum]`` (``(minimum, ...]`` unless ``allow_min``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise OptionError(f"{name} must be a finite number, got {value}")
    if value < minimum or (value == minimum and not allow_min) or value > maximum:
        low = "[" if allow_min else "("
        raise OptionError(f"{name} must be in {low}{minimum:g}, {maximum:g}], got {value:g}")
    return value


def sample_rate(name: str, value) -> int:
    """A sample rate: an integer number of Hz in ``[MIN_RATE, MAX_RATE]``."""
    rate = number(name, value, minimum=MIN_RATE, maximum=MAX_RATE)
    if rate != int(rate):
        raise OptionError(f"{name} must be a whole number of Hz, got {rate:g}")
    return int(rate)


@dataclass(frozen=True)
class ChunkOptions:
    """Validated chunking: ``chunk_seconds`` 0 means the whole signal at once."""

    chunk_seconds: float
    overlap_seconds: float
    block_seconds: float = 30.0


def chunk_options(chunk_seconds, overlap_seconds, block_seconds=30.0) -> ChunkOptions:
    chunk = number("chunk_seconds", chunk_seconds, maximum=MAX_CHUNK_SECONDS)
    if 0 < chunk < MIN_CHUNK_SECONDS:
        raise OptionError(f"chunk_seconds must be 0 (no chunking) or at least {MIN_CHUNK_SECONDS:g}, got {chunk:g}")
    overlap = number("overlap_seconds", overlap_seconds, maximum=MAX_CHUNK_SECONDS)
    block = number("block_seconds", block_seconds, minimum=0.0, maximum=MAX_CHUNK_SECONDS, allow_min=False)
    # An overlap above half a chunk is clamped by the chunker (documented), so the CLI default of 1 s still
    # works with --chunk-seconds 1; only impossible values are refused.
    return ChunkOptions(chunk, overlap, block)


def choice(name: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise OptionError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value
