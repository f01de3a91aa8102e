"""Learning curves of the recipe study: validation SI-SDRi against CPU minutes of training, per candidate.

    python benchmarks/efficiency_curves.py RUN_DIR [RUN_DIR ...] [--out docs/efficiency.png]
    python benchmarks/efficiency_curves.py FIRST_RUN CONTINUED_RUN --offset 0 53.2   # one model's whole history

Reads each run's ``metrics.jsonl`` (``train_seconds`` counts training steps only, validation excluded, and
carries over resumes), prints one table row per validation (step, CPU minutes, SI-SDRi with class templates
and with captions, steps/s) and draws both curves per run. ``--offset`` shifts each run by the CPU minutes
its starting weights had already trained (a run started with ``train.init_from``), so the runs of one model
line up as one curve.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tqse.files import read_metrics


def load_curve(run_dir: Path, offset_minutes: float = 0.0) -> list[dict]:
    """One point per validation: step, training minutes (after ``offset_minutes``), val SI-SDRi with both
    query kinds, and the run's own steps per second up to it."""
    lines = read_metrics(run_dir / "metrics.jsonl")
    clock = [(line["step"], line["train_seconds"]) for line in lines if "train_seconds" in line]
    points = []
    for line in lines:
        if "val_si_sdri" not in line:
            continue
        seconds = max((s for step, s in clock if step <= line["step"]), default=0.0)
        points.append({"step": line["step"], "minutes": offset_minutes + seconds / 60,
                       "class_caption": line["val_si_sdri"], "caption": line.get("val_caption_si_sdri"),
                       "steps_per_s": line["step"] / seconds if seconds else None})
    return points


def plot(curves: dict[str, list[dict]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, field, title in zip(axes, ("class_caption", "caption"), ("class-template queries", "natural captions")):
        for name, points in curves.items():
            xs = [p["minutes"] for p in points if p[field] is not None]
            ax.plot(xs, [p[field] for p in points if p[field] is not None], marker="o", label=name)
        ax.set_title(f"val SI-SDRi, {title}")
        ax.set_xlabel("CPU minutes of training (2 threads)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("SI-SDRi (dB), mixtures at SNR U[-5, 5] dB")
    axes[0].legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, help="write the plot here (PNG)")
    parser.add_argument("--offset", type=float, nargs="+", metavar="MIN",
                        help="CPU minutes each run's starting weights had trained (one number per run)")
    args = parser.parse_args()
    offsets = args.offset or [0.0] * len(args.runs)
    if len(offsets) != len(args.runs):
        parser.error(f"--offset: {len(offsets)} numbers for {len(args.runs)} runs (one per run)")
    curves = {run.name: load_curve(run, offset) for run, offset in zip(args.runs, offsets)}
    print(f"{'run':24} {'step':>6} {'CPU min':>8} {'template':>9} {'caption':>8} {'steps/s':>8}")
    for name, points in curves.items():
        for p in points:
            caption = f"{p['caption']:8.2f}" if p["caption"] is not None else f"{'-':>8}"
            print(f"{name:24} {p['step']:6d} {p['minutes']:8.1f} {p['class_caption']:9.2f} {caption} "
                  f"{p['steps_per_s'] or 0:8.2f}")
    if args.out:
        plot(curves, args.out)
        print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
