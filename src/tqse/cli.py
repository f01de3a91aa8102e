"""The ``tqse`` command: a thin argparse layer over the library.

Each sub-command lives in ``tqse/commands/<name>.py`` with ``register(subparsers)``; that module only
parses arguments and calls library functions, so tests can run any command in-process via ``main(argv)``.
Every (sub-)command parser is a :class:`TqseParser`: it shows defaults and an example in ``--help``
(examples live in :mod:`tqse.commands.help_examples`) and accepts ``-v/--verbose`` and ``--quiet`` after the
sub-command as well as before it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# One line per command module; each adds its sub-commands to the parser.
COMMAND_MODULES = [
    "tqse.commands.extract",
    "tqse.commands.models",
    "tqse.commands.train",
    "tqse.commands.evaluate",
    "tqse.commands.prepare",
    "tqse.commands.report",
    "tqse.commands.convert",
    "tqse.commands.package",
    "tqse.commands.corpus",
    "tqse.commands.embed",
    "tqse.commands.gap",
    "tqse.commands.encoder",
    "tqse.commands.bench",
    "tqse.commands.demo",
    "tqse.commands.grid",
    "tqse.commands.serve",
]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown (except for plain on/off flags, whose default is always off), epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)) or action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


def _logging_options() -> argparse.ArgumentParser:
    # SUPPRESS: an option not given after the sub-command must not reset one given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging")
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="warnings and errors only")
    return common


class _SubParsers(argparse._SubParsersAction):
    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        from tqse.commands.help_examples import EXAMPLES

        path = " ".join((self._prog_prefix + " " + name).split()[1:])
        summary = kwargs.get("help") or ""
        kwargs.setdefault("description", (summary[:1].upper() + summary[1:] + ".") if summary else None)
        if path in EXAMPLES and "epilog" not in kwargs:
            kwargs["epilog"] = f"example:\n  {EXAMPLES[path]}"
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["parents"] = [_logging_options(), *kwargs.get("parents", [])]
        return super().add_parser(name, **kwargs)


class TqseParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubParsers)


def build_parser() -> argparse.ArgumentParser:
    from tqse import __version__

    parser = TqseParser(prog="tqse", description="Text-queried target sound extraction.",
                        formatter_class=HelpFormatter,
                        epilog='example:\n  tqse extract mix.wav -q "a dog barking"\n  tqse models')
    parser.add_argument("--version", action="version", version=f"tqse {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    _show_defaults_everywhere(parser)
    return parser


def one_line(err: BaseException) -> str:
    """The message of a user error as one line. An error raised in a DataLoader worker comes back with the
    worker's traceback in its message; its last line is the original ``module.Class: message``."""
    lines = [line for line in str(err).splitlines() if line.strip()]
    prefix = f"{type(err).__module__}.{type(err).__name__}: "
    if len(lines) > 1 and lines[-1].startswith(prefix):
        return lines[-1][len(prefix):]
    return lines[0] if lines else type(err).__name__


def _show_defaults_everywhere(parser: argparse.ArgumentParser) -> None:
    """Give options without help text their name as help, so the formatter still shows their default
    (argparse prints nothing, not even the default, for an option whose help is blank)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _show_defaults_everywhere(sub)
        elif action.help is None and action.default not in (None, False, argparse.SUPPRESS):
            action.help = action.dest.replace("_", " ")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else (logging.WARNING if args.quiet else logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("tqse").setLevel(level)
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
