"""Reading and writing audio files with soundfile, with errors that name the file and the problem.

Everything returned is float32, mono by default (channels averaged), at the caller's requested rate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from tqse.audio.resample import resample
from tqse.errors import AudioError  # noqa: F401 - re-exported: `from tqse.audio.io import AudioError`
from tqse.files import atomic_write

SILENCE_PEAK = 1e-6  # below this peak a clip carries no usable signal (int16 quantisation step is 3e-5)


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate: int
    frames: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Header information of an audio file, raising :class:`AudioError` when it cannot be read."""
    path = str(path)
    if not os.path.exists(path):
        raise AudioError(f"{path}: file not found")
    if os.path.getsize(path) == 0:
        raise AudioError(f"{path}: file is empty (0 bytes)")
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{path}: not a readable audio file ({err})") from None
    return AudioInfo(path, int(info.samplerate), int(info.frames), int(info.channels))


def validate_audio(wav: np.ndarray, name: str = "<array>", *, allow_silent: bool = False) -> np.ndarray:
    """Check that ``wav`` is usable: non-empty, finite and (unless ``allow_silent``) not silent."""
    wav = np.asarray(wav)
    if wav.size == 0 or wav.shape[0] == 0:
        raise AudioError(f"{name}: audio has zero length")
    if not np.issubdtype(wav.dtype, np.floating) and not np.issubdtype(wav.dtype, np.integer):
        raise AudioError(f"{name}: audio has unsupported dtype {wav.dtype}")
    if np.issubdtype(wav.dtype, np.floating) and not np.isfinite(wav).all():
        bad = int((~np.isfinite(wav)).sum())
        raise AudioError(f"{name}: audio contains {bad} NaN/Inf samples")
    if not allow_silent and float(np.max(np.abs(wav))) < SILENCE_PEAK:
        raise AudioError(f"{name}: audio is silent (peak below {SILENCE_PEAK:g})")
    return wav


def _to_mono(wav: np.ndarray) -> np.ndarray:
    return wav.mean(axis=1) if wav.ndim == 2 else wav


def load_audio(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    *,
    mono: bool = True,
    offset: int = 0,
    frames: int = -1,
    allow_silent: bool = False,
) -> tuple[np.ndarray, int]:
    """Load ``path`` as float32 (``[T]`` if mono else ``[T, C]``), resampled to ``sample_rate`` if given.

    Args:
        offset, frames: region to read, in samples at the file's own rate (``-1`` = to the end).
        allow_silent: accept an all-zero region (training crops of quiet clips); files never may be empty.
    Returns:
        ``(wav, rate)`` where ``rate`` is ``sample_rate`` or the file's own rate.
    """
    info = audio_info(path)
    if info.frames == 0:
        raise AudioError(f"{info.path}: audio has zero length")
    try:
        wav, sr = sf.read(info.path, start=offset, frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{info.path}: corrupt audio data ({err})") from None
    wav = _to_mono(wav) if mono else wav
    validate_audio(wav, info.path, allow_silent=allow_silent)
    if sample_rate is not None and sample_rate != sr:
        wav, sr = resample(wav, sr, sample_rate), sample_rate
    return wav, int(sr)


def save_audio(path: str | os.PathLike, wav: np.ndarray, sample_rate: int, *, subtype: str | None = None) -> None:
    """Write ``wav`` (``[T]`` or ``[T, C]``) atomically: a killed write never leaves a truncated file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = np.asarray(wav, dtype=np.float32)
    fmt = path.suffix.lstrip(".").upper() or "WAV"
    if fmt not in sf.available_formats():
        raise AudioError(f"{path}: cannot write audio format '{fmt}' (use one of wav, flac, ogg, mp3)")
    with atomic_write(path) as tmp:
        sf.write(str(tmp), wav, int(sample_rate), format=fmt, subtype=subtype)


def iter_blocks(path: str | os.PathLike, block_frames: int, mono: bool = True) -> Iterator[np.ndarray]:
    """Yield consecutive float32 blocks of ``block_frames`` samples (``[n]`` if mono else ``[n, C]``; the
    last may be shorter), reading from disk so a long file is never fully in memory."""
    info = audio_info(path)
    try:
        with sf.SoundFile(info.path) as f:
            while True:
                block = f.read(block_frames, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    return
                yield _to_mono(block) if mono else block
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{info.path}: corrupt audio data ({err})") from None
