"""``tqse models``: the installed models (shipped default + ``$TQSE_HOME/models``), usable with ``-n NAME``."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the installed models usable with `tqse extract -n NAME`",
                              description="List the shipped default model and every model folder under "
                                          "$TQSE_HOME/models (default ~/.cache/tqse/models): name, size, "
                                          "sample rate, query encoder and the scores from its card.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def run(args: argparse.Namespace) -> int:
    from tqse.models.pretrained import list_models, models_home

    models = list_models()
    if args.json:
        print(json.dumps([{"name": m.name, "path": str(m.path), "size_bytes": m.size_bytes,
                           "sample_rate": m.sample_rate, "encoder": m.encoder, "scores": m.scores,
                           "default": m.is_default} for m in models], indent=2))
        return 0
    if not models:
        print(f"no models installed (looked in the package and {models_home()}); `tqse demo` trains one")
        return 0
    print(f"{'NAME':<20} {'SIZE':>9} {'RATE':>7}  {'ENCODER':<10} SCORES")
    for m in models:
        scores = ", ".join(f"{k} {v:g}" for k, v in m.scores.items()) or "-"
        name = m.name + (" *" if m.is_default else "")
        print(f"{name:<20} {_size(m.size_bytes):>9} {m.sample_rate or '-':>7}  {m.encoder or '-':<10} {scores}")
    note = "* default model. " if any(m.is_default for m in models) else ""
    print(f"\n{note}Models live in {models_home()} (one folder each); use `tqse extract -n NAME`.")
    return 0
