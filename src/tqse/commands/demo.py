"""``tqse demo``: the shipped model on real mixtures (default), or ``--train``: train, score and install one."""

from __future__ import annotations

import argparse
import json

from tqse.workflows.demo import DemoTraining


def register(subparsers) -> None:
    d = DemoTraining()
    p = subparsers.add_parser(
        "demo", help="show the shipped model extracting sounds (or --train: train your own on the built-in data)",
        description="Without --train: extract the target of a few real mixtures (the built-in corpus' tiny tier "
                    "if built, else the committed CC0 fixture) with text queries, print SI-SDRi per mixture and "
                    "write mixture, estimate, reference and a spectrogram PNG per mixture. With --train: build "
                    "the built-in corpus, train a small separator on it, score it and install it as the default "
                    "of `tqse extract`.")
    p.add_argument("--out", help="output folder (default: demo_out, or runs/demo with --train)")
    p.add_argument("-n", "--checkpoint", dest="checkpoint",
                   help="model name or directory to show (default: the shipped default model)")
    p.add_argument("--train", action="store_true", help="train a model instead of showing the shipped one")
    p.add_argument("--steps", type=int, default=d.steps, help="--train: training steps")
    p.add_argument("--preset", default=d.preset, help="--train: model preset (tiny, small, tcn, paper ...)")
    p.add_argument("--encoder", default=d.encoder, help="--train: query encoder (builtin needs no files)")
    p.add_argument("--sample-rate", type=int, default=d.sample_rate, help="--train: model rate (the paper: 32000)")
    p.add_argument("--tier", default=d.tier, choices=["tiny", "default", "full", "none"],
                   help="--train: built-in corpus tier to build and train on (none: a built corpus or the fixture)")
    p.add_argument("--no-install", action="store_true", help="--train: do not make it the default of `tqse extract`")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.train:
        from tqse.workflows.demo import run_demo

        settings = DemoTraining(args.steps, args.preset, args.encoder, args.sample_rate,
                                None if args.tier == "none" else args.tier, install=not args.no_install)
        summary = run_demo(args.out or "runs/demo", settings)
        print(json.dumps(summary, indent=2))
        return 0
    from tqse.workflows.demo import run_showcase

    summary = run_showcase(args.out or "demo_out", model=args.checkpoint)
    print(f"model: {summary['model']}\nmixtures: {summary['mixtures_from']}")
    for row in summary["results"]:
        print(f"  {row['si_sdri']:+6.2f} dB SI-SDRi  {row['name']:40} query: {row['query']!r}")
    print(f"mean SI-SDRi {summary['mean_si_sdri']:+.2f} dB; mixture, estimate, reference and spectrograms.png "
          f"per mixture in {summary['output']}/")
    return 0
