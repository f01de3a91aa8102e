"""Every experiment row of the paper's tables runs one training step (tiny preset, fixture setup) and applies
the query modality and manipulations its row names."""

import json
from pathlib import Path

import pytest
import torch

from tqse.config import load_config
from tqse.query.hash_encoder import HashEncoder
from tqse.query.provider import QueryProvider
from tqse.files import read_metrics
from tqse.train.loop import train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ROWS = sorted((CONFIGS / "table1").glob("*.yaml"), key=lambda p: (p.stem.rstrip("0123456789"), int(p.stem.lstrip("AV"))))
ENCODER = HashEncoder(dim=32)
T, A, TA = "text", "audio", "text+audio"
# Table I of the seed paper, transcribed: row -> (query modality per training dataset, manipulations in order).
TABLE1 = {
    "A0": ({"ac": T}, ()), "A1": ({"ac": T}, ("noise",)), "A2": ({"ac": T}, ("dropout",)),
    "A3": ({"ac": A}, ()), "A4": ({"ac": A}, ("mixup",)), "A5": ({"ac": A}, ("specaugment",)),
    "A6": ({"ac": A}, ("pca",)), "A7": ({"ac": A}, ("pca_inv",)), "A8": ({"ac": A}, ("noise",)),
    "A9": ({"ac": A}, ("dropout",)), "A10": ({"ac": TA}, ()), "A11": ({"ac": TA}, ("dropout",)),
    "V0": ({"vgg": T}, ()), "V1": ({"vgg": T}, ("noise",)), "V2": ({"vgg": T}, ("dropout",)),
    "V3": ({"vgg": A}, ()), "V4": ({"vgg": A}, ("mixup",)), "V5": ({"vgg": A}, ("noise",)),
    "V6": ({"vgg": A}, ("dropout",)), "V7": ({"vgg": TA}, ()), "V8": ({"vgg": TA}, ("dropout",)),
    "AV0": ({"ac": T, "vgg": T}, ()), "AV1": ({"ac": T, "vgg": T}, ("dropout",)),
    "AV2": ({"ac": A, "vgg": A}, ()), "AV3": ({"ac": A, "vgg": A}, ("dropout",)),
    "AV4": ({"ac": T, "vgg": A}, ()), "AV5": ({"ac": T, "vgg": A}, ("dropout",)),
}


def row_config(row: Path):
    return load_config([CONFIGS / "setups" / "fixture.yaml", row], ["data.segment_seconds=0.5"])


def test_every_row_file_is_in_the_table():
    assert sorted(p.stem for p in ROWS) == sorted(TABLE1)


@pytest.mark.parametrize("row", ROWS, ids=[p.stem for p in ROWS])
def test_row_resolves_its_modality_and_manipulations(row):
    modes, manipulations = TABLE1[row.stem]
    config = row_config(row)
    provider = QueryProvider(ENCODER, config.query, config.data.sample_rate)
    assert config.data.use == list(modes)
    assert {name: provider.mode_of(name) for name in config.data.use} == modes
    assert provider.chain == tuple(m for m in manipulations if not m.startswith("pca"))
    pca = config.query.manipulation.pca
    assert (pca.enabled, pca.inverse) == ("pca" in manipulations or "pca_inv" in manipulations, "pca_inv" in manipulations)
    for name, mode in modes.items():  # the per-example draw follows the dataset's mode
        is_audio = provider.modality([name] * 64, torch.Generator().manual_seed(0))
        assert set(is_audio.tolist()) == {"text": {False}, "audio": {True}, "text+audio": {False, True}}[mode]


@pytest.mark.parametrize("row", ROWS, ids=[p.stem for p in ROWS])
def test_table1_row_runs_one_step(row, tmp_path):
    run = train(row_config(row), tmp_path / row.stem, encoder=ENCODER)
    metrics = read_metrics(run / "metrics.jsonl")
    assert metrics[-1]["step"] == 1 and metrics[-1]["loss"] == metrics[-1]["loss"]  # finite (not NaN)
    assert (run / "checkpoints" / "last" / "model.safetensors").exists()
    saved = json.loads((run / "checkpoints" / "last" / "config.json").read_text())
    transform = [m for m in TABLE1[row.stem][1] if m.startswith("pca")]  # the PCA projection is saved with the model
    assert ([saved["query_transform"]["kind"]] if "query_transform" in saved else []) == transform
