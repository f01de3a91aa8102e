"""A model directory: everything needed to rebuild a separator by name, with no pickled classes.

    model.safetensors   weights of a :class:`~tqse.models.separator.Separator`: ``separator.*`` and, for a
                        model trained with PCA / PCA-inv queries, ``query_transform.*``
    config.json         {"format", "model", "kwargs", "query_transform" (optional), "sample_rate",
                         "encoder": {"name", "path", "kwargs"}, "trained_with": {...}, "tqse_version"}

Folders without ``"format"`` (the shipped default model, runs before it) hold the bare separator's keys and
are read through :func:`upgrade_state`.

``save_model_dir`` writes through :func:`tqse.files.atomic_write` (temporary folder + rename), so a kill never leaves
half a model (:func:`tqse.files.recover_interrupted` tidies up after one).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import load_file, save_file

from tqse import __version__
from tqse.errors import CheckpointError
from tqse.files import atomic_write
from tqse.models.separator import FORMAT

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
LEGACY_TRANSFORM_PREFIX = "query_transform."  # format 1 kept the PCA weights beside the bare separator's


def model_config(model_args: dict[str, Any], sample_rate: int, encoder: dict[str, Any],
                 trained_with: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plain-data description stored next to the weights; ``model_args`` from ``Separator.model_args()``.
    A shipped built-in encoder is recorded with its version and weights hash (``pin_encoder_spec``)."""
    from tqse.query.registry import pin_encoder_spec

    return {**model_args, "sample_rate": int(sample_rate), "encoder": pin_encoder_spec(encoder),
            "trained_with": trained_with or {}, "tqse_version": __version__}


def save_model_dir(out_dir: str | os.PathLike, config: dict[str, Any], state_dict: dict[str, torch.Tensor],
                   extra_files: dict[str, str] | None = None,
                   writers: dict[str, Callable[[Path], None]] | None = None) -> Path:
    """Write ``config`` + ``state_dict`` (+ small text files such as README.md, + files made by ``writers``,
    name -> function writing that path) to ``out_dir`` atomically."""
    out_dir = Path(out_dir)
    with atomic_write(out_dir, folder=True) as tmp:
        tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
        save_file(tensors, str(tmp / WEIGHTS_NAME))
        os.chmod(tmp / WEIGHTS_NAME, 0o644)  # safetensors creates it private; a model dir is meant to be shared
        (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
        for name, write in (writers or {}).items():
            write(tmp / name)
    return out_dir


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def read_model_config(model_dir: str | os.PathLike) -> dict[str, Any]:
    """``config.json`` of a model directory, checked for the fields a rebuild needs (:class:`CheckpointError`)."""
    model_dir = Path(model_dir)
    path = model_dir / CONFIG_NAME
    if not model_dir.is_dir():
        raise CheckpointError(f"{model_dir}: model directory not found")
    if not path.exists():
        raise CheckpointError(f"{model_dir}: not a tqse model directory (no {CONFIG_NAME})")
    if not path.is_file():
        raise CheckpointError(f"{path}: is a directory, not a file")
    try:
        config = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise CheckpointError(f"{path}: corrupt model config (not UTF-8 text at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: corrupt model config ({err.msg} at line {err.lineno})") from None
    except RecursionError:  # deeply nested brackets
        raise CheckpointError(f"{path}: corrupt model config (nested too deeply)") from None
    _check_model_config(config, path)
    from tqse.query.registry import legacy_encoder_spec

    return {**config, "encoder": legacy_encoder_spec(config["encoder"])}  # no version recorded: version 1


def _check_model_config(config: Any, path: Path) -> None:
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: model config must be a JSON object, not {type(config).__name__}")
    for key in ("model", "kwargs", "sample_rate", "encoder"):
        if key not in config:
            raise CheckpointError(f"{path}: model config lacks '{key}'")
    expected = {"model": str, "kwargs": dict, "sample_rate": int, "encoder": dict}
    for key, kind in expected.items():
        if not isinstance(config[key], kind) or isinstance(config[key], bool):
            raise CheckpointError(f"{path}: model config '{key}' must be a {kind.__name__}, "
                                  f"not {type(config[key]).__name__}")
    if not 1_000 <= config["sample_rate"] <= 384_000:  # the bounds of data.sample_rate (tqse.config)
        raise CheckpointError(f"{path}: model config sample_rate {config['sample_rate']} is out of range")
    if config.get("format", 1) not in (1, FORMAT):
        raise CheckpointError(f"{path}: model config format {config['format']!r} is unknown (written by a newer tqse?)")
    if not all(isinstance(k, str) for k in config["kwargs"]):
        raise CheckpointError(f"{path}: model config kwargs must have string keys")


def _build(config: dict[str, Any], model_dir: Path) -> torch.nn.Module:
    """The separator a config names; any failure is the config's (unknown name, kwargs the model refuses)."""
    from tqse.models import MODELS, PRESETS
    from tqse.models.separator import Separator

    if config["model"] not in MODELS and config["model"] not in PRESETS:
        known = ", ".join(sorted(set(MODELS) | set(PRESETS)))
        raise CheckpointError(f"{model_dir / CONFIG_NAME}: unknown model '{config['model']}' (known: {known}; "
                              "written by a newer tqse?)")
    try:
        return Separator(config["model"], config["kwargs"], config.get("query_transform"))
    except (TypeError, ValueError, KeyError, RuntimeError, AssertionError, ArithmeticError, MemoryError) as err:
        raise CheckpointError(f"{model_dir / CONFIG_NAME}: cannot build model '{config['model']}' "
                              f"from its kwargs ({_first_line(err)})") from None


def read_weights(model_dir: str | os.PathLike, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """``model.safetensors`` of a model directory; a missing, truncated or foreign file is a CheckpointError."""
    weights = Path(model_dir) / WEIGHTS_NAME
    if not weights.exists():
        raise CheckpointError(f"{model_dir}: missing weights file {WEIGHTS_NAME}")
    if not weights.is_file():
        raise CheckpointError(f"{weights}: is a directory, not a weights file")
    try:
        return load_file(str(weights), device=str(device))
    except Exception as err:  # safetensors raises its own SafetensorError on truncated files
        raise CheckpointError(f"{weights}: unreadable weights ({_first_line(err)})") from None


def load_weights_into(model: torch.nn.Module, state: dict[str, torch.Tensor], weights: Path, name: str) -> None:
    """Load ``state`` into ``model``, refusing missing, extra, wrongly shaped or non-finite tensors by name."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise CheckpointError(f"{weights}: weights do not match model '{name}' "
                              f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    for key, tensor in state.items():
        if tensor.shape != expected[key].shape:
            raise CheckpointError(f"{weights}: tensor '{key}' has shape {list(tensor.shape)}, model '{name}' "
                                  f"expects {list(expected[key].shape)} (weights from another model or preset?)")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{weights}: tensor '{key}' contains NaN/Inf (weights of a diverged run?)")
    model.load_state_dict(state)


def upgrade_state(config: dict[str, Any], state: dict[str, torch.Tensor],
                  model_dir: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a format-1 folder as format 2: the bare separator's keys go under ``separator.``, and the PCA
    spec, which named only ``kind`` and ``dim``, gains the input dimension its weights show."""
    if config.get("format", 1) != 1:
        return config, state
    state = {k if k.startswith(LEGACY_TRANSFORM_PREFIX) else f"separator.{k}": v for k, v in state.items()}
    config = {**config, "format": FORMAT}
    spec = config.get("query_transform")
    if spec:
        mean = state.get(LEGACY_TRANSFORM_PREFIX + "mean")
        if not isinstance(spec, dict) or mean is None or mean.dim() != 1:
            raise CheckpointError(f"{model_dir}: config names a query transform but its weights are missing "
                                  "or malformed")
        config = {**config, "query_transform": {**spec, "in_dim": mean.shape[0]}}
    return config, state


def read_model_state(model_dir: str | os.PathLike,
                     device: str | torch.device = "cpu") -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(config, weights)`` of a model directory, in the current format whatever format it was written in."""
    config = read_model_config(model_dir)
    return upgrade_state(config, read_weights(model_dir, device), Path(model_dir))


def load_model_dir(model_dir: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the :class:`~tqse.models.separator.Separator` of a model directory: ``(model in eval mode,
    config)``."""
    config, state = read_model_state(model_dir, device)
    model = _build(config, Path(model_dir))
    load_weights_into(model, state, Path(model_dir) / WEIGHTS_NAME, config["model"])
    return model.to(device).eval(), config
