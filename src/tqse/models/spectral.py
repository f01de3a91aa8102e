"""The STFT front and back end shared by frame-wise mask estimators: features in, mask out.

Dimension legend: B batch, T samples, F frequency bins, N frames, F' feature or mask size per frame.

Two input features and two mask kinds, chosen by name so a preset is a config diff:
- ``log_magnitude`` in, ``magnitude`` mask out: the seed paper's Conformer (mixture phase reused).
- ``compressed_complex`` in (|X|^0.3 with the mixture's phase, real and imaginary parts), ``complex`` mask
  out (magnitude bounded by tanh, as DCCRN's bounded complex ratio mask): the network sees and can correct
  phase, and power-law compression keeps quiet bins visible without a log's blow-up near zero.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tqse.audio.stft import STFT

MASK_ACTIVATIONS = {"sigmoid": torch.sigmoid, "relu": F.relu, "softplus": F.softplus}
FEATURES = ("log_magnitude", "compressed_complex")
MASKS = ("magnitude", "complex")
COMPRESSION = 0.3
# tanh(0.5493) = 0.5: a fresh complex mask passes half the mixture, as a fresh sigmoid mask does.
HALF_MASK_LOGIT = 0.5493


class SpectralIO(nn.Module):
    """STFT analysis to per-frame features, and mask application plus iSTFT.

    Args:
        sample_rate, window_ms, hop_ms: the STFT at the model rate.
        features: one of :data:`FEATURES`; mask: one of :data:`MASKS`.
        mask_activation: squashing of a magnitude mask (:data:`MASK_ACTIVATIONS`).
    """

    def __init__(self, sample_rate: int, window_ms: float, hop_ms: float, features: str = "log_magnitude",
                 mask: str = "magnitude", mask_activation: str = "sigmoid"):
        super().__init__()
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, not {features!r}")
        if mask not in MASKS:
            raise ValueError(f"mask must be one of {MASKS}, not {mask!r}")
        n_fft = int(round(sample_rate * window_ms / 1000))
        self.stft = STFT(n_fft, int(round(sample_rate * hop_ms / 1000)))
        self.bins = n_fft // 2 + 1
        self.features, self.mask, self.mask_activation = features, mask, mask_activation

    @property
    def feature_dim(self) -> int:
        return self.bins * (2 if self.features == "compressed_complex" else 1)

    @property
    def mask_dim(self) -> int:
        return self.bins * (2 if self.mask == "complex" else 1)

    def init_mask_bias(self, layer: nn.Linear) -> None:
        """Start a complex mask at 0.5 + 0j (its real half first), so training starts from "half the mix"."""
        if self.mask == "complex":
            with torch.no_grad():
                layer.bias[: self.bins].fill_(HALF_MASK_LOGIT)
                layer.bias[self.bins:].zero_()

    def analyse(self, mixture: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, T]`` -> (complex spectrum ``[B, F, N]``, features ``[B, N, F']``), always in float32."""
        with torch.autocast(mixture.device.type, enabled=False):
            spec = self.stft(mixture.float())
            magnitude = spec.abs()
            if self.features == "log_magnitude":
                return spec, torch.log1p(magnitude).transpose(1, 2)
            scale = magnitude.clamp_min(1e-8) ** (COMPRESSION - 1)  # |X|^0.3 * X/|X|
            compressed = torch.view_as_real(spec * scale)  # [B, F, N, 2]
            return spec, compressed.permute(0, 2, 3, 1).flatten(2)  # [B, N, 2F]: real bins, then imaginary

    def synthesise(self, spec: torch.Tensor, mask_logits: torch.Tensor, length: int) -> torch.Tensor:
        """Apply the mask predicted from ``mask_logits`` ``[B, N, F']`` to ``spec`` and invert to ``[B, length]``."""
        with torch.autocast(spec.device.type, enabled=False):
            logits = mask_logits.float().transpose(1, 2)  # [B, F', N]
            if self.mask == "magnitude":
                mask = MASK_ACTIVATIONS[self.mask_activation](logits)
            else:
                z = torch.complex(logits[:, : self.bins], logits[:, self.bins:])
                magnitude = z.abs()
                mask = z * (torch.tanh(magnitude) / magnitude.clamp_min(1e-8))
            return self.stft.inverse(spec * mask, length)
