"""The committed Table I checkpoints (experiments/checkpoints/, docs/RESULTS.md) keep loading and separating."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tqse.models.model_dir import load_model_dir
from helpers import load_script

CHECKPOINTS = sorted((Path(__file__).resolve().parents[2] / "experiments" / "checkpoints").glob("*/config.json"))


@pytest.mark.parametrize("config", CHECKPOINTS, ids=lambda p: p.parent.name)
def test_a_committed_checkpoint_rebuilds_and_separates(config):
    model, spec = load_model_dir(config.parent)
    assert spec["encoder"]["name"] == "builtin" and spec["weights_dtype"] == "float16"
    mixture = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 16000)).astype(np.float32) * 0.1)
    query = torch.nn.functional.normalize(torch.randn(1, model.query_dim, generator=torch.Generator().manual_seed(0)), dim=-1)
    with torch.no_grad():
        estimate = model(mixture, query)
    assert estimate.shape == mixture.shape and torch.isfinite(estimate).all()
    assert 0 < estimate.abs().max() < 10 * mixture.abs().max()
    # Its scores travel with it: the summary the results table was built from.
    summary = json.loads((config.parent / "eval" / "test-class_caption.json").read_text())
    assert summary["format"] == "tqse-eval/1" and summary["clips"] == 201


def test_the_headline_rows_are_committed():
    assert {p.parent.name for p in CHECKPOINTS} >= {"A0", "A3", "A9"}


def test_the_table1_warm_start_is_the_folder_the_study_starts_from_and_loads():
    root = Path(__file__).resolve().parents[2]
    bench = load_script(root / "benchmarks" / "table1.py")
    overrides = bench.warm_start(bench.parse_args([]))
    assert overrides[0] == f"train.init_from={root / 'experiments' / 'table1' / 'warm_start'}"
    model, config = load_model_dir(bench.WARM_START)
    assert config["model"] == "tcn" and any("film" in name for name, _ in model.named_modules())
