"""``tqse corpus build|credits|audit``: the built-in real-audio corpus (see docs/CORPUS.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqse.commands import defaults_of
from tqse.data.corpus.sources import TIERS


def register(subparsers: argparse._SubParsersAction) -> None:
    from tqse.data.corpus.audit import audit as audit_clips
    from tqse.data.corpus.build import build_corpus

    b, a = defaults_of(build_corpus), defaults_of(audit_clips)
    parser = subparsers.add_parser("corpus", help="build / credit / audit the built-in real-audio corpus",
                                   description="Build the built-in corpus from Debian-packaged sounds, "
                                               "soundfont instruments and synthesized speech.")
    sub = parser.add_subparsers(dest="corpus_command", metavar="ACTION")
    build = sub.add_parser("build", help="build (or resume, or confirm) a corpus tier")
    build.add_argument("--tier", default=b["tier"], choices=list(TIERS),
                       help="tiny: CI-sized (~110 MB download); default: the demo; full: every labelled source; "
                            "pool: full plus the audio-only pool (unlabelled clips, an unseen-source split)")
    build.add_argument("--out", default=None, help="output folder (default $TQSE_DATA/<tier> or "
                                                   "~/.cache/tqse/corpus/<tier>)")
    build.add_argument("--cache", default=None, help="package cache (default OUT/../_cache)")
    build.add_argument("--clip-seconds", type=float, default=b["clip_seconds"], help="clip length in seconds")
    build.add_argument("--seed", type=int, default=b["seed"], help="seed of every random choice")
    credits = sub.add_parser("credits", help="print the attributions of a built corpus")
    credits.add_argument("--tier", default=b["tier"], choices=list(TIERS))
    credits.add_argument("--out", default=None, help="corpus folder (default: the tier's default folder)")
    audit = sub.add_parser("audit", help="spot-check clips: spectrogram PNGs + RMS / bandwidth table")
    audit.add_argument("--tier", default=b["tier"], choices=list(TIERS))
    audit.add_argument("--out", default=None, help="corpus folder (default: the tier's default folder)")
    audit.add_argument("--per-class", type=int, default=a["per_class"], help="clips to check per class")
    audit.add_argument("--no-png", action="store_true", help="numbers only")
    parser.set_defaults(func=run, corpus_parser=parser)


def _folder(args: argparse.Namespace) -> Path:
    from tqse.data.corpus import default_corpus_dir

    return Path(args.out) if args.out else default_corpus_dir(args.tier)


def _pool_lines(stats: dict) -> list[str]:
    """The pool tier's diversity summary (empty for the other tiers)."""
    pool = stats.get("pool")
    if not pool:
        return []
    aims = ", ".join(f"{k} {'met' if ok else 'NOT met'}" for k, ok in pool["aims_met"].items())
    return [f"  unlabelled clips: {stats['unlabelled_clips']}; distinct training recordings: "
            f"{pool['train_recordings']}, rendered {pool['rendered_share']:.0%}, largest source family "
            f"{pool['largest_family']} {pool['largest_family_share']:.0%} ({aims}; stats.json has every count)"]


def run(args: argparse.Namespace) -> int:
    from tqse.data.corpus import build_corpus, credits_text

    action = getattr(args, "corpus_command", None)
    if action == "build":
        clips = build_corpus(args.tier, args.out, clip_seconds=args.clip_seconds, seed=args.seed,
                             cache=args.cache)
        stats = json.loads((clips.parent / "stats.json").read_text())
        print(f"corpus {args.tier}: {clips}")
        print(f"  {stats['n_classes']} classes; clips per split: "
              + ", ".join(f"{s} {v['clips']}" for s, v in stats["per_split"].items() if v["clips"])
              + f"; mixtures: {stats['mixtures']}")
        for line in _pool_lines(stats):
            print(line)
        state = json.loads((clips.parent / "state.json").read_text())
        disk = stats.get("disk_bytes", {})
        print(f"  build time: {state.get('timings', {}).get('total_this_run', 0):.0f} s this run; disk: "
              + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in disk.items()))
        return 0
    if action == "credits":
        print(credits_text(_folder(args)))
        return 0
    if action == "audit":
        from tqse.data.corpus.audit import audit

        rows = audit(_folder(args), per_class=args.per_class, pngs=not args.no_png)
        for r in rows:
            flag = f"  FLAG {','.join(r['flags'])}" if r["flags"] else ""
            print(f"{r['class']:18s} rms {r['rms_db']:6.1f} dB  bw {r['bandwidth_hz']:5d} Hz  "
                  f"active {r['active']:.2f}  {r['path']}{flag}")
        print(f"{sum(bool(r['flags']) for r in rows)} of {len(rows)} flagged; PNGs in {_folder(args) / 'audit'}")
        return 0
    args.corpus_parser.print_help()
    return 2
