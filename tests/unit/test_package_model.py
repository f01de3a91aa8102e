"""scripts/package_model.py: a model continued from another one's weights states its whole training history."""

import json
from pathlib import Path

import yaml

from tqse.testing import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "package_model.py"


def _script():
    return load_script(SCRIPT)


def _parent(folder: Path, name: str, steps: int, minutes: float) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"name": name, "training": {"steps": steps,
                                                                              "train_minutes": minutes}}))
    (folder / "model.safetensors").write_bytes(name.encode())
    return folder


def _run(tmp_path: Path, init_from: str | None) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    train = {"init_from": init_from, "lr": 1e-3, "warmup_steps": 100, "constant_steps": 0, "decay_every": 300,
             "decay_factor": 0.8}
    (run / "config.yaml").write_text(yaml.safe_dump({"train": train}))
    (run / "env.json").write_text(json.dumps({"device": "cpu", "torch": "2.13.0+cpu", "git_sha": "abc"}))
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "train_seconds": s * 0.5}) + "\n"
                                               for s in (300, 600, 900)))
    return run


def test_a_continued_model_counts_its_parents_steps_and_minutes(tmp_path):
    parent = _parent(tmp_path / "v0", "tqse-v0", 6000, 53.3)
    package = _script()
    summary = package.training_summary(_run(tmp_path, str(parent)), 600)
    assert summary["steps"] == 6600 and summary["train_minutes"] == 58.3  # 53.3 + 600 steps x 0.5 s
    assert summary["continued_from"] == {"name": "tqse-v0", "steps": 6000, "train_minutes": 53.3}
    text = package.lineage(summary)
    assert "6000 steps as `tqse-v0`, then 600 more" in text and "x0.8 every 300" in text


def test_a_model_trained_from_scratch_has_no_lineage(tmp_path):
    package = _script()
    summary = package.training_summary(_run(tmp_path, None), 900)
    assert summary["steps"] == 900 and summary["train_minutes"] == 7.5 and package.lineage(summary) == ""


def test_the_parent_is_the_model_the_run_started_from_even_after_its_folder_is_overwritten(tmp_path):
    from tqse.train.run import record_parent

    shipped = _parent(tmp_path / "default_model", "tqse-v1", 12000, 106.4)
    run = _run(tmp_path, str(shipped))
    record_parent(run, str(shipped))  # what training does when it starts from init_from
    # the run's result is then shipped into the same folder
    (shipped / "config.json").write_text(json.dumps({"name": "tqse-v2", "training": {"steps": 12900}}))
    summary = _script().training_summary(run, 900)
    assert summary["continued_from"]["name"] == "tqse-v1" and summary["steps"] == 12900
