"""The shipped default model (src/tqse/assets/default_model): it loads, its card is complete, and its output
on fixed CC0 mixtures is pinned, so a refactor that changes how a committed model folder loads or runs fails.
One model shipped before it per older model-folder format stays committed (experiments/) and pinned the same
way: tqse-tcn-builtin-v0, the only format-1 folder (the shipped model is format 2)."""

import json
from pathlib import Path

import numpy as np
import pytest

from tqse.models.model_dir import read_model_config
from tqse.models.pretrained import default_model_dir

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "tqse" / "assets" / "default_model"
FIXTURES = ROOT / "tests" / "fixtures"
# (model folder, its pinned SI-SDRi on the fixture mixtures): the shipped model and the format witnesses.
PINNED_MODELS = {
    "shipped": (SHIPPED, FIXTURES / "default_model_pinned.json"),
    "tqse-tcn-builtin-v0": (ROOT / "experiments" / "table1" / "warm_start", FIXTURES / "tcn_builtin_v0_pinned.json"),
}

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


@pytest.mark.parametrize("model", sorted(PINNED_MODELS))
def test_output_on_the_fixed_fixture_mixtures_is_pinned(model):
    from tqse.extract import Extractor
    from tqse.eval.metrics import si_sdr_improvement
    from tqse.workflows.demo import fixture_mixtures

    folder, pinned_file = PINNED_MODELS[model]
    pinned = json.loads(pinned_file.read_text())
    extractor = Extractor.from_pretrained(folder, device="cpu")
    for item in fixture_mixtures():
        estimate = extractor.extract(item.mixture, item.sample_rate, text=item.query)
        assert estimate.shape == item.mixture.shape and np.isfinite(estimate).all()
        score = float(si_sdr_improvement(item.target, estimate, item.mixture))
        assert score == pytest.approx(pinned[item.name], abs=0.02), item.name
