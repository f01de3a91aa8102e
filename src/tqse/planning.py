"""From command-line inputs and queries to :class:`~tqse.jobs.Job` s: files, folders, globs, output names.

Inputs: files, folders (searched recursively for audio extensions), glob patterns, or ``-`` (standard input).
Outputs, like demucs: ``ROOT/<model>/<input stem>/<query slug>.<ext>`` (``ROOT`` = ``-o``, default
``separated``), with ``--filename`` changing the part below ``ROOT/<model>``. An ``-o`` with an audio suffix
names the one output file of a one-input, one-query run; ``-o -`` writes WAV to standard output.
"""

from __future__ import annotations

import glob
import os
import re
import string
from pathlib import Path

from tqse.audio.io import AudioError
from tqse.audio.output import STDOUT, is_dir
from tqse.errors import OptionError, OutputError
from tqse.jobs import Job

AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".w64", ".rf64", ".au",
                    ".caf"}
DEFAULT_ROOT = "separated"
DEFAULT_TEMPLATE = "{track}/{query}.{ext}"
TEMPLATE_FIELDS = {"track", "query", "ext", "model", "parent"}


def expand_inputs(items: list[str], exclude: Path | None = None) -> list[str]:
    """Files, folders (recursive, audio extensions, skipping ``exclude``: our own outputs) and globs."""
    found: list[str] = []
    for item in items:
        if item == STDOUT:
            found.append(item)
        elif os.path.isdir(item):
            files = sorted(p for p in Path(item).rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS
                           and p.is_file() and not _under(p, exclude) and not p.name.startswith("."))
            if not files:
                raise AudioError(f"{item}: no audio files in this folder ({', '.join(sorted(AUDIO_EXTENSIONS))})")
            found += map(str, files)
        elif os.path.exists(item):
            found.append(item)
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item, recursive=True) if Path(p).is_file())
            if not matches:
                raise AudioError(f"{item}: no files match this pattern")
            found += matches
        else:
            raise AudioError(f"{item}: file not found")
    if found.count(STDOUT) > 1:
        raise AudioError("standard input (-) can be read only once")
    unique = {Path(f).resolve() if f != STDOUT else f: f for f in found}
    return list(unique.values())


def _under(path: Path, root: Path | None) -> bool:
    return root is not None and root.resolve() in path.resolve().parents


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe version of a query: ``"Rain on a roof!"`` -> ``rain_on_a_roof``."""
    cleaned = re.sub(r"[^0-9a-z]+", "_", text.lower().encode("ascii", "ignore").decode()).strip("_")
    return cleaned[:limit].rstrip("_") or "query"


def query_slugs(labels: list[str]) -> list[str]:
    """Distinct slugs for the queries of one run (a repeated slug gets ``_2``, ``_3``...)."""
    slugs: list[str] = []
    for label in labels:
        base, n = slug(label), 2
        name = base
        while name in slugs:
            name, n = f"{base}_{n}", n + 1
        slugs.append(name)
    return slugs


def single_target(output: str | None) -> bool:
    """``-o`` names one file (an audio suffix, not an existing folder) or standard output."""
    return output == STDOUT or bool(output and Path(output).suffix and not is_dir(output))


def check_template(template: str) -> str:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as err:
        raise OptionError(f"--filename {template!r}: {err}") from None
    unknown = fields - TEMPLATE_FIELDS
    if unknown or not template.strip() or Path(template).is_absolute() or ".." in Path(template).parts:
        raise OptionError(f"--filename {template!r}: a relative name using only "
                          f"{{{'}, {'.join(sorted(TEMPLATE_FIELDS))}}}" + (f" (unknown: {sorted(unknown)})" if unknown else ""))
    return template


def plan(inputs: list[str], labels: list[str], *, output: str | None, model: str, template: str | None = None,
         fmt: str | None = None, residual: bool = False) -> list[Job]:
    """One :class:`Job` per input (see module docstring); raises on names two outputs would share."""
    slugs = query_slugs(labels)
    if single_target(output):
        return [_single(inputs, slugs, output, template, residual)]
    root = Path(output or DEFAULT_ROOT) / slug(model, 80)
    template = check_template(template or DEFAULT_TEMPLATE)
    ext = (fmt or "wav").lower()
    jobs, seen = [], {}
    for item in inputs:
        track = "stdin" if item == STDOUT else Path(item).stem
        parent = "stdin" if item == STDOUT else Path(item).resolve().parent.name

        def name(query: str) -> Path:
            return root / template.format(track=track, query=query, ext=ext, model=slug(model, 80), parent=parent)

        outs = [name(s) for s in slugs]
        res = [name(f"{s}_residual") for s in slugs] if residual else []
        for path in outs + res:
            if path in seen:
                raise OutputError(f"{path}: both {seen[path]} and {item} would be written here: add {{parent}} "
                                  "to --filename, e.g. --filename '{parent}_{track}/{query}.{ext}'")
            seen[path] = item
        jobs.append(Job(item, outs, res))
    return jobs


def _single(inputs: list[str], slugs: list[str], output: str, template: str | None, residual: bool) -> Job:
    if len(inputs) != 1 or len(slugs) != 1:
        target = "standard output" if output == STDOUT else f"the file {output}"
        raise OptionError(f"-o {output}: {len(inputs)} input(s) x {len(slugs)} query(ies) cannot all go to "
                          f"{target}: give a folder, e.g. -o out/")
    if template:
        raise OptionError(f"--filename applies when -o is a folder, not the file {output}")
    if output == STDOUT:
        if residual:
            raise OptionError("--residual needs files: standard output holds one stream")
        return Job(inputs[0], [output], [None])
    path = Path(output)
    return Job(inputs[0], [path], [path.with_name(f"{path.stem}_residual{path.suffix}")] if residual else [None])
