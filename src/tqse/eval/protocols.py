"""AudioSep's six evaluation benchmarks (Liu et al., "Separate Anything You Describe", TASLP 2024), exactly.

Re-implemented from reading ``evaluation/evaluate_*.py``, ``benchmark.py`` and ``utils.py`` of
Audio-AGI/AudioSep (MIT; commit 944583f), so scores are comparable with its README table.

Layout (``--root`` may be the AudioSep checkout, its ``evaluation/`` folder, or a folder holding both
``metadata/`` and ``data/``)::

    evaluation/metadata/{audiocaps,clotho,esc50,music,vggsound}_eval.csv, class_labels_indices.csv
    evaluation/data/audiocaps/{segment,mixture}-{idx}.wav          (same for clotho, esc50, music)
    evaluation/data/vggsound/data/{mix_wav,s0_wav}/{file_id}.wav   (paths as written in the CSV)
    evaluation/data/audioset/class_id={K}/class_id={K},index={i:03d},{source,mixture}.wav

| set       | CSV columns (read by position)                         | query              | aggregation |
|-----------|--------------------------------------------------------|--------------------|-------------|
| AudioCaps | idx,caption,labels,src_wav,noise_wav                   | caption (or labels) | mean        |
| Clotho    | idx,caption,src_wav,noise_wav1,noise_wav1 (sic: dup.)  | caption            | mean        |
| VGGSound  | file_id,mix_wav,s0_wav,s0_text,s1_wav,s1_text          | s0_text            | mean        |
| ESC-50    | idx,caption,src_wav,noise_wav                          | caption (= class)  | mean        |
| MUSIC     | idx,caption,src_wav,noise_wav                          | caption (= instr.) | mean of per-class means |
| AudioSet  | no CSV: lists ``class_id=K/`` dirs, first 10 sorted   | display_name of K  | mean of per-class medians |

Metrics are AudioSep's, not BSS-eval: ``SDR = 10 log10(mean(s^2) / mean((s_hat - s)^2))`` with *both*
means clipped below at 1e-10 (:func:`audiosep_sdr`), SDRi = SDR(s_hat) - SDR(mixture), and absolute SI-SDR
without mean removal and with eps = float32 machine epsilon (:func:`audiosep_si_sdr`). The clipping matters
only for near-perfect estimates (an oracle scores 10 log10(mean(s^2) / 1e-10) here, not tqse.eval.metrics'
sum-based value). We compute in float64 where AudioSep accumulates in float32: differences < 1e-3 dB.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from tqse.data.manifest import TARGET_AUDIO_FIELD, ManifestError, read_mixtures
from tqse.data.readers.common import read_csv_rows
from tqse.eval.metrics import Metrics

BENCHMARKS = ("audioset", "vggsound", "audiocaps", "clotho", "music", "esc50")
DISPLAY_NAMES = {"audioset": "AudioSet", "vggsound": "VGGSound", "audiocaps": "AudioCaps", "clotho": "Clotho",
                 "music": "MUSIC", "esc50": "ESC-50"}
# AudioSep README "Evaluation Results" (SDRi, SI-SDR in dB), the numbers tqse reports against.
AUDIOSEP_README = {"audioset": {"sdri": 7.74, "si_sdr": 6.90}, "vggsound": {"sdri": 9.14, "si_sdr": 9.04},
                   "audiocaps": {"sdri": 8.22, "si_sdr": 7.19}, "clotho": {"sdri": 6.85, "si_sdr": 5.24},
                   "music": {"sdri": 10.51, "si_sdr": 9.43}, "esc50": {"sdri": 10.04, "si_sdr": 8.81}}
AGGREGATION = {"audioset": "class_median", "music": "class_mean"}  # everything else: plain mean
EVAL_SAMPLE_RATE = 32000  # AudioSep loads every file with librosa at 32 kHz mono
AUDIOSET_PER_CLASS = 10
SDR_CLIP = 1e-10
SISDR_EPS = float(np.finfo(np.float32).eps)
METRICS = ("sdr", "sdri", "si_sdr", "si_sdri")
AUDIOSEP = Metrics(zero_mean=False, eps=SISDR_EPS, sdr_floor=SDR_CLIP, float64=True)


@dataclass(frozen=True)
class EvalItem:
    """One evaluation mixture: files, the query, and the group it is aggregated in.

    ``text`` is the text query, or the path of a query clip where the set queries by audio
    (:data:`~tqse.data.manifest.TARGET_AUDIO_FIELD`, scored by ``ModelSeparator(..., audio_queries=True)``).
    """

    id: str
    mixture: str
    source: str
    text: str
    group: str = ""


# ----------------------------------------------------------------------------------------------- metrics
def audiosep_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """AudioSep ``calculate_sdr``: energy ratio of means, each clipped below at 1e-10."""
    return float(AUDIOSEP.sdr(np.asarray(reference, np.float64), np.asarray(estimate, np.float64)))


def audiosep_si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """AudioSep ``calculate_sisdr``: SI-SDR, no mean removal, eps = float32 epsilon in every ratio."""
    return float(AUDIOSEP.si_sdr(np.asarray(reference, np.float64), np.asarray(estimate, np.float64)))


# ----------------------------------------------------------------------------------------------- aggregation
def aggregate(rows: Iterable[Mapping[str, object]], rule: str = "mean",
              metrics: Iterable[str] = METRICS) -> dict[str, float]:
    """Benchmark score from per-clip rows (each with ``group`` and metric values).

    Rules: ``mean`` over clips; ``class_mean`` = mean over groups of per-group means (MUSIC);
    ``class_median`` = NaN-ignoring mean over groups of per-group NaN-ignoring medians (AudioSet).
    Groups without clips do not exist here; AudioSep's NaN for an empty class is likewise ignored.
    """
    if rule not in ("mean", "class_mean", "class_median"):
        raise ValueError(f"unknown aggregation rule '{rule}' (mean, class_mean, class_median)")
    rows = list(rows)
    if not rows:
        raise ValueError("aggregate: no rows")
    out = {}
    for metric in metrics:
        if rule == "mean":
            out[metric] = float(np.mean([float(r[metric]) for r in rows]))
            continue
        groups: dict[str, list[float]] = defaultdict(list)
        for r in rows:
            groups[str(r["group"])].append(float(r[metric]))
        if rule == "class_mean":
            out[metric] = float(np.mean([np.mean(v) for v in groups.values()]))
        else:
            out[metric] = float(np.nanmean([np.nanmedian(v) for v in groups.values()]))
    return out


# ----------------------------------------------------------------------------------------------- layouts
def _first_existing(candidates: list[Path], what: str) -> Path:
    for path in candidates:
        if path.exists():
            return path
    raise ManifestError(f"{what} not found; looked for: " + ", ".join(str(p) for p in candidates))


def locate(name: str, root: str | os.PathLike) -> tuple[Path, Path]:
    """``(metadata_dir, audio_dir)`` of benchmark ``name`` under ``root`` (see module docstring)."""
    root = Path(root)
    csv = "class_labels_indices.csv" if name == "audioset" else f"{name}_eval.csv"
    meta = _first_existing([root / "evaluation" / "metadata" / csv, root / "metadata" / csv, root / csv],
                           f"{name} metadata {csv}").parent
    audio = _first_existing([root / "evaluation" / "data" / name, root / "data" / name, root / name],
                            f"{name} audio folder")
    return meta, audio


def _csv_items(csv_path: Path, audio: Path, n_cols: int, query_col: int, group: bool) -> list[EvalItem]:
    """Rows of ``idx,caption,...``: files ``segment-{idx}.wav``/``mixture-{idx}.wav``; the group (class)
    is the query text where that text is a class name (ESC-50, MUSIC), for per-class breakdowns."""
    items = []
    for number, f in read_csv_rows(csv_path, header=True, strip=False):
        if len(f) != n_cols:
            raise ManifestError(f"{csv_path}:{number}: expected {n_cols} columns, got {len(f)}")
        idx = f[0]
        items.append(EvalItem(id=idx, mixture=str(audio / f"mixture-{idx}.wav"),
                              source=str(audio / f"segment-{idx}.wav"), text=f[query_col],
                              group=f[query_col] if group else ""))
    return items


def _vggsound_items(csv_path: Path, audio: Path) -> list[EvalItem]:
    items = []
    for number, f in read_csv_rows(csv_path, header=True, strip=False):
        if len(f) != 6:
            raise ManifestError(f"{csv_path}:{number}: expected file_id,mix_wav,s0_wav,s0_text,s1_wav,s1_text")
        file_id, mix_wav, s0_wav, s0_text = f[:4]
        items.append(EvalItem(id=file_id, mixture=str(audio / mix_wav), source=str(audio / s0_wav),
                              text=s0_text, group=s0_text))
    return items


def _audioset_items(meta: Path, audio: Path) -> list[EvalItem]:
    labels = [f[2] for _, f in read_csv_rows(meta / "class_labels_indices.csv", header=True, strip=False)]
    items = []
    for class_id, label in enumerate(labels):
        folder = audio / f"class_id={class_id}"
        if not folder.is_dir():  # AudioSep would crash; a partial copy simply has fewer classes
            continue
        names = sorted({m.group(1) for n in os.listdir(folder) if ".wav" in n
                        and (m := re.search(r"(.*),(mixture|source)\.wav", n))})
        for name in names[:AUDIOSET_PER_CLASS]:
            items.append(EvalItem(id=name, mixture=str(folder / f"{name},mixture.wav"),
                                  source=str(folder / f"{name},source.wav"), text=label, group=str(class_id)))
    return items


def load_benchmark(name: str, root: str | os.PathLike, query_field: str | None = None) -> list[EvalItem]:
    """The evaluation items of AudioSep benchmark ``name`` stored under ``root``.

    Args:
        query_field: AudioCaps only: ``caption`` (AudioSep's default) or ``labels``.
    """
    if name not in BENCHMARKS:
        raise ManifestError(f"unknown benchmark '{name}' (choose from {', '.join(BENCHMARKS)})")
    if query_field not in (None, "caption") and not (name == "audiocaps" and query_field == "labels"):
        raise ManifestError(f"{name}: query field '{query_field}' not available (AudioCaps: caption|labels; "
                            "other benchmarks: caption)")
    meta, audio = locate(name, root)
    if name == "audioset":
        items = _audioset_items(meta, audio)
    elif name == "vggsound":
        items = _vggsound_items(meta / "vggsound_eval.csv", audio)
    elif name == "audiocaps":
        items = _csv_items(meta / "audiocaps_eval.csv", audio, 5, 2 if query_field == "labels" else 1, False)
    else:  # clotho (5 columns, duplicated header name), esc50 and music (4 columns)
        items = _csv_items(meta / f"{name}_eval.csv", audio, 5 if name == "clotho" else 4, 1, name != "clotho")
    if not items:
        raise ManifestError(f"{name}: no evaluation items under {audio}")
    return items


def manifest_items(path: str | os.PathLike, query_field: str = "caption", reference: str = "target") -> list[EvalItem]:
    """Evaluation items of a tqse fixed-mixture manifest (the built-in corpus's test sets); ``reference="louder"``
    scores against the louder source instead of the target (a query-free warm start, ``train.objective``).
    ``query_field=TARGET_AUDIO_FIELD`` makes each item's query the path of its target's own audio."""
    items = []
    for i, mix in enumerate(read_mixtures(path)):
        source = mix.louder_source() if reference == "louder" else mix.target
        query = mix.target if query_field == TARGET_AUDIO_FIELD else mix.query(query_field)
        items.append(EvalItem(id=str(mix.extra.get("id", i)), mixture=mix.mixture, source=source,
                              text=query, group=mix.label or ""))
    return items


def missing_files(items: Iterable[EvalItem]) -> list[str]:
    """Paths of mixture/source files that do not exist (checked before a long run starts)."""
    return [p for item in items for p in (item.mixture, item.source) if not os.path.exists(p)]
