"""Helpers the tests share (importable as ``helpers``: ``tests/`` is on pytest's path): signals and a loader for
the repository's scripts. Kept out of the package, so the wheel ships no test code."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def tone(frequency: float, seconds: float, sample_rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def load_script(path: str | os.PathLike) -> ModuleType:
    """Import a repository script (``benchmarks/*.py``, ``scripts/*.py``: files, not package modules) so a test
    can call its functions."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
