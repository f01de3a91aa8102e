"""Helpers for tests and examples: tiny models, a deterministic encoder, the committed CC0 fixture.

Shipped inside the package (like ``lhotse.testing``) so downstream users can test against tqse too.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from tqse.data.defaults import fixture_dir, fixture_manifest  # noqa: F401 (re-exported for tests and users)
from tqse.models import resolve_preset
from tqse.models.model_dir import model_config, save_model_dir
from tqse.models.separator import Separator

HASH_ENCODER = {"name": "hash", "path": None, "kwargs": {"dim": 32}}


def tiny_model_dir(path: str | os.PathLike, encoder: dict | None = None, sample_rate: int = 32000,
                   seed: int = 0, preset: str = "tiny", query_dim: int | None = None) -> Path:
    """Write a randomly initialised tiny Conformer model directory using the weight-free ``hash`` encoder (or
    ``encoder``, whose embedding size ``query_dim`` is then, e.g. 512 for the built-in one)."""
    encoder = encoder or HASH_ENCODER
    query_dim = query_dim or encoder.get("kwargs", {}).get("dim", 32)
    name, kwargs = resolve_preset(preset, query_dim=query_dim, sample_rate=sample_rate)
    torch.manual_seed(seed)
    model = Separator(name, kwargs)
    config = model_config(model.model_args(), sample_rate, encoder, trained_with={"note": "random weights (tests)"})
    return save_model_dir(path, config, model.state_dict())


def tone(frequency: float, seconds: float, sample_rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def load_script(path: str | os.PathLike) -> ModuleType:
    """Import a repository script (``benchmarks/*.py``, ``scripts/*.py``: files, not package modules) so a test
    can call its functions."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
