"""File helpers every layer shares: an atomic write, a file's content hash, a run's metrics lines.

This module imports nothing else of tqse, so audio, data, query, models and eval can all use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path`` in one rename.

    A failure (an exception, or a kill before the rename) never leaves a half-written ``path``: the old file
    stays as it was and the temporary file is deleted (a kill leaves only a hidden ``.NAME.tmpPID`` file).
    ``suffix`` ends the temporary name, for writers that add their own extension (``numpy.save``: ``.npy``).

    Example::

        with atomic_write(manifest) as tmp:
            tmp.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after the rename


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes, read in chunks (weights files are GBs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The ``{"step": ..., ...}`` rows of a run's ``metrics.jsonl`` (none if the file does not exist).

    Training writes it and evaluation, reports and benchmarks read it, so one tolerant reader serves them all:
    a line a kill cut short (or any unreadable line) is dropped with a warning instead of failing the reader.
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or not isinstance(row.get("step"), int):
            log.warning("%s:%d: dropping a damaged metrics line (a run killed while writing it?)", path, number)
            continue
        rows.append(row)
    return rows
