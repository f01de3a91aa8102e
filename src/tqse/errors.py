"""Error types a user can act on; the CLI prints them as one line instead of a traceback.

This module imports nothing else of tqse, so every layer (audio, data, models, train) can raise these.
"""

from __future__ import annotations


class TqseError(RuntimeError):
    """Base class for tqse's own user-facing errors (bad config, missing checkpoint, empty query...).

    The message is one line that names the file or option and the problem.
    """


class ConfigError(TqseError):
    """A config file or override is invalid (unknown key, wrong type, value out of range, missing include)."""


class CheckpointError(TqseError):
    """A model directory or checkpoint is missing, incomplete, damaged or incompatible."""


class QueryError(TqseError):
    """A query is unusable (empty text, no query given, wrong embedding size)."""


class TrainingDiverged(TqseError, FloatingPointError):
    """The training loss became NaN/Inf (learning rate too high, or broken data)."""


# Both also derive from ValueError: they were ValueErrors before the hierarchy existed and callers catch them so.
class AudioError(TqseError, ValueError):
    """Bad audio input: the message names the file (or array) and what is wrong with it."""


class CorpusError(TqseError):
    """The built-in corpus cannot be built now (no disk space, ...); the message says how to resume."""


class ManifestError(TqseError, ValueError):
    """A manifest is malformed or unusable: the message names the file (and line)."""


# What the CLI reports as one line (exit status 2): tqse's own errors and the operating system's refusals
# (permission denied, disk full, a directory where a file was expected), whose messages name the path.
USER_ERRORS: tuple[type[BaseException], ...] = (TqseError, OSError)


# Extraction-side faults (issue 11 / issue 10).
class OptionError(TqseError):
    """A numeric or textual option is unusable (nan, negative, out of range, wrong type); names the option."""


class OutputError(TqseError):
    """An output target cannot hold the audio or cannot be written (format limits, path problems)."""


class DeviceError(TqseError):
    """The requested compute device does not exist or is unavailable on this machine."""


class ExtractionError(TqseError):
    """Separation produced unusable output (NaN/Inf), with the likely cause named."""
