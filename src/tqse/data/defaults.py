"""The built-in default data: what ``tqse train`` / ``tqse demo`` use when no manifest is given."""

from __future__ import annotations

from pathlib import Path

from tqse.testing import fixture_manifest


def default_training_manifest() -> Path:
    """Clip manifest of the built-in data (the committed CC0 fixture until a corpus is built)."""
    return fixture_manifest()
