"""CLI sub-commands: each module parses arguments and calls library functions (see ``tqse.cli``)."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable


def defaults_of(fn: Callable) -> dict[str, Any]:
    """The keyword defaults of the library function (or dataclass) an option is handed to.

    Options read their defaults from here rather than repeating them, so each default lives in one place (the
    library's signature or schema) and ``--help`` still shows it.
    """
    if dataclasses.is_dataclass(fn):
        return {f.name: f.default for f in dataclasses.fields(fn) if f.default is not dataclasses.MISSING}
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}
