"""What ``tqse extract`` does, as a library function the command (and tests) call.

Inputs: files, folders (searched recursively for audio extensions), glob patterns, or ``-`` (standard input).
Outputs, like demucs: ``ROOT/<model>/<input stem>/<query slug>.<ext>`` (``ROOT`` = ``-o``, default
``separated``), with ``--filename`` changing the part below ``ROOT/<model>``. An ``-o`` with an audio suffix
names the one output file of a one-input, one-query run; ``-o -`` writes WAV to standard output.

Order matters: options, queries, inputs and every output are checked first (cheap, and a mistake in the
tenth file's name must not cost nine extractions), then the model is loaded once, queries are embedded
once, and each input is streamed through the model for all queries in one batch. A progress bar (files done,
seconds of audio) shows on stderr only for people watching: off with ``--no-progress`` and whenever stderr is
not a terminal, and only once a run has lasted a couple of seconds.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tqse.audio.io import AudioError
from tqse.errors import OptionError, OutputError, QueryError
from tqse.extract.options import ExtractOptions, text_queries
from tqse.extract.output import STDOUT, Output, check_outputs, extract_to_files, is_dir
from tqse.extract.stream import STDIN, Source, file_source

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".w64", ".rf64", ".au",
                    ".caf"}
DEFAULT_ROOT = "separated"
DEFAULT_TEMPLATE = "{track}/{query}.{ext}"
TEMPLATE_FIELDS = {"track", "query", "ext", "model", "parent"}
PROGRESS_DELAY_SECONDS = 2.0  # a bar appears only once a run has lasted this long


@dataclass
class ExtractRequest:
    """One ``tqse extract`` call: inputs, queries, where outputs go, which model, and the options."""

    inputs: list[str]
    texts: list[str] = field(default_factory=list)
    audio_queries: list[str] = field(default_factory=list)
    output: str | None = None
    template: str | None = None
    residual: bool = False
    fmt: str | None = None
    model: str | None = None
    device: str | None = None
    progress: bool = True
    options: ExtractOptions = field(default_factory=ExtractOptions)


@dataclass
class InputPlan:
    """``input`` (a path or ``-``) and, per query, the estimate's and the residual's target (or None)."""

    input: str
    outputs: list[Path | str]
    residuals: list[Path | str | None] = field(default_factory=list)


def run_extract(request: ExtractRequest, extractor=None) -> list[str]:
    """Extract every query from every input; returns the written targets (paths, or ``-``)."""
    options, labels = _check_request(request)
    if request.texts:
        text_queries(request.texts)  # a bad caption fails now, before any file is opened
    model_dir, model_name = _model(request, extractor)
    root = None if single_target(request.output) else Path(request.output or DEFAULT_ROOT)
    inputs = expand_inputs(request.inputs, exclude=root)
    plans = plan(inputs, labels, output=request.output, model=model_name, template=request.template,
                 fmt=request.fmt, residual=request.residual)
    protected = tuple(Path(i) for i in inputs if i != STDIN)
    checked: list[tuple[Source, list[Output]]] = []
    for item in plans:
        source = file_source(item.input)
        checked.append((source, check_outputs(source, item.outputs, item.residuals, depth=options.depth,
                                              fmt=request.fmt if root else None, protected=protected)))
    if extractor is None:
        from tqse.extract.api import Extractor

        extractor = Extractor.from_pretrained(model_dir, device=request.device)
    queries = _embed(extractor, request)
    _describe(extractor, request.texts)
    bar = ExtractionProgress(sum(source.seconds for source, _ in checked), len(checked), request.progress)
    written: list[str] = []
    try:
        for source, outputs in checked:
            bar.start_file(source.name)
            extract_to_files(extractor, source, outputs, queries, options, progress=bar)
            written += [str(o.spec.path) if o.spec.path else "-" for o in outputs]
            bar.end_file()
    finally:
        bar.close()
    return written


def _describe(extractor, texts: list[str]) -> None:
    """Say what each text query was understood as: the nearest known sounds at debug level (``-v``), and a
    warning (shown unless ``--quiet``) when a query is far from every sound the model knows, so an unfamiliar
    query is never extracted as a silent guess."""
    for text in texts:
        description = extractor.describe_query(text)
        log.debug("query %r understood as: %s", text, description.summary())
        if description.warning:
            log.warning("%s", description.warning)


def _check_request(request: ExtractRequest) -> tuple[ExtractOptions, list[str]]:
    options = request.options.checked()
    if not request.texts and not request.audio_queries:
        raise QueryError("give a query: -q TEXT or --audio-query FILE")
    if request.output and Path(request.output).suffix and request.fmt and \
            Path(request.output).suffix.lower().lstrip(".") != request.fmt:
        raise OptionError(f"--format {request.fmt} contradicts -o {request.output}: drop one")
    labels = list(request.texts) + [Path(a).stem for a in request.audio_queries]
    return options, labels


def _model(request: ExtractRequest, extractor) -> tuple[Path | None, str]:
    from tqse.models.pretrained import HF_PREFIX, models_home, resolve_model

    if extractor is not None:
        return extractor.model_dir, extractor.model_dir.name if extractor.model_dir else "model"
    model_dir = resolve_model(request.model)
    if request.model and str(request.model).startswith(HF_PREFIX):
        return model_dir, str(request.model)[len(HF_PREFIX):].replace("/", "_")
    if request.model:
        return model_dir, Path(request.model).name
    inside_home = model_dir.resolve().parent == models_home().resolve()
    return model_dir, model_dir.name if inside_home else "default"


def _embed(extractor, request: ExtractRequest) -> torch.Tensor:
    parts = []
    if request.texts:
        parts.append(extractor.embed_queries(text=list(request.texts))[0])
    if request.audio_queries:
        parts.append(extractor.embed_queries(audio_query=list(request.audio_queries))[0])
    return torch.cat(parts)


# -- inputs and output names ---------------------------------------------------------------------------------
def expand_inputs(items: list[str], exclude: Path | None = None) -> list[str]:
    """Files, folders (recursive, audio extensions, skipping ``exclude``: our own outputs) and globs."""
    found: list[str] = []
    for item in items:
        if item == STDIN:
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
    if found.count(STDIN) > 1:
        raise AudioError("standard input (-) can be read only once")
    unique = {Path(f).resolve() if f != STDIN else f: f for f in found}
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
         fmt: str | None = None, residual: bool = False) -> list[InputPlan]:
    """One :class:`InputPlan` per input (see module docstring); raises on names two outputs would share."""
    slugs = query_slugs(labels)
    if single_target(output):
        return [_single(inputs, slugs, output, template, residual)]
    root = Path(output or DEFAULT_ROOT) / slug(model, 80)
    template = check_template(template or DEFAULT_TEMPLATE)
    ext = (fmt or "wav").lower()
    plans, seen = [], {}
    for item in inputs:
        track = "stdin" if item == STDIN else Path(item).stem
        parent = "stdin" if item == STDIN else Path(item).resolve().parent.name

        def name(query: str) -> Path:
            return root / template.format(track=track, query=query, ext=ext, model=slug(model, 80), parent=parent)

        outs = [name(s) for s in slugs]
        res = [name(f"{s}_residual") for s in slugs] if residual else []
        for path in outs + res:
            if path in seen:
                raise OutputError(f"{path}: both {seen[path]} and {item} would be written here: add {{parent}} "
                                  "to --filename, e.g. --filename '{parent}_{track}/{query}.{ext}'")
            seen[path] = item
        plans.append(InputPlan(item, outs, res))
    return plans


def _single(inputs: list[str], slugs: list[str], output: str, template: str | None, residual: bool) -> InputPlan:
    if len(inputs) != 1 or len(slugs) != 1:
        target = "standard output" if output == STDOUT else f"the file {output}"
        raise OptionError(f"-o {output}: {len(inputs)} input(s) x {len(slugs)} query(ies) cannot all go to "
                          f"{target}: give a folder, e.g. -o out/")
    if template:
        raise OptionError(f"--filename applies when -o is a folder, not the file {output}")
    if output == STDOUT:
        if residual:
            raise OptionError("--residual needs files: standard output holds one stream")
        return InputPlan(inputs[0], [output], [None])
    path = Path(output)
    return InputPlan(inputs[0], [path], [path.with_name(f"{path.stem}_residual{path.suffix}")] if residual else [None])


# -- progress ------------------------------------------------------------------------------------------------
class ExtractionProgress:
    """``progress(seconds)`` advances the bar; :meth:`start_file` names the file being processed."""

    def __init__(self, total_seconds: float, files: int, enabled: bool = True):
        from tqdm import tqdm

        self.files, self.done = files, 0
        self.bar = tqdm(total=round(total_seconds, 2), unit="s", unit_scale=False, file=sys.stderr,
                        delay=PROGRESS_DELAY_SECONDS,
                        disable=not (enabled and sys.stderr.isatty()), dynamic_ncols=True, leave=False,
                        bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]")

    def start_file(self, name: str) -> None:
        self.bar.set_description_str(f"file {self.done + 1}/{self.files} {name[-40:]}")

    def end_file(self) -> None:
        self.done += 1

    def __call__(self, seconds: float) -> None:
        self.bar.update(seconds)

    def close(self) -> None:
        self.bar.close()
