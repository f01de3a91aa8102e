"""File helpers every layer shares: the atomic write (files and folders), a file's content hash, a run's metrics
lines.

This module imports nothing else of tqse, so audio, data, query, models and eval can all use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = "", *, folder: bool = False) -> Iterator[Path]:
    """Yield a new temporary file beside ``path`` to write (an empty folder with ``folder=True``); on success
    it replaces ``path`` by renaming, so readers see the old ``path`` or the complete new one, never half of it.

    The one way tqse writes files that must not be half-written: manifests, caches, audio outputs, metrics,
    model folders. A failure (an exception, or a kill before the rename) leaves the old ``path`` as it was and
    deletes the temporary one (a kill leaves only a hidden ``.NAME.tmpPID_*`` entry, which
    :func:`recover_interrupted` removes). ``suffix`` ends the temporary name, for writers that add their own
    extension (``numpy.save``: ``.npy``). A folder replaces an existing one in two renames (the old one is set
    aside as ``.NAME.oldPID`` first): a kill between them is undone by :func:`recover_interrupted`.

    Example::

        with atomic_write(manifest) as tmp:
            tmp.write_text(text)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path, suffix, folder=folder)
    try:
        yield tmp
        _swap_folder(tmp, path) if folder else os.replace(tmp, path)
    finally:
        _remove(tmp)  # gone already after the rename


def temporary_beside(path: Path, suffix: str = "", *, folder: bool = False) -> Path:
    """Create a new hidden ``.NAME.tmpPID_*`` file (or folder) in ``path``'s folder, with the permissions an
    ordinary file (folder) gets there, and return it. Its own name, so concurrent writers never share one."""
    prefix = f".{path.name}.tmp{os.getpid()}_"
    if folder:
        tmp = Path(tempfile.mkdtemp(suffix, prefix, path.parent))
    else:
        handle, name = tempfile.mkstemp(suffix, prefix, path.parent)
        os.close(handle)
        tmp = Path(name)
    os.chmod(tmp, (0o777 if folder else 0o666) & ~_umask())  # mkstemp/mkdtemp make it private
    return tmp


def _swap_folder(new: Path, path: Path) -> None:
    old = path.with_name(f".{path.name}.old{os.getpid()}")
    _remove(old)
    if path.exists():
        os.replace(path, old)
    os.replace(new, path)
    _remove(old)


def recover_interrupted(path: str | os.PathLike) -> Path | None:
    """Clean up after a killed :func:`atomic_write` of ``path``: delete half-written temporary entries and, if
    the kill fell between a folder's two renames, put the previous folder back. Returns ``path``, or None if
    there is none."""
    path = Path(path)
    if not path.parent.is_dir():
        return None
    for partial in path.parent.glob(f".{path.name}.tmp*"):
        _remove(partial)
    leftovers = sorted(path.parent.glob(f".{path.name}.old*"), key=lambda p: p.stat().st_mtime)
    if not path.exists() and leftovers:
        os.replace(leftovers.pop(), path)  # killed between the renames: the previous folder is complete
    for old in leftovers:  # killed after both renames, before the clean-up: a full stale copy
        _remove(old)
    return path if path.exists() else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def tqse_home() -> Path:
    """``$TQSE_HOME`` (default ``~/.cache/tqse``): where tqse keeps its own files (installed models, decoded-clip
    stores, downloaded wheels)."""
    return Path(os.environ.get("TQSE_HOME", Path.home() / ".cache" / "tqse"))


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes, read in chunks (weights files are GBs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_json_lines(path: str | os.PathLike, keep: Callable[[dict], bool] = lambda row: True,
                    kind: str = "line") -> list[dict[str, Any]]:
    """The JSON objects of a file a run appends to one line at a time (none if the file does not exist).

    A line a kill cut short, any unreadable line, or a row ``keep`` refuses is dropped with a warning naming the
    file, the line and its ``kind``, instead of failing the reader.
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
        if not isinstance(row, dict) or not keep(row):
            log.warning("%s:%d: dropping a damaged %s (a run killed while writing it?)", path, number, kind)
            continue
        rows.append(row)
    return rows


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The ``{"step": ..., ...}`` rows of a run's ``metrics.jsonl`` (none if the file does not exist).

    Training writes it and evaluation, reports and benchmarks read it, so one tolerant reader serves them all
    (:func:`read_json_lines`); a row without an integer step is not a metrics row.
    """
    return read_json_lines(path, lambda row: isinstance(row.get("step"), int), "metrics line")
