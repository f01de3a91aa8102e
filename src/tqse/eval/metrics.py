"""Separation metrics, defined exactly as the text-queried TSE literature reports them: one family, two settings.

- ``si_sdr``: scale-invariant SDR (Le Roux et al., "SDR - half-baked or well done?", ICASSP 2019).
- ``sdr``: AudioSep's "SDR", a plain energy ratio 10 log10(|s|^2 / |s - s_hat|^2) (i.e. an SNR, not BSS-eval).
- ``*_improvement``: metric of the estimate minus metric of the unprocessed mixture.

:class:`Metrics` fixes the parameters for one use: :data:`DEFAULT` is the training loss's definition
(SI-SDR with mean removal, eps 1e-8; in-loop validation, ``tqse demo``), ``tqse.eval.protocols.AUDIOSEP`` is
AudioSep's evaluation code (``tqse eval``, ``tqse grid``).

All functions work on numpy arrays or torch tensors with the time axis last and return the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

EPS = 1e-8


def _lib(x):
    return torch if torch.is_tensor(x) else np


def _demean(x):
    return x - (x.mean(-1, keepdim=True) if torch.is_tensor(x) else x.mean(-1, keepdims=True))


def sdr(reference, estimate, eps: float = EPS, floor: float | None = None):
    """SDR as an energy ratio, ``10 log10(|s|^2 / |s - s_hat|^2)`` over the last axis.

    ``eps`` is added to both energies (sums over time); with ``floor`` the energies are means over time, each
    clipped below at ``floor`` instead, as AudioSep computes it (``eps`` is then unused).
    """
    lib = _lib(reference)
    if floor is not None:
        num = lib.maximum((reference**2).mean(-1), floor)
        den = lib.maximum(((reference - estimate) ** 2).mean(-1), floor)
        return 10 * lib.log10(num / den)
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


@dataclass(frozen=True)
class Metrics:
    """The parameters of :func:`sdr` and :func:`si_sdr` for one use (see module docstring).

    Args:
        zero_mean: remove DC before SI-SDR.
        eps: SI-SDR's (and, without ``sdr_floor``, SDR's) regulariser.
        sdr_floor: SDR from mean energies clipped below at this value (AudioSep).
        float64: compute in float64 (AudioSep's scores); else in the inputs' precision (the loss's).
    """

    zero_mean: bool = True
    eps: float = EPS
    sdr_floor: float | None = None
    float64: bool = False

    def sdr(self, reference, estimate):
        return sdr(reference, estimate, eps=self.eps, floor=self.sdr_floor)

    def si_sdr(self, reference, estimate):
        return si_sdr(reference, estimate, eps=self.eps, zero_mean=self.zero_mean)

    def score(self, reference, estimate, mixture) -> dict[str, float]:
        """One clip's ``sdr, sdri, si_sdr, si_sdri`` and the mixture's own ``sdr_mixture, si_sdr_mixture``."""
        if self.float64:
            reference, estimate, mixture = (np.asarray(x, np.float64) for x in (reference, estimate, mixture))
        sdr_est, sdr_mix = self.sdr(reference, estimate), self.sdr(reference, mixture)
        si_est, si_mix = self.si_sdr(reference, estimate), self.si_sdr(reference, mixture)
        values = {"sdr": sdr_est, "sdri": sdr_est - sdr_mix, "si_sdr": si_est, "si_sdri": si_est - si_mix,
                  "sdr_mixture": sdr_mix, "si_sdr_mixture": si_mix}
        return {k: float(v) for k, v in values.items()}


DEFAULT = Metrics()
