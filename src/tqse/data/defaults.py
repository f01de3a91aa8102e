"""The built-in default data: what ``tqse train`` / ``tqse grid`` use when no manifest is named.

The built-in corpus (``tqse corpus build``) when one is built, the largest tier first; otherwise the
committed CC0 fixture (12 clips), with a warning saying how to build the corpus. Nothing is downloaded
implicitly here: ``tqse demo`` and ``tqse corpus build`` build the corpus on purpose.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tqse.testing import fixture_manifest

log = logging.getLogger(__name__)


def built_corpus(tier: str) -> Path | None:
    """``clips.jsonl`` of a completely built corpus tier in its default folder, or None."""
    from tqse.data.corpus import is_complete, default_corpus_dir

    folder = default_corpus_dir(tier)
    return folder / "clips.jsonl" if is_complete(folder) else None


def default_training_manifest() -> Path:
    """Clip manifest of the built-in data (see module docstring)."""
    for tier in ("full", "default", "tiny"):
        manifest = built_corpus(tier)
        if manifest is not None:
            return manifest
    log.warning("no built-in corpus found: using the 12-clip CC0 fixture (build the corpus with "
                "`tqse corpus build --tier default`)")
    return fixture_manifest()


def built_corpus_mixtures(splits: tuple[str, ...]) -> list[str]:
    """Fixed-mixture manifests of the built corpus (the largest tier built), for the given splits."""
    for tier in ("full", "default", "tiny"):
        manifest = built_corpus(tier)
        if manifest is not None:
            found = [manifest.parent / "mixtures" / f"{split}.jsonl" for split in splits]
            return [str(path) for path in found if path.exists()]
    return []
