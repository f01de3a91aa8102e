"""Caption retrieval scoring (tqse.query.text_eval)."""

from __future__ import annotations

import pytest
import torch

from tqse.query.text_eval import CENTROIDS, class_targets, load_centroids, retrieval, save_centroids


def test_retrieval_counts_top1_top5_and_the_per_class_mean():
    targets = torch.eye(6)
    queries = torch.eye(6)[[0, 0, 0, 1, 2]]
    queries[2] = torch.tensor([0.0, 0.9, 0.0, 0.0, 0.0, 0.1])  # third "a" caption lands on "b"
    scores = retrieval(queries, ["a", "a", "a", "b", "c"], list("abcdef"), targets)
    assert scores["n"] == 5 and scores["classes"] == 3
    assert scores["top1"] == pytest.approx(4 / 5) and scores["top5"] == 1.0
    assert scores["macro_top1"] == pytest.approx((2 / 3 + 1 + 1) / 3)


def test_template_and_prototype_targets_are_unit_rows_in_class_order():
    from tqse.query.hash_encoder import HashEncoder

    encoder = HashEncoder(dim=16)
    for kind in ("template", "prototype"):
        t = class_targets(encoder, ["dog", "violin"], kind)
        assert t.shape == (2, 16) and torch.allclose(t.norm(dim=-1), torch.ones(2), atol=1e-5)
    with pytest.raises(ValueError):
        class_targets(encoder, ["dog"], "audio")


def test_centroids_round_trip_and_the_vendored_ones_cover_every_lexicon_class(tmp_path):
    from tqse.query.paraphrase import load_lexicon

    audio = {"b": torch.randn(8), "a": torch.randn(8)}
    save_centroids(tmp_path / "c.safetensors", audio, {"note": "test"})
    back = load_centroids(tmp_path / "c.safetensors")
    assert list(back) == ["a", "b"] and torch.equal(back["b"], audio["b"])
    vendored = load_centroids(CENTROIDS)
    assert set(vendored) == set(load_lexicon()) and vendored["dog"].shape == (512,)
