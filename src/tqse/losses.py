"""Training losses: pure functions on tensors (models never compute their own loss)."""

from __future__ import annotations

import torch

from tqse.eval.metrics import si_sdr


def neg_si_sdr(estimate: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Negative SI-SDR averaged over the batch, the paper's training loss (Sec. IV-C; Le Roux et al. 2019).

    Shape:
        estimate, target: ``[B, T]``. Returns a scalar.
    Computed in float32 even under autocast: the log-ratio of energies loses precision in bf16.
    """
    return -si_sdr(target.float(), estimate.float(), eps=eps).mean()

