"""A plain folder of audio files with no captions: audio-only training data of any size and layout.

The folder is walked recursively; every file libsndfile can read (wav, flac, ogg/opus, mp3, aiff, ...) at
any sample rate becomes one clip line without a caption. Such clips can only be used with audio queries
(the paper's audio-only training: the query is the CLAP audio embedding of the target itself).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from tqse.data.manifest import ManifestError
from tqse.data.readers.common import AUDIO_EXTENSIONS


def folder_candidates(root: str | os.PathLike, *, extensions: Iterable[str] = AUDIO_EXTENSIONS,
                      label_from_parent: bool = False, split: str | None = "train") -> list[dict[str, Any]]:
    """Candidate rows for every audio file under ``root``, sorted by path (deterministic order).

    Args:
        label_from_parent: use each file's parent folder name as its ``class`` (for class-labelled
            layouts such as ``dog/1.wav``); it enables different-class interferers in the mixer.
        split: stored in every line (training keeps lines of ``data.split``, default ``train``).
    """
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(f"{root}: audio folder not found")
    exts = {e.lower() for e in extensions}
    rows = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in exts:
                continue
            row: dict[str, Any] = {"path": os.path.join(folder, name)}
            if split:
                row["split"] = split
            if label_from_parent and Path(folder) != root:
                row["class"] = Path(folder).name
            rows.append(row)
    rows.sort(key=lambda r: r["path"])
    return rows
