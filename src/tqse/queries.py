"""Checking queries before they reach an encoder: text, audio clips or embeddings, one or a list.

A query a tokenizer cannot take (a lone surrogate such as ``"dog\\ud800"`` used to raise a tokenizer
``TypeError``), an empty list, or a non-string is a :class:`~tqse.errors.QueryError` naming the query.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from tqse.audio.io import AudioError, load_audio, validate_audio
from tqse.errors import QueryError

MAX_QUERY_CHARS = 2000  # captions are a sentence; longer text is almost certainly a mistake (a file pasted)


def _as_list(value, name: str) -> tuple[list, bool]:
    if isinstance(value, (list, tuple)):
        if not value:
            raise QueryError(f"the {name} list is empty")
        return list(value), True
    return [value], False


def text_queries(text) -> tuple[list[str], bool]:
    """``text`` (a caption or a list of captions) -> (clean captions, given as a list)."""
    texts, many = _as_list(text, "text query")
    clean = []
    for i, caption in enumerate(texts):
        label = f"text query {i + 1}" if many else "the text query"
        if not isinstance(caption, str):
            raise QueryError(f"{label} must be a string, got {type(caption).__name__}")
        if not caption.strip():
            raise QueryError(f"{label} is empty")
        try:
            caption.encode("utf-8")
        except UnicodeEncodeError as err:
            raise QueryError(f"{label} contains an invalid character (U+{ord(caption[err.start]):04X} at "
                             f"position {err.start}, a lone surrogate): fix the text's encoding") from None
        if len(caption) > MAX_QUERY_CHARS:
            raise QueryError(f"{label} is {len(caption)} characters long (at most {MAX_QUERY_CHARS}): give a caption")
        clean.append(caption.strip())
    return clean, many


def audio_queries(audio_query, rate: int | None) -> tuple[list[tuple[np.ndarray, int]], bool]:
    """Paths or arrays -> list of (mono float32 clip, rate)."""
    if isinstance(audio_query, np.ndarray) or isinstance(audio_query, torch.Tensor):
        items, many = [audio_query], False
    else:
        items, many = _as_list(audio_query, "audio query")
    clips = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            clips.append(load_audio(item))
            continue
        if rate is None:
            raise QueryError("audio_query given as an array needs audio_query_rate")
        from tqse.layout import to_channels_first
        from tqse.options import sample_rate

        data, _ = to_channels_first(item, "audio query")
        wav = validate_audio(data.mean(axis=0).astype(np.float32), "audio query")
        clips.append((wav, sample_rate("audio_query_rate", rate)))
    for wav, _ in clips:
        if not np.isfinite(wav).all():
            raise AudioError("audio query: contains NaN/Inf samples")
    return clips, many


def embedding_queries(embedding) -> tuple[torch.Tensor, bool]:
    """``[D]`` or ``[Q, D]`` (numpy, torch or list) -> (``[Q, D]`` float32, given as several)."""
    try:
        array = np.asarray(embedding.detach().cpu() if isinstance(embedding, torch.Tensor) else embedding)
    except (TypeError, ValueError) as err:
        raise QueryError(f"the query embedding is not an array of numbers ({err})") from None
    if array.dtype.kind not in "fiu" or array.ndim not in (1, 2) or array.size == 0:
        raise QueryError(f"the query embedding must be a non-empty [D] or [Q, D] array of numbers, got "
                         f"shape {array.shape} dtype {array.dtype}")
    query = torch.as_tensor(array.astype(np.float32))
    if not torch.isfinite(query).all():
        raise QueryError("the query embedding contains NaN/Inf")
    return query.reshape(-1, array.shape[-1]), array.ndim == 2
