"""Helpers the tests share (importable as ``helpers``: ``tests/`` is on pytest's path): signals and a loader for
the repository's scripts. Kept out of the package, so the wheel ships no test code."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
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


# -- the fixed fixture mixtures the shipped models' outputs are pinned on (tests/models/test_default_model.py) --
@dataclass(frozen=True)
class FixtureMixture:
    name: str
    mixture: np.ndarray
    target: np.ndarray
    sample_rate: int
    query: str


# (target clip, interferer clip, SNR dB, text query): four pairs of the committed CC0 fixture (`tqse demo`
# showed these until issue 25 gave it its own set; the pins stay, so a change in how models run still shows).
FIXTURE_PAIRS = (
    ("loop_amen.flac", "ambi_piano.flac", 0.0, "this is the sound of drums"),
    ("ambi_piano.flac", "loop_breakbeat.flac", 0.0, "this is the sound of piano"),
    ("perc_bell.flac", "guit_em9.flac", 0.0, "a bell rings"),
    ("loop_tabla.flac", "bass_woodsy_c.flac", 0.0, "this is the sound of tabla"),
)


def fixture_mixtures() -> list[FixtureMixture]:
    """The pairs of :data:`FIXTURE_PAIRS`, each cut to the shorter clip and mixed at its SNR."""
    from tqse.audio.io import load_audio
    from tqse.data.locations import fixture_dir
    from tqse.data.mixing import mix_at_snr

    mixtures = []
    for target_name, other_name, snr, query in FIXTURE_PAIRS:
        target, rate = load_audio(fixture_dir() / target_name)
        other, _ = load_audio(fixture_dir() / other_name, rate)
        n = min(len(target), len(other))
        mixture, target, _ = mix_at_snr(target[:n], other[:n], snr)
        name = f"{Path(target_name).stem}+{Path(other_name).stem}"
        mixtures.append(FixtureMixture(name, mixture, target, rate, query))
    return mixtures
