"""The CPU-efficient candidates (experiments/EFFICIENCY_NOTEBOOK.md): complex I/O and the dilated-convolution backbone."""

import pytest
import torch

from tqse.models import build_model
from tqse.models.spectral import SpectralIO

TINY = {
    "small-complex": dict(d_model=16, n_layers=1, n_heads=2, ffn_dim=32, conv_kernel=5),
    "small-s2": dict(d_model=16, n_layers=1, n_heads=2, ffn_dim=32, conv_kernel=5),
    "tcn": dict(channels=16, hidden=32, n_blocks=4, attention_heads=2),
    "tcn-q": dict(channels=16, hidden=32, n_blocks=4, attention_heads=2, query_hidden=12),
}


def tiny(preset: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(preset, query_dim=8, sample_rate=16000, **TINY[preset]).eval()


@pytest.mark.parametrize("preset", sorted(TINY))
def test_forward_backward_reaches_every_parameter(preset):
    model = tiny(preset).train()
    estimate = model(torch.randn(2, 8000), torch.randn(2, 8))
    estimate.pow(2).mean().backward()
    assert estimate.shape == (2, 8000)
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing


@pytest.mark.parametrize("preset", sorted(TINY))
def test_batched_output_equals_per_item_output(preset):
    model = tiny(preset)
    x, q = torch.randn(3, 12345), torch.randn(3, 8)
    single = torch.cat([model(x[i:i + 1], q[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(model(x, q), single, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("preset", sorted(set(TINY) - {"small-s2"}))
def test_a_fresh_complex_mask_passes_half_the_mixture(preset):
    """The mask bias starts at tanh(z) = 0.5 + 0j: with zeroed weights the output is exactly mixture / 2."""
    model = tiny(preset)
    torch.nn.init.zeros_(model.mask_proj.weight)
    x = torch.randn(1, 16000)
    torch.testing.assert_close(model(x, torch.randn(1, 8)), 0.5 * x, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("preset", sorted(TINY))
def test_the_query_changes_the_output(preset):
    model = tiny(preset)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randn(1, 16000)
    assert (model(x, torch.randn(1, 8)) - model(x, torch.randn(1, 8))).abs().max() > 1e-3


def test_a_strided_conformer_takes_the_weights_of_a_full_rate_one_and_agrees_on_a_steady_sound():
    """Pooling and interpolation add no parameters; on a stationary tone every frame is the same, so running
    the layers on every second frame must give the full-rate model's output (edges aside)."""
    torch.manual_seed(0)
    full_rate = build_model("small", query_dim=8, sample_rate=16000, **TINY["small-s2"]).eval()
    strided = tiny("small-s2")
    strided.load_state_dict(full_rate.state_dict(), strict=True)
    t = torch.arange(16000 * 2) / 16000
    tone, query = (0.3 * torch.sin(2 * torch.pi * 1000 * t))[None], torch.randn(1, 8)
    middle = slice(4000, -4000)
    torch.testing.assert_close(strided(tone, query)[:, middle], full_rate(tone, query)[:, middle],
                               atol=1e-4, rtol=1e-3)
    noise = torch.randn(1, 16000 * 2)
    assert (strided(noise, query) - full_rate(noise, query)).abs().max() > 1e-3  # it does run on fewer frames


@pytest.mark.parametrize("stride", [0, 1.5])
def test_frame_stride_must_be_a_positive_integer(stride):
    with pytest.raises(ValueError, match="frame_stride"):
        build_model("small-s2", query_dim=8, frame_stride=stride)


def test_compressed_complex_features_keep_the_phase_and_compress_the_magnitude():
    io = SpectralIO(16000, 32, 16, features="compressed_complex", mask="complex")
    wav = torch.randn(1, 16000)
    spec, features = io.analyse(wav)
    real, imag = features[0, :, : io.bins].T, features[0, :, io.bins:].T  # [F, N]
    rebuilt = torch.complex(real, imag)
    torch.testing.assert_close(rebuilt.abs(), spec[0].abs() ** 0.3, atol=1e-4, rtol=1e-4)
    loud = spec[0].abs() > 1e-3
    torch.testing.assert_close(torch.angle(rebuilt)[loud], torch.angle(spec[0])[loud], atol=1e-3, rtol=0)


def test_complex_mask_magnitude_is_bounded_by_one():
    io = SpectralIO(16000, 32, 16, features="compressed_complex", mask="complex")
    wav = torch.randn(1, 16000)
    spec, _ = io.analyse(wav)
    huge = torch.full((1, spec.shape[-1], io.mask_dim), 1e4)
    out = io.synthesise(spec, huge, 16000)
    assert out.pow(2).sum() <= wav.pow(2).sum() * 1.01  # |M| <= 1 cannot add energy


def test_unknown_feature_or_mask_names_are_errors():
    with pytest.raises(ValueError, match="features must be one of"):
        SpectralIO(16000, 32, 16, features="mel")
    with pytest.raises(ValueError, match="mask must be one of"):
        SpectralIO(16000, 32, 16, mask="phase")
