"""Tables and plots of evaluation summaries: our numbers next to AudioSep's README, and several runs side
by side (``tqse report``). Summaries are the ``{name}.json`` files :func:`tqse.eval.runner.evaluate` writes.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tqse.eval.protocols import AUDIOSEP_README, BENCHMARKS, DISPLAY_NAMES
from tqse.eval.runner import SUMMARY_FORMAT
from tqse.files import read_metrics

METRIC_NAMES = {"sdri": "SDRi", "si_sdr": "SI-SDR", "si_sdri": "SI-SDRi", "sdr": "SDR"}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def readme_line(summaries: Mapping[str, Mapping[str, Any]], metric: str = "sdri") -> str:
    """One line in the order of AudioSep's README, ours first, theirs after::

        SDRi (dB): AudioSet 7.10 / VGGSound - / ... | AudioSep README: AudioSet 7.74 / VGGSound 9.14 / ...
    """
    ours = " / ".join(f"{DISPLAY_NAMES[b]} {_fmt(_metric(summaries.get(b), metric))}" for b in BENCHMARKS)
    line = f"{METRIC_NAMES.get(metric, metric)} (dB): {ours}"
    if metric in ("sdri", "si_sdr"):
        theirs = " / ".join(f"{DISPLAY_NAMES[b]} {AUDIOSEP_README[b][metric]:.2f}" for b in BENCHMARKS)
        line += f" | AudioSep README: {theirs}"
    return line


def _metric(summary: Mapping[str, Any] | None, metric: str) -> float | None:
    if not summary:
        return None
    value = summary.get("metrics", {}).get(metric)
    return None if value is None else float(value)


def comparison_table(summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown table: AudioSep README vs ours (SDRi, SI-SDR) on the six benchmarks, plus any other sets
    (mixture manifests such as the built-in corpus) evaluated in the same report."""
    extra = sorted(k for k in summaries if k not in BENCHMARKS)
    cols = [DISPLAY_NAMES[b] for b in BENCHMARKS] + extra
    lines = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for metric in ("sdri", "si_sdr"):
        theirs = [f"{AUDIOSEP_README[b][metric]:.2f}" for b in BENCHMARKS] + ["-"] * len(extra)
        ours = [_fmt(_metric(summaries.get(b), metric)) for b in (*BENCHMARKS, *extra)]
        lines.append(f"| AudioSep {METRIC_NAMES[metric]} | " + " | ".join(theirs) + " |")
        lines.append(f"| tqse {METRIC_NAMES[metric]} | " + " | ".join(ours) + " |")
    ours = [_fmt(_metric(summaries.get(b), "si_sdri")) for b in (*BENCHMARKS, *extra)]
    lines.append("| tqse SI-SDRi | " + " | ".join(ours) + " |")
    return "\n".join(lines)


def load_summaries(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Every evaluation summary under ``path`` (a run/eval folder or one JSON file), keyed by set name."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.rglob("*.json"))
    out = {}
    for file in files:
        try:
            obj = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(obj, dict) and obj.get("format") == SUMMARY_FORMAT:
            out[obj["name"]] = obj
    return out


SEED_SUFFIX = re.compile(r"-s(\d+)$")


def run_name(path: str | os.PathLike) -> str:
    """A run's name: ``name`` in its resolved ``config.yaml`` (run folders are ``{name}-{hash}``), else the
    folder name; for a summary file, that of the folder above its ``eval/`` folder."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent.parent if path.parent.name == "eval" else path.parent
    config = folder / "config.yaml"
    if config.is_file():
        match = re.search(r"^name: *(.+)$", config.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            return match.group(1).strip().strip("'\"")
    return folder.name


def group_key(name: str) -> str:
    """``ROW`` for a run named ``ROW-sSEED``; any other name is its own group."""
    return SEED_SUFFIX.sub("", name)


def group_seeds(runs: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Runs named ``ROW-sSEED`` grouped under ``ROW`` (in first-seen order); other runs stay on their own."""
    groups: dict[str, list[Any]] = {}
    for name, value in runs.items():
        groups.setdefault(group_key(name), []).append(value)
    return groups


def seed_stats(values: Sequence[float | None]) -> tuple[float, float, int] | None:
    """Mean, sample standard deviation (0 for one seed) and count of the values that exist."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    spread = float(np.std(present, ddof=1)) if len(present) > 1 else 0.0
    return float(np.mean(present)), spread, len(present)


def format_stats(stats: tuple[float, float, int] | None) -> str:
    """``mean ± sd (n)`` of :func:`seed_stats`; the mean alone for one seed (its sd is undefined)."""
    if stats is None:
        return "-"
    mean, spread, n = stats
    return f"{mean:.2f}" if n == 1 else f"{mean:.2f} ± {spread:.2f} ({n})"


def _sets_of(runs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    sets = [b for b in BENCHMARKS if any(b in r for r in runs.values())]
    return sets + sorted({s for r in runs.values() for s in r} - set(sets))


def runs_table(runs: Mapping[str, Mapping[str, Mapping[str, Any]]], metric: str = "sdri",
               sets: Sequence[str] | None = None) -> str:
    """Markdown table, one row per run (seeds of a row folded into mean ± sample sd (n)), one column per
    evaluated set (``sets`` in that order; by default every set, benchmarks first)."""
    sets = list(sets) if sets is not None else _sets_of(runs)
    header = [DISPLAY_NAMES.get(s, s) for s in sets]
    lines = [f"| run ({METRIC_NAMES.get(metric, metric)}, dB) | " + " | ".join(header) + " |",
             "|---" * (len(sets) + 1) + "|"]
    for run, seeds in group_seeds(runs).items():
        cells = [format_stats(seed_stats([_metric(s.get(name), metric) for s in seeds])) for name in sets]
        lines.append(f"| {run} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # optional extra
        from tqse.errors import ConfigError

        raise ConfigError("plots need matplotlib: pip install 'tqse[plots]'") from err
    return plt


def _save(fig, out_png: str | os.PathLike) -> Path:
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=150)
    return out_png


def plot_runs(runs: Mapping[str, Mapping[str, Mapping[str, Any]]], out_png: str | os.PathLike,
              metric: str = "sdri") -> Path:
    """Grouped bar chart (sets on x, one bar per run, seed mean with a sample-sd error bar) written to
    ``out_png`` (needs matplotlib)."""
    plt = _pyplot()
    sets = _sets_of(runs)
    groups = group_seeds(runs)
    width = 0.8 / max(1, len(groups))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(sets) + 2), 3.2))
    for k, (run, seeds) in enumerate(groups.items()):
        stats = [seed_stats([_metric(s.get(name), metric) for s in seeds]) for name in sets]
        ax.bar([i + k * width for i in range(len(sets))], [st[0] if st else 0.0 for st in stats], width,
               yerr=[st[1] if st else 0.0 for st in stats], capsize=2, label=run)
    ax.set_xticks([i + width * (len(groups) - 1) / 2 for i in range(len(sets))],
                  [DISPLAY_NAMES.get(s, s) for s in sets], rotation=20)
    ax.set_ylabel(f"{METRIC_NAMES.get(metric, metric)} (dB)")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.legend(fontsize="small", frameon=False, ncol=2)
    fig.tight_layout()
    out = _save(fig, out_png)
    plt.close(fig)
    return out


# metrics.jsonl keys of in-loop validation (tqse.train.loop): the first query field, then `also_query_fields`.
CURVE_KEYS = {"val_si_sdri": "class templates", "val_caption_si_sdri": "captions"}


def learning_curve(run: str | os.PathLike | list[dict], key: str = "val_si_sdri") -> list[tuple[int, float]]:
    """``(step, value)`` of every validation line carrying ``key``, from a run folder or its metrics rows
    (:func:`tqse.files.read_metrics`; a resumed run may validate a step twice: the last line wins)."""
    records = run if isinstance(run, list) else read_metrics(Path(run) / "metrics.jsonl")
    return sorted({int(r["step"]): float(r[key]) for r in records if key in r}.items())


def run_minutes(run: Path | list[dict], step: int) -> float | None:
    """CPU minutes of training steps the run had spent when it reached ``step`` (validation excluded, carried
    over resumes), or None when its metrics hold no timing up to that step. ``run``: its folder, or its metrics
    rows already read (:func:`tqse.files.read_metrics`; a caller asking for many steps reads the file once)."""
    lines = run if isinstance(run, list) else read_metrics(run / "metrics.jsonl")
    seconds = max((line["train_seconds"] for line in lines if line["step"] <= step and "train_seconds" in line),
                  default=None)
    return round(seconds / 60, 1) if seconds else None


def row_curves(run_dirs: Mapping[str, str | os.PathLike], key: str,
               x: str = "step") -> dict[str, list[tuple[float, float]]]:
    """Per row (seeds folded, :func:`group_seeds`): ``(x, mean of key)`` at the steps every seed validated. ``x``:
    "step", or "minutes", the CPU minutes of training each seed had spent at that step, averaged (a budget in
    minutes reads off this axis; seeds reach a step at slightly different times)."""
    if x not in ("step", "minutes"):
        raise ValueError(f"x must be 'step' or 'minutes', not {x!r}")
    rows = {}
    for row, dirs in group_seeds(run_dirs).items():
        records = [read_metrics(Path(d) / "metrics.jsonl") for d in dirs]
        curves = [dict(learning_curve(r, key)) for r in records]
        steps = sorted(set.intersection(*(set(c) for c in curves))) if curves else []
        if x == "minutes":  # a step where any seed has no timing is left out
            seeds_at = {s: [run_minutes(r, s) for r in records] for s in steps}
            xs = {s: float(np.mean(m)) for s, m in seeds_at.items() if None not in m}
        else:
            xs = {s: float(s) for s in steps}
        points = [(xs[s], float(np.mean([c[s] for c in curves]))) for s in steps if s in xs]
        if points:
            rows[row] = points
    return rows


def plot_curves(run_dirs: Mapping[str, str | os.PathLike], out_png: str | os.PathLike,
                keys: Mapping[str, str] | None = None, x: str = "step") -> Path:
    """Validation SI-SDRi against step (or training CPU minutes: ``x="minutes"``), one panel per query kind in
    ``keys``, one line per row (:func:`row_curves`)."""
    keys = keys or CURVE_KEYS
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), sharey=True, squeeze=False)
    for ax, (key, title) in zip(axes[0], keys.items()):
        for row, points in row_curves(run_dirs, key, x).items():
            ax.plot(*zip(*points), marker="o", ms=3, label=row)
        ax.set_title(f"val, {title}", fontsize="medium")
        ax.set_xlabel("step" if x == "step" else "training CPU minutes")
        ax.axhline(0, color="black", linewidth=0.6)
    axes[0][0].set_ylabel("SI-SDRi (dB)")
    axes[0][-1].legend(fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    out = _save(fig, out_png)
    plt.close(fig)
    return out
