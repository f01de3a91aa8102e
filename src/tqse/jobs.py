"""One input and its outputs: checked completely before the model runs, then extracted and written.

:func:`prepare` opens the input (header only; standard input is read here, once), rejects empty audio and
checks every output against the format's limits and the filesystem, so a run of many files fails before
any work instead of after the first hour. :func:`run_job` then streams the input through
:mod:`tqse.engine` into :mod:`tqse.writing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from tqse import engine
from tqse.audio.output import STDOUT, check_path, output_spec, preflight
from tqse.options import ChunkOptions
from tqse.sources import Source, file_source
from tqse.writing import Output, write_outputs


@dataclass
class Job:
    """``input`` (a path or ``-``) and, per query, the estimate's and the residual's target (or None)."""

    input: str
    outputs: list[Path | str]
    residuals: list[Path | str | None] = field(default_factory=list)


@dataclass
class Prepared:
    job: Job
    source: Source
    outputs: list[Output]


def prepare(job: Job, *, depth: str | None = None, fmt: str | None = None,
            inputs: tuple[Path, ...] = ()) -> Prepared:
    """Open the input and check every output (see module docstring); ``inputs``: paths never to overwrite."""
    source = file_source(job.input)
    protected = inputs + ((source.path,) if source.path else ())
    residuals = job.residuals or [None] * len(job.outputs)
    outputs = []
    for query, targets in enumerate(zip(job.outputs, residuals)):
        for target, is_residual in zip(targets, (False, True)):
            if target is None:
                continue
            if str(target) != STDOUT:
                check_path(target, protected)
            spec = output_spec(target, source.sample_rate, source.channels, depth=depth, fmt=fmt,
                               frames=source.frames)
            if spec.path is not None:
                preflight(spec.path)
            outputs.append(Output(spec, query, is_residual))
    return Prepared(job, source, outputs)


def run_prepared(extractor, prepared: Prepared, queries: torch.Tensor, options: ChunkOptions, *,
                 clip_mode: str = "rescale", progress=None) -> list[Output]:
    source = prepared.source
    gain = source.input_gain()
    blocks = engine.run(extractor, source, queries, options, gain, progress)
    return write_outputs(blocks, prepared.outputs, gain=gain, clip_mode=clip_mode,
                         sample_rate=source.sample_rate, channels=source.channels)


def run_job(extractor, job: Job, queries: torch.Tensor, options: ChunkOptions, *, depth: str | None = None,
            fmt: str | None = None, clip_mode: str = "rescale", progress=None) -> list[Output]:
    """:func:`prepare` then :func:`run_prepared`."""
    return run_prepared(extractor, prepare(job, depth=depth, fmt=fmt), queries, options, clip_mode=clip_mode,
                        progress=progress)
