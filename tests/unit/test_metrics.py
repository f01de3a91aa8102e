import numpy as np
import pytest
import torch

from tqse.eval.metrics import score_all, sdr, sdr_improvement, si_sdr, si_sdr_improvement
from tqse.losses import neg_si_sdr


def test_sdr_matches_hand_computed_energy_ratio():
    s = np.array([1.0, 1.0, 1.0, 1.0])
    estimate = np.array([1.0, 1.0, 1.0, 0.0])  # error energy 1, signal energy 4
    assert sdr(s, estimate) == pytest.approx(10 * np.log10(4.0), abs=1e-6)


def test_si_sdr_with_orthogonal_error_is_the_energy_ratio():
    s = np.array([1.0, -1.0, 1.0, -1.0])
    noise = np.array([1.0, 1.0, -1.0, -1.0]) * 0.5  # orthogonal to s, zero mean, energy 1
    assert si_sdr(s, s + noise) == pytest.approx(10 * np.log10(4.0 / 1.0), abs=1e-6)


def test_si_sdr_is_scale_invariant_and_sdr_is_not(rng):
    s = rng.standard_normal(16000)
    estimate = s + 0.3 * rng.standard_normal(16000)
    assert si_sdr(s, 5.0 * estimate) == pytest.approx(si_sdr(s, estimate), abs=1e-6)
    assert sdr(s, 5.0 * estimate) < sdr(s, estimate) - 10


def test_identity_scores_very_high_and_mixture_improvement_is_zero(rng):
    s, n = rng.standard_normal(8000), rng.standard_normal(8000)
    assert si_sdr(s, s) > 70
    assert sdr_improvement(s, s + n, s + n) == pytest.approx(0.0)
    assert si_sdr_improvement(s, s + n, s + n) == pytest.approx(0.0)


def test_torch_and_numpy_agree_and_loss_is_negative_mean(rng):
    s = rng.standard_normal((3, 4000))
    e = s + 0.5 * rng.standard_normal((3, 4000))
    values = si_sdr(s, e)
    torch_values = si_sdr(torch.tensor(s), torch.tensor(e)).numpy()
    np.testing.assert_allclose(values, torch_values, rtol=1e-6)
    loss = neg_si_sdr(torch.tensor(e, dtype=torch.float32), torch.tensor(s, dtype=torch.float32))
    assert loss.item() == pytest.approx(-values.mean(), rel=1e-4)


def test_score_all_reports_every_metric(rng):
    s, n = rng.standard_normal(1000), rng.standard_normal(1000)
    scores = score_all(s, s + 0.1 * n, s + n)
    assert set(scores) == {"sdr", "sdri", "si_sdr", "si_sdri"}
    assert scores["sdri"] == pytest.approx(scores["sdr"] - sdr(s, s + n))
