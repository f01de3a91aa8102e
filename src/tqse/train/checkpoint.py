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

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tqse.errors import CheckpointError
from tqse.models.model_dir import save_model_dir

STATE_NAME = "training_state.pt"


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
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or foreign file
        raise CheckpointError(f"{file}: unreadable training state ({err})") from None
