"""Scoring a model on a fixed-mixture manifest in-process (validation during training, grids, the demo).

The full benchmark runner with per-clip CSV and resumability is :mod:`tqse.eval.runner`; this is the small
loop the trainer calls every ``val_every`` steps.
"""

from __future__ import annotations

import numpy as np
import torch

from tqse.audio.io import load_audio
from tqse.data.manifest import read_mixtures
from tqse.eval.metrics import score_all


@torch.no_grad()
def score_mixtures(model: torch.nn.Module, encoder, manifest: str, sample_rate: int, device: torch.device,
                   query_field: str = "caption", limit: int | None = None,
                   query_override: str | None = None) -> dict[str, float]:
    """Mean ``sdr, sdri, si_sdr, si_sdri`` of ``model`` on the mixtures of ``manifest`` queried by text.

    Args:
        query_field: which text of each mixture is the query (``caption`` or ``class_caption``).
        query_override: ``"audio"`` queries with the target's own audio embedding (oracle audio query).
    """
    was_training = model.training
    model.eval()
    rows = read_mixtures(manifest)[:limit]
    scores = []
    for row in rows:
        mixture, _ = load_audio(row.mixture, sample_rate)
        target, _ = load_audio(row.target, sample_rate)
        if query_override == "audio":
            query = encoder.embed_audio(torch.from_numpy(target)[None].to(device), sample_rate)
        else:
            query = encoder.embed_text([row.query(query_field)])
        query = query.float().to(device)
        estimate = model(torch.from_numpy(mixture)[None].to(device), query)[0].float().cpu().numpy()
        n = min(len(target), len(estimate))
        scores.append(score_all(target[:n], estimate[:n], mixture[:n]))
    model.train(was_training)
    return {key: float(np.mean([s[key] for s in scores])) for key in scores[0]} | {"count": len(scores)}
