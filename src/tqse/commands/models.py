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
                           "default": m.is_default, "summary": m.summary} for m in models], indent=2))
        return 0
    if not models:
        print(f"no models installed (looked in the package and {models_home()}); `tqse demo` trains one")
        return 0
    for m in models:
        print("\n".join(describe(m)) + "\n")
    note = "* default model. " if any(m.is_default for m in models) else ""
    print(f"{note}Models live in {models_home()} (one folder each); use `tqse extract -n NAME`.")
    return 0


def describe(m) -> list[str]:
    """A model in plain words: `-n` name and the model's own, size, rate, encoder; what it was trained on; one
    figure per evaluation set (what mixtures, which query kind); where its full card is."""
    own = m.summary.get("name") or m.name
    title = own + (f" (-n {m.name})" if own != m.name else "") + (" *" if m.is_default else "")
    rate = f"{m.sample_rate / 1000:g} kHz" if m.sample_rate else "rate unknown"
    lines = [f"{title}: {_size(m.size_bytes)}, {rate}, query encoder {m.encoder or 'unknown'}"]
    if m.summary.get("trained_on"):
        lines.append(f"    trained on {m.summary['trained_on']}")
    figures = [f["line"] for f in m.summary.get("figures", [])]
    if not figures and m.scores:
        figures = ["scores from its card: " + ", ".join(f"{k} {v:g}" for k, v in m.scores.items())]
    lines += [f"    {line}" for line in figures or ["no scores recorded"]]
    if m.summary.get("card"):
        lines.append(f"    card: {m.summary['card']}")
    return lines
