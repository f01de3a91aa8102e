"""Where the default model lives when ``--checkpoint`` is not given.

Search order: ``$TQSE_MODEL`` (a model directory), the model shipped inside the package
(``tqse/assets/default_model``, when a release includes one), then the model the demo trains
(``$TQSE_HOME/models/demo``; ``TQSE_HOME`` defaults to ``~/.cache/tqse``).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from tqse.errors import CheckpointError
from tqse.models.model_dir import CONFIG_NAME


def tqse_home() -> Path:
    return Path(os.environ.get("TQSE_HOME", Path.home() / ".cache" / "tqse"))


def demo_model_dir() -> Path:
    return tqse_home() / "models" / "demo"


def default_model_dir() -> Path:
    candidates = []
    if os.environ.get("TQSE_MODEL"):
        candidates.append(Path(os.environ["TQSE_MODEL"]))
    candidates += [Path(str(resources.files("tqse") / "assets" / "default_model")), demo_model_dir()]
    for candidate in candidates:
        if (candidate / CONFIG_NAME).exists():
            return candidate
    raise CheckpointError("no default model found: pass --checkpoint DIR, set TQSE_MODEL, or run `tqse demo` "
                          f"(trains one into {demo_model_dir()})")
