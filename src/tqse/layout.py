"""Array layouts of the Python API: numpy or torch, ``[T]``, ``[C, T]`` or ``[T, C]``, and back.

Torch users pass channels first (``[C, T]``), soundfile users channels last (``[T, C]``); a 2-D shape is read
one way only when the other reading is impossible (more than :data:`MAX_CHANNELS` channels). A shape that
fits both, such as ``(2, 8)``, is an error naming both readings unless ``layout=`` says which it is: guessing
wrong used to read a 2 x 32,000 array as 32,000 channels and return garbage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tqse.audio.io import AudioError

MAX_CHANNELS = 64
LAYOUTS = ("T", "CT", "TC")


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
            import torch

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
    chosen = _layout(array.shape, name, layout)
    dtype = array.dtype if array.dtype.kind == "f" else np.float32
    if kind == "torch":
        import torch

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
