"""Writing extraction outputs: float scratch files first, then the requested format, never clipping silently.

Pass one stores every output (estimate and residual per query) as float32 scratch files beside the target
while tracking peaks; pass two converts each to its format with one gain per query (so estimate + residual
still sum to the mixture): ``rescale`` lowers the level when the peak exceeds full scale, ``clamp`` clips and
says how many samples, ``none`` keeps float output as is (integer formats cannot hold it: clipped, with a
warning). Scratch files live in a temporary folder that is removed whatever happens; targets are written
through :func:`~tqse.audio.output.output_file`.
"""

from __future__ import annotations

import io
import logging
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import soundfile as sf

from tqse.audio.output import OutputSpec, make_parents, output_file, remove_empty
from tqse.engine import Blocks
from tqse.errors import OutputError

log = logging.getLogger(__name__)
SILENT_PEAK = 1e-9
COPY_FRAMES = 1 << 16


@dataclass(frozen=True)
class Output:
    spec: OutputSpec
    query: int  # index into the queries of the run
    residual: bool = False

    @property
    def label(self) -> str:
        return "standard output" if self.spec.path is None else str(self.spec.path)


def write_outputs(blocks: Iterable[Blocks], outputs: list[Output], *, gain: float, clip_mode: str,
                  sample_rate: int, channels: int) -> list[Output]:
    """Consume ``blocks`` and write every output (see module docstring); returns ``outputs``."""
    first = next((o.spec.path for o in outputs if o.spec.path is not None), None)
    try:
        made = make_parents(first) if first is not None else []
    except OSError as err:
        raise OutputError(f"{first}: cannot write here ({err.strerror or err})") from None
    try:
        return _write_all(blocks, outputs, gain, clip_mode, sample_rate, channels,
                          first.parent if first is not None else None)
    except BaseException:  # extraction or writing failed (or Ctrl-C): no empty output folder stays behind
        remove_empty(made)
        raise


def _write_all(blocks: Iterable[Blocks], outputs: list[Output], gain: float, clip_mode: str, sample_rate: int,
               channels: int, scratch_dir: Path | None) -> list[Output]:
    with tempfile.TemporaryDirectory(prefix=".tqse-scratch-", dir=scratch_dir) as tmp:
        paths = [Path(tmp) / f"{i}.w64" for i in range(len(outputs))]
        try:
            peaks = _scratch_pass(blocks, outputs, paths, sample_rate, channels)
        except (OSError, sf.LibsndfileError) as err:  # scratch space: the target's folder
            reason = getattr(err, "strerror", None) or str(err).splitlines()[0]
            raise OutputError(f"{tmp}: cannot write temporary output ({reason})") from None
        for output, path, peak in zip(outputs, paths, peaks):
            if not output.residual and peak < SILENT_PEAK:
                log.warning("%s: the extracted sound is silent", output.label)
            group = max(p for o, p in zip(outputs, peaks) if o.query == output.query) / gain
            factor = 1.0 / gain
            if clip_mode == "rescale" and group > 1.0:
                factor /= group
                log.warning("%s: peak %.2f exceeds full scale: lowered by %.1f dB (--clip-mode clamp|none to "
                            "keep the level)", output.label, group, 20 * np.log10(group))
            _convert(path, output, factor, clip_mode, sample_rate, channels)
    return outputs


def _scratch_pass(blocks: Iterable[Blocks], outputs: list[Output], paths: list[Path], rate: int,
                  channels: int) -> list[float]:
    peaks = [0.0] * len(outputs)
    with ExitStack() as stack:
        files = [stack.enter_context(sf.SoundFile(str(p), "w", rate, channels, subtype="FLOAT", format="W64"))
                 for p in paths]
        for block in blocks:
            for i, output in enumerate(outputs):
                samples = (block.residual if output.residual else block.estimate)[:, output.query]
                files[i].write(samples)
                peaks[i] = max(peaks[i], float(np.abs(samples).max(initial=0.0)))
    return peaks


def _convert(scratch: Path, output: Output, factor: float, clip_mode: str, rate: int, channels: int) -> None:
    try:
        _convert_unchecked(scratch, output, factor, clip_mode, rate, channels)
    except (OSError, sf.LibsndfileError, RuntimeError) as err:  # disk full, permissions, codec refusal
        reason = getattr(err, "strerror", None) or str(err).splitlines()[0]
        raise OutputError(f"{output.label}: cannot write ({reason})") from None


def _convert_unchecked(scratch: Path, output: Output, factor: float, clip_mode: str, rate: int,
                       channels: int) -> None:
    spec = output.spec
    if spec.path is None:
        buffer = io.BytesIO()
        with sf.SoundFile(buffer, "w", rate, channels, format=spec.format, subtype=spec.subtype) as f:
            clipped = _copy(scratch, f, factor, clip_mode, spec, output.label)
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.buffer.flush()
    else:
        with output_file(spec.path) as tmp:
            with sf.SoundFile(str(tmp), "w", rate, channels, format=spec.format, subtype=spec.subtype) as f:
                clipped = _copy(scratch, f, factor, clip_mode, spec, output.label)
    if clipped:
        log.warning("%s: %d samples beyond full scale were clipped (clip-mode %s)", output.label, clipped, clip_mode)


def _copy(scratch: Path, out: sf.SoundFile, factor: float, clip_mode: str, spec: OutputSpec, label: str) -> int:
    clipped = 0
    keep_level = spec.is_float and clip_mode == "none"  # only float files hold values beyond +-1
    with sf.SoundFile(str(scratch)) as src:
        while True:
            block = src.read(COPY_FRAMES, dtype="float64", always_2d=True)
            if not block.shape[0]:
                return clipped
            block *= factor
            if keep_level:
                if not np.isfinite(block.astype(np.float32)).all():
                    raise OutputError(f"{label}: the output exceeds the float32 range: use --clip-mode rescale")
            else:
                over = np.abs(block) > 1.0
                clipped += int(over.sum())
                np.clip(block, -1.0, 1.0, out=block)
            out.write(block.astype(np.float32))
