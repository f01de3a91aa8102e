"""``load_encoder(name_or_path)``: encoders by name or by file; each entry imports its backend lazily.

Names: ``builtin`` (default, no files), ``laion`` (original ``.pt`` + roberta tokenizer folder, or a
hub-style ``ClapModel`` folder), ``hf`` (any local ``ClapModel`` folder), ``msclap`` (``CLAP_weights_2023.pth``
+ GPT-2 tokenizer folder), ``hash`` (weight-free test encoder). A path is dispatched on what it is:
``*.pt`` -> laion, ``*.pth`` -> msclap, a folder with a ``ClapModel`` ``config.json`` -> hf, a folder with
``weights.safetensors`` -> builtin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tqse.errors import CheckpointError
from tqse.query.base import QueryEncoder


def _hash(path: str | None = None, **kwargs) -> QueryEncoder:
    from tqse.query.hash_encoder import HashEncoder

    return HashEncoder(**kwargs)


def _builtin(path: str | None = None, **kwargs) -> QueryEncoder:
    from tqse.query.builtin import BuiltinEncoder

    return BuiltinEncoder(path, **kwargs)


def _laion(path: str | None = None, **kwargs) -> QueryEncoder:
    from tqse.query.laion import LaionClapEncoder

    if path is None:
        raise CheckpointError("the 'laion' encoder needs path=<.pt checkpoint or ClapModel folder> "
                              "(and tokenizer=<roberta-base tokenizer folder> for a .pt)")
    return LaionClapEncoder(path, **kwargs)


def _msclap(path: str | None = None, **kwargs) -> QueryEncoder:
    from tqse.query.msclap import MsClapEncoder

    if path is None:
        raise CheckpointError("the 'msclap' encoder needs path=<CLAP_weights_2023.pth> and "
                              "tokenizer=<GPT-2 tokenizer folder>")
    return MsClapEncoder(path, **kwargs)


ENCODERS: dict[str, Callable[..., QueryEncoder]] = {
    "builtin": _builtin,
    "laion": _laion,
    "hf": _laion,  # a ClapModel folder: same backend as a LAION conversion
    "msclap": _msclap,
    "hash": _hash,
}


def _kind_of_path(path: Path) -> str:
    if path.is_dir():
        config = path / "config.json"
        if (path / "weights.safetensors").exists():
            return "builtin"
        if config.exists():
            try:
                model_type = json.loads(config.read_text()).get("model_type")
            except (OSError, ValueError):
                model_type = None
            if model_type == "clap":
                return "hf"
        raise CheckpointError(f"{path}: not an encoder folder (expected a ClapModel config.json with "
                              "model_type 'clap', or a built-in encoder's weights.safetensors)")
    if path.suffix == ".pt":
        return "laion"
    if path.suffix == ".pth":
        return "msclap"
    raise CheckpointError(f"{path}: cannot tell which encoder this file is for (.pt = LAION-CLAP, "
                          ".pth = MS-CLAP); name the encoder explicitly")


def load_encoder(name_or_path: str, path: str | None = None, **kwargs) -> QueryEncoder:
    """Build a ready, frozen encoder.

    Args:
        name_or_path: a name in :data:`ENCODERS`, or a checkpoint file / folder (dispatched on its type).
        path: the user's checkpoint file or directory, for backends that need one.
        kwargs: backend options, e.g. ``tokenizer=`` (LAION .pt, MS-CLAP), ``trust_checkpoint=``.

    Raises:
        CheckpointError: unknown name, missing or mismatching files.
    """
    if name_or_path not in ENCODERS:
        candidate = Path(name_or_path).expanduser()
        if candidate.exists() and path is None:
            name_or_path, path = _kind_of_path(candidate), str(candidate)
        elif any(sep in name_or_path for sep in "/\\") or candidate.suffix in (".pt", ".pth"):
            raise CheckpointError(f"{candidate}: encoder checkpoint not found")
        else:
            raise CheckpointError(f"unknown query encoder '{name_or_path}' (known: {', '.join(sorted(ENCODERS))}, "
                                  "or a path to a checkpoint)")
    try:
        return ENCODERS[name_or_path](path=path, **kwargs)
    except (TypeError, ValueError, ArithmeticError) as err:  # options the backend refuses (query.encoder.kwargs)
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"query encoder '{name_or_path}' with options {kwargs}: {reason}") from None


def encoder_from_config(config: dict[str, Any]) -> QueryEncoder:
    """The encoder a model directory names: ``{"name": ..., "path": optional, "kwargs": optional}``."""
    if not isinstance(config, dict) or not isinstance(config.get("name"), str):
        raise CheckpointError(f"encoder config must be a dict with a 'name', got {config!r}")
    return load_encoder(config["name"], path=config.get("path"), **dict(config.get("kwargs") or {}))
