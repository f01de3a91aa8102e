"""Turning a list of candidate clips into a clip manifest: parallel, resumable, never crashing mid-run.

Every dataset reader (AudioCaps, Clotho, VGGSound, folders, AudioSep JSON) only knows its own metadata
format: it produces *candidate rows* (``{"path": absolute path, "caption"/"captions"/"class": ...}``) and
hands them to :func:`build_manifest`, which

- reads each file's header in a thread pool (soundfile releases the GIL while it parses headers and
  hashlib while it hashes, so threads scale on I/O-bound disks without pickling rows to processes),
- skips missing, unreadable and too-short clips, counting each reason (logged and returned),
- adds ``dataset``, ``frames``, ``sample_rate`` (so training never reopens headers) and optionally a content
  ``sha256`` (used as the embedding-cache key),
- appends every decision to ``<manifest>.partial`` as it goes, so a killed build resumes where it stopped,
- writes the final manifest atomically in candidate order (deterministic whatever the thread timing).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import soundfile as sf

from tqse.audio.io import AudioError, audio_info
from tqse.data.manifest import ManifestError, write_jsonl
from tqse.files import file_sha256

log = logging.getLogger(__name__)

# Extensions libsndfile decodes (mp3 since libsndfile 1.1); used by the folder reader and file indexes.
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au",
                              ".caf", ".w64", ".rf64"})
SKIP_REASONS = ("missing", "unreadable", "too_short")


@dataclass
class BuildReport:
    """What :func:`build_manifest` did: clips kept and skip counts per reason."""

    manifest: str
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    resumed: int = 0
    seconds: float = 0.0
    workers: int = 1

    @property
    def total(self) -> int:
        return self.kept + sum(self.skipped.values())

    def summary(self) -> str:
        skips = ", ".join(f"{reason} {self.skipped.get(reason, 0)}" for reason in SKIP_REASONS)
        return (f"{self.manifest}: {self.kept} clips kept of {self.total} ({skips} skipped; "
                f"{self.resumed} resumed from a previous run) in {self.seconds:.1f} s")


def _check(row: dict[str, Any], min_frames_at: float, verify: bool, sha256: bool) -> dict[str, Any]:
    """Header (and optionally full-decode) check of one candidate: returns the row or a skip record."""
    path = row["path"]
    if not os.path.exists(path):
        return {"_skip": "missing", "_key": path}
    try:
        info = audio_info(path)
        if verify:  # a valid header can sit on truncated data; decoding everything finds it
            with sf.SoundFile(path) as f:
                while f.read(1 << 16, dtype="float32").shape[0]:
                    pass
    except (AudioError, sf.LibsndfileError, RuntimeError) as err:
        log.debug("skipping %s: %s", path, err)
        return {"_skip": "unreadable", "_key": path}
    if info.frames == 0 or info.seconds < min_frames_at:
        return {"_skip": "too_short", "_key": path}
    out = dict(row, frames=info.frames, sample_rate=info.sample_rate)
    if sha256:
        out["embedding_key"] = file_sha256(path)
    return out


def _relative(row: dict[str, Any], base: Path) -> dict[str, Any]:
    """Paths under the manifest's folder are stored relative (portable); others stay absolute."""
    path = Path(row["path"])
    try:
        return dict(row, path=path.relative_to(base).as_posix())
    except ValueError:
        return dict(row, path=str(path))


def _read_partial(partial: Path) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if not partial.exists():
        return done
    with partial.open(encoding="utf-8") as f:
        for line in f:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:  # the last line of a killed run may be half written
                continue
            done[obj.get("_key") or obj["path"]] = obj
    return done


def build_manifest(
    candidates: Iterable[dict[str, Any]],
    out: str | os.PathLike,
    *,
    dataset: str,
    min_seconds: float = 0.0,
    workers: int = 4,
    sha256: bool = False,
    verify: bool = False,
    resume: bool = True,
    progress: bool = False,
) -> BuildReport:
    """Check every candidate clip and write the clip manifest ``out`` (JSONL, engine format).

    Args:
        candidates: rows with an absolute ``path`` plus caption/captions/class/any extra keys.
        dataset: written into every line (per-dataset query modality keys on it).
        min_seconds: clips shorter than this are skipped as ``too_short``.
        workers: header-reading threads.
        sha256: add the file's SHA-256 as ``embedding_key`` (reads every byte).
        verify: decode every file fully (finds truncated data behind a valid header).
        resume: reuse the decisions recorded in ``<out>.partial`` by an interrupted run.
    Returns:
        A :class:`BuildReport` (also logged).
    """
    start = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    rows = [dict(row, path=os.path.abspath(row["path"])) for row in candidates]
    done = _read_partial(partial) if resume else {}
    report = BuildReport(str(out), resumed=sum(1 for r in rows if r["path"] in done), workers=workers)
    todo = [r for r in rows if r["path"] not in done]
    with partial.open("a" if resume else "w", encoding="utf-8") as log_file, \
            ThreadPoolExecutor(max(1, workers)) as pool:
        results = pool.map(lambda r: _check(r, min_seconds, verify, sha256), todo)
        for result in _progress(results, len(todo), progress, out.name):
            log_file.write(json.dumps(result, ensure_ascii=False) + "\n")
            done[result.get("_key") or result["path"]] = result
            if len(done) % 256 == 0:
                log_file.flush()
    base = out.resolve().parent
    lines = []
    for row in rows:
        result = done[row["path"]]
        if "_skip" in result:
            report.skipped[result["_skip"]] += 1
        else:
            lines.append(_relative(dict(result, dataset=dataset), base))
    if not lines:
        raise ManifestError(f"{out}: no usable clips among {len(rows)} candidates ({dict(report.skipped)})")
    report.kept = write_jsonl(out, lines)
    partial.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - start
    log.info(report.summary())
    return report


def _progress(it: Iterator, total: int, enabled: bool, desc: str) -> Iterator:
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit="clip")


def index_audio_files(root: str | os.PathLike, extensions: Iterable[str] = AUDIO_EXTENSIONS) -> dict[str, str]:
    """Map file stem -> absolute path for every audio file under ``root`` (recursive, one walk).

    Dataset downloads name files in several ways (``ID.wav``, ``YID.wav``, ``ID_000030.flac``...); the
    readers look stems up here instead of guessing full paths one by one.
    """
    root = Path(root)
    if not root.is_dir():
        raise ManifestError(f"{root}: audio folder not found")
    exts = {e.lower() for e in extensions}
    index: dict[str, str] = {}
    for folder, _, files in os.walk(root, followlinks=True):
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext.lower() in exts:
                index.setdefault(stem, os.path.join(folder, name))
    return index


def read_csv_rows(path: str | os.PathLike, *, header: bool = True,
                  strip: bool = True) -> Iterator[tuple[int, list[str]]]:
    """``(row_number, fields)`` of a CSV file; errors name the file. Blank lines are skipped.

    ``strip=False`` keeps fields byte-exact (evaluation queries must match the reference code's text).
    """
    import csv

    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path}: CSV file not found")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        for number, fields in enumerate(reader, 1):
            if (header and number == 1) or not any(x.strip() for x in fields):
                continue
            yield number, [x.strip() for x in fields] if strip else fields
