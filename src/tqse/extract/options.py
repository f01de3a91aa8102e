"""What a caller hands the extractor, checked before any audio is read or any model runs.

:class:`ExtractOptions` is the one place the extraction defaults live: the Python API's keyword arguments,
``tqse extract``'s options and ``tqse serve``'s settings all read them from it. Every number a user can pass
(chunk and overlap lengths, block size, sample rates) is checked here, so a bad value is a one-line
:class:`~tqse.errors.OptionError` naming the option, never a hang (``sample_rate=nan`` used to loop forever in
the resampler), a raw ``OverflowError`` or silently wrong output (``overlap_seconds=-1`` zeroed a third of the
result). Queries (text, audio clips or embeddings, one or a list) are checked before they reach an encoder: a
caption a tokenizer cannot take (a lone surrogate such as ``"dog\\ud800"`` used to raise a tokenizer
``TypeError``), an empty list or a non-string is a :class:`~tqse.errors.QueryError` naming the query.

Array layouts: torch users pass channels first (``[C, T]``), soundfile users channels last (``[T, C]``); a 2-D
shape is read one way only when the other reading is impossible (more than :data:`MAX_CHANNELS` channels). A
shape that fits both, such as ``(2, 8)``, is an error naming both readings unless ``layout=`` says which it is:
guessing wrong used to read a 2 x 32,000 array as 32,000 channels and return garbage.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from tqse.audio.io import AudioError, load_audio, validate_audio
from tqse.errors import OptionError, QueryError
from tqse.query.text_query import MAX_QUERY_CHARS, as_list, text_queries  # noqa: F401 (re-exported)

MIN_RATE, MAX_RATE = 1000, 768_000  # soxr and libsndfile are exercised in this range; 2e9 Hz gave zeros
MAX_CHUNK_SECONDS = 3600.0
MIN_CHUNK_SECONDS = 0.05  # shorter chunks are below the model's STFT window: pure padding
CLIP_MODES = ("rescale", "clamp", "none")
DEPTHS = ("int16", "int24", "float32")
MAX_CHANNELS = 64
LAYOUTS = ("T", "CT", "TC")
# An audio query shorter than this says nothing about a sound; a 1-sample file at 44.1 kHz resampled to an
# encoder's 16 kHz had no samples left and failed inside torch's padding with a traceback.
MIN_AUDIO_QUERY_SECONDS = 0.01


@dataclass(frozen=True)
class ExtractOptions:
    """How an extraction runs and writes its outputs; every default of extraction lives here.

    Args:
        chunk_seconds: chunk length; ``0`` separates the whole signal at once.
        overlap_seconds: cross-fade between chunks (an overlap above half a chunk is clamped by the chunker,
            so the default of 1 s still works with 1-s chunks; only impossible values are refused).
        block_seconds: how much of a streamed file is read at a time (memory, not results).
        clip_mode: output louder than full scale: ``rescale`` (lower its level), ``clamp`` (clip it) or
            ``none`` (keep it; float32 files only, integer formats clip). Never silent.
        depth: sample format of PCM outputs: ``int16`` (when None), ``int24`` or ``float32``.
    """

    chunk_seconds: float = 10.0
    overlap_seconds: float = 1.0
    block_seconds: float = 30.0
    clip_mode: str = "rescale"
    depth: str | None = None

    def checked(self) -> "ExtractOptions":
        """These options as finite floats in range, or an :class:`~tqse.errors.OptionError` naming the option."""
        chunk = number("chunk_seconds", self.chunk_seconds, maximum=MAX_CHUNK_SECONDS)
        if 0 < chunk < MIN_CHUNK_SECONDS:
            raise OptionError(f"chunk_seconds must be 0 (no chunking) or at least {MIN_CHUNK_SECONDS:g}, got {chunk:g}")
        overlap = number("overlap_seconds", self.overlap_seconds, maximum=MAX_CHUNK_SECONDS)
        block = number("block_seconds", self.block_seconds, minimum=0.0, maximum=MAX_CHUNK_SECONDS, allow_min=False)
        choice("clip_mode", self.clip_mode, CLIP_MODES)
        if self.depth is not None:
            choice("depth", self.depth, DEPTHS)
        return replace(self, chunk_seconds=chunk, overlap_seconds=overlap, block_seconds=block)


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


def choice(name: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise OptionError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def audio_queries(audio_query, rate: int | None) -> tuple[list[tuple[np.ndarray, int]], bool]:
    """Paths or arrays -> list of (mono float32 clip, rate)."""
    if isinstance(audio_query, np.ndarray) or isinstance(audio_query, torch.Tensor):
        items, many = [audio_query], False
    else:
        items, many = as_list(audio_query, "audio query")
    clips = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            clips.append(_long_enough(*load_audio(item), f"audio query {os.fspath(item)}"))
            continue
        if rate is None:
            raise QueryError("audio_query given as an array needs audio_query_rate")
        data, _ = to_channels_first(item, "audio query")
        wav = validate_audio(data.mean(axis=0).astype(np.float32), "audio query")
        clips.append(_long_enough(wav, sample_rate("audio_query_rate", rate), "audio query"))
    for wav, _ in clips:
        if not np.isfinite(wav).all():
            raise AudioError("audio query: contains NaN/Inf samples")
    return clips, many


def _long_enough(wav: np.ndarray, rate: int, name: str) -> tuple[np.ndarray, int]:
    if len(wav) < MIN_AUDIO_QUERY_SECONDS * rate:
        samples = f"{len(wav)} sample" + ("" if len(wav) == 1 else "s")
        raise AudioError(f"{name}: {samples} at {rate} Hz ({1000 * len(wav) / rate:.2g} ms) is too short to "
                         f"describe a sound: give at least {1000 * MIN_AUDIO_QUERY_SECONDS:g} ms")
    return wav, rate


def embedding_queries(embedding) -> tuple[torch.Tensor, bool]:
    """``[D]`` or ``[Q, D]`` (numpy, torch or list) -> (``[Q, D]`` float32, given as several)."""
    try:
        array = np.asarray(embedding.detach().cpu() if isinstance(embedding, torch.Tensor) else embedding)
    except (TypeError, ValueError) as err:
        raise QueryError(f"the query embedding is not an array of numbers ({err})") from None
    if array.dtype.kind not in "fiu" or array.ndim not in (1, 2) or array.size == 0:
        raise QueryError(f"the query embedding must be a non-empty [D] or [Q, D] array of numbers, got "
                         f"shape {array.shape} dtype {array.dtype}")
    query = torch.as_tensor(array.astype(np.float32))
    if not torch.isfinite(query).all():
        raise QueryError("the query embedding contains NaN/Inf")
    return query.reshape(-1, array.shape[-1]), array.ndim == 2


@dataclass(frozen=True)
class Layout:
    """How to turn the model's ``[C, T]`` float32 result back into what the caller passed."""

    layout: str
    kind: str  # numpy | torch
    dtype: Any
    device: Any = None

    def restore(self, out: np.ndarray) -> Any:
        out = out[0] if self.layout == "T" else (out.T if self.layout == "TC" else out)
        out = np.ascontiguousarray(out)
        if self.kind == "torch":
            return torch.from_numpy(out).to(device=self.device, dtype=self.dtype)
        return out.astype(self.dtype, copy=False)


def to_channels_first(audio, name: str = "input audio", layout: str | None = None) -> tuple[np.ndarray, Layout]:
    """``audio`` (numpy/torch/list) -> ``([C, T] float64 array, Layout)``; integer PCM is scaled to +-1."""
    kind, device, array = _as_numpy(audio, name)
    if array.dtype.kind == "c":
        raise AudioError(f"{name}: complex arrays are not audio (dtype {array.dtype}); pass the real signal")
    if array.dtype.kind not in "fiu":
        raise AudioError(f"{name}: unsupported dtype {array.dtype}: pass float or integer PCM samples")
    if array.ndim not in (1, 2):
        raise AudioError(f"{name}: expected [T], [C, T] or [T, C], got {array.ndim}-D shape {tuple(array.shape)}")
    if array.ndim == 2 and array.size == 0:  # np.zeros((100, 0)) reached a reduction and raised numpy's ValueError
        raise AudioError(f"{name}: shape {tuple(array.shape)} holds no samples (zero channels or zero length)")
    chosen = _layout(array.shape, name, layout)
    dtype = array.dtype if array.dtype.kind == "f" else np.float32
    if kind == "torch":
        dtype = getattr(audio, "dtype", torch.float32) if array.dtype.kind == "f" else torch.float32
    data = _pcm_to_float(array)
    data = data[None] if chosen == "T" else (data.T if chosen == "TC" else data)
    return data, Layout(chosen, kind, dtype, device)


def _as_numpy(audio, name: str) -> tuple[str, Any, np.ndarray]:
    if type(audio).__module__.startswith("torch"):
        tensor = audio.detach().cpu()
        if tensor.is_floating_point() and tensor.element_size() < 4:  # bf16/fp16 have no numpy dtype
            tensor = tensor.float()
        return "torch", audio.device, tensor.numpy()
    try:
        return "numpy", None, np.asarray(audio)
    except (ValueError, TypeError) as err:
        raise AudioError(f"{name}: not an array of samples ({err})") from None


def _layout(shape: tuple[int, ...], name: str, layout: str | None) -> str:
    if len(shape) == 1:
        if layout not in (None, "T"):
            raise AudioError(f"{name}: layout={layout!r} does not fit a 1-D array of shape {tuple(shape)}")
        return "T"
    if layout is not None:
        if layout not in ("CT", "TC"):
            raise AudioError(f"{name}: layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        return layout
    rows, cols = shape
    channels_first, channels_last = rows <= MAX_CHANNELS, cols <= MAX_CHANNELS
    if channels_first and not channels_last:
        return "CT"
    if channels_last and not channels_first:
        return "TC"
    if rows == 1 and cols == 1:
        return "CT"  # one sample of one channel: both readings are the same
    raise AudioError(f"{name}: shape {tuple(shape)} is ambiguous: it could be [C={rows}, T={cols}] or "
                     f"[T={rows}, C={cols}]; pass layout='CT' or layout='TC' (at most {MAX_CHANNELS} channels)")


def _pcm_to_float(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "f":
        return array.astype(np.float64, copy=False)
    info = np.iinfo(array.dtype)
    if array.dtype.kind == "u":  # unsigned PCM (8-bit WAV) is centred on its midpoint
        return (array.astype(np.float64) - (info.max + 1) / 2) / ((info.max + 1) / 2)
    return array.astype(np.float64) / (info.max + 1)
