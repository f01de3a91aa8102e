"""Describing a query: nearest known classes with similarities, and the unfamiliar-query flag."""

from __future__ import annotations

import json

import pytest
import torch

from tqse.errors import QueryError
from tqse.query import load_encoder
from tqse.query.describe import QueryDescription, calibrated_threshold, class_table, describe_query

CLASSES = ["dog", "wolf", "bird", "violin", "cello", "rain", "water", "speech male", "speech female", "drums"]


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("builtin")


def test_a_paraphrase_lands_on_its_class_and_is_familiar(encoder):
    d = describe_query("a barking hound", encoder, CLASSES)
    assert isinstance(d, QueryDescription) and d.nearest[0][0] == "dog" and len(d.nearest) == 3
    assert d.nearest[0][1] > d.nearest[1][1] and d.familiar is True and d.warning is None
    assert d.summary().startswith("dog 0.")
    assert describe_query("someone bowing a cello slowly", encoder, CLASSES).nearest[0][0] == "cello"


def test_a_query_about_no_known_sound_is_flagged_with_the_nearest_named(encoder):
    d = describe_query("my tax return for last year", encoder, CLASSES)
    assert d.familiar is False and d.threshold == calibrated_threshold(encoder.name)
    assert "far from every sound" in d.warning and d.nearest[0][0] in d.warning
    assert json.loads(json.dumps(d.to_dict()))["warning"] == d.warning


def test_an_embedding_can_be_described(encoder):
    vector = encoder.embed_text(["rain falling on a tin roof"])[0]
    d = describe_query(vector, encoder, CLASSES, top=2)
    assert d.query is None and d.nearest[0][0] == "rain" and len(d.nearest) == 2
    with pytest.raises(QueryError, match="embedding"):
        describe_query(torch.zeros(3), encoder, CLASSES)


@pytest.mark.parametrize("query, message", [("", "empty"), ("   ", "empty"), (5, "string"), ("x" * 3000, "characters long")])
def test_bad_queries_keep_their_clear_error(encoder, query, message):
    with pytest.raises(QueryError, match=message):
        describe_query(query, encoder, CLASSES)


def test_shipped_prototypes_match_the_encoder_and_unknown_classes_are_computed(encoder):
    table = class_table(encoder, CLASSES + ["a sound no lexicon has"])
    assert table.prototypes.shape == (len(CLASSES) + 1, encoder.dim)
    assert torch.allclose(table.prototypes.norm(dim=-1), torch.ones(len(CLASSES) + 1), atol=1e-4)


def test_an_uncalibrated_encoder_is_not_judged():
    from tqse.query.hash_encoder import HashEncoder

    d = describe_query("a dog", HashEncoder(dim=32), ["dog", "cat"])
    assert d.familiar is None and d.warning is None and d.threshold is None


@pytest.mark.parametrize("version", [1, 2])
def test_every_shipped_version_has_its_prototypes_and_a_calibrated_threshold(version):
    """The shipped default model uses version 1: describing its queries must neither compute ~2,000 prompt
    embeddings per process nor go unjudged."""
    from tqse.query.builtin import encoder_identity, version_folder
    from tqse.query.describe import shipped_class_table
    from tqse.query.paraphrase import load_lexicon, prompt_ensemble

    name = encoder_identity(version_folder(version))[0]
    table = shipped_class_table(name)
    assert table is not None and table.encoder == name and set(table.classes) == set(load_lexicon())
    assert calibrated_threshold(name) is not None
    encoder = load_encoder(f"builtin-v{version}")
    for label in ("dog", "violin"):  # the stored rows are what the encoder computes
        fresh = torch.nn.functional.normalize(encoder.embed_text(prompt_ensemble(label)).mean(0), dim=0)
        assert torch.allclose(table.prototypes[table.classes.index(label)], fresh, atol=1e-4)


def test_model_classes_prefer_what_the_model_records():
    from tqse.data.corpus.taxonomy import CLASSES
    from tqse.query.describe import model_classes

    assert model_classes({"trained_with": {"classes": ["dog", "rain"]}}) == ["dog", "rain"]
    assert model_classes({"trained_with": {}}) == model_classes({}) == sorted(CLASSES)
