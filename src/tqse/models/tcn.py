"""Dilated depthwise-separable convolutions with FiLM in every block and one attention layer: a separator
that is cheap per second of audio on a CPU.

After Waveformer (Veluri et al., "Real-Time Target Sound Extraction", ICASSP 2023): a stack of dilated
depthwise-separable convolution blocks carries most of the context cheaply, and a single self-attention
layer adds global context. Two changes for text-queried extraction: the query modulates *every* block
through FiLM (Waveformer multiplies a label embedding in once), and the blocks run on STFT frames rather
than a learned 2 ms basis (the notes in ``efficient_tse.md``: for universal sounds the STFT did as well, and
16 ms frames are 32x fewer steps than 0.5 ms ones). Non-causal, batch-independent (LayerNorm only).

Dimension legend:
    B batch, T samples, F frequency bins, N STFT frames, C channels, H hidden channels, D query size.

Pipeline: mixture ``[B, T]`` -> :class:`~tqse.models.spectral.SpectralIO` features ``[B, N, F']`` -> Linear
``[B, N, C]`` -> (DilatedBlock with FiLM(q)) x L, self-attention after block ``L // 2`` -> mask -> iSTFT.
"""

from __future__ import annotations

import torch
from torch import nn

from tqse.models.conformer import SelfAttention
from tqse.models.film import FiLM
from tqse.models.spectral import SpectralIO


class DilatedBlock(nn.Module):
    """LayerNorm -> pointwise C->H -> SiLU -> depthwise (dilated) -> FiLM(q) -> SiLU -> pointwise H->C, residual.

    Shape:
        x ``[B, N, C]``, query ``[B, D]`` -> ``[B, N, C]``.
    """

    def __init__(self, channels: int, hidden: int, kernel: int, dilation: int, query_dim: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.expand = nn.Linear(channels, hidden)
        self.depthwise = nn.Conv1d(hidden, hidden, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation,
                                   groups=hidden)
        self.film = FiLM(query_dim, hidden)
        self.project = nn.Linear(hidden, channels)
        self.dropout = nn.Dropout(dropout)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        y = self.act(self.expand(self.norm(x)))
        y = self.depthwise(y.transpose(1, 2)).transpose(1, 2)
        y = self.act(self.film(y, query))
        return x + self.dropout(self.project(y))


class TCNSeparator(nn.Module):
    """Query-conditioned dilated-convolution mask estimator (see module docstring).

    Args:
        query_dim: size ``D`` of the query embedding.
        sample_rate, window_ms, hop_ms: the STFT at the model rate.
        channels, hidden, n_blocks, kernel: block sizes; dilation doubles per block and restarts every
            ``dilation_cycle`` blocks (receptive field: ``(kernel - 1) * (2^cycle - 1)`` frames per cycle).
        attention_heads: heads of the single self-attention layer (0 = none).
        query_hidden: width of a shared query MLP feeding every FiLM (0 = FiLM reads the raw query).
        features, mask: see :class:`~tqse.models.spectral.SpectralIO`.
    Shape:
        forward(mixture ``[B, T]``, query ``[B, D]``) -> estimate ``[B, T]``.
    """

    def __init__(self, query_dim: int = 512, sample_rate: int = 16000, window_ms: float = 32.0, hop_ms: float = 16.0,
                 channels: int = 128, hidden: int = 256, n_blocks: int = 8, kernel: int = 5, dilation_cycle: int = 4,
                 attention_heads: int = 4, dropout: float = 0.0, features: str = "compressed_complex",
                 mask: str = "complex", query_hidden: int = 0):
        super().__init__()
        self.query_dim = query_dim
        # A shared query MLP (Waveformer embeds its label through one): unit-norm CLAP-style vectors become
        # unit-variance features, so every block's FiLM starts with a usable modulation and learns from one
        # shared query representation. 0 = each FiLM reads the raw query.
        self.query_mlp = nn.Sequential(nn.Linear(query_dim, query_hidden), nn.LayerNorm(query_hidden), nn.SiLU()) \
            if query_hidden else None
        film_dim = query_hidden or query_dim
        self.spectral = SpectralIO(sample_rate, window_ms, hop_ms, features, mask)
        self.input_norm = nn.LayerNorm(self.spectral.feature_dim)
        self.input_proj = nn.Linear(self.spectral.feature_dim, channels)
        self.blocks = nn.ModuleList(
            DilatedBlock(channels, hidden, kernel, 2 ** (i % dilation_cycle), film_dim, dropout) for i in range(n_blocks))
        self.attention_after = n_blocks // 2 - 1
        self.attention = SelfAttention(channels, attention_heads, dropout) if attention_heads else None
        self.output_norm = nn.LayerNorm(channels)
        self.mask_proj = nn.Linear(channels, self.spectral.mask_dim)
        self.spectral.init_mask_bias(self.mask_proj)

    def forward(self, mixture: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        if query.dim() != 2 or query.shape[-1] != self.query_dim:
            raise ValueError(f"query must be [B, {self.query_dim}], got {tuple(query.shape)}")
        spec, features = self.spectral.analyse(mixture)
        x = self.input_proj(self.input_norm(features))
        query = query.to(x.dtype)
        if self.query_mlp is not None:
            query = self.query_mlp(query)
        for index, block in enumerate(self.blocks):
            x = block(x, query)
            if self.attention is not None and index == self.attention_after:
                x = x + self.attention(x)
        return self.spectral.synthesise(spec, self.mask_proj(self.output_norm(x)), mixture.shape[-1])
