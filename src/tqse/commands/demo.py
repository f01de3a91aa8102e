"""``tqse demo``: the main job on the built-in default (train, score, extract, install as default)."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="train a small model on the built-in data, score it, extract an example")
    p.add_argument("--out", default="runs/demo", help="output folder (resumes if it exists)")
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--preset", default="small", help="tiny, small or paper")
    p.add_argument("--encoder", default="builtin", help="query encoder (builtin needs no files)")
    p.add_argument("--sample-rate", type=int, default=16000, help="model rate (the paper: 32000)")
    p.add_argument("--tier", default="default", choices=["tiny", "default", "full", "none"],
                   help="built-in corpus tier to build and train on (none: a built corpus or the CC0 fixture)")
    p.add_argument("--no-install", action="store_true", help="do not make it the default model of `tqse extract`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.demo import run_demo

    tier = None if args.tier == "none" else args.tier
    summary = run_demo(args.out, args.steps, args.preset, args.encoder, args.sample_rate,
                       install=not args.no_install, tier=tier)
    print(json.dumps(summary, indent=2))
    return 0
