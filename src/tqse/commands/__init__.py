"""CLI sub-commands: each module parses arguments and calls library functions (see ``tqse.cli``)."""
