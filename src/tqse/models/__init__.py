"""Separators: every model maps ``(mixture [B, T], query [B, D]) -> estimate [B, T]``.

New model: write the module, add one entry to :data:`MODELS`. Presets are named kwargs in :data:`PRESETS`.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from tqse.models.conformer import ConformerSeparator
from tqse.models.tcn import TCNSeparator


def _resunet30(**kwargs: Any) -> torch.nn.Module:
    from tqse.models.resunet import ResUNet30  # 26 M parameters of code paths nobody needs for a Conformer

    return ResUNet30(**kwargs)


MODELS: dict[str, Callable[..., torch.nn.Module]] = {
    "conformer": ConformerSeparator,
    "tcn": TCNSeparator,
    "resunet30": _resunet30,
}

# Named configurations: (model name, kwargs). `paper` is Sec. IV-B of the seed paper.
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "paper": ("conformer", dict(d_model=256, n_layers=16, n_heads=4, ffn_dim=1024)),
    "small": ("conformer", dict(d_model=128, n_layers=4, n_heads=4, ffn_dim=512)),
    "tiny": ("conformer", dict(d_model=32, n_layers=2, n_heads=2, ffn_dim=64, conv_kernel=7)),
    "resunet30": ("resunet30", dict()),
    # CPU-efficient candidates (experiments/EFFICIENCY_NOTEBOOK.md): complex spectrum in, bounded complex mask out.
    "small-complex": ("conformer", dict(d_model=128, n_layers=4, n_heads=4, ffn_dim=512,
                                        features="compressed_complex", mask="complex")),
    # `small` whose layers run on every second frame: about half the CPU time, same weights.
    "small-s2": ("conformer", dict(d_model=128, n_layers=4, n_heads=4, ffn_dim=512, frame_stride=2)),
    # `small-s2` plus frame features of the mixture from the built-in encoder's frozen audio trunk (2 blocks)
    "small-s2-feat": ("conformer", dict(d_model=128, n_layers=4, n_heads=4, ffn_dim=512, frame_stride=2,
                                        mixture_features=2)),
    "tcn": ("tcn", dict(channels=128, hidden=256, n_blocks=8)),
    "tcn-q": ("tcn", dict(channels=128, hidden=256, n_blocks=8, query_hidden=256)),
}


def build_model(name: str, **kwargs: Any) -> torch.nn.Module:
    """Build a separator by model name (``conformer``, ``resunet30``) or preset name (``paper``, ...).

    Preset kwargs are defaults that explicit ``kwargs`` override.
    """
    if name in PRESETS:
        model_name, preset_kwargs = PRESETS[name]
        kwargs = {**preset_kwargs, **kwargs}
        name = model_name
    if name not in MODELS:
        known = sorted(set(MODELS) | set(PRESETS))
        raise ValueError(f"unknown model '{name}' (known: {', '.join(known)})")
    return MODELS[name](**kwargs)


def resolve_preset(name: str, **overrides: Any) -> tuple[str, dict[str, Any]]:
    """(model name, full kwargs) for a model or preset name plus overrides: what a model dir stores."""
    if name in PRESETS:
        model_name, preset_kwargs = PRESETS[name]
        return model_name, {**preset_kwargs, **overrides}
    return name, dict(overrides)


def count_parameters(model: torch.nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
