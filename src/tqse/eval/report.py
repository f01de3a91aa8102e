"""Tables and plots of evaluation summaries: our numbers next to AudioSep's README, and several runs side
by side (``tqse report``). Summaries are the ``{name}.json`` files :func:`tqse.eval.runner.evaluate` writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from tqse.eval.protocols import AUDIOSEP_README, BENCHMARKS, DISPLAY_NAMES
from tqse.eval.runner import SUMMARY_FORMAT

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


def runs_table(runs: Mapping[str, Mapping[str, Mapping[str, Any]]], metric: str = "sdri") -> str:
    """Markdown table, one row per run, one column per evaluated set (benchmarks first)."""
    sets = [b for b in BENCHMARKS if any(b in r for r in runs.values())]
    sets += sorted({s for r in runs.values() for s in r} - set(sets))
    header = [DISPLAY_NAMES.get(s, s) for s in sets]
    lines = [f"| run ({METRIC_NAMES.get(metric, metric)}, dB) | " + " | ".join(header) + " |",
             "|---" * (len(sets) + 1) + "|"]
    for run, summaries in runs.items():
        lines.append(f"| {run} | " + " | ".join(_fmt(_metric(summaries.get(s), metric)) for s in sets) + " |")
    return "\n".join(lines)


def plot_runs(runs: Mapping[str, Mapping[str, Mapping[str, Any]]], out_png: str | os.PathLike,
              metric: str = "sdri") -> Path:
    """Grouped bar chart (sets on x, one bar per run) written to ``out_png`` (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # optional extra
        from tqse.errors import ConfigError

        raise ConfigError("plots need matplotlib: pip install 'tqse[plots]'") from err
    sets = [b for b in BENCHMARKS if any(b in r for r in runs.values())]
    sets += sorted({s for r in runs.values() for s in r} - set(sets))
    width = 0.8 / max(1, len(runs))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(sets) + 2), 3.2))
    for k, (run, summaries) in enumerate(runs.items()):
        values = [_metric(summaries.get(s), metric) or 0.0 for s in sets]
        ax.bar([i + k * width for i in range(len(sets))], values, width, label=run)
    ax.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(sets))],
                  [DISPLAY_NAMES.get(s, s) for s in sets], rotation=20)
    ax.set_ylabel(f"{METRIC_NAMES.get(metric, metric)} (dB)")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.legend(fontsize="small", frameon=False)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=150)
    plt.close(fig)
    return out_png
