"""Conformer mask estimator conditioned by FiLM: the main backbone of the seed paper (Sec. IV-B).

Dimension legend:
    B batch, T samples, F frequency bins (n_fft // 2 + 1), N STFT frames, C model width (d_model),
    D query-embedding size.

Pipeline: mixture ``[B, T]`` -> magnitude STFT ``[B, F, N]`` -> log-compressed, projected to ``[B, N, C]``
-> (ConditioningBlock(q) -> ConformerLayer) x L -> real-valued mask ``[B, F, N]`` -> masked magnitude with the
mixture phase -> iSTFT ``[B, T]``. With ``frame_stride`` s > 1 the layers run on ``N / s`` frames (averaged
after the input projection, interpolated back before the mask projection): the STFT keeps its resolution
while the costly part costs about 1/s (attention 1/s^2) per second of audio.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from tqse.models.film import ConditioningBlock
from tqse.models.spectral import MASK_ACTIVATIONS, SpectralIO


class FeedForward(nn.Module):
    def __init__(self, channels: int, hidden: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(channels), nn.Linear(channels, hidden), nn.SiLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, channels), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``scaled_dot_product_attention`` (fused kernels on GPU).

    No positional encoding: the convolution module gives the layer its sense of local order.
    """

    def __init__(self, channels: int, heads: int, dropout: float):
        super().__init__()
        if channels % heads:
            raise ValueError(f"d_model={channels} is not divisible by n_heads={heads}")
        self.heads, self.dropout = heads, dropout
        self.norm = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(self.norm(x)).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, n, c))


class ConvModule(nn.Module):
    """Pointwise conv + GLU, depthwise conv, norm, Swish, pointwise conv (Gulati et al. 2020).

    GroupNorm(1) instead of BatchNorm: no batch statistics, so a DDP run equals a single-process run and
    batched inference equals per-item inference.
    """

    def __init__(self, channels: int, kernel: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.pointwise_in = nn.Conv1d(channels, 2 * channels, 1)
        self.depthwise = nn.Conv1d(channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.depth_norm = nn.GroupNorm(1, channels)
        self.pointwise_out = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.glu(self.pointwise_in(self.norm(x).transpose(1, 2)), dim=1)
        y = self.pointwise_out(F.silu(self.depth_norm(self.depthwise(y))))
        return self.dropout(y.transpose(1, 2))


class ConformerLayer(nn.Module):
    """Macaron FFN/2 -> MHSA -> conv -> FFN/2 -> LayerNorm, all residual."""

    def __init__(self, channels: int, heads: int, ffn_dim: int, kernel: int, dropout: float):
        super().__init__()
        self.ffn1 = FeedForward(channels, ffn_dim, dropout)
        self.attn = SelfAttention(channels, heads, dropout)
        self.conv = ConvModule(channels, kernel, dropout)
        self.ffn2 = FeedForward(channels, ffn_dim, dropout)
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ffn1(x)
        x = x + self.attn(x)
        x = x + self.conv(x)
        x = x + 0.5 * self.ffn2(x)
        return self.norm(x)


class ConformerSeparator(nn.Module):
    """Query-conditioned Conformer mask estimator.

    Args:
        query_dim: size ``D`` of the query embedding.
        sample_rate: model rate; the STFT is ``window_ms`` / ``hop_ms`` long at this rate (32/16 ms in the paper).
        d_model, n_layers, n_heads, ffn_dim, conv_kernel, dropout: Conformer sizes (paper: 256, 16, 4, 1024).
        mask_activation: ``sigmoid`` (bounded, default), ``relu`` or ``softplus`` (magnitude masks only).
        features: ``log_magnitude`` (the paper: log(1 + |X|), mixture phase reused) or ``compressed_complex``
            (|X|^0.3 with the mixture's phase, real and imaginary parts: the network sees phase).
        mask: ``magnitude`` (real mask, the paper) or ``complex`` (a complex ratio mask whose magnitude is
            bounded by ``tanh``: it can correct phase, lifting the ceiling a magnitude mask imposes).
        frame_stride: run the Conformer layers on every ``frame_stride`` frames (1: all frames, the paper).
            It adds no parameters, so a stride-1 model's weights initialise a strided one.
        mixture_features: 0 (the paper), or how many blocks of the built-in encoder's frozen audio trunk turn
            the mixture into features added to the hidden states (:mod:`tqse.models.mixture_features`).
    Shape:
        forward(mixture ``[B, T]``, query ``[B, D]``) -> estimate ``[B, T]``.
    """

    def __init__(self, query_dim: int = 512, sample_rate: int = 32000, window_ms: float = 32.0, hop_ms: float = 16.0,
                 d_model: int = 256, n_layers: int = 16, n_heads: int = 4, ffn_dim: int = 1024, conv_kernel: int = 31,
                 dropout: float = 0.1, mask_activation: str = "sigmoid", features: str = "log_magnitude",
                 mask: str = "magnitude", frame_stride: int = 1, mixture_features: int = 0):
        super().__init__()
        if mask_activation not in MASK_ACTIVATIONS:
            raise ValueError(f"mask_activation must be one of {sorted(MASK_ACTIVATIONS)}")
        if not (isinstance(frame_stride, int) and frame_stride >= 1):
            raise ValueError(f"frame_stride must be a positive integer, got {frame_stride!r}")
        self.frame_stride = frame_stride
        self.spectral = SpectralIO(sample_rate, window_ms, hop_ms, features, mask, mask_activation)
        self.input_norm = nn.LayerNorm(self.spectral.feature_dim)
        self.input_proj = nn.Linear(self.spectral.feature_dim, d_model)
        self.conditioning = nn.ModuleList(ConditioningBlock(query_dim, d_model) for _ in range(n_layers))
        self.layers = nn.ModuleList(ConformerLayer(d_model, n_heads, ffn_dim, conv_kernel, dropout) for _ in range(n_layers))
        self.mixture_features = None
        if mixture_features:
            from tqse.models.mixture_features import EncoderTrunkFeatures

            self.mixture_features = EncoderTrunkFeatures(sample_rate, mixture_features, d_model)
        self.mask_proj = nn.Linear(d_model, self.spectral.mask_dim)
        self.spectral.init_mask_bias(self.mask_proj)
        self.query_dim = query_dim

    @property
    def stft(self):
        return self.spectral.stft

    def forward(self, mixture: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        if query.dim() != 2 or query.shape[-1] != self.query_dim:
            raise ValueError(f"query must be [B, {self.query_dim}], got {tuple(query.shape)}")
        spec, features = self.spectral.analyse(mixture)  # [B, F, N] complex, [B, N, F'] real
        x = self.input_proj(self.input_norm(features))  # [B, N, C]
        frames = x.shape[1]
        x = self._pool_frames(x)  # [B, N / s, C]
        if self.mixture_features is not None:
            x = x + self.mixture_features(mixture, x.shape[1])
        for condition, layer in zip(self.conditioning, self.layers):
            x = layer(condition(x, query.to(x.dtype)))
        x = self._unpool_frames(x, frames)  # [B, N, C]
        return self.spectral.synthesise(spec, self.mask_proj(x), mixture.shape[-1])

    def _pool_frames(self, x: torch.Tensor) -> torch.Tensor:
        """Average groups of ``frame_stride`` frames; the last group is filled up with the last frame."""
        if self.frame_stride == 1:
            return x
        short = -x.shape[1] % self.frame_stride
        x = F.pad(x.transpose(1, 2), (0, short), mode="replicate")  # [B, C, N'] with N' a multiple of s
        return F.avg_pool1d(x, self.frame_stride).transpose(1, 2)

    def _unpool_frames(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        """Linear interpolation back to ``frames`` frames, each group's value at its centre."""
        if self.frame_stride == 1:
            return x
        full = F.interpolate(x.transpose(1, 2), scale_factor=self.frame_stride, mode="linear", align_corners=False)
        return full[..., :frames].transpose(1, 2)
