"""The package's layers hold: every import in src/tqse (function-local ones too) follows the table below, and
the repository's scripts/ and benchmarks/ use only the package's public names.

A lower layer never imports a higher one, so a data look-up never pulls in models or torch, the models
never see data or training, and the CLI stays a thin layer over library functions. A new module needs a
line in LAYER_OF; a new kind of dependency needs a line in ALLOWED (or, for one edge, in EXCEPTIONS with
the reason it stands). Scripts and benchmarks sit above every layer: they may import any module of the
package, but no ``_private`` module or name (what they need becomes public in the package) and no other
script (shared code lives in the package).
"""

from __future__ import annotations

import ast
from pathlib import Path

import tqse

SRC = Path(tqse.__file__).parent
ROOT = Path(__file__).resolve().parents[2]
TOOL_FOLDERS = ("scripts", "benchmarks")  # run from a checkout, never imported by the package

# Which layer a module belongs to: the longest matching dotted prefix wins.
LAYER_OF = {
    "tqse": "base",                       # the package itself: __version__ (and a lazy Extractor, see EXCEPTIONS)
    "tqse.errors": "base",
    "tqse.config": "base",                # the run config schema: every layer may build itself from its section
    "tqse.files": "base",                 # the one atomic write, content hashes, $TQSE_HOME
    "tqse.audio": "audio",
    "tqse.data": "data",
    "tqse.data.corpus": "corpus",         # the built-in corpus builder, on top of the data layer
    "tqse.query": "query",
    "tqse.models": "models",
    "tqse.eval": "eval",
    "tqse.losses": "eval",                # the training objective is an evaluation metric, negated
    "tqse.train": "train",
    # The API: the Python Extractor and the extraction path behind it (tqse.extract), and `tqse serve` over it.
    "tqse.extract": "api",
    "tqse.serve": "api",
    # Workflows: library functions that combine training, evaluation and the API for one command.
    "tqse.workflows": "workflows",
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
    "query": {"base", "audio", "data", "corpus"},  # the text side learns the corpus' class names and captions
    "models": {"base", "audio"},
    "eval": _BELOW_EVAL,
    "train": _BELOW_EVAL | {"eval"},
    "api": _BELOW_EVAL,
    "workflows": _BELOW_EVAL | {"corpus", "eval", "train", "api"},
    "cli": _BELOW_EVAL | {"corpus", "eval", "train", "api", "workflows"},
}

# Single edges the table does not allow, each with the reason it stands.
EXCEPTIONS = {
    ("tqse", "tqse.extract"): "`tqse.Extractor` is resolved lazily, on attribute access only",
    ("tqse.query.gap", "tqse.models.separator"):
        "the modality-gap report measures PCA / PCA-inv, which now belong to the separator (issue 13 item 1)",
    ("tqse.models.model_dir", "tqse.query.registry"):
        "a model folder records the encoder it was trained with, pinned by version and weights hash, so a folder "
        "never loads with another text side (issue 23 item 4); imported lazily, the separator never sees a query",
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
    source = "import numpy\n\n\ndef f():\n    from tqse.train.loop import train\n    from tqse import errors\n"
    path = SRC / "data" / "example.py"
    assert violations("tqse.data.example", path, source, known) == [
        "src/tqse/data/example.py:5: tqse.data.example imports tqse.train.loop: data -> train is not allowed "
        "(data may import audio, base)"]


def test_relative_and_submodule_imports_resolve_to_the_module_imported():
    known = set(all_modules())
    source = "from . import dataset\nfrom ..query import cache\nfrom tqse.data import manifest\n"
    assert imports_of(source, "tqse.data.example", False, known) == [
        (1, "tqse.data.dataset"), (2, "tqse.query.cache"), (3, "tqse.data.manifest")]


def tool_files() -> list[Path]:
    return sorted(path for folder in TOOL_FOLDERS for path in (ROOT / folder).glob("*.py"))


def tool_violations(path: Path, source: str, known: set[str], scripts: set[str]) -> list[str]:
    """One line per import in a script or benchmark of a private or unknown tqse name, or of another script."""
    bad = []
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            imported = [(node.module, alias.name) for alias in node.names]
        else:
            continue
        for module, name in imported:
            full = f"{module}.{name}" if name else module
            if module.split(".")[0] in scripts:
                bad.append(f"{where}:{node.lineno}: imports the script {module}: share code through the package")
            elif module == "tqse" or module.startswith("tqse."):
                private = [part for part in full.split(".") if part.startswith("_")]
                if module not in known:
                    bad.append(f"{where}:{node.lineno}: imports {module}: not a module of src/tqse")
                elif private:
                    bad.append(f"{where}:{node.lineno}: imports {full}: {private[0]} is private to the package "
                               "(make it public there, or do without it)")
    return list(dict.fromkeys(bad))  # `from x import a, b` of a script: one line


def test_scripts_and_benchmarks_use_only_public_names_of_the_package():
    known = set(all_modules())
    scripts = {path.stem for path in tool_files()}
    found = [line for path in tool_files() for line in tool_violations(path, path.read_text(), known, scripts)]
    assert not found, "scripts/benchmarks reaching past the package's public names:\n" + "\n".join(found)


def test_a_script_importing_a_private_name_or_another_script_is_reported_with_file_and_line():
    known = set(all_modules())
    source = ("from tqse.data.manifest import read_clips\n\n\ndef f():\n"
              "    from tqse.query.cache import _safe\n    from default_model import score_sets\n")
    path = ROOT / "scripts" / "example.py"
    assert tool_violations(path, source, known, {"default_model"}) == [
        "scripts/example.py:5: imports tqse.query.cache._safe: _safe is private to the package (make it public "
        "there, or do without it)",
        "scripts/example.py:6: imports the script default_model: share code through the package"]
