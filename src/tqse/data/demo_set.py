"""The committed demo set (``tqse/assets/demo``): nine two-sound mixtures of sounds people extract, from
source families no model of this repository trains on, with a natural caption of each sound. How they were
chosen, and their credits: ``README.md`` and ``CREDITS.md`` there; ``scripts/make_demo_set.py`` rebuilds them.
``tqse demo`` (:mod:`tqse.workflows.showcase`) and the page's examples (:mod:`tqse.serve.examples`) read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class DemoMixture:
    """One mixture of the demo set: target + interferer (their sum is the mixture) and the two queries."""

    id: str
    description: str
    target: np.ndarray
    interferer: np.ndarray
    sample_rate: int
    right_query: str
    wrong_query: str
    target_name: str  # "the dog", for the sentence that reads the scores
    other_name: str

    @property
    def mixture(self) -> np.ndarray:
        return self.target + self.interferer


def demo_dir() -> Path:
    return Path(str(resources.files("tqse") / "assets" / "demo"))


def demo_mixtures(folder: Path | None = None) -> list[DemoMixture]:
    """The demo set as ``mixtures.json`` lists it (``folder``: default the committed one)."""
    from tqse.audio.io import load_audio

    folder = folder or demo_dir()
    items = []
    for row in json.loads((folder / "mixtures.json").read_text())["mixtures"]:
        target, rate = load_audio(folder / row["target"]["file"])
        interferer, _ = load_audio(folder / row["interferer"]["file"], rate)
        items.append(DemoMixture(row["id"], row["description"], target, interferer, rate, row["right_query"],
                                 row["wrong_query"], row["target_name"], row["other_name"]))
    return items
