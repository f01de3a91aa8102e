"""Optimiser and learning-rate schedule of the seed paper (Sec. IV-C)."""

from __future__ import annotations

import torch

from tqse.config import TrainConfig


def lr_factor(step: int, warmup: int, constant: int, decay_every: int, decay_factor: float) -> float:
    """Linear warm-up from 0 over ``warmup`` steps, flat for ``constant`` steps, then x``decay_factor`` every
    ``decay_every`` steps (paper: 4k, 160k, 10k, 0.9)."""
    if step < warmup:
        return (step + 1) / warmup
    after_constant = step - warmup - constant
    if after_constant < 0:
        return 1.0
    return decay_factor ** (after_constant // max(decay_every, 1))


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (weight decay 1e-2 by default) with the :func:`lr_factor` schedule."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                  weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(
        step, config.warmup_steps, config.constant_steps, config.decay_every, config.decay_factor))
    return optimizer, scheduler
