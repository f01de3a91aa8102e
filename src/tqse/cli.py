"""The ``tqse`` command: a thin argparse layer over the library.

Each sub-command lives in ``tqse/commands/<name>.py`` with ``register(subparsers)``; that module only
parses arguments and calls library functions, so tests can run any command in-process via ``main(argv)``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# One line per command module; each adds its sub-commands to the parser.
COMMAND_MODULES = [
    "tqse.commands.extract",
    "tqse.commands.train",
    "tqse.commands.evaluate",
    "tqse.commands.prepare",
    "tqse.commands.report",
    "tqse.commands.convert",
    "tqse.commands.corpus",
    "tqse.commands.embed",
    "tqse.commands.gap",
    "tqse.commands.encoder",
    "tqse.commands.bench",
    "tqse.commands.demo",
    "tqse.commands.grid",
    "tqse.commands.serve",
]



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tqse", description="Text-queried target sound extraction.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def one_line(err: BaseException) -> str:
    """The message of a user error as one line. An error raised in a DataLoader worker comes back with the
    worker's traceback in its message; its last line is the original ``module.Class: message``."""
    lines = [line for line in str(err).splitlines() if line.strip()]
    prefix = f"{type(err).__module__}.{type(err).__name__}: "
    if len(lines) > 1 and lines[-1].startswith(prefix):
        return lines[-1][len(prefix):]
    return lines[0] if lines else type(err).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from tqse.errors import USER_ERRORS

    try:
        result = args.func(args)
    except USER_ERRORS as err:
        print(f"tqse {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
