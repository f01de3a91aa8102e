"""``load_encoder(name_or_path)``: encoders by name; each entry imports its backend lazily."""

from __future__ import annotations

from typing import Callable

from tqse.query.base import QueryEncoder


def _hash(path: str | None = None, **kwargs) -> QueryEncoder:
    from tqse.query.hash_encoder import HashEncoder

    return HashEncoder(**kwargs)


ENCODERS: dict[str, Callable[..., QueryEncoder]] = {
    "hash": _hash,
}


def load_encoder(name_or_path: str, path: str | None = None, **kwargs) -> QueryEncoder:
    """Build a ready, frozen encoder.

    Args:
        name_or_path: a name in :data:`ENCODERS` (``"hash"`` is the weight-free test encoder).
        path: the user's checkpoint file or directory, for backends that need one.
    """
    if name_or_path not in ENCODERS:
        raise ValueError(f"unknown query encoder '{name_or_path}' (known: {', '.join(sorted(ENCODERS))})")
    return ENCODERS[name_or_path](path=path, **kwargs)
