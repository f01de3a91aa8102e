"""``tqse demo``: a model (the shipped one by default) on the committed demo set, asked for the right sound and
the wrong one; or ``--train``: train, score and install one."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqse.workflows.demo import DemoTraining


def register(subparsers) -> None:
    d = DemoTraining()
    p = subparsers.add_parser(
        "demo", help="show the shipped model extracting sounds (or --train: train your own on the built-in data)",
        description="Without --train: run a model on the nine committed demo mixtures (sounds people extract, "
                    "from sources no model here trained on), each with the right query and the wrong one; print "
                    "SI-SDRi of both and of the residual with a sentence on what they mean, and what the model's "
                    "card says to expect; write every output, spectrograms and a page to listen to them "
                    "(OUT/index.html; --open opens it). Nothing is downloaded. With --train: build the built-in "
                    "corpus, train a small separator on it, score it and install it as the default of "
                    "`tqse extract`.")
    p.add_argument("--out", help="output folder (default: demo_out, or runs/demo with --train)")
    p.add_argument("-n", "--checkpoint", dest="checkpoint",
                   help="model name or directory to show (default: the shipped default model)")
    p.add_argument("--open", action="store_true", help="open the page of results in a web browser")
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
    from tqse.workflows.showcase import run_showcase

    summary = run_showcase(args.out or "demo_out", model=args.checkpoint)
    print("\n".join(showcase_lines(summary)))
    if args.open:
        import webbrowser

        if not webbrowser.open(Path(summary["page"]).resolve().as_uri()):
            print(f"no browser found here: open {summary['page']} in one")
    return 0


def showcase_lines(summary: dict) -> list[str]:
    """The table ``tqse demo`` prints: per mixture both queries' SI-SDRi, the residual's and what they mean."""
    rows = summary["results"]
    lines = [f"model: {summary['model_name']} ({summary['model']})",
             f"mixtures: {len(rows)} from {summary['mixtures_from']} (two sounds at equal loudness from sources no "
             "model here trained on; README.md there says how they were chosen)",
             "SI-SDRi: dB by which the output is closer to the target than the mixture was (0 = no better, "
             "negative = worse); residual = mixture minus the right-query output, scored against the other sound",
             "",
             f"  {'mixture':22} {'right query':24} {'SI-SDRi':>8}   {'wrong query':24} {'SI-SDRi':>8}   {'residual':>8}"]
    for r in rows:
        lines.append(f"  {r['id']:22} {repr(r['right_query']):24} {r['right']:+8.2f}   "
                     f"{repr(r['wrong_query']):24} {r['wrong']:+8.2f}   {r['residual']:+8.2f}")
        lines.append(f"      {r['meaning']}")
    lines += ["", f"The right query beats the wrong one on {summary['right_beats_wrong']} of {len(rows)} mixtures; "
                  f"median SI-SDRi with the right query {summary['median_right']:+.2f} dB.",
              summary["expectation"],
              f"Listen: {summary['page']} (tqse demo --open), every output and spectrogram per mixture in "
              f"{summary['output']}/."]
    return lines
