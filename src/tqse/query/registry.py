"""``load_encoder(name_or_path)``: encoders by name or by file; each entry imports its backend lazily.

Names: ``builtin`` (default, no files), ``laion`` (original ``.pt`` + roberta tokenizer folder, or a
hub-style ``ClapModel`` folder), ``hf`` (any local ``ClapModel`` folder), ``msclap`` (``CLAP_weights_2023.pth``
+ GPT-2 tokenizer folder), ``hash`` (weight-free test encoder). A path is dispatched on what it is:
``*.pt`` -> laion, ``*.pth`` -> msclap, a folder with a ``ClapModel`` ``config.json`` -> hf, a folder with
``weights.safetensors`` (or a text-side version's ``text.safetensors``) -> builtin.

Model folders name their encoder as ``{"name", "path", "kwargs", "id"}``. The built-in encoder has versions
(:data:`tqse.query.builtin.VERSIONS`): :func:`pin_encoder_spec` records the version a new model is trained with
and its ``id`` (the encoder's name, with its weights hash); :func:`legacy_encoder_spec` reads a folder written
before versions existed as version 1; :func:`encoder_from_config` refuses an encoder whose name differs from
the recorded ``id``.
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


def _builtin_version(version: int) -> Callable[..., QueryEncoder]:
    def build(path: str | None = None, **kwargs) -> QueryEncoder:
        if path is not None:
            raise CheckpointError(f"'builtin-v{version}' is a shipped encoder: it takes no path")
        return _builtin(version=version, **kwargs)
    return build


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
    "builtin": _builtin,  # the latest version; "builtin-v1"/"builtin-v2" name one
    "builtin-v1": _builtin_version(1),
    "builtin-v2": _builtin_version(2),
    "laion": _laion,
    "hf": _laion,  # a ClapModel folder: same backend as a LAION conversion
    "msclap": _msclap,
    "hash": _hash,
}


def _kind_of_path(path: Path) -> str:
    if path.is_dir():
        config = path / "config.json"
        if (path / "weights.safetensors").exists() or (path / "text.safetensors").exists():
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
    """The encoder a model directory names: ``{"name": ..., "path": optional, "kwargs": optional,
    "id": optional}``; with ``id``, the built encoder's name (weights hash) must equal it."""
    if not isinstance(config, dict) or not isinstance(config.get("name"), str):
        raise CheckpointError(f"encoder config must be a dict with a 'name', got {config!r}")
    encoder = load_encoder(config["name"], path=config.get("path"), **dict(config.get("kwargs") or {}))
    recorded = config.get("id")
    if recorded is not None and getattr(encoder, "name", None) != recorded:
        what = config["name"] + "".join(f" {k}={v}" for k, v in sorted((config.get("kwargs") or {}).items()))
        raise CheckpointError(f"this model was trained with query encoder {recorded}, but '{what}' loads "
                              f"{encoder.name} here: use the tqse version that trained it, or retrain the model")
    return encoder


def _is_shipped_builtin(spec: Any) -> bool:
    return (isinstance(spec, dict) and spec.get("name") == "builtin" and spec.get("path") is None
            and isinstance(spec.get("kwargs") or {}, dict))


def pin_encoder_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec a new model folder records: a shipped built-in encoder gains the version it resolves to
    today (``kwargs.version``) and its ``id``, so the folder keeps loading that version after the default
    moves on. Other specs are returned as they are."""
    from tqse.query.builtin import LATEST, encoder_identity, version_folder

    if not _is_shipped_builtin(spec):
        return spec
    kwargs = dict(spec.get("kwargs") or {})
    kwargs.setdefault("version", LATEST)
    pinned = {**spec, "kwargs": kwargs}
    pinned.setdefault("id", encoder_identity(version_folder(kwargs["version"]))[0])
    return pinned


def legacy_encoder_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """How a model folder's recorded encoder reads: a shipped built-in encoder recorded without a version was
    trained before versions existed, i.e. with version 1, whose name (weights hash) it then must have."""
    if not _is_shipped_builtin(spec) or "version" in (spec.get("kwargs") or {}):
        return spec
    from tqse.query.builtin import encoder_identity, version_folder

    legacy = {**spec, "kwargs": {**(spec.get("kwargs") or {}), "version": 1}}
    legacy.setdefault("id", encoder_identity(version_folder(1))[0])
    return legacy
