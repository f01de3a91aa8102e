"""The pretrained-features candidate (issue 22 item 5): the built-in encoder's frozen trunk on the mixture."""

import pytest
import torch

from tqse.models import build_model
from tqse.models.mixture_features import upsample
from tqse.models.separator import Separator


def test_a_features_model_warm_started_from_a_plain_one_computes_what_it_did(tmp_path):
    from tqse.models.model_dir import save_model_dir
    from tqse.train.run import init_weights

    torch.manual_seed(0)
    plain = Separator.around("small-s2", {"query_dim": 16, "sample_rate": 16000}, None)
    save_model_dir(tmp_path / "plain", {**plain.model_args(), "sample_rate": 16000, "encoder": {"name": "hash"}},
                   plain.state_dict())
    feat = Separator.around("small-s2-feat", {"query_dim": 16, "sample_rate": 16000}, None)
    init_weights(feat, str(tmp_path / "plain"), torch.device("cpu"))
    mix, query = torch.randn(2, 16000) * 0.1, torch.randn(2, 16)
    with torch.no_grad():
        assert torch.allclose(plain.eval()(mix, query), feat.eval()(mix, query), atol=1e-5)


def test_only_the_projection_learns_and_the_trunk_keeps_its_statistics():
    model = build_model("small-s2-feat", query_dim=16, sample_rate=16000).train()
    trunk = {k: v.clone() for k, v in model.mixture_features.blocks.state_dict().items()}
    assert not model.mixture_features.blocks.training                # BatchNorm stays in eval mode
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    estimate = model(torch.randn(2, 16000) * 0.1, torch.randn(2, 16))
    estimate.pow(2).mean().backward()
    optimiser.step()
    assert model.mixture_features.proj.weight.abs().sum() > 0
    for key, value in model.mixture_features.blocks.state_dict().items():
        assert torch.equal(value, trunk[key]), key


def test_upsampling_keeps_a_tone_and_rejects_rates_that_do_not_divide_32k():
    t = torch.arange(16000) / 16000
    tone = torch.sin(2 * torch.pi * 440 * t)[None]
    up = upsample(tone, 2)
    assert up.shape[-1] == 32000
    assert torch.allclose(up[0, ::2], tone[0], atol=1e-4)
    with pytest.raises(ValueError, match="divides 32000"):
        build_model("small-s2-feat", query_dim=16, sample_rate=44100)
