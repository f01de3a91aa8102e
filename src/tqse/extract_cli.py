"""What ``tqse extract`` does, as a library function the command (and tests) call.

Order matters: options, queries, inputs and every output are checked first (cheap, and a mistake in the
tenth file's name must not cost nine extractions), then the model is loaded once, queries are embedded
once, and each input is streamed through the model for all queries in one batch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tqse.errors import OptionError, QueryError
from tqse.options import CLIP_MODES, DEPTHS, chunk_options, choice

log = logging.getLogger("tqse.extract")


@dataclass
class ExtractRequest:
    inputs: list[str]
    texts: list[str] = field(default_factory=list)
    audio_queries: list[str] = field(default_factory=list)
    output: str | None = None
    template: str | None = None
    residual: bool = False
    fmt: str | None = None
    depth: str | None = None
    clip_mode: str = "rescale"
    model: str | None = None
    device: str | None = None
    chunk_seconds: float = 10.0
    overlap_seconds: float = 1.0
    progress: bool = True


def run_extract(request: ExtractRequest, extractor=None) -> list[str]:
    """Extract every query from every input; returns the written targets (paths, or ``-``)."""
    from tqse.jobs import prepare, run_prepared
    from tqse.planning import DEFAULT_ROOT, expand_inputs, plan, single_target
    from tqse.progress import ExtractionProgress
    from tqse.queries import text_queries

    options, labels = _check_request(request)
    if request.texts:
        text_queries(request.texts)  # a bad caption fails now, before any file is opened
    model_dir, model_name = _model(request, extractor)
    root = None if single_target(request.output) else Path(request.output or DEFAULT_ROOT)
    inputs = expand_inputs(request.inputs, exclude=root)
    jobs = plan(inputs, labels, output=request.output, model=model_name, template=request.template,
                fmt=request.fmt, residual=request.residual)
    protected = tuple(Path(i) for i in inputs if i != "-")
    prepared = [prepare(job, depth=request.depth, fmt=request.fmt if root else None, inputs=protected)
                for job in jobs]
    if extractor is None:
        from tqse.api import Extractor

        extractor = Extractor.from_pretrained(model_dir, device=request.device)
    queries = _embed(extractor, request)
    _describe(extractor, request.texts)
    bar = ExtractionProgress(sum(p.source.seconds for p in prepared), len(prepared), request.progress)
    written: list[str] = []
    try:
        for item in prepared:
            bar.start_file(item.source.name)
            outputs = run_prepared(extractor, item, queries, options, clip_mode=request.clip_mode, progress=bar)
            written += [str(o.spec.path) if o.spec.path else "-" for o in outputs]
            bar.end_file()
    finally:
        bar.close()
    return written


def _check_request(request: ExtractRequest):
    options = chunk_options(request.chunk_seconds, request.overlap_seconds)  # 0: whole file in one piece
    choice("--clip-mode", request.clip_mode, CLIP_MODES)
    if request.depth is not None:
        choice("depth", request.depth, DEPTHS)
    if not request.texts and not request.audio_queries:
        raise QueryError("give a query: -q TEXT or --audio-query FILE")
    if request.output and Path(request.output).suffix and request.fmt and \
            Path(request.output).suffix.lower().lstrip(".") != request.fmt:
        raise OptionError(f"--format {request.fmt} contradicts -o {request.output}: drop one")
    labels = list(request.texts) + [Path(a).stem for a in request.audio_queries]
    return options, labels


def _model(request: ExtractRequest, extractor) -> tuple[Path | None, str]:
    from tqse.pretrained import HF_PREFIX, models_home, resolve_model

    if extractor is not None:
        return extractor.model_dir, extractor.model_dir.name if extractor.model_dir else "model"
    model_dir = resolve_model(request.model)
    if request.model and str(request.model).startswith(HF_PREFIX):
        return model_dir, str(request.model)[len(HF_PREFIX):].replace("/", "_")
    if request.model:
        return model_dir, Path(request.model).name
    inside_home = model_dir.resolve().parent == models_home().resolve()
    return model_dir, model_dir.name if inside_home else "default"


def _describe(extractor, texts: list[str]) -> None:
    """Say what each text query was understood as: the nearest known sounds at debug level (``-v``), and a
    warning (shown unless ``--quiet``) when a query is far from every sound the model knows, so an unfamiliar
    query is never extracted as a silent guess."""
    for text in texts:
        description = extractor.describe_query(text)
        log.debug("query %r understood as: %s", text, description.summary())
        if description.warning:
            log.warning("%s", description.warning)


def _embed(extractor, request: ExtractRequest) -> torch.Tensor:
    parts = []
    if request.texts:
        parts.append(extractor.embed_queries(text=list(request.texts))[0])
    if request.audio_queries:
        parts.append(extractor.embed_queries(audio_query=list(request.audio_queries))[0])
    return torch.cat(parts)
