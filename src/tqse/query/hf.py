"""Offline loading helpers shared by the encoder backends (files, tokenizers, checkpoints).

Why these exist (each found by running the real packages offline; ``docs/ENCODERS.md`` has the backend notes):

* the Hugging Face hub must never be contacted: a missing file has to fail at once with a message naming
  it, not hang on a connection (``HF_HUB_OFFLINE=1`` is set before ``transformers`` is imported);
* transformers 5 silently returns a 5-token tokenizer when the vocabulary files are not found, so every
  tokenizer is checked against the vocabulary size its text tower expects;
* ``torch.load`` runs pickled code unless ``weights_only=True``; we try that first and only fall back
  when the caller passes an explicit ``trust_checkpoint=True``;
* msclap loads with ``strict=False``, which hides missing weights: every backend checks the key sets.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Iterable

import torch

from tqse.errors import CheckpointError
from tqse.files import file_sha256


def set_hub_offline() -> None:
    """Make the Hugging Face libraries fail fast instead of reaching for the network.

    ``huggingface_hub`` reads these once at import, so this runs before any ``transformers`` import in
    the backends; loading always passes ``local_files_only=True`` as well.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def require_file(path: str | os.PathLike, what: str, hint: str = "") -> Path:
    """Return ``Path(path)`` if it exists, else raise :class:`CheckpointError` naming it and what it is."""
    p = Path(path).expanduser()
    if not p.exists():
        raise CheckpointError(f"{p}: {what} not found" + (f" ({hint})" if hint else ""))
    return p


def dir_sha256(path: str | os.PathLike, patterns: Iterable[str] = ("*.safetensors", "*.bin", "*.json",
                                                                    "*.txt", "*.model")) -> str:
    """Hash of every weight/config file in a directory (name + content), for the encoder ``name``."""
    h = hashlib.sha256()
    files = sorted({f for pat in patterns for f in Path(path).glob(pat) if f.is_file()})
    for f in files:
        h.update(f.name.encode())
        h.update(file_sha256(f).encode())
    return h.hexdigest()


def torch_load(path: str | os.PathLike, trust_checkpoint: bool = False) -> Any:
    """``torch.load`` on CPU with ``weights_only=True``; pickled objects need ``trust_checkpoint=True``.

    Raises:
        CheckpointError: the file is missing, corrupt, or needs the unsafe loader without the opt-in.
    """
    path = require_file(path, "checkpoint")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises UnpicklingError, RuntimeError, EOFError...
        safe_error = err
    if not trust_checkpoint:
        raise CheckpointError(
            f"{path}: cannot be read with torch.load(weights_only=True) ({type(safe_error).__name__}: "
            f"{str(safe_error).splitlines()[0][:200]}). If you trust this file, pass trust_checkpoint=True "
            f"(CLI: --trust-checkpoint) to allow the pickle loader, which can run code from the file.")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(err).__name__}: {err})") from None


def check_keys(missing: Iterable[str], unexpected: Iterable[str], where: str,
               ignore: re.Pattern[str] | None = None) -> None:
    """Raise :class:`CheckpointError` if any key outside ``ignore`` is missing or unexpected."""
    missing = [k for k in missing if not (ignore and ignore.search(k))]
    unexpected = [k for k in unexpected if not (ignore and ignore.search(k))]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {', '.join(unexpected[:3])})")
        raise CheckpointError(f"{where}: checkpoint does not match the model: " + "; ".join(parts))


def check_tokenizer(tokenizer: Any, expected_size: int | None, where: str, probe: str = "a dog barks") -> None:
    """Reject a tokenizer that lost its vocabulary (transformers 5 returns one silently).

    Args:
        expected_size: rows of the text tower's token-embedding matrix; ``None`` only checks that
            ordinary words survive tokenisation.
    """
    size = len(tokenizer)
    ids = tokenizer(probe, add_special_tokens=False)["input_ids"]
    unk = getattr(tokenizer, "unk_token_id", None)
    if size <= 16 or not ids or all(i == unk for i in ids):
        raise CheckpointError(f"{where}: tokenizer has lost its vocabulary ({size} tokens; '{probe}' -> {ids}); "
                              "point to the folder holding vocab.json + merges.txt (or vocab.txt / tokenizer.json)")
    if expected_size is not None and size > expected_size:
        raise CheckpointError(f"{where}: tokenizer has {size} tokens but the text tower only embeds "
                              f"{expected_size}: wrong tokenizer for this checkpoint")


def state_dict_of(obj: Any, where: str, keys: tuple[str, ...] = ("state_dict", "model")) -> dict[str, torch.Tensor]:
    """The tensor dict inside a loaded checkpoint (plain dict, or nested under one of ``keys``)."""
    if isinstance(obj, dict):
        for k in keys:
            if isinstance(obj.get(k), dict):
                obj = obj[k]
                break
    if not isinstance(obj, dict) or not any(torch.is_tensor(v) for v in obj.values()):
        raise CheckpointError(f"{where}: no state dict found (expected a dict of tensors, "
                              f"optionally under {' or '.join(repr(k) for k in keys)})")
    return {k: v for k, v in obj.items() if torch.is_tensor(v)}


def pooled(output: Any) -> torch.Tensor:
    """transformers 4.x returns a tensor from ``get_*_features``, 5.x a ModelOutput with ``pooler_output``."""
    return output if torch.is_tensor(output) else output.pooler_output
