import numpy as np
import pytest
import torch

from tqse.eval.metrics import DEFAULT, Metrics, sdr, sdr_improvement, si_sdr, si_sdr_improvement
from tqse.eval.protocols import AUDIOSEP
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


def test_a_metric_setting_reports_every_metric_and_the_mixtures_own(rng):
    s, n = rng.standard_normal(1000), rng.standard_normal(1000)
    scores = DEFAULT.score(s, s + 0.1 * n, s + n)
    assert set(scores) == {"sdr", "sdri", "si_sdr", "si_sdri", "sdr_mixture", "si_sdr_mixture"}
    assert scores["sdri"] == pytest.approx(scores["sdr"] - sdr(s, s + n))
    assert scores["si_sdr_mixture"] == pytest.approx(si_sdr(s, s + n))


def test_the_loss_is_the_default_setting_negated(rng):
    s = rng.standard_normal((2, 4000)).astype(np.float32)
    e = (s + 0.5 * rng.standard_normal((2, 4000))).astype(np.float32)
    loss = neg_si_sdr(torch.from_numpy(e), torch.from_numpy(s))
    assert loss.item() == pytest.approx(-DEFAULT.si_sdr(s, e).mean(), rel=1e-6)


def test_sdr_floor_gives_audiosep_mean_energies_clipped_below(rng):
    s = rng.standard_normal(800)
    e = s + 0.2 * rng.standard_normal(800)
    assert sdr(s, e, floor=1e-10) == pytest.approx(10 * np.log10(np.mean(s**2) / np.mean((s - e) ** 2)))
    assert sdr(s, s, floor=1e-10) == pytest.approx(10 * np.log10(np.mean(s**2) / 1e-10))  # not infinite
    assert sdr(s, e, floor=1e-10) == pytest.approx(sdr(s, e), abs=1e-6)  # the same ratio away from the floor


def test_zero_mean_is_what_separates_the_two_si_sdr_settings(rng):
    s = rng.standard_normal(2000)
    e = s + 0.3 * rng.standard_normal(2000)
    assert AUDIOSEP.si_sdr(s - s.mean(), e - e.mean()) == pytest.approx(DEFAULT.si_sdr(s, e), abs=1e-5)
    assert AUDIOSEP.si_sdr(s + 1, e) < DEFAULT.si_sdr(s + 1, e) - 1  # a DC offset counts as error without it
    assert Metrics(zero_mean=False).si_sdr(s, e) == pytest.approx(AUDIOSEP.si_sdr(s, e), abs=1e-5)
