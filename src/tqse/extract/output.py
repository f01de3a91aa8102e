"""Outputs: checked before any work, then written from the stream, never clipped silently, always atomically.

Checks (:func:`check_outputs`, run for every output of a run before the model loads) make sure the format can
hold the audio and the path can be written, so a format limit or a bad path costs nothing and libsndfile never
sees a combination it cannot take: it crashes (SIGSEGV) when asked for Ogg Vorbis above ~200 kHz, and raises
bare errors for MP3 above 48 kHz or FLAC above 8 channels.

Writing (:func:`write_outputs`) stores every output (estimate and residual per query) as float32 scratch
files beside the target while tracking peaks; pass two converts each to its format with one gain per query
(so estimate + residual still sum to the mixture): ``rescale`` lowers the level when the peak exceeds full
scale, ``clamp`` clips and says how many samples, ``none`` keeps float output as is (integer formats cannot
hold it: clipped, with a warning). Scratch files live in a temporary folder that is removed whatever happens;
targets are written through the one atomic write (:func:`tqse.files.atomic_write`, via :func:`output_file`):
whatever fails, the target is either the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import soundfile as sf
import torch

from tqse.errors import OutputError
from tqse.extract.options import ExtractOptions
from tqse.extract.stream import STDIN, Blocks, Progress, Source, run
from tqse.files import atomic_write, temporary_beside

log = logging.getLogger(__name__)
STDOUT = STDIN  # "-": standard output as a target, standard input as an input
SILENT_PEAK = 1e-9
COPY_FRAMES = 1 << 16
NAME_MAX = 255
_TMP_OVERHEAD = 32  # ".NAME.tmpPID_xxxxxxxx": the temporary name must fit NAME_MAX too
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
WAV_MAX_BYTES = 2**32 - 1024  # RIFF sizes are 32-bit; larger outputs are written as RF64 (still .wav)


@dataclass(frozen=True)
class FormatLimits:
    name: str  # libsndfile major format
    subtypes: dict[str, str]  # depth -> subtype; a lossy codec has one entry under "lossy"
    max_channels: int
    max_rate: int
    rates: tuple[int, ...] = ()  # non-empty: only these rates


_PCM = {"int16": "PCM_16", "int24": "PCM_24", "float32": "FLOAT"}
FORMATS = {
    "wav": FormatLimits("WAV", _PCM, 65535, 2**31 - 1),
    "w64": FormatLimits("W64", _PCM, 65535, 2**31 - 1),
    "aiff": FormatLimits("AIFF", _PCM, 65535, 2**31 - 1),
    "flac": FormatLimits("FLAC", {"int16": "PCM_16", "int24": "PCM_24"}, 8, 655_350),
    # Vorbis: libsndfile 1.2 segfaults above ~200 kHz; 192 kHz is the highest common rate it encodes.
    "ogg": FormatLimits("OGG", {"lossy": "VORBIS"}, 8, 192_000),
    "mp3": FormatLimits("MP3", {"lossy": "MPEG_LAYER_III"}, 2, 48_000, MP3_RATES),
}


@dataclass(frozen=True)
class OutputSpec:
    """Where and how to write: ``path`` None means standard output (WAV)."""

    path: Path | None
    format: str
    subtype: str
    depth: str  # int16 | int24 | float32 | lossy

    @property
    def is_float(self) -> bool:
        return self.depth == "float32"


@dataclass(frozen=True)
class Output:
    """One file (or standard output) of a run: the estimate or the residual of query number ``query``."""

    spec: OutputSpec
    query: int  # index into the queries of the run
    residual: bool = False

    @property
    def label(self) -> str:
        return "standard output" if self.spec.path is None else str(self.spec.path)


def check_outputs(source: Source, outputs: list, residuals: list | None = None, *, depth: str | None = None,
                  fmt: str | None = None, protected: tuple[Path, ...] = ()) -> list[Output]:
    """Every target of one input (per query: its estimate's, and its residual's or None), checked against the
    format's limits and the filesystem before any work; ``protected``: paths never to overwrite (the inputs)."""
    protected = protected + ((source.path,) if source.path else ())
    checked = []
    for query, targets in enumerate(zip(outputs, residuals or [None] * len(outputs))):
        for target, is_residual in zip(targets, (False, True)):
            if target is None:
                continue
            if str(target) != STDOUT:
                check_path(target, protected)
            spec = output_spec(target, source.sample_rate, source.channels, depth=depth, fmt=fmt,
                               frames=source.frames)
            if spec.path is not None:
                preflight(spec.path)
            checked.append(Output(spec, query, is_residual))
    return checked


def format_name(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The output format's extension: ``fmt`` if given, else the file's suffix (``-``: wav)."""
    if fmt:
        return fmt.lower().lstrip(".")
    if str(path) == STDOUT:
        return "wav"
    suffix = Path(path).suffix.lower().lstrip(".")
    return {"aif": "aiff"}.get(suffix, suffix)


def output_spec(path: str | os.PathLike, sample_rate: int, channels: int, *, depth: str | None = None,
                fmt: str | None = None, frames: int = 0) -> OutputSpec:
    """Check that the format of ``path`` can hold ``channels`` x ``sample_rate`` audio at ``depth``."""
    name = format_name(path, fmt)
    where = "standard output" if str(path) == STDOUT else str(path)
    if name not in FORMATS:
        hint = " (header-less raw audio cannot be read back)" if name == "raw" else ""
        raise OutputError(f"{where}: cannot write audio format '{name or 'none'}'{hint}: "
                          f"use one of {', '.join(FORMATS)}")
    limits = FORMATS[name]
    _check_rate_channels(where, name, limits, sample_rate, channels)
    subtype, depth = _subtype(where, name, limits, depth)
    major = limits.name
    bytes_per_sample = {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}.get(subtype, 0)
    if major == "WAV" and frames * channels * bytes_per_sample > WAV_MAX_BYTES:
        major = "RF64"
    return OutputSpec(None if str(path) == STDOUT else Path(path), major, subtype, depth)


def _check_rate_channels(where: str, name: str, limits: FormatLimits, rate: int, channels: int) -> None:
    label = name.upper()
    if channels > limits.max_channels:
        raise OutputError(f"{where}: {label} holds at most {limits.max_channels} channels, the audio has "
                          f"{channels}: use .wav")
    if rate > limits.max_rate or (limits.rates and rate not in limits.rates):
        allowed = f"only {', '.join(map(str, limits.rates))} Hz" if limits.rates else \
            f"at most {limits.max_rate} Hz"
        raise OutputError(f"{where}: {label} holds {allowed}, the audio is {rate} Hz: use .flac or .wav "
                          "(or resample the input first)")


def _subtype(where: str, name: str, limits: FormatLimits, depth: str | None) -> tuple[str, str]:
    if "lossy" in limits.subtypes:
        if depth not in (None, "lossy"):
            raise OutputError(f"{where}: {name.upper()} is a lossy format, --{depth} does not apply: use .wav or .flac")
        return limits.subtypes["lossy"], "lossy"
    depth = depth or "int16"
    if depth not in limits.subtypes:
        raise OutputError(f"{where}: {name.upper()} holds integer samples only, not {depth}: "
                          "use --int24 or .wav for float32")
    return limits.subtypes[depth], depth


def check_path(path: str | os.PathLike, inputs: tuple[Path, ...] = ()) -> Path:
    """Refuse targets that can never be written, before any work: empty or too-long names, directories,
    special files, paths under a file, and any of ``inputs`` (an output never overwrites an input)."""
    text = os.fspath(path)
    if not text or text.endswith(os.sep):
        raise OutputError(f"output name {text!r} is empty: name a file, e.g. out.wav")
    path = Path(text)
    if len(path.name.encode("utf-8", "surrogateescape")) > NAME_MAX - _TMP_OVERHEAD:
        raise OutputError(f"{path.name[:40]}...: output file name too long "
                          f"(at most {NAME_MAX - _TMP_OVERHEAD} bytes)")
    if is_dir(path):
        raise OutputError(f"{path}: is a directory: name a file inside it, e.g. {path / 'out.wav'}")
    if os.path.lexists(path) and not os.path.isfile(path):
        raise OutputError(f"{path}: not a regular file (device, pipe or special file): choose another name")
    for parent in path.absolute().parents:
        if os.path.exists(parent):
            if not os.path.isdir(parent):
                raise OutputError(f"{path}: {parent} is a file, not a folder")
            break
    for source in inputs:
        if _same_file(path, source):
            raise OutputError(f"{path}: is an input of this run; tqse never overwrites an input: choose another -o")
    return path


def is_dir(path: str | os.PathLike) -> bool:
    """``Path.is_dir`` that answers False instead of raising for names the OS refuses (too long...)."""
    try:
        return os.path.isdir(path)
    except (OSError, ValueError):
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def make_parents(path: Path) -> list[Path]:
    """Create the missing folders above ``path``; returns those this call created, deepest first, for
    :func:`remove_empty` to take back when the write fails (on its own failure it takes them back itself)."""
    missing, folder = [], path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        remove_empty(missing)
        raise
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty: a failed run leaves no empty folder behind."""
    for folder in folders:
        try:
            folder.rmdir()
        except FileNotFoundError:
            continue
        except OSError:  # not empty: something else lives there now, and so in every folder above it
            return


@contextlib.contextmanager
def output_file(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write, renamed onto it on success (:func:`tqse.files.atomic_write`);
    on any failure neither the temporary file nor a folder made for it stays behind. The OS refusing the
    folder, the file or the rename is an :class:`OutputError`; errors of the writing itself pass through."""
    made: list[Path] = []
    try:
        with contextlib.ExitStack() as stack:
            try:
                made = make_parents(path)
                tmp = stack.enter_context(atomic_write(path))
            except OSError as err:
                raise _cannot_write(path, err) from None
            yield tmp
            try:
                stack.close()  # the rename
            except OSError as err:
                raise _cannot_write(path, err) from None
    except BaseException:
        remove_empty(made)
        raise


def _cannot_write(path: Path, err: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write here ({err.strerror or err})")


def preflight(path: Path) -> None:
    """Prove ``path`` can be created (folder creatable, writable) without leaving anything behind: no
    temporary file and no folder (a later check may still fail; the folders are made again when written)."""
    made: list[Path] = []
    try:
        made = make_parents(path)
        temporary_beside(path).unlink()
    except OSError as err:
        raise _cannot_write(path, err) from None
    finally:
        remove_empty(made)


# -- writing -------------------------------------------------------------------------------------------------
def extract_to_files(extractor, source: Source, outputs: list[Output], queries: torch.Tensor,
                     options: ExtractOptions, progress: Progress | None = None) -> list[Output]:
    """Stream ``source`` through ``extractor`` for every query (:func:`~tqse.extract.stream.run`) and write
    ``outputs`` (:func:`check_outputs` made them) with ``options.clip_mode``; returns ``outputs``."""
    gain = source.input_gain()
    blocks = run(extractor, source, queries, options, gain, progress)
    return write_outputs(blocks, outputs, gain=gain, clip_mode=options.clip_mode, sample_rate=source.sample_rate,
                         channels=source.channels)


def write_outputs(blocks: Iterable[Blocks], outputs: list[Output], *, gain: float, clip_mode: str,
                  sample_rate: int, channels: int) -> list[Output]:
    """Consume ``blocks`` and write every output (see module docstring); returns ``outputs``."""
    first = next((o.spec.path for o in outputs if o.spec.path is not None), None)
    try:
        made = make_parents(first) if first is not None else []
    except OSError as err:
        raise _cannot_write(first, err) from None
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
    with contextlib.ExitStack() as stack:
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
