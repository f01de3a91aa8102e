"""Where the built-in data lives (the committed CC0 fixture, the corpus tiers ``tqse corpus build`` makes) and
which of it ``tqse train`` / ``tqse grid`` / ``tqse eval`` use when no manifest is named.

The built-in corpus (``tqse corpus build``) when one is built, the largest tier first; otherwise the
committed CC0 fixture (12 clips), with a warning saying how to build the corpus. Nothing is downloaded
implicitly here: ``tqse demo`` and ``tqse corpus build`` build the corpus on purpose.

This module sits in the data layer and imports nothing above it, so data look-ups never pull in models or
torch. (The run config's defaults live in :mod:`tqse.config`; these are places on disk.)
"""

from __future__ import annotations

import json
import logging
import os
from importlib import resources
from pathlib import Path

from tqse.errors import ConfigError

log = logging.getLogger(__name__)

TIERS_LARGEST_FIRST = ("full", "default", "tiny")


def fixture_dir() -> Path:
    """Folder of the committed CC0 fixture (12 clips, 32 kHz mono FLAC, ``clips.jsonl``)."""
    return Path(str(resources.files("tqse") / "assets" / "fixture"))


def fixture_manifest() -> Path:
    return fixture_dir() / "clips.jsonl"


def default_corpus_dir(tier: str = "tiny") -> Path:
    """``$TQSE_DATA/<tier>`` if ``TQSE_DATA`` is set, else ``~/.cache/tqse/corpus/<tier>``."""
    base = os.environ.get("TQSE_DATA")
    root = Path(base) if base else Path.home() / ".cache" / "tqse" / "corpus"
    return root / tier


def is_complete(folder: Path) -> bool:
    """Whether the corpus builder finished in ``folder`` (its ``state.json`` says so)."""
    try:
        return bool(json.loads((folder / "state.json").read_text()).get("stages", {}).get("done"))
    except (OSError, ValueError):
        return False


def built_corpus(tier: str) -> Path | None:
    """``clips.jsonl`` of a completely built corpus tier in its default folder, or None."""
    folder = default_corpus_dir(tier)
    return folder / "clips.jsonl" if is_complete(folder) else None


def default_training_manifest() -> Path:
    """Clip manifest of the built-in data (see module docstring)."""
    for tier in TIERS_LARGEST_FIRST:
        manifest = built_corpus(tier)
        if manifest is not None:
            return manifest
    log.warning("no built-in corpus found: using the 12-clip CC0 fixture (build the corpus with "
                "`tqse corpus build --tier default`)")
    return fixture_manifest()


def built_corpus_mixtures(splits: tuple[str, ...]) -> list[str]:
    """Fixed-mixture manifests of the built corpus (the largest tier built), for the given splits."""
    for tier in TIERS_LARGEST_FIRST:
        manifest = built_corpus(tier)
        if manifest is not None:
            found = [manifest.parent / "mixtures" / f"{split}.jsonl" for split in splits]
            return [str(path) for path in found if path.exists()]
    return []


def resolve_manifest(value: str) -> str:
    """A manifest path, or a named built-in source: ``builtin`` (the default data's clips), ``builtin:val``
    / ``builtin:test`` / ``builtin:ood`` (its fixed mixtures), ``fixture`` (the committed CC0 clips), or a
    named tier: ``corpus:<tier>`` (its target clips), ``corpus:<tier>:<name>`` (``<name>.jsonl`` of the tier,
    e.g. ``interferers`` or ``unlabelled``, else its fixed mixtures ``mixtures/<name>.jsonl``)."""
    if value == "fixture":
        return str(fixture_manifest())
    if value == "builtin":
        return str(default_training_manifest())
    if value.startswith("builtin:"):
        mixtures = Path(default_training_manifest()).parent / "mixtures" / f"{value.split(':', 1)[1]}.jsonl"
        if not mixtures.exists():
            raise ConfigError(f"{value}: the built-in data has no {mixtures.name} (build the corpus: "
                              "`tqse corpus build --tier default`)")
        return str(mixtures)
    if value.startswith("corpus:"):
        return str(_tier_manifest(value))
    return value


def _tier_manifest(value: str) -> Path:
    _, tier, *rest = value.split(":")
    folder = default_corpus_dir(tier)
    if not is_complete(folder):
        raise ConfigError(f"{value}: corpus tier '{tier}' is not built in {folder} "
                          f"(`tqse corpus build --tier {tier}`)")
    if not rest:
        return folder / "clips.jsonl"
    for path in (folder / f"{rest[0]}.jsonl", folder / "mixtures" / f"{rest[0]}.jsonl"):
        if path.exists():
            return path
    raise ConfigError(f"{value}: tier '{tier}' has no {rest[0]}.jsonl (nor mixtures/{rest[0]}.jsonl) in {folder}")
