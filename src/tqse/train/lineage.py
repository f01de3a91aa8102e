"""How much training a model already holds: steps and CPU minutes of its whole history.

A run started from another model's weights (``train.init_from``) continues that model's training, so a model
card written from the run must add the parent's steps and minutes to its own. The parent is either a
packaged model (its ``config.json`` carries a ``training`` record) or a checkpoint of another run
(``RUN/checkpoints/NAME``: its step, and that run's ``metrics.jsonl`` and own parent, give the history).
Training records the parent's history in the run folder when it starts (:func:`record_parent`), because the
parent's folder may later be overwritten (the shipped model continued, then replaced by the result) or
deleted (an ignored run folder).
"""

from __future__ import annotations

import json
from pathlib import Path

from tqse.eval.report import run_minutes

PARENT_RECORD = "init_from.json"


def parent_history(run_dir: Path) -> dict | None:
    """``{"name", "steps", "train_minutes"}`` of the model the run started from, as recorded when it started
    (runs recorded before histories were kept are resolved from the parent's folder, if it still exists);
    None for a run that started from scratch or has no record."""
    record_file = run_dir / PARENT_RECORD
    if not record_file.is_file():
        return None
    record = json.loads(record_file.read_text(encoding="utf-8"))
    return record.get("history") or model_history(Path(record["path"]), record["config"])


def model_history(model_dir: Path, config: dict | None = None) -> dict:
    """``{"name", "steps", "train_minutes"}`` of everything the weights in ``model_dir`` were trained for."""
    if config is None:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    training = config.get("training")
    if training:
        return {"name": config.get("name", model_dir.name), "steps": int(training.get("steps") or 0),
                "train_minutes": float(training.get("train_minutes") or 0.0)}
    from tqse.train.checkpoint import STATE_NAME, load_training_state

    run_dir = model_dir.parent.parent
    if not ((model_dir / STATE_NAME).is_file() and (run_dir / "metrics.jsonl").is_file()):
        return {"name": config.get("name", model_dir.name), "steps": 0, "train_minutes": 0.0}
    step = int(load_training_state(model_dir)["step"])
    totals = run_history(run_dir, step)
    return {"name": f"{run_dir.name} step {step}", "steps": totals["steps"],
            "train_minutes": totals["train_minutes"] or 0.0}


_RECORDED = object()


def run_history(run_dir: Path, step: int, parent: dict | None | object = _RECORDED) -> dict:
    """``{"steps", "train_minutes", "continued_from"}`` of the checkpoint at ``step`` of a run: its own steps
    and CPU minutes plus those of the model it started from (``parent``; by default as the run recorded it).
    ``train_minutes`` is None for an untimed run from scratch; ``continued_from`` is the parent or None."""
    minutes = run_minutes(run_dir, step)
    if parent is _RECORDED:
        parent = parent_history(run_dir)
    if not parent:
        return {"steps": step, "train_minutes": minutes, "continued_from": None}
    return {"steps": parent["steps"] + step, "train_minutes": round(parent["train_minutes"] + (minutes or 0.0), 1),
            "continued_from": parent}


def record_parent(run_dir: Path, model_dir: str) -> None:
    """Keep, in the run folder, what the ``train.init_from`` model was when this run started from it: its
    ``config.json`` (name, training record), the hash of its weights and its training history, so that a
    model card written from the run still credits the right parent after that folder changes or goes."""
    from tqse.data.manifest import write_json
    from tqse.files import file_sha256
    from tqse.models.model_dir import WEIGHTS_NAME

    path = Path(model_dir).expanduser()
    parent = json.loads((path / "config.json").read_text(encoding="utf-8"))
    write_json(run_dir / PARENT_RECORD, {"path": str(path), "weights_sha256": file_sha256(path / WEIGHTS_NAME),
                                         "config": parent, "history": model_history(path, parent)})
