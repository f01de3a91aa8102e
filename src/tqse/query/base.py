"""The query-encoder protocol: frozen text and audio towers that map into one ``[B, D]`` space.

Every backend (built-in, LAION-CLAP, MS-CLAP, the deterministic test encoder) implements it. Separators
only ever see the ``[B, D]`` output, never which encoder or modality produced it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from tqse.audio.resample import resample
from tqse.errors import QueryError


@runtime_checkable
class QueryEncoder(Protocol):
    """A frozen joint text-audio embedding model.

    Attributes:
        name: identifies the backend and weights for cache keys (e.g. ``"laion:<sha256-prefix>"``).
        dim: embedding size ``D``.
        sample_rate: rate the audio tower expects; ``embed_audio`` resamples to it.
        clip_samples: audio length the tower sees; longer input is cropped deterministically, shorter
            input is tiled.
    """

    name: str
    dim: int
    sample_rate: int
    clip_samples: int

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        """``[B]`` captions -> ``[B, D]`` float32, L2-normalised."""

    def embed_audio(self, wav: torch.Tensor | np.ndarray, sample_rate: int) -> torch.Tensor:
        """``[B, T]`` waveforms at ``sample_rate`` -> ``[B, D]``; clip ``i`` alone determines row ``i``."""

    def audio_features(self, wav: torch.Tensor | np.ndarray, sample_rate: int) -> torch.Tensor:
        """``[B, T]`` waveforms -> the tower's input features ``[B, frames, mels]`` (what SpecAugment masks)."""

    def embed_features(self, features: torch.Tensor) -> torch.Tensor:
        """``[B, frames, mels]`` features -> ``[B, D]``."""


def fit_length(wav: torch.Tensor, length: int) -> torch.Tensor:
    """Deterministic crop/pad to ``length`` samples along the last axis.

    Longer input keeps the centre (the CLAP libraries crop at a random offset, which makes cached
    embeddings irreproducible); shorter input is tiled (LAION's "repeatpad") so a short one-shot is not
    mostly zeros.
    """
    n = wav.shape[-1]
    if n == 0:  # tiling nothing gives nothing: the mel front ends then failed inside torch's padding
        raise QueryError("audio query: no samples left at the encoder's rate (shorter than one sample there)")
    if n == length:
        return wav
    if n > length:
        start = (n - length) // 2
        return wav[..., start:start + length]
    reps = -(-length // max(n, 1))
    return wav.repeat(*([1] * (wav.dim() - 1)), reps)[..., :length]


def as_batch(wav: torch.Tensor | np.ndarray, sample_rate: int, target_rate: int) -> torch.Tensor:
    """Any ``[T]``/``[B, T]`` array at ``sample_rate`` -> float32 ``[B, T']`` tensor at ``target_rate``."""
    if not torch.is_tensor(wav):
        wav = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))
    wav = wav.float()
    if wav.dim() == 1:
        wav = wav[None]
    if sample_rate != target_rate:
        device = wav.device
        rows = [resample(row.detach().cpu().numpy(), sample_rate, target_rate) for row in wav]
        wav = torch.from_numpy(np.stack(rows)).to(device)
    return wav


def l2_normalise(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x.float(), dim=-1)


class FrozenModule(torch.nn.Module):
    """Base for encoder towers: parameters never train and ``.train()`` cannot switch them out of eval
    mode (AudioSep's Lightning loop flipped its CLAP into train mode: SpecAugment, dropout and BatchNorm
    batch statistics were then active while embedding the training queries)."""

    def __init__(self):
        super().__init__()
        super().train(False)

    def train(self, mode: bool = True):  # noqa: ARG002 - mode is ignored on purpose
        return super().train(False)

    def freeze(self):
        """Stop gradients and put every submodule in eval mode (``__init__`` ran before they existed)."""
        for p in self.parameters():
            p.requires_grad_(False)
        return super().train(False)
