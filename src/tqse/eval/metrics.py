"""Separation metrics, defined exactly as the text-queried TSE literature reports them.

- ``si_sdr``: scale-invariant SDR (Le Roux et al., "SDR - half-baked or well done?", ICASSP 2019).
- ``sdr``: AudioSep's "SDR", a plain energy ratio 10 log10(|s|^2 / |s - s_hat|^2) (i.e. an SNR, not BSS-eval).
- ``*_improvement``: metric of the estimate minus metric of the unprocessed mixture.

All functions work on numpy arrays or torch tensors with the time axis last and return the same kind.
"""

from __future__ import annotations

import numpy as np
import torch

EPS = 1e-8


def _lib(x):
    return torch if torch.is_tensor(x) else np


def _demean(x):
    return x - (x.mean(-1, keepdim=True) if torch.is_tensor(x) else x.mean(-1, keepdims=True))


def sdr(reference, estimate, eps: float = EPS):
    """AudioSep SDR: ``10 log10(sum s^2 / sum (s - s_hat)^2)`` over the last axis."""
    lib = _lib(reference)
    num = (reference**2).sum(-1)
    den = ((reference - estimate) ** 2).sum(-1)
    return 10 * lib.log10((num + eps) / (den + eps))


def si_sdr(reference, estimate, eps: float = EPS, zero_mean: bool = True):
    """Scale-invariant SDR over the last axis.

    The reference is rescaled by the optimal ``alpha = <s_hat, s> / |s|^2`` so that gain changes of the
    estimate do not change the score. ``zero_mean`` removes DC first, as in the SI-SDR paper.
    """
    lib = _lib(reference)
    if zero_mean:
        reference, estimate = _demean(reference), _demean(estimate)
    dot = (estimate * reference).sum(-1)
    s_energy = (reference**2).sum(-1)
    alpha = (dot + eps) / (s_energy + eps)
    target = alpha[..., None] * reference
    noise = estimate - target
    return 10 * lib.log10(((target**2).sum(-1) + eps) / ((noise**2).sum(-1) + eps))


def sdr_improvement(reference, estimate, mixture, eps: float = EPS):
    """SDRi = SDR(estimate) - SDR(mixture) (AudioSep's headline metric)."""
    return sdr(reference, estimate, eps) - sdr(reference, mixture, eps)


def si_sdr_improvement(reference, estimate, mixture, eps: float = EPS):
    """SI-SDRi = SI-SDR(estimate) - SI-SDR(mixture)."""
    return si_sdr(reference, estimate, eps) - si_sdr(reference, mixture, eps)


def score_all(reference, estimate, mixture) -> dict[str, float]:
    """Every metric of one example as floats: sdr, sdri, si_sdr, si_sdri."""
    values = {
        "sdr": sdr(reference, estimate),
        "sdri": sdr_improvement(reference, estimate, mixture),
        "si_sdr": si_sdr(reference, estimate),
        "si_sdri": si_sdr_improvement(reference, estimate, mixture),
    }
    return {k: float(v) for k, v in values.items()}
