"""Mean scores of a model on a fixed-mixture manifest, in-process: validation during training (and the best
checkpoint it picks), ``tqse demo``, ``benchmarks/default_model.py``.

A thin front of the one evaluation core (:func:`tqse.eval.runner.evaluate_sets`): the model runs once per
whole clip at its own rate, the metrics are the training loss's definitions (:data:`tqse.eval.metrics.DEFAULT`),
nothing is written, and every query field is scored in one pass over the audio.
"""

from __future__ import annotations

from typing import Sequence

import torch

from tqse.eval.metrics import DEFAULT
from tqse.eval.protocols import manifest_items
from tqse.eval.runner import WholeClips, evaluate_sets


def score_mixtures(model: torch.nn.Module, encoder, manifest: str, sample_rate: int, device: torch.device,
                   query_fields: Sequence[str] = ("caption",), limit: int | None = None,
                   reference: str = "target") -> dict[str, dict[str, float]]:
    """``{field: {sdr, sdri, si_sdr, si_sdri, count}}``: means over the first ``limit`` mixtures of ``manifest``,
    each queried by the text of every field in ``query_fields`` (``caption``, ``class_caption``, ...).

    Args:
        model: a :class:`~tqse.models.separator.Separator` working at ``sample_rate``; ``encoder`` its encoder.
        reference: ``target``, or ``louder`` (the louder source: a query-free warm start's validation).
    """
    was_training = model.training
    model.eval()
    sets = {field: manifest_items(manifest, field, reference)[:limit] for field in dict.fromkeys(query_fields)}
    separate = WholeClips(model, encoder, sample_rate, sample_rate, device)
    try:
        summaries = evaluate_sets(sets, separate, sample_rate=sample_rate, metrics=DEFAULT, progress=False)
    finally:
        model.train(was_training)
    return {field: {**s["metrics"], "count": s["clips"]} for field, s in summaries.items()}
