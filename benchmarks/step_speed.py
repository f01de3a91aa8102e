"""Training steps per second of finished runs, measured now: each run's config continued for a few steps from
its last checkpoint, one after another on the same threads. Whether rows cost the same per step, and whether
the host is as fast as when the runs trained (docs/RESULTS.md, "Budget": why the Table I grid's budget is in
steps).

    python benchmarks/step_speed.py runs/table1_minutes40/A0-s0-* runs/table1_minutes40/A9-s0-*
    python benchmarks/step_speed.py RUN... --steps 250 --threads 2 --flush-denormal

Prints one JSON line per run: its rate now, and its mean rate while it trained (steps / training seconds).
Run it on a quiet machine: a second job changes the rate it measures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run folders (config.yaml, metrics.jsonl, checkpoints/last)")
    p.add_argument("--steps", type=int, default=250, help="steps to time per run (the first log window is skipped)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--flush-denormal", action="store_true", help="torch.set_flush_denormal(True) first")
    return p.parse_args(argv)


def trained_rate(run_dir: Path) -> float | None:
    """Steps per training second over the whole run, from its metrics."""
    from tqse.files import read_metrics

    timed = [r for r in read_metrics(run_dir / "metrics.jsonl") if r.get("train_seconds")]
    return round(timed[-1]["step"] / timed[-1]["train_seconds"], 2) if timed else None


def rate_now(run_dir: Path, steps: int, out: Path, encoder=None) -> tuple[float, object]:
    """Continue ``run_dir``'s config from its last checkpoint for ``steps`` steps under ``out``; steps/s after
    the first log window (start-up excluded)."""
    from tqse.config import load_config
    from tqse.files import read_metrics
    from tqse.query.registry import encoder_from_config
    from tqse.train.loop import train
    from tqse.train.setup import encoder_spec

    config = load_config([run_dir / "config.yaml"], [
        f"output_dir={out}", f"name={run_dir.name}-speed", f"train.steps={steps}", f"train.val_every={steps + 1}",
        f"train.checkpoint_every={steps + 1}", "train.log_every=25", "train.progress=false",
        f"train.init_from={run_dir / 'checkpoints' / 'last'}"])
    encoder = encoder or encoder_from_config(encoder_spec(config))
    timed = [r for r in read_metrics(train(config, encoder=encoder) / "metrics.jsonl") if "train_seconds" in r]
    first, last = timed[1], timed[-1]
    return round((last["step"] - first["step"]) / (last["train_seconds"] - first["train_seconds"]), 2), encoder


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(args.flush_denormal)
    encoder = None
    with tempfile.TemporaryDirectory() as tmp:
        for run_dir in args.runs:
            rate, encoder = rate_now(run_dir, args.steps, Path(tmp), encoder)
            print(json.dumps({"run": run_dir.name, "steps_per_s_now": rate, "steps_per_s_when_trained":
                              trained_rate(run_dir), "threads": args.threads, "flush_denormal": args.flush_denormal}),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
