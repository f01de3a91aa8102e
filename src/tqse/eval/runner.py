"""The one evaluation core: score a separator on sets of mixtures (per-clip CSV, summary JSON, resumable).

Validation during training, ``tqse eval``, ``tqse grid``, ``tqse demo`` and ``benchmarks/default_model.py``
all score through :func:`evaluate_sets`. It takes a plain callable ``separate(mixture [T] float32, text) ->
estimate [T]`` working at ``sample_rate`` (the protocol's rate, 32 kHz for AudioSep's benchmarks), so it is
tested without a trained model; :class:`WholeClips` runs a separator once per whole clip at its own rate and
:class:`ModelSeparator` adapts a :class:`tqse.Extractor`. Sets that share audio (one manifest queried by
several text fields) are scored in one pass that loads each mixture once. The metrics are one
:class:`~tqse.eval.metrics.Metrics` setting: AudioSep's by default, the training loss's for validation.

Files in ``out_dir`` (none without one): ``{name}.csv`` (one row per clip, appended and flushed as it goes,
so a killed run resumes by skipping rows already there) and ``{name}.json`` (the aggregate, rewritten at the
end).
"""

from __future__ import annotations

import csv
import logging
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from tqse.audio.io import load_audio
from tqse.audio.resample import match_length
from tqse.data.manifest import write_json
from tqse.eval.metrics import Metrics
from tqse.eval.protocols import AUDIOSEP, METRICS, EvalItem, aggregate
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


Job = tuple[str, int, EvalItem]  # (set name, index in the set, item)


def _prefetch(clips: Sequence[tuple[tuple[str, str], list[Job]]], sample_rate: int,
              depth: int) -> Iterator[tuple[Job, np.ndarray, np.ndarray]]:
    """Load each (mixture, source) pair once, in background threads while the separator runs (at most ``depth``
    pairs ahead), and yield ``(job, source, mixture)`` for every job that uses it."""
    def load(pair):
        mixture_path, source_path = pair
        source, _ = load_audio(source_path, sample_rate, allow_silent=True)
        mixture, _ = load_audio(mixture_path, sample_rate, allow_silent=True)
        return source, mixture

    with ThreadPoolExecutor(2) as pool:
        pending: deque = deque()
        for pair, jobs in clips:
            pending.append((jobs, pool.submit(load, pair)))
            if len(pending) >= depth:
                jobs, future = pending.popleft()
                yield from ((job, *future.result()) for job in jobs)
        while pending:
            jobs, future = pending.popleft()
            yield from ((job, *future.result()) for job in jobs)


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
    """Score ``separate`` on every item of one set; returns (and writes) the summary.

    Args:
        items: from :func:`tqse.eval.protocols.load_benchmark` or :func:`~tqse.eval.protocols.manifest_items`.
        separate: ``(mixture [T], text) -> estimate [T]`` at ``sample_rate``.
        aggregation: ``mean`` | ``class_mean`` | ``class_median`` (see :func:`~tqse.eval.protocols.aggregate`).
        separate_batch: optional ``(mixtures, texts) -> estimates`` used when ``batch_size > 1``.
        resume: skip clips already in ``{name}.csv`` (``False`` starts the CSV afresh).
        info: extra fields for the summary (checkpoint, device ...).
    """
    return evaluate_sets({name: items}, separate, sample_rate=sample_rate, out_dir=out_dir,
                         aggregation=aggregation, separate_batch=separate_batch, batch_size=batch_size,
                         resume=resume, progress=progress, info=info)[name]


def evaluate_sets(sets: Mapping[str, Sequence[EvalItem]], separate: Separate, *, sample_rate: int,
                  out_dir: str | os.PathLike | None = None, aggregation: str = "mean",
                  separate_batch: SeparateBatch | None = None, batch_size: int = 1, resume: bool = True,
                  progress: bool = True, info: dict[str, Any] | None = None,
                  set_info: Mapping[str, dict[str, Any]] | None = None,
                  metrics: Metrics = AUDIOSEP) -> dict[str, dict[str, Any]]:
    """Score ``separate`` on several named sets at one rate, loading each distinct (mixture, source) pair once;
    returns ``{name: summary}``. Arguments as :func:`evaluate`; ``out_dir=None`` writes nothing (no resume)
    and keeps full-precision scores; ``set_info``: summary fields of single sets (beside ``info``);
    ``metrics``: the metric setting (AudioSep's by default)."""
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    done = {name: _read_done(out / f"{name}.csv", items) if out is not None and resume else {}
            for name, items in sets.items()}
    clips: dict[tuple[str, str], list[Job]] = {}
    for name, items in sets.items():
        for index, item in enumerate(items):
            if index not in done[name]:
                clips.setdefault((item.mixture, item.source), []).append((name, index, item))
    todo = {name: sum(1 for jobs in clips.values() for job in jobs if job[0] == name) for name in sets}
    stats = {name: {"length_mismatch": 0, "seconds": 0.0} for name in sets}
    with ExitStack() as stack:
        writers = {name: _open_csv(stack, out / f"{name}.csv", done[name], resume) for name in sets} \
            if out is not None else {}
        bar = stack.enter_context(_bar(sum(map(len, sets.values())), sum(map(len, done.values())),
                                       ", ".join(sets), progress))
        for batch in _batches(_prefetch(list(clips.items()), sample_rate, depth=2 * batch_size + 2), batch_size):
            for name, row in _score_batch(batch, separate, separate_batch, stats, metrics):
                if name in writers:
                    row = _csv_row(row)
                    writers[name][0].writerow(row)
                done[name][row["index"]] = row
            for _, file in writers.values():
                file.flush()
            bar.update(len(batch))
    summaries = {}
    for name, items in sets.items():
        summary = summarise(done[name].values(), name=name, aggregation=aggregation, n_items=len(items),
                            info={**(info or {}), **(set_info or {}).get(name, {})})
        summary.update(length_mismatch=stats[name]["length_mismatch"],
                       separate_seconds=round(stats[name]["seconds"], 3), resumed=len(items) - todo[name],
                       sample_rate=sample_rate)
        if out is not None:
            write_json(out / f"{name}.json", summary)
        log.info("%s: %s", name, ", ".join(f"{k} {v:.3f}" for k, v in summary["metrics"].items()))
        summaries[name] = summary
    return summaries


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the CSV holds it: metrics to 6 decimals, seconds to 4 (summaries are computed from these)."""
    return {k: f"{v:.4f}" if k == "seconds" else f"{v:.6f}" if k in COLUMNS[4:] else v for k, v in row.items()}


def _open_csv(stack: ExitStack, csv_path: Path, done: dict[int, dict[str, Any]], resume: bool):
    """``(csv writer, file)`` appending to ``csv_path`` after the rows already ``done`` (header when fresh)."""
    fresh = not (resume and csv_path.exists() and done)
    if not fresh:
        _rewrite_done(csv_path, done)
    f = stack.enter_context(csv_path.open("w" if fresh else "a", encoding="utf-8", newline=""))
    writer = csv.DictWriter(f, fieldnames=COLUMNS)
    if fresh:
        writer.writeheader()
    return writer, f


def _score_batch(batch: list, separate: Separate, separate_batch: SeparateBatch | None,
                 stats: dict[str, dict[str, Any]], metrics: Metrics) -> list[tuple[str, dict[str, Any]]]:
    start = time.perf_counter()
    if separate_batch is not None and len(batch) > 1:
        estimates = list(separate_batch([b[2] for b in batch], [b[0][2].text for b in batch]))
    else:
        estimates = [separate(mixture, item.text) for (_, _, item), _, mixture in batch]
    per_clip = (time.perf_counter() - start) / len(batch)
    rows = []
    for ((name, index, item), source, mixture), estimate in zip(batch, estimates):
        stats[name]["seconds"] += per_clip
        estimate = np.asarray(estimate, dtype=np.float32).reshape(-1)
        n = min(source.shape[0], mixture.shape[0])
        if source.shape[0] != mixture.shape[0] or estimate.shape[0] != mixture.shape[0]:
            stats[name]["length_mismatch"] += 1  # AudioSep would fail here; we score the common length
        scores = metrics.score(source[:n], match_length(estimate, mixture.shape[0])[:n], mixture[:n])
        rows.append((name, {"index": index, "id": item.id, "group": item.group, "text": item.text,
                            **scores, "seconds": per_clip}))
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


class WholeClips:
    """A separator run once per whole clip at its own rate, text queries embedded one by one by its encoder
    (the separator applies its own query projection): validation during training, ``tqse demo``, batched
    ``tqse eval``.

    Args:
        model: a :class:`~tqse.models.separator.Separator`; ``encoder`` its query encoder.
        model_rate: the model's sample rate; ``sample_rate`` the rate clips come in (and go out) at.
    """

    def __init__(self, model, encoder, model_rate: int, sample_rate: int, device):
        self.model, self.encoder, self.device = model, encoder, device
        self.model_rate, self.sample_rate = model_rate, sample_rate
        # a set queries ~50 class templates hundreds of times: embed each text once (the encoder is frozen)
        self._embedded: dict[str, object] = {}

    def embed(self, texts: Sequence[str]):
        import torch

        for text in texts:
            if text not in self._embedded:
                self._embedded[text] = self.encoder.embed_text([text]).float()
        return torch.cat([self._embedded[t] for t in texts]).to(self.device)

    def __call__(self, mixture: np.ndarray, text: str) -> np.ndarray:
        return self.batch([mixture], [text])[0]

    def batch(self, mixtures: Sequence[np.ndarray], texts: Sequence[str]) -> list[np.ndarray]:
        """Equal-length clips in one forward pass."""
        import torch

        from tqse.audio.resample import resample

        x = np.stack([resample(m, self.sample_rate, self.model_rate) for m in mixtures])
        with torch.inference_mode():
            y = self.model(torch.from_numpy(x).to(self.device), self.embed(texts)).float().cpu().numpy()
        return [match_length(resample(w, self.model_rate, self.sample_rate), m.shape[0]) for w, m in zip(y, mixtures)]


class ModelSeparator:
    """The evaluation callables for a :class:`tqse.Extractor`.

    ``__call__`` runs one clip through :meth:`~tqse.Extractor.extract` (whole clip at once by default, as
    AudioSep does; ``chunk_seconds > 0`` uses the extractor's chunked path for very long files). :meth:`batch`
    stacks equal-length clips into one forward pass (:class:`WholeClips`), and falls back to single clips
    otherwise, so batched scores equal per-clip scores. With ``audio_queries`` each item's query is the path of
    a clip, embedded by the extractor's audio encoder (items of ``TARGET_AUDIO_FIELD``).
    """

    def __init__(self, extractor, sample_rate: int, chunk_seconds: float = 0.0, audio_queries: bool = False):
        self.extractor, self.sample_rate, self.chunk_seconds = extractor, sample_rate, chunk_seconds
        self.audio_queries = audio_queries

    def __call__(self, mixture: np.ndarray, query: str) -> np.ndarray:
        kind = "audio_query" if self.audio_queries else "text"
        return self.extractor.extract(mixture, self.sample_rate, chunk_seconds=self.chunk_seconds, **{kind: query})

    def batch(self, mixtures: Sequence[np.ndarray], texts: Sequence[str]) -> list[np.ndarray]:
        lengths = {m.shape[0] for m in mixtures}
        if self.chunk_seconds or self.audio_queries or len(lengths) != 1 or min(lengths) < 4096:
            return [self(m, t) for m, t in zip(mixtures, texts)]
        ex = self.extractor
        return WholeClips(ex.model, ex.encoder, ex.sample_rate, self.sample_rate, ex.device).batch(mixtures, texts)
