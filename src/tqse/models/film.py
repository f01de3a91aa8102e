"""Feature-wise linear modulation (Perez et al., "FiLM", AAAI 2018)."""

from __future__ import annotations

import torch
from torch import nn


class FiLM(nn.Module):
    """``x * (1 + gamma(q)) + beta(q)``: a query-dependent scale and shift per channel.

    The ``1 +`` makes a freshly initialised layer close to the identity, so deep stacks start stable.

    Shape:
        x: ``[B, T, C]``; query: ``[B, D]`` -> ``[B, T, C]``.
    """

    def __init__(self, query_dim: int, channels: int):
        super().__init__()
        self.to_scale_shift = nn.Linear(query_dim, 2 * channels)

    def forward(self, x: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.to_scale_shift(query).unsqueeze(1).chunk(2, dim=-1)
        return x * (1 + gamma) + beta


class ConditioningBlock(nn.Module):
    """Linear -> Swish -> FiLM -> Linear, placed before each Conformer layer (seed paper, Sec. IV-B).

    Applied residually (``x + block(x, q)``): the paper does not say; a residual keeps the unconditioned
    path intact at initialisation, which trains reliably at 16 layers.
    """

    def __init__(self, query_dim: int, channels: int):
        super().__init__()
        self.inner = nn.Linear(channels, channels)
        self.film = FiLM(query_dim, channels)
        self.outer = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        return x + self.outer(self.film(nn.functional.silu(self.inner(x)), query))
