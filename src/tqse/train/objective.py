"""What a training step asks of the separator (``train.objective``).

- ``extract`` (the default; the seed paper): return the source the query names.
- ``louder``: a **query-free warm start** (issue 24). Each step's target is the louder of the mixture's two
  sources, the query is a zero vector, and every FiLM layer is held at the identity (its scale-and-shift
  generator zeroed and frozen), so the separator learns to separate without learning anything about queries
  of either modality. Text and audio rows of Table I can then start from the same trunk, which favours
  neither. Validation scores the louder source too (:meth:`tqse.data.manifest.MixtureRecord.louder_source`).

A run started from such a model (``train.init_from``) trains every weight again; with
``train.init_reset=['*.film*']`` its FiLM generators start from a fresh initialisation, as from scratch.
"""

from __future__ import annotations

import torch

from tqse.errors import ConfigError
from tqse.models.film import FiLM


def louder_source(mixture: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per example, the target or the interferer (``mixture - target``), whichever has more energy.

    Shape:
        mixture, target: ``[B, T]`` -> ``[B, T]``.
    """
    interferer = mixture - target
    target_louder = target.pow(2).sum(-1, keepdim=True) >= interferer.pow(2).sum(-1, keepdim=True)
    return torch.where(target_louder, target, interferer)


def hold_film_at_identity(model: torch.nn.Module) -> int:
    """Zero and freeze the scale-and-shift generator of every :class:`~tqse.models.film.FiLM` in ``model``
    (``x * (1 + 0) + 0``: the query has no effect); returns how many there were.

    Frozen parameters get no gradient, so the optimiser (AdamW: no gradient, no step, no weight decay) leaves
    them at zero; a resumed run zeroes them again, which changes nothing.
    """
    films = [m for m in model.modules() if isinstance(m, FiLM)]
    if not films:
        raise ConfigError("train.objective=louder holds FiLM layers at the identity, and this model has none")
    with torch.no_grad():
        for film in films:
            for parameter in film.to_scale_shift.parameters():
                parameter.zero_()
                parameter.requires_grad_(False)
    return len(films)


def louder_step(mixture: torch.Tensor, target: torch.Tensor, query_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(query, target)`` of a ``louder`` step: a zero query ``[B, query_dim]`` and the louder source."""
    return mixture.new_zeros(mixture.shape[0], query_dim), louder_source(mixture, target)
