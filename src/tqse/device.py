"""Compute devices, checked before any weights are read, so a device problem is reported as one.

``--device cuda`` on a machine without a GPU used to surface as "unreadable weights" (safetensors failing to
map tensors onto CUDA); here it says what is wrong with the device and what to use instead.
"""

from __future__ import annotations

import torch

from tqse.errors import DeviceError


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` (or the default) as a usable :class:`torch.device`; :class:`DeviceError` otherwise."""
    if device is None:
        return torch.device(default_device())
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"device {device!r}: not a device name (use cpu, cuda, cuda:1 or mps)") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(f"device {device!r}: CUDA is not available on this machine (no NVIDIA GPU or "
                              "driver, or a CPU-only torch build): use --device cpu")
        if resolved.index is not None and resolved.index >= count:
            raise DeviceError(f"device {device!r}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    elif resolved.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise DeviceError(f"device {device!r}: Apple MPS is not available on this machine: use --device cpu")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {device!r}: tqse runs on cpu, cuda or mps, not {resolved.type}")
    return resolved
