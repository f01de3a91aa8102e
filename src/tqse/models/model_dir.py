"""A model directory: everything needed to rebuild a separator by name, with no pickled classes.

    model.safetensors   separator weights
    config.json         {"model", "kwargs", "sample_rate", "encoder": {"name", "path", "kwargs"},
                         "trained_with": {...}, "tqse_version"}

``save_model_dir`` writes atomically (temporary folder + rename), so a kill never leaves half a model.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file

from tqse import __version__
from tqse.errors import CheckpointError

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TRANSFORM_PREFIX = "query_transform."  # weights of a query-side projection (PCA), kept beside the separator


def model_config(model: str, kwargs: dict[str, Any], sample_rate: int, encoder: dict[str, Any],
                 trained_with: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plain-data description stored next to the weights."""
    return {"model": model, "kwargs": kwargs, "sample_rate": int(sample_rate), "encoder": encoder,
            "trained_with": trained_with or {}, "tqse_version": __version__}


def save_model_dir(out_dir: str | os.PathLike, config: dict[str, Any], state_dict: dict[str, torch.Tensor],
                   extra_files: dict[str, str] | None = None,
                   writers: dict[str, Callable[[Path], None]] | None = None) -> Path:
    """Write ``config`` + ``state_dict`` (+ small text files such as README.md, + files made by ``writers``,
    name -> function writing that path) to ``out_dir`` atomically."""
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(tmp / WEIGHTS_NAME))
    os.chmod(tmp / WEIGHTS_NAME, 0o644)  # safetensors creates it private; a model dir is meant to be shared
    (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    for name, text in (extra_files or {}).items():
        (tmp / name).write_text(text)
    for name, write in (writers or {}).items():
        write(tmp / name)
    old = out_dir.with_name(f".{out_dir.name}.old{os.getpid()}")
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def recover_interrupted(out_dir: str | os.PathLike) -> Path | None:
    """Clean up after a killed save: delete half-written temporary folders and, if the kill fell between
    the two renames, put the previous folder back. Returns the folder, or None if there is none."""
    out_dir = Path(out_dir)
    if out_dir.parent.exists():
        for partial in out_dir.parent.glob(f".{out_dir.name}.tmp*"):
            shutil.rmtree(partial, ignore_errors=True)
    if out_dir.exists():
        return out_dir
    leftovers = sorted(out_dir.parent.glob(f".{out_dir.name}.old*")) if out_dir.parent.exists() else []
    if leftovers:
        os.replace(leftovers[-1], out_dir)
        return out_dir
    return None


def read_model_config(model_dir: str | os.PathLike) -> dict[str, Any]:
    model_dir = Path(model_dir)
    path = model_dir / CONFIG_NAME
    if not model_dir.is_dir():
        raise CheckpointError(f"{model_dir}: model directory not found")
    if not path.exists():
        raise CheckpointError(f"{model_dir}: not a tqse model directory (no {CONFIG_NAME})")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: corrupt model config ({err.msg})") from None
    for key in ("model", "kwargs", "sample_rate", "encoder"):
        if key not in config:
            raise CheckpointError(f"{path}: model config lacks '{key}'")
    return config


def load_model_dir(model_dir: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the separator of a model directory: ``(model in eval mode, config)``."""
    from tqse.models import build_model

    config = read_model_config(model_dir)
    weights = Path(model_dir) / WEIGHTS_NAME
    if not weights.exists():
        raise CheckpointError(f"{model_dir}: missing weights file {WEIGHTS_NAME}")
    model = build_model(config["model"], **config["kwargs"])
    try:
        state = load_file(str(weights), device=str(device))
    except Exception as err:  # safetensors raises its own SafetensorError on truncated files
        raise CheckpointError(f"{weights}: unreadable weights ({err})") from None
    state = {k: v for k, v in state.items() if not k.startswith(TRANSFORM_PREFIX)}
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{weights}: weights do not match model '{config['model']}' "
                              f"(missing {result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]})")
    return model.to(device).eval(), config


def load_query_transform(model_dir: str | os.PathLike, config: dict[str, Any]) -> torch.nn.Module | None:
    """The query projection a model was trained with (PCA / PCA-inv, seed paper Sec. II-C), or None."""
    spec = config.get("query_transform")
    if not spec:
        return None
    from tqse.query.manipulations import PCAProjection

    state = load_file(str(Path(model_dir) / WEIGHTS_NAME))
    try:
        return PCAProjection(state[TRANSFORM_PREFIX + "mean"], state[TRANSFORM_PREFIX + "components"],
                             inverse=spec["kind"] == "pca_inv")
    except KeyError:
        raise CheckpointError(f"{model_dir}: config names a query transform but its weights are missing") from None
