"""Training checkpoints: a model directory plus the state needed to resume exactly.

    checkpoints/last/   config.json + model.safetensors (a model dir: `tqse extract --checkpoint` takes it)
                        training_state.pt  (optimizer, scheduler, step, RNG states; tensors and plain data
                        only, loadable with ``torch.load(weights_only=True)``)
                        run_config.yaml    (the resolved run config)

Written to a temporary folder and renamed, so a kill during a save leaves the previous checkpoint intact.
Data position needs no separate record: example ``i`` is a pure function of the seed (see
:mod:`tqse.data.dataset`), so the step number is the position.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from tqse.errors import CheckpointError, ConfigError
from tqse.files import recover_interrupted
from tqse.models.model_dir import read_model_state, save_model_dir

log = logging.getLogger(__name__)

STATE_NAME = "training_state.pt"
CHECKPOINT_NAMES = ("last", "best")  # resumed from in this order
STATE_KEYS = ("step", "optimizer", "scheduler", "rng")


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate(),
             "numpy": torch.from_numpy(np.random.get_state()[1].astype(np.int64))}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(("MT19937", state["numpy"].numpy().astype(np.uint32), 624))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, model_config: dict, state_dict: dict, optimizer, scheduler, step: int,
                    run_yaml: str, extra_state: dict | None = None, extra_files: dict | None = None) -> Path:
    """Write a resumable checkpoint folder atomically (see module docstring)."""
    files = {"run_config.yaml": run_yaml, **(extra_files or {})}
    state = {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "rng": rng_state(), **(extra_state or {})}
    return save_model_dir(path, model_config, state_dict, extra_files=files,
                          writers={STATE_NAME: lambda file: torch.save(state, file)})


def load_training_state(path: Path) -> dict[str, Any]:
    file = Path(path) / STATE_NAME
    if not file.exists():
        raise CheckpointError(f"{path}: no {STATE_NAME} (an interrupted save?) - cannot resume from it")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or foreign file
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{file}: unreadable training state ({message})") from None
    if not isinstance(state, dict) or any(key not in state for key in STATE_KEYS):
        raise CheckpointError(f"{file}: not a tqse training state (lacks {', '.join(STATE_KEYS)})")
    return state


def clean_checkpoints(folder: Path) -> None:
    """On start: undo or finish a save a kill interrupted, and delete the temporary copies it left behind
    (a ``.last.old<pid>`` folder is a full checkpoint: hundreds of MB for the ``paper`` preset)."""
    if not folder.is_dir():
        return
    stale = [p for p in folder.iterdir() if p.name.startswith(".") and (".tmp" in p.name or ".old" in p.name)]
    if stale:
        log.warning("%s: removing %d leftover(s) of an interrupted save: %s", folder, len(stale),
                    ", ".join(p.name for p in stale))
    # `.step-400.tmp9` belongs to `step-400` (train.keep_val_checkpoints), `.best.json.tmp3` to `best.json`
    interrupted = {p.name[1:].split(".tmp")[0].split(".old")[0] for p in stale}
    for name in sorted(set(CHECKPOINT_NAMES) | interrupted):
        recover_interrupted(folder / name)


def check_resume_config(folder: Path, config) -> None:
    """Refuse to resume a run with a config that changes results, naming the keys that differ."""
    from tqse.config import changed_keys

    for name in CHECKPOINT_NAMES:
        stored = folder / name / "run_config.yaml"
        if not stored.is_file():
            continue
        try:
            old = yaml.safe_load(stored.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            log.warning("%s: unreadable; cannot check the resumed config against it", stored)
            continue
        if not isinstance(old, dict):
            continue
        changed = changed_keys(old, config)
        if changed:
            from tqse.config import flatten, to_dict

            before, after = flatten(old), flatten(to_dict(config))
            shown = "; ".join(f"{k}: {before[k]!r} -> {after[k]!r}" for k in changed[:4])
            raise ConfigError(f"{folder.parent}: this run was trained with another config ({shown}"
                              f"{'; ...' if len(changed) > 4 else ''}); use the original settings or "
                              "another run directory")


def resume_point(folder: Path, device: str | torch.device = "cpu") -> tuple[Path, dict, dict] | None:
    """``(checkpoint folder, weights, training state)`` to resume from, or None for a fresh run.

    ``last`` first; when it is damaged (truncated weights or state, missing files) ``best`` with a warning,
    since it is a complete checkpoint of the same run. When neither is usable the error says what to delete.
    """
    present = [folder / name for name in CHECKPOINT_NAMES if (folder / name).exists()]
    problems = []
    for checkpoint in present:
        try:
            _, weights = read_model_state(checkpoint, device)  # checkpoints of older tqse versions too
            state = load_training_state(checkpoint)
        except CheckpointError as err:
            problems.append(str(err))
            log.warning("cannot resume from %s: %s", checkpoint, err)
            continue
        if problems:
            log.warning("resuming from %s instead (step %s)", checkpoint, state["step"])
        return checkpoint, weights, state
    if problems:
        raise CheckpointError(f"{problems[0]}; no usable checkpoint to resume from: delete "
                              f"{' and '.join(str(p) for p in present)} to start this run over")
    return None
