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
