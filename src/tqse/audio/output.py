"""Output targets: is the format able to hold this audio, can the path be written, and atomic, clean writes.

Everything here runs *before* any processing (:func:`output_spec` and :func:`preflight`) so a format limit or
a bad path costs nothing, and libsndfile never sees a combination it cannot take: it crashes (SIGSEGV) when
asked for Ogg Vorbis above ~200 kHz, and raises bare errors for MP3 above 48 kHz or FLAC above 8 channels.
:func:`output_file` writes through the one atomic write (:func:`tqse.files.atomic_write`): whatever fails, the
temporary file is removed and the target is either the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tqse.errors import OutputError
from tqse.files import atomic_write, temporary_beside

STDOUT = "-"
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
