"""Every experiment row of the paper's tables runs one training step (tiny preset, fixture setup)."""

from pathlib import Path

import pytest

from tqse.config import load_config
from tqse.query.hash_encoder import HashEncoder
from tqse.train.logging import read_metrics
from tqse.train.loop import train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ROWS = sorted((CONFIGS / "table1").glob("*.yaml"), key=lambda p: (p.stem.rstrip("0123456789"), int(p.stem.lstrip("AV"))))
ENCODER = HashEncoder(dim=32)


@pytest.mark.parametrize("row", ROWS, ids=[p.stem for p in ROWS])
def test_table1_row_runs_one_step(row, tmp_path):
    config = load_config([CONFIGS / "setups" / "fixture.yaml", row], ["data.segment_seconds=0.5"])
    run = train(config, tmp_path / row.stem, encoder=ENCODER)
    metrics = read_metrics(run / "metrics.jsonl")
    assert metrics[-1]["step"] == 1 and metrics[-1]["loss"] == metrics[-1]["loss"]  # finite (not NaN)
    assert (run / "checkpoints" / "last" / "model.safetensors").exists()
