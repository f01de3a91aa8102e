"""Embedding manipulations that close the CLAP modality gap (seed paper, Sec. II-C).

Training-only, per example, each the identity at strength 0:

- :class:`EmbeddingDropout` zeroes a fraction ``p ~ U[lo, hi]`` of the dimensions (Bernoulli), with separate
  ranges for audio (``[.75, .95]``) and text (``[.25, .75]``) queries. The paper says "dropped out (zeroed
  out)": by default the kept dimensions are **not** rescaled by ``1 / (1 - p)``; ``rescale=True`` applies
  the usual inverted-dropout rescaling instead, and ``renormalize=True`` (beyond the paper) gives the
  dropped-out query back the norm it had, so training sees queries as long as the unit-norm text embedding
  met at inference (plain dropout shrinks an audio query's norm to 0.2-0.5).
- :class:`GaussianNoise`: ``q + a v / |v|`` with ``v ~ N(0, I)``, ``a ~ U[1.5, 3.5]`` audio / ``U[1, 2]`` text.
- :func:`mixup_waveforms`: the audio query is embedded from the target mixed with another clip at
  SNR ``U[-5, 5]`` dB (applied before the audio tower).
- :func:`spec_augment`: zero 2 frame masks of width ``U[0, 64]`` and 2 mel-bin masks of width ``U[0, 2]`` on
  the audio tower's input features.

PCA to ``d = 16`` fitted on 1000 text embeddings, and PCA-inv, are not training-only augmentations: the
same projection is applied to every query at inference too, so the separator owns it
(:class:`tqse.models.separator.PCAProjection`).

All random draws take an explicit ``torch.Generator`` so a training step is reproducible from its seed.
Strengths come from the config sections (:mod:`tqse.config`), the one place their defaults live.
"""

from __future__ import annotations

import torch

from tqse.config import DropoutConfig, NoiseConfig, SpecAugmentConfig

Range = tuple[float, float]


def _uniform(lo: float, hi: float, n: int, generator: torch.Generator | None, device) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=generator, device="cpu").to(device)


def _per_modality(is_audio: torch.Tensor, audio: Range, text: Range, generator) -> torch.Tensor:
    """One value per example, drawn from the audio or the text range according to ``is_audio`` ``[B]``."""
    n, device = is_audio.shape[0], is_audio.device
    return torch.where(is_audio, _uniform(*audio, n, generator, device), _uniform(*text, n, generator, device))


class EmbeddingDropout:
    """Bernoulli dropout of embedding dimensions with a per-example rate (see module docstring)."""

    def __init__(self, config: DropoutConfig):
        self.p_audio, self.p_text, self.rescale = tuple(config.p_audio), tuple(config.p_text), config.rescale
        self.renormalize = config.renormalize

    def __call__(self, q: torch.Tensor, is_audio: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        p = _per_modality(is_audio, self.p_audio, self.p_text, generator).to(q.dtype)[:, None]  # [B, 1]
        draws = torch.rand(q.shape, generator=generator, device="cpu").to(q.device, q.dtype)
        keep = (draws >= p).to(q.dtype)
        if self.rescale:
            keep = keep / (1 - p).clamp_min(1e-6)
        out = q * keep
        if self.renormalize:
            out = out * (q.norm(dim=-1, keepdim=True) / out.norm(dim=-1, keepdim=True).clamp_min(1e-12))
        return out


class GaussianNoise:
    """``q + a v / |v|``: noise of norm exactly ``a`` in a random direction (see module docstring)."""

    def __init__(self, config: NoiseConfig):
        self.alpha_audio, self.alpha_text = tuple(config.alpha_audio), tuple(config.alpha_text)

    def __call__(self, q: torch.Tensor, is_audio: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        alpha = _per_modality(is_audio, self.alpha_audio, self.alpha_text, generator).to(q.dtype)[:, None]
        v = torch.randn(q.shape, generator=generator, device="cpu").to(q.device, q.dtype)
        return q + alpha * v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def mixup_waveforms(target: torch.Tensor, other: torch.Tensor, snr_db: Range,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Mix ``other`` into ``target`` (both ``[B, T]``) at a per-example SNR drawn from ``snr_db``."""
    snr = _uniform(*snr_db, target.shape[0], generator, target.device)[:, None]
    return target + scale_to_snr(target, other, snr)


def scale_to_snr(target: torch.Tensor, interferer: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """Rescale ``interferer`` so that ``10 log10(|target|^2 / |interferer|^2) == snr_db`` (per row)."""
    target_energy = target.pow(2).sum(-1, keepdim=True)
    interferer_energy = interferer.pow(2).sum(-1, keepdim=True).clamp_min(1e-12)
    return interferer * torch.sqrt(target_energy / (interferer_energy * 10 ** (snr_db / 10)))


def spec_augment(features: torch.Tensor, config: SpecAugmentConfig,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero ``config.time_masks`` frame bands and ``config.freq_masks`` mel-bin bands of ``features``
    ``[B, frames, mels]``, each of a width drawn per example from ``U[0, width]``."""
    b, frames, mels = features.shape
    keep = torch.ones(b, frames, mels, dtype=torch.bool)
    for axis, count, width, size in ((1, config.time_masks, config.time_width, frames),
                                     (2, config.freq_masks, config.freq_width, mels)):
        for _ in range(count):
            widths = torch.randint(0, width + 1, (b,), generator=generator)
            starts = (torch.rand(b, generator=generator) * (size - widths + 1).clamp_min(1)).long()
            index = torch.arange(size)[None]
            band = (index >= starts[:, None]) & (index < (starts + widths)[:, None])  # [B, size]
            keep &= ~(band[:, :, None] if axis == 1 else band[:, None, :])
    return features * keep.to(features.device, features.dtype)
