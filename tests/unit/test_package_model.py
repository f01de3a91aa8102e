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
    run.mkdir(parents=True)
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
    from tqse.train.lineage import record_parent

    shipped = _parent(tmp_path / "default_model", "tqse-v1", 12000, 106.4)
    run = _run(tmp_path, str(shipped))
    record_parent(run, str(shipped))  # what training does when it starts from init_from
    # the run's result is then shipped into the same folder
    (shipped / "config.json").write_text(json.dumps({"name": "tqse-v2", "training": {"steps": 12900}}))
    summary = _script().training_summary(run, 900)
    assert summary["continued_from"]["name"] == "tqse-v1" and summary["steps"] == 12900


def _checkpoint_of(run: Path, step: int) -> Path:
    """A training checkpoint folder as training writes it: no ``training`` record, a training state."""
    import torch

    folder = run / "checkpoints" / f"step-{step}"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": "tcn", "kwargs": {}}))
    (folder / "model.safetensors").write_bytes(b"weights")
    torch.save({"step": step, "optimizer": {}, "scheduler": {}, "rng": {}}, folder / "training_state.pt")
    return folder


def test_a_run_continued_from_another_runs_checkpoint_counts_that_runs_history_after_it_is_deleted(tmp_path):
    import shutil

    from tqse.train.lineage import record_parent

    first = _run(tmp_path / "a", None)  # from scratch: 600 steps took 5 minutes
    second = _run(tmp_path / "b", None)
    record_parent(second, str(_checkpoint_of(first, 600)))
    third = _run(tmp_path / "c", str(_checkpoint_of(second, 900)))
    record_parent(third, str(second / "checkpoints" / "step-900"))
    shutil.rmtree(tmp_path / "a")
    shutil.rmtree(tmp_path / "b")  # ignored run folders get cleaned; the records must already hold the history
    summary = _script().training_summary(third, 300)
    # 600 (5.0 min) + 900 (7.5 min) + 300 (2.5 min)
    assert summary["continued_from"] == {"name": "run step 900", "steps": 1500, "train_minutes": 12.5}
    assert summary["steps"] == 1800 and summary["train_minutes"] == 15.0
