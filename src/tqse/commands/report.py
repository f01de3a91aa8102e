"""``tqse report RUN_OR_EVAL_DIR ... [--metric sdri] [--out report.md] [--plot report.png]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqse.commands import defaults_of


def register(subparsers) -> None:
    from tqse.eval.report import runs_table

    p = subparsers.add_parser("report", help="tabulate and plot evaluation summaries of several runs",
                              description="Collect the summary JSONs written by `tqse eval` under each "
                                          "folder into one markdown table (one row per run) and a bar plot. "
                                          "Runs named ROW-sSEED (tqse grid --seeds) are folded into one row: "
                                          "mean ± sample standard deviation (number of seeds).")
    p.add_argument("runs", nargs="+", help="run or eval folders (each searched recursively) or summary files")
    p.add_argument("--metric", default=defaults_of(runs_table)["metric"],
                   choices=["sdri", "si_sdr", "si_sdri", "sdr"])
    p.add_argument("--out", help="write the markdown table (and AudioSep comparison) here")
    p.add_argument("--plot", help="write a PNG bar chart here (needs matplotlib)")
    p.add_argument("--curves", help="write a PNG of the runs' validation learning curves here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.data.manifest import ManifestError
    from tqse.eval.report import (comparison_table, load_summaries, plot_curves, plot_runs, readme_line,
                                  run_name, runs_table)

    runs, folders = {}, {}
    for path in args.runs:
        summaries = load_summaries(path)
        if not summaries:
            raise ManifestError(f"{path}: no evaluation summaries (tqse eval *.json) found")
        name = run_name(path)
        while name in runs:
            name += "'"
        runs[name], folders[name] = summaries, path
    text = runs_table(runs, args.metric)
    if len(runs) == 1:
        only = next(iter(runs.values()))
        text += "\n\n" + comparison_table(only) + "\n\n" + readme_line(only, args.metric)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    if args.plot:
        print(f"plot: {plot_runs(runs, args.plot, args.metric)}")
    if args.curves:
        print(f"curves: {plot_curves(folders, args.curves)}")
    return 0
