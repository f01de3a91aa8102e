import pytest
import torch

from tqse.config import DropoutConfig, NoiseConfig, SpecAugmentConfig
from tqse.models.separator import PCAProjection
from tqse.query.manipulations import EmbeddingDropout, GaussianNoise, mixup_waveforms, spec_augment


@pytest.fixture
def queries():
    return torch.nn.functional.normalize(torch.randn(256, 64, generator=torch.Generator().manual_seed(0)), dim=-1)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_every_manipulation_is_the_identity_at_strength_zero(queries):
    is_audio = torch.arange(256) % 2 == 0
    dropout = EmbeddingDropout(DropoutConfig(p_audio=[0, 0], p_text=[0, 0]))
    noise = GaussianNoise(NoiseConfig(alpha_audio=[0, 0], alpha_text=[0, 0]))
    torch.testing.assert_close(dropout(queries, is_audio, gen()), queries)
    torch.testing.assert_close(noise(queries, is_audio, gen()), queries)
    features = torch.rand(4, 100, 16)
    torch.testing.assert_close(spec_augment(features, SpecAugmentConfig(time_masks=0, freq_masks=0), gen()), features)
    torch.testing.assert_close(spec_augment(features, SpecAugmentConfig(time_width=0, freq_width=0), gen()), features)
    pca = PCAProjection.fit(queries, 64, inverse=True)
    torch.testing.assert_close(pca(queries), queries, atol=1e-5, rtol=0)


def test_dropout_rates_follow_the_modality_ranges(queries):
    is_audio = torch.arange(256) < 128
    out = EmbeddingDropout(DropoutConfig())(queries, is_audio, gen())
    dropped = (out == 0).float().mean(1)
    assert 0.70 < dropped[:128].mean() < 0.90  # audio: p ~ U[.75, .95], mean .85
    assert 0.40 < dropped[128:].mean() < 0.60  # text: p ~ U[.25, .75], mean .5
    kept = out != 0
    torch.testing.assert_close(out[kept], queries[kept])  # default: kept dims are not rescaled


def test_dropout_rescale_setting_scales_kept_dimensions(queries):
    is_audio = torch.ones(256, dtype=torch.bool)
    out = EmbeddingDropout(DropoutConfig(p_audio=[0.5, 0.5], p_text=[0.5, 0.5], rescale=True))(queries, is_audio, gen())
    kept = out != 0
    torch.testing.assert_close(out[kept], 2 * queries[kept])


def test_rescaled_dropout_is_torch_dropout_at_each_examples_own_rate():
    """A9R (issue 24): ``rescale=True`` is what ``torch.nn.functional.dropout`` does, per example: keep each
    dimension with probability 1 - p and scale the kept ones by 1 / (1 - p), so the expected query is the query."""
    q = torch.nn.functional.normalize(torch.randn(2, 512, generator=gen(3)), dim=-1)
    is_audio = torch.tensor([True, False])
    config = DropoutConfig(p_audio=[0.8, 0.8], p_text=[0.5, 0.5], rescale=True)
    draws = torch.stack([EmbeddingDropout(config)(q, is_audio, gen(seed)) for seed in range(4000)])  # [N, 2, D]
    for row, p in ((0, 0.8), (1, 0.5)):
        kept = draws[:, row] != 0
        torch.testing.assert_close(draws[:, row][kept], (q[row] / (1 - p)).expand_as(draws[:, row])[kept])
        assert abs(kept.float().mean().item() - (1 - p)) < 0.01
        torch.testing.assert_close(draws[:, row].mean(0), q[row], atol=0.01, rtol=0)  # unbiased, as torch's
        reference = torch.stack([torch.nn.functional.dropout(q[row], p, training=True) for _ in range(4000)])
        torch.testing.assert_close(reference[reference != 0], (q[row] / (1 - p)).expand_as(reference)[reference != 0])
        assert abs(reference.norm(dim=-1).mean() - draws[:, row].norm(dim=-1).mean()) < 0.02 / (1 - p) ** 0.5


def test_renormalised_dropout_keeps_the_query_norm_and_the_same_dimensions(queries):
    is_audio = torch.ones(256, dtype=torch.bool)
    plain = EmbeddingDropout(DropoutConfig())(queries, is_audio, gen())
    renormed = EmbeddingDropout(DropoutConfig(renormalize=True))(queries, is_audio, gen())
    assert plain.norm(dim=-1).max() < 0.75  # plain dropout shrinks a unit query
    survived = (plain != 0).any(-1)  # 64 dims at p = .95 can all go (512 real ones practically never do)
    torch.testing.assert_close(renormed.norm(dim=-1)[survived], queries.norm(dim=-1)[survived])
    assert torch.equal(renormed == 0, plain == 0) and torch.isfinite(renormed).all()
    torch.testing.assert_close(torch.nn.functional.normalize(renormed, dim=-1),
                               torch.nn.functional.normalize(plain, dim=-1))


def test_gaussian_noise_has_exactly_the_drawn_norm(queries):
    is_audio = torch.arange(256) < 128
    delta = (GaussianNoise(NoiseConfig())(queries, is_audio, gen()) - queries).norm(dim=-1)
    assert delta[:128].min() >= 1.5 - 1e-4 and delta[:128].max() <= 3.5 + 1e-4
    assert delta[128:].min() >= 1.0 - 1e-4 and delta[128:].max() <= 2.0 + 1e-4


def test_spec_augment_masks_at_most_the_configured_widths():
    features = torch.ones(32, 200, 64)
    out = spec_augment(features, SpecAugmentConfig(), gen())  # the paper's 2 x 64 frames, 2 x 2 bins
    zero_frames = (out == 0).all(dim=2).sum(1)
    zero_bins = (out == 0).all(dim=1).sum(1)
    assert zero_frames.max() <= 128 and zero_frames.float().mean() > 10
    assert zero_bins.max() <= 4 and zero_bins.float().mean() > 0.5


def test_mixup_adds_the_partner_at_the_drawn_snr():
    target, partner = torch.randn(8, 1000), 5 * torch.randn(8, 1000)
    mixed = mixup_waveforms(target, partner, (-5.0, 5.0), gen())
    added = mixed - target
    snr = 10 * torch.log10(target.pow(2).sum(-1) / added.pow(2).sum(-1))
    assert snr.min() >= -5 - 1e-3 and snr.max() <= 5 + 1e-3


def test_pca_keeps_the_top_variance_directions(queries):
    low_rank = queries[:, :4] @ torch.randn(4, 64, generator=gen(1))
    pca = PCAProjection.fit(low_rank, 4)
    assert pca(low_rank).shape == (256, 4) and pca.out_dim == 4
    inverse = PCAProjection(pca.mean, pca.components, inverse=True)
    torch.testing.assert_close(inverse(low_rank), low_rank, atol=1e-4, rtol=1e-4)
