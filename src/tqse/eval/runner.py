"""Evaluate a separator over a benchmark or a mixture manifest: per-clip CSV, summary JSON, resumable.

The core takes a plain callable ``separate(mixture [T] float32, text) -> estimate [T]`` working at
``sample_rate`` (the protocol's rate, 32 kHz for AudioSep's benchmarks), so it is tested without a trained
model; :class:`ModelSeparator` adapts a :class:`tqse.api.Extractor` (single clips and batches).

Files in ``out_dir``: ``{name}.csv`` (one row per clip, appended and flushed as it goes, so a killed run
resumes by skipping rows already there) and ``{name}.json`` (the aggregate, rewritten at the end).
"""

from __future__ import annotations

import csv
import logging
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from tqse.audio.io import load_audio
from tqse.audio.resample import match_length
from tqse.data.manifest import write_json
from tqse.eval.protocols import METRICS, EvalItem, aggregate, score_clip
from tqse.files import atomic_write

log = logging.getLogger(__name__)
SUMMARY_FORMAT = "tqse-eval/1"
COLUMNS = ["index", "id", "group", "text", *METRICS, "sdr_mixture", "si_sdr_mixture", "seconds"]
Separate = Callable[[np.ndarray, str], np.ndarray]
SeparateBatch = Callable[[Sequence[np.ndarray], Sequence[str]], Sequence[np.ndarray]]


def _read_done(csv_path: Path, items: Sequence[EvalItem]) -> dict[int, dict[str, Any]]:
    """Rows already scored, keyed by item position; a row whose id no longer matches is ignored."""
    if not csv_path.exists():
        return {}
    done = {}
    with csv_path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            try:
                index = int(row["index"])
                [float(row[m]) for m in (*METRICS, "seconds")]
            except (KeyError, ValueError, TypeError):  # half-written last line of a killed run
                continue
            if 0 <= index < len(items) and items[index].id == row["id"]:
                done[index] = row
    return done


def _rewrite_done(csv_path: Path, done: dict[int, dict[str, Any]]) -> None:
    """Keep only complete rows before appending: a row cut short by a kill would otherwise be glued to the next
    row written (appending continues on its line) and read back as a row of shifted columns."""
    with atomic_write(csv_path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(done[i] for i in sorted(done))


def _prefetch(items: Sequence[tuple[int, EvalItem]], sample_rate: int,
              depth: int) -> Iterator[tuple[int, EvalItem, np.ndarray, np.ndarray]]:
    """Load (source, mixture) in background threads while the separator runs; at most ``depth`` ahead."""
    def load(entry):
        index, item = entry
        source, _ = load_audio(item.source, sample_rate, allow_silent=True)
        mixture, _ = load_audio(item.mixture, sample_rate, allow_silent=True)
        return index, item, source, mixture

    with ThreadPoolExecutor(2) as pool:
        pending: deque = deque()
        queue = iter(items)
        for entry in queue:
            pending.append(pool.submit(load, entry))
            if len(pending) >= depth:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _batches(it: Iterable, size: int) -> Iterator[list]:
    batch = []
    for x in it:
        batch.append(x)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def evaluate(items: Sequence[EvalItem], separate: Separate, *, sample_rate: int, out_dir: str | os.PathLike,
             name: str, aggregation: str = "mean", separate_batch: SeparateBatch | None = None,
             batch_size: int = 1, resume: bool = True, progress: bool = True,
             info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score ``separate`` on every item; returns (and writes) the summary.

    Args:
        items: from :func:`tqse.eval.protocols.load_benchmark` or :func:`~tqse.eval.protocols.manifest_items`.
        separate: ``(mixture [T], text) -> estimate [T]`` at ``sample_rate``.
        aggregation: ``mean`` | ``class_mean`` | ``class_median`` (see :func:`~tqse.eval.protocols.aggregate`).
        separate_batch: optional ``(mixtures, texts) -> estimates`` used when ``batch_size > 1``.
        resume: skip clips already in ``{name}.csv`` (``False`` starts the CSV afresh).
        info: extra fields for the summary (checkpoint, device ...).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"{name}.csv"
    done = _read_done(csv_path, items) if resume else {}
    todo = [(i, item) for i, item in enumerate(items) if i not in done]
    stats = {"length_mismatch": 0, "seconds": 0.0}
    fresh = not (resume and csv_path.exists() and done)
    if not fresh:
        _rewrite_done(csv_path, done)
    with csv_path.open("w" if fresh else "a", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if fresh:
            writer.writeheader()
        bar = _bar(len(items), len(done), name, progress)
        for batch in _batches(_prefetch(todo, sample_rate, depth=2 * batch_size + 2), batch_size):
            for row in _score_batch(batch, separate, separate_batch, stats):
                writer.writerow(row)
                done[row["index"]] = row
            f.flush()
            bar.update(len(batch))
        bar.close()
    summary = summarise(done.values(), name=name, aggregation=aggregation, n_items=len(items), info=info)
    summary.update(length_mismatch=stats["length_mismatch"], separate_seconds=round(stats["seconds"], 3),
                   resumed=len(items) - len(todo), sample_rate=sample_rate)
    write_json(out_dir / f"{name}.json", summary)
    log.info("%s: %s", name, ", ".join(f"{k} {v:.3f}" for k, v in summary["metrics"].items()))
    return summary


def _score_batch(batch: list, separate: Separate, separate_batch: SeparateBatch | None,
                 stats: dict[str, Any]) -> list[dict[str, Any]]:
    start = time.perf_counter()
    if separate_batch is not None and len(batch) > 1:
        estimates = list(separate_batch([b[3] for b in batch], [b[1].text for b in batch]))
    else:
        estimates = [separate(mixture, item.text) for _, item, _, mixture in batch]
    per_clip = (time.perf_counter() - start) / len(batch)
    stats["seconds"] += per_clip * len(batch)
    rows = []
    for (index, item, source, mixture), estimate in zip(batch, estimates):
        estimate = np.asarray(estimate, dtype=np.float32).reshape(-1)
        n = min(source.shape[0], mixture.shape[0])
        if source.shape[0] != mixture.shape[0] or estimate.shape[0] != mixture.shape[0]:
            stats["length_mismatch"] += 1  # AudioSep would fail here; we score the common length
        scores = score_clip(source[:n], match_length(estimate, mixture.shape[0])[:n], mixture[:n])
        rows.append({"index": index, "id": item.id, "group": item.group, "text": item.text,
                     **{k: f"{v:.6f}" for k, v in scores.items()}, "seconds": f"{per_clip:.4f}"})
    return rows


def summarise(rows: Iterable[dict[str, Any]], *, name: str, aggregation: str, n_items: int,
              info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Summary dict from per-clip rows (as read from, or written to, the CSV)."""
    rows = list(rows)
    metrics = aggregate(rows, aggregation)
    groups = {str(r["group"]) for r in rows}
    return {"format": SUMMARY_FORMAT, "name": name, "aggregation": aggregation, "clips": len(rows),
            "items": n_items, "groups": len(groups), "metrics": metrics,
            "metrics_mixture": aggregate(rows, aggregation, ("sdr_mixture", "si_sdr_mixture")),
            **(info or {})}


def read_scores(csv_path: str | os.PathLike) -> list[dict[str, Any]]:
    """Per-clip rows of a finished evaluation CSV (metric values as floats)."""
    with open(csv_path, encoding="utf-8", newline="") as f:
        return [{k: (float(v) if k in METRICS else v) for k, v in row.items()} for row in csv.DictReader(f)]


def _bar(total: int, initial: int, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="clip", disable=not enabled)


class ModelSeparator:
    """The evaluation callables for a :class:`tqse.api.Extractor`.

    ``__call__`` runs one clip (whole clip at once by default, as AudioSep does; ``chunk_seconds > 0``
    uses the extractor's chunked path for very long files). :meth:`batch` stacks equal-length clips into
    one forward pass (queries embedded exactly as for single clips), and falls back to single clips
    otherwise, so batched scores equal per-clip scores.
    """

    def __init__(self, extractor, sample_rate: int, chunk_seconds: float = 0.0):
        self.extractor, self.sample_rate, self.chunk_seconds = extractor, sample_rate, chunk_seconds

    def __call__(self, mixture: np.ndarray, text: str) -> np.ndarray:
        return self.extractor.extract(mixture, self.sample_rate, text=text, chunk_seconds=self.chunk_seconds)

    def batch(self, mixtures: Sequence[np.ndarray], texts: Sequence[str]) -> list[np.ndarray]:
        lengths = {m.shape[0] for m in mixtures}
        if self.chunk_seconds or len(lengths) != 1 or min(lengths) < 4096:
            return [self(m, t) for m, t in zip(mixtures, texts)]
        import torch

        from tqse.audio.resample import resample

        ex = self.extractor
        x = np.stack([resample(m, self.sample_rate, ex.sample_rate) for m in mixtures])
        queries = torch.cat([ex.embed_query(text=t) for t in texts])
        with torch.inference_mode():
            y = ex.model(torch.from_numpy(x).to(ex.device), queries).float().cpu().numpy()
        return [match_length(resample(w, ex.sample_rate, self.sample_rate), m.shape[0]) for w, m in zip(y, mixtures)]
