"""Shared fixtures: CPU only, no network, real audio from the committed CC0 fixture, tiny models.

Tests are sorted one way, by area: one folder per part of src/tqse (audio, data, corpus, query, models, train,
eval, extract, serve; base: config.py and files.py; cli: commands end to end), plus architecture (the layer
rules, the extraction walk), release (the wheel, ``tqse package``) and benchmarks (the scripts behind the
README's figures). Unit or end to end is not a folder: a long check is marked ``slow`` (``pytest -m "not slow"``
leaves it out). Helpers every area shares: ``tests/helpers.py``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(2)


@pytest.fixture(scope="session")
def fixture_manifest():
    from tqse.data.locations import fixture_manifest

    return fixture_manifest()


@pytest.fixture(scope="session")
def fixture_clips(fixture_manifest):
    from tqse.data.manifest import read_clips

    return read_clips(fixture_manifest)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from tqse.workflows.bench import random_model_dir

    return random_model_dir(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def hash_encoder():
    from tqse.query.hash_encoder import HashEncoder

    return HashEncoder(dim=32)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
