"""Every sub-command explains itself: a description, an example and its defaults in --help (issue 11)."""

import argparse

import pytest

from tqse.cli import build_parser
from tqse.commands.help_examples import EXAMPLES


def _commands(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield " ".join((*path, name)), sub
                yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(build_parser()))


def test_every_command_has_an_example_in_the_table():
    assert len(COMMANDS) >= 31 and set(COMMANDS) <= set(EXAMPLES), set(COMMANDS) - set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_trap_every_command_help_has_description_example_and_defaults(name):
    text = " ".join(COMMANDS[name].format_help().split())
    assert COMMANDS[name].description, name
    assert "example: tqse " in text, name
    defaults = [a for a in COMMANDS[name]._actions if a.option_strings and a.default not in
                (None, False, argparse.SUPPRESS) and not isinstance(a, argparse._HelpAction)]
    for action in defaults:
        assert f"(default: {action.default}" in text or "%(default)" in (action.help or ""), (name, action.dest)
