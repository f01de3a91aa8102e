"""``tqse train [CONFIG.yaml ...] [dotted.key=value ...]``: train or resume a run."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("tqse.train")


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train (or resume) a separator",
                              description="Train from YAML config diffs and dotted overrides; starting the same "
                                          "command again resumes from the last checkpoint.")
    p.add_argument("items", nargs="*", metavar="CONFIG|KEY=VALUE",
                   help="config files (merged in order, each with its includes) and dotted overrides")
    p.add_argument("--run-dir", help="run directory (default: <output_dir>/<name>-<config hash>)")
    p.add_argument("--stop-after", type=int, help="stop after this many steps in this call (resumable)")
    p.add_argument("--max-minutes", type=float,
                   help="stop after this many minutes of training steps in this call (validation not counted), "
                        "with a checkpoint and a validation (resumable)")
    p.add_argument("--total-minutes", type=float,
                   help="train until the whole run (every resume counted) has spent this many minutes in training "
                        "steps: equal-compute runs that survive a kill")
    p.add_argument("--queries-from-cache", action="store_true",
                   help="never load the query encoder: every training and validation query comes from "
                        "query.cache_dir (a machine without the encoder's text tower)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=run)


def split_items(items: list[str]) -> tuple[list[str], list[str]]:
    """Separate config files from ``key=value`` overrides."""
    overrides = [item for item in items if "=" in item]
    return [item for item in items if "=" not in item], overrides


def run(args: argparse.Namespace) -> int:
    from tqse.config import load_config, to_yaml
    from tqse.errors import ConfigError
    from tqse.train.loop import train

    files, overrides = split_items(args.items)
    config = load_config(files, overrides)
    if args.print_config:
        print(to_yaml(config), end="")
        return 0
    budget = args.max_minutes * 60 if args.max_minutes is not None else None
    total = args.total_minutes * 60 if args.total_minutes is not None else None
    encoder = None
    if args.queries_from_cache:
        from tqse.query.cache import CachedEncoder

        if not config.query.cache_dir:
            raise ConfigError("--queries-from-cache needs query.cache_dir")
        encoder = CachedEncoder.open(config.query.cache_dir)
    run_dir = train(config, run_dir=args.run_dir, encoder=encoder, stop_after=args.stop_after, time_budget_s=budget,
                    total_time_s=total)
    log.info("run directory: %s", run_dir)
    return 0
