"""Error types a user can act on; the CLI prints them as one line instead of a traceback."""

from __future__ import annotations


class TqseError(RuntimeError):
    """Base class for tqse's own user-facing errors (bad config, missing checkpoint, empty query...)."""


class ConfigError(TqseError):
    """A config file or override is invalid (unknown key, wrong type, missing include)."""


class CheckpointError(TqseError):
    """A model directory or checkpoint is missing, incomplete or incompatible."""


class QueryError(TqseError):
    """A query is unusable (empty text, no query given, wrong embedding size)."""


def _user_errors() -> tuple[type[BaseException], ...]:
    from tqse.audio.io import AudioError
    from tqse.data.manifest import ManifestError

    return (TqseError, AudioError, ManifestError, FileNotFoundError)


USER_ERRORS = _user_errors()


# Extraction-side faults (issue 11 / issue 10); kept at the end of the module so parallel edits above merge.
class OptionError(TqseError):
    """A numeric or textual option is unusable (nan, negative, out of range, wrong type); names the option."""


class OutputError(TqseError):
    """An output target cannot hold the audio or cannot be written (format limits, path problems)."""


class DeviceError(TqseError):
    """The requested compute device does not exist or is unavailable on this machine."""


class ExtractionError(TqseError):
    """Separation produced unusable output (NaN/Inf), with the likely cause named."""
