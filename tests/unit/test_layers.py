"""The package's layers hold: every import in src/tqse (function-local ones too) follows the table below.

A lower layer never imports a higher one, so a data look-up never pulls in models or torch, the models
never see data or training, and the CLI stays a thin layer over library functions. A new module needs a
line in LAYER_OF; a new kind of dependency needs a line in ALLOWED (or, for one edge, in EXCEPTIONS with
the reason it stands).
"""

from __future__ import annotations

import ast
from pathlib import Path

import tqse

SRC = Path(tqse.__file__).parent

# Which layer a module belongs to: the longest matching dotted prefix wins.
LAYER_OF = {
    "tqse": "base",                       # the package itself: __version__ (and a lazy Extractor, see EXCEPTIONS)
    "tqse.errors": "base",
    "tqse.config": "base",                # the run config schema: every layer may build itself from its section
    "tqse.files": "base",                 # atomic writes and content hashes
    "tqse.audio": "audio",
    "tqse.data": "data",
    "tqse.data.corpus": "corpus",         # the built-in corpus builder, on top of the data layer
    "tqse.query": "query",
    "tqse.models": "models",
    "tqse.eval": "eval",
    "tqse.losses": "eval",                # the training objective is an evaluation metric, negated
    "tqse.train": "train",
    "tqse.testing": "testing",            # helpers for tests: nothing in src/ may import them
    # The API: the Python Extractor and what extraction is built from (also used by `tqse serve`).
    "tqse.api": "api",
    "tqse.device": "api",
    "tqse.engine": "api",
    "tqse.extract_cli": "api",
    "tqse.jobs": "api",
    "tqse.layout": "api",
    "tqse.options": "api",
    "tqse.planning": "api",
    "tqse.pretrained": "api",
    "tqse.progress": "api",
    "tqse.queries": "api",
    "tqse.serve": "api",
    "tqse.sources": "api",
    "tqse.streaming": "api",
    "tqse.writing": "api",
    # Workflows: library functions that combine training, evaluation and the API for one command.
    "tqse.bench": "workflows",
    "tqse.demo": "workflows",
    "tqse.grid": "workflows",
    "tqse.showcase": "workflows",
    # The command line: parses arguments and calls the layers below.
    "tqse.cli": "cli",
    "tqse.commands": "cli",
    "tqse.train.__main__": "cli",         # `torchrun -m tqse.train` is the `tqse train` command
}

_BELOW_EVAL = {"base", "audio", "data", "query", "models"}
# What each layer may import besides itself.
ALLOWED = {
    "base": set(),
    "audio": {"base"},
    "data": {"base", "audio"},
    "corpus": {"base", "audio", "data"},
    "query": {"base", "audio", "data"},
    "models": {"base", "audio"},
    "eval": _BELOW_EVAL,
    "train": _BELOW_EVAL | {"eval"},
    "testing": _BELOW_EVAL,
    "api": _BELOW_EVAL,
    "workflows": _BELOW_EVAL | {"corpus", "eval", "train", "api"},
    "cli": _BELOW_EVAL | {"corpus", "eval", "train", "api", "workflows"},
}

# Single edges the table does not allow, each with the reason it stands.
EXCEPTIONS = {
    ("tqse", "tqse.api"): "`tqse.Extractor` is resolved lazily, on attribute access only",
    ("tqse.query.gap", "tqse.models.separator"):
        "the modality-gap report measures PCA / PCA-inv, which now belong to the separator (issue 13 item 1)",
    ("tqse.models.mixture_features", "tqse.query.builtin"):
        "the pretrained-features candidate reuses the built-in encoder's frozen aisfx trunk (issue 22 item 5)",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        layer = LAYER_OF.get(".".join(parts[:end]))
        if layer:
            return layer
    return None


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """``(line, imported tqse module)`` for every import statement anywhere in ``source``.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module, else ``pkg``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in known else base))
    return [(line, name) for line, name in dict.fromkeys(found) if name == "tqse" or name.startswith("tqse.")]


def violations(module: str, path: Path, source: str, known: set[str]) -> list[str]:
    """One line per import of ``module`` that the table does not allow: file, line, module and edge."""
    layer = layer_of(module)
    bad = []
    for line, imported in imports_of(source, module, path.name == "__init__.py", known):
        target = layer_of(imported)
        if target == layer or target in ALLOWED[layer] or (module, imported) in EXCEPTIONS:
            continue
        allowed = ", ".join(sorted(ALLOWED[layer])) or "nothing of tqse"
        bad.append(f"src/{path.relative_to(SRC.parent)}:{line}: {module} imports {imported}: "
                   f"{layer} -> {target} is not allowed ({layer} may import {allowed})")
    return bad


def test_every_module_has_a_layer():
    unplaced = [name for name in all_modules() if layer_of(name) is None]
    assert not unplaced, f"modules with no layer (add them to LAYER_OF): {unplaced}"


def test_every_import_follows_the_layer_table():
    modules = all_modules()
    known = set(modules)
    found = [line for name, path in modules.items() for line in violations(name, path, path.read_text(), known)]
    assert not found, "imports across layers that the table does not allow:\n" + "\n".join(found)


def test_a_function_local_upward_import_is_reported_with_module_line_and_edge():
    known = set(all_modules())
    source = "import numpy\n\n\ndef f():\n    from tqse.testing import tiny_model_dir\n    from tqse import errors\n"
    path = SRC / "data" / "example.py"
    assert violations("tqse.data.example", path, source, known) == [
        "src/tqse/data/example.py:5: tqse.data.example imports tqse.testing: data -> testing is not allowed "
        "(data may import audio, base)"]


def test_relative_and_submodule_imports_resolve_to_the_module_imported():
    known = set(all_modules())
    source = "from . import dataset\nfrom ..query import cache\nfrom tqse.data import manifest\n"
    assert imports_of(source, "tqse.data.example", False, known) == [
        (1, "tqse.data.dataset"), (2, "tqse.query.cache"), (3, "tqse.data.manifest")]
