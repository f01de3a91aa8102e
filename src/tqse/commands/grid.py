"""``tqse grid SETUP ROW.yaml ... --eval NAME=MANIFEST ...``: train rows, score them, print the table."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqse.commands import defaults_of


def register(subparsers) -> None:
    from tqse.workflows.grid import run_grid

    p = subparsers.add_parser("grid", help="train several config rows on one setup and tabulate their scores")
    p.add_argument("items", nargs="+", metavar="SETUP|ROW|KEY=VALUE",
                   help="a setup file, then row files (configs/table1/*.yaml), then dotted overrides")
    p.add_argument("--no-setup", action="store_true", help="the first file is a row, not a setup")
    p.add_argument("--eval", action="append", default=[], metavar="NAME=MANIFEST", required=True,
                   help="fixed-mixture manifest to score every row on (repeatable)")
    p.add_argument("--query-field", action="append", choices=["caption", "class_caption"],
                   help="text query field(s) (default: both)")
    p.add_argument("--out", default=defaults_of(run_grid)["out"], help="folder of the runs and the tables")
    p.add_argument("--stop-after", type=int, help="train at most this many more steps per row in this call")
    p.add_argument("--seeds", type=int, nargs="+", default=[], metavar="SEED",
                   help="run every row once per seed (named ROW-sSEED; tqse report gives mean and spread)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.commands.train import split_items
    from tqse.errors import ConfigError
    from tqse.workflows.grid import run_grid

    files, overrides = split_items(args.items)
    setup, rows = (None, files) if args.no_setup else (files[0], files[1:])
    if not rows:
        raise ConfigError("give at least one row file after the setup")
    eval_sets = dict(item.split("=", 1) for item in args.eval)
    run_grid(setup, rows, eval_sets, overrides, args.query_field or ("caption", "class_caption"), args.out,
             args.stop_after, args.seeds)
    print((Path(args.out) / "grid_si_sdri.md").read_text(), end="")
    return 0
