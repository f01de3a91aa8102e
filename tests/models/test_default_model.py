"""The shipped default model (src/tqse/assets/default_model): it loads, its card is complete, and its output
on a fixed CC0 mixture is pinned, so a refactor that changes how a committed model folder loads or runs fails."""

import json
from pathlib import Path

import numpy as np
import pytest

from tqse.models.model_dir import read_model_config
from tqse.pretrained import default_model_dir

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "tqse" / "assets" / "default_model"
PINNED = Path(__file__).resolve().parents[1] / "fixtures" / "default_model_pinned.json"

pytestmark = pytest.mark.skipif(not (SHIPPED / "config.json").exists(), reason="no default model shipped")


def test_the_shipped_model_is_the_default_without_a_path(monkeypatch, tmp_path):
    monkeypatch.delenv("TQSE_MODEL", raising=False)
    monkeypatch.setenv("TQSE_HOME", str(tmp_path))
    assert Path(default_model_dir()).resolve() == SHIPPED.resolve()


def test_model_card_states_data_licences_training_and_scores():
    config = read_model_config(SHIPPED)
    card = (SHIPPED / "README.md").read_text()
    for heading in ("## Training data and licences", "## Scores", "## Speed", "## Limits"):
        assert heading in card
    assert "SNR" in card and "wrong query" in card
    assert config["training"]["steps"] > 0 and config["training"]["train_minutes"] > 0
    for split in ("test", "ood"):
        scores = config["scores"][split]
        assert {"class_caption", "caption", "interferer_class_caption", "snr_db"} <= set(scores)
        # The model listens to its query: the interferer's class template scores far below the right one.
        assert scores["interferer_class_caption"]["si_sdri"] < scores["class_caption"]["si_sdri"] - 2
    assert "Debian" in (SHIPPED / "TRAINING_DATA.md").read_text()
    assert (SHIPPED / "model.safetensors").stat().st_size <= 20e6


def test_output_on_a_fixed_fixture_mixture_is_pinned():
    from tqse.api import Extractor
    from tqse.eval.metrics import si_sdr_improvement
    from tqse.showcase import fixture_mixtures

    pinned = json.loads(PINNED.read_text())
    extractor = Extractor.from_pretrained(SHIPPED, device="cpu")
    for item in fixture_mixtures():
        estimate = extractor.extract(item.mixture, item.sample_rate, text=item.query)
        assert estimate.shape == item.mixture.shape and np.isfinite(estimate).all()
        score = float(si_sdr_improvement(item.target, estimate, item.mixture))
        assert score == pytest.approx(pinned[item.name], abs=0.02), item.name
