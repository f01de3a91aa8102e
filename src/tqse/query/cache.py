"""Precomputed query embeddings, memory-mapped: with them the CLAP towers never run during training.

``tqse embed`` embeds every training clip once (and every caption), so training with the paper's
embedding-level manipulations (dropout, Gaussian noise, PCA) only reads rows from disk. Mixup and
SpecAugment change the audio *before* the tower, so they still need the encoder in the loop.

Layout (one folder per encoder, so switching encoders or weights never mixes embeddings)::

    <cache_dir>/<encoder name, sanitised>/meta.json      {"encoder": name, "dim": D, ...}
                                         /audio.npy      float32 [K_audio, D]  (memory-mapped on read)
                                         /audio_keys.json  row i -> key
                                         /text.npy, text_keys.json  (key = the caption itself)

An encoder whose audio side is another's (``audio_name``: built-in version 2 over version 1) takes that
encoder's cached audio rows with :func:`share_audio` instead of embedding the clips again.

An audio key is the clip's content hash (its manifest ``sha256`` when present, else the file's) plus the
crop length; the encoder name already carries its weights hash. Trade-off: training draws a *random*
crop of each target clip, but the cache holds the embedding of the clip's deterministic centre crop, so
the query describes the whole clip's centre rather than the exact excerpt being separated. For
single-event clips of a few seconds that matters little; for long, changing recordings prefer a crop equal
to the training segment length or disable the cache.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from tqse.audio.io import load_audio
from tqse.data.manifest import ClipRecord, audio_cache_key
from tqse.errors import QueryError
from tqse.files import atomic_write
from tqse.query.base import QueryEncoder, fit_length


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def encoder_folder(cache_dir: str | os.PathLike, encoder_name: str) -> Path:
    """The folder of one encoder's embeddings under ``cache_dir``; ``~`` is expanded here, once for every
    caller, because a config's ``query.cache_dir`` ("~/.cache/...") reaches the cache unexpanded by any shell."""
    return Path(cache_dir).expanduser() / _safe(encoder_name)


def crop_clip(wav: np.ndarray, sample_rate: int, crop_seconds: float | None) -> np.ndarray:
    """The deterministic crop the cache embeds: centre crop (or tiling) to ``crop_seconds``."""
    if crop_seconds is None:
        return wav
    return fit_length(torch.from_numpy(wav), int(round(crop_seconds * sample_rate))).numpy()


class _Table:
    """One memory-mapped ``[K, D]`` array plus its key index."""

    def __init__(self, folder: Path, kind: str):
        self.array_path, self.keys_path = folder / f"{kind}.npy", folder / f"{kind}_keys.json"
        self.keys: list[str] = json.loads(self.keys_path.read_text()) if self.keys_path.exists() else []
        self.rows = {k: i for i, k in enumerate(self.keys)}
        self.array = np.load(self.array_path, mmap_mode="r") if self.keys else None
        if self.array is not None and len(self.array) != len(self.keys):
            raise QueryError(f"{self.array_path}: {len(self.array)} rows but {len(self.keys)} keys; "
                             "the cache is corrupt, rebuild it with `tqse embed`")

    def get(self, keys: list[str], what: str) -> torch.Tensor:
        missing = [k for k in keys if k not in self.rows]
        if missing:
            raise QueryError(f"{self.array_path.parent}: {len(missing)} {what} not in the embedding cache "
                             f"(e.g. {missing[0]!r}); run `tqse embed` on this data first")
        return torch.from_numpy(np.stack([self.array[self.rows[k]] for k in keys]).astype(np.float32))

    def write(self, new_keys: list[str], new_rows: np.ndarray) -> None:
        """Append rows atomically (array first, keys last: a reader never sees keys without rows)."""
        old = np.asarray(self.array) if self.array is not None else np.zeros((0, new_rows.shape[1]), np.float32)
        merged = np.concatenate([old, new_rows.astype(np.float32)])
        with atomic_write(self.array_path, suffix=".npy") as tmp:
            np.save(tmp, merged)
        with atomic_write(self.keys_path) as tmp:
            tmp.write_text(json.dumps(self.keys + new_keys))
        self.__init__(self.array_path.parent, self.array_path.stem)


class EmbeddingCache:
    """Read access to one encoder's cached embeddings (see module docstring)."""

    def __init__(self, folder: Path, encoder_name: str):
        self.folder, self.encoder_name = folder, encoder_name
        self._audio, self._text = _Table(folder, "audio"), _Table(folder, "text")

    @classmethod
    def open(cls, cache_dir: str | os.PathLike, encoder_name: str) -> "EmbeddingCache":
        folder = encoder_folder(cache_dir, encoder_name)
        meta = folder / "meta.json"
        if not meta.exists():
            raise QueryError(f"{folder}: no embedding cache for encoder '{encoder_name}'; "
                             f"run `tqse embed --encoder ... --out {cache_dir}` first")
        recorded = json.loads(meta.read_text()).get("encoder")
        if recorded != encoder_name:
            raise QueryError(f"{folder}: cache was built for encoder '{recorded}', not '{encoder_name}'")
        return cls(folder, encoder_name)

    def has_audio(self, key: str) -> bool:
        return key in self._audio.rows

    def has_text(self, caption: str) -> bool:
        return caption in self._text.rows

    def audio(self, keys: list[str]) -> torch.Tensor:
        """``[B]`` audio keys (:func:`audio_cache_key`) -> ``[B, D]`` float32."""
        return self._audio.get(list(keys), "audio clips")

    def text(self, captions: list[str]) -> torch.Tensor:
        """``[B]`` captions -> ``[B, D]`` float32."""
        return self._text.get(list(captions), "captions")

    def __len__(self) -> int:
        return len(self._audio.keys)

    def subset(self, out_dir: str | os.PathLike, audio_keys: Iterable[str], captions: Iterable[str]) -> tuple[list, list]:
        """Write the rows of ``audio_keys`` and ``captions`` that this cache holds into a new cache under
        ``out_dir`` (same layout and encoder name); returns the (audio keys, captions) it does not hold."""
        folder = encoder_folder(out_dir, self.encoder_name)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").write_text((self.folder / "meta.json").read_text())
        missing = []
        for table, wanted in ((self._audio, audio_keys), (self._text, captions)):
            wanted = list(dict.fromkeys(wanted))
            held = [k for k in wanted if k in table.rows]
            if held:
                _Table(folder, table.array_path.stem).write(held, np.stack([table.array[table.rows[k]] for k in held]))
            missing.append([k for k in wanted if k not in table.rows])
        return missing[0], missing[1]


class CachedEncoder:
    """A query encoder that only reads the embedding cache: training and validation by text (and training
    by cached audio) with no encoder weights on the machine, e.g. a GPU machine without the text tower.

    ``embed_audio`` raises: mixup, SpecAugment and audio-query validation need the real encoder.
    """

    def __init__(self, cache: EmbeddingCache):
        self.cache, self.name = cache, cache.encoder_name
        self.dim = int(json.loads((cache.folder / "meta.json").read_text())["dim"])

    @classmethod
    def open(cls, cache_dir: str | os.PathLike, encoder_name: str | None = None) -> "CachedEncoder":
        """The cache of ``encoder_name``, or the only encoder cached under ``cache_dir``."""
        if encoder_name is None:
            names = [json.loads(m.read_text())["encoder"] for m in sorted(Path(cache_dir).expanduser().glob("*/meta.json"))]
            if len(names) != 1:
                raise QueryError(f"{cache_dir}: expected the cache of exactly one encoder, found {len(names)}"
                                 + (f" ({', '.join(names)})" if names else ""))
            encoder_name = names[0]
        return cls(EmbeddingCache.open(cache_dir, encoder_name))

    def embed_text(self, texts: list[str]) -> torch.Tensor:
        return self.cache.text(list(texts))

    def embed_audio(self, wav, sample_rate: int) -> torch.Tensor:
        raise QueryError(f"{self.cache.folder}: this run reads queries from the embedding cache only; mixup, "
                         "SpecAugment and audio-query validation need the encoder itself")


def _batches(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _embed_clips(encoder: QueryEncoder, clips: list[ClipRecord], sample_rate: int,
                 crop_seconds: float | None) -> np.ndarray:
    wavs = [crop_clip(load_audio(c.path, sample_rate)[0], sample_rate, crop_seconds) for c in clips]
    if len({len(w) for w in wavs}) == 1:
        return encoder.embed_audio(np.stack(wavs), sample_rate).cpu().numpy()
    # Uneven lengths (crop_seconds=None): embed one by one rather than pad, so each row is its clip alone.
    return np.concatenate([encoder.embed_audio(w[None], sample_rate).cpu().numpy() for w in wavs])


FLUSH_EVERY = 256


def build_cache(encoder: QueryEncoder, clips: list[ClipRecord], cache_dir: str | os.PathLike,
                sample_rate: int, crop_seconds: float | None, batch_size: int = 16,
                progress: bool = False, captions: Iterable[str] = ()) -> EmbeddingCache:
    """Embed every clip (its deterministic crop) and every caption not cached yet; returns the cache.

    Args:
        captions: texts to embed besides the clips' own captions (class templates, evaluation queries).
        sample_rate: rate the clips are loaded at (the training rate); the encoder resamples from it.
        crop_seconds: crop length of the training targets (``None`` = whole clip).
    """
    share_audio(cache_dir, encoder)  # a text-side version over a cached encoder embeds only its captions
    folder = encoder_folder(cache_dir, encoder.name)
    folder.mkdir(parents=True, exist_ok=True)
    meta = folder / "meta.json"
    if not meta.exists():
        meta.write_text(json.dumps({"encoder": encoder.name, "dim": encoder.dim}) + "\n")
    cache = EmbeddingCache.open(cache_dir, encoder.name)
    todo: dict[str, ClipRecord] = {}
    for clip in clips:
        key = audio_cache_key(clip, crop_seconds)
        if not cache.has_audio(key):
            todo.setdefault(key, clip)
    captions = sorted({c for clip in clips for c in clip.captions} | set(captions))
    captions = [c for c in captions if not cache.has_text(c)]
    bar = _progress(len(todo) + len(captions), progress)
    # written every FLUSH_EVERY clips: a killed embedding pass over a large pool keeps what it had done
    done, rows = [], []
    for chunk in _batches(list(todo), batch_size):
        rows.append(_embed_clips(encoder, [todo[k] for k in chunk], sample_rate, crop_seconds))
        done += chunk
        bar.update(len(chunk))
        if len(done) >= FLUSH_EVERY:
            cache._audio.write(done, np.concatenate(rows))
            done, rows = [], []
    if done:
        cache._audio.write(done, np.concatenate(rows))
    text_rows = []
    for chunk in _batches(captions, max(batch_size, 64)):
        text_rows.append(encoder.embed_text(chunk).cpu().numpy())
        bar.update(len(chunk))
    if captions:
        cache._text.write(captions, np.concatenate(text_rows))
    bar.close()
    return EmbeddingCache.open(cache_dir, encoder.name)


def share_audio(cache_dir: str | os.PathLike, encoder: QueryEncoder) -> int:
    """Give ``encoder``'s cache folder the audio embeddings already cached for the encoder whose audio side it
    shares (``encoder.audio_name``: built-in version 2 -> version 1, bit-identical audio embeddings), hard-linked
    (copied where links are impossible); captions are never shared. Returns the rows shared (0 when there is
    nothing to share, or the folder already has audio). Then ``build_cache`` only embeds the captions."""
    audio_name = getattr(encoder, "audio_name", None)
    source = encoder_folder(cache_dir, audio_name or "")
    target = encoder_folder(cache_dir, encoder.name)
    if not audio_name or audio_name == encoder.name or not (source / "audio_keys.json").exists():
        return 0
    if (target / "audio_keys.json").exists():
        return 0
    EmbeddingCache.open(cache_dir, audio_name)  # a complete cache of the right encoder, or a clear error
    target.mkdir(parents=True, exist_ok=True)
    meta = json.loads((source / "meta.json").read_text())
    for name in ("audio.npy", "audio_keys.json"):  # keys last: a reader never sees keys without rows
        tmp = target / f".{name}.tmp"
        tmp.unlink(missing_ok=True)
        try:
            os.link(source / name, tmp)
        except OSError:
            shutil.copyfile(source / name, tmp)
        os.replace(tmp, target / name)
    if not (target / "meta.json").exists():
        (target / "meta.json").write_text(json.dumps({**meta, "encoder": encoder.name, "audio_from": audio_name}) + "\n")
    return len(json.loads((target / "audio_keys.json").read_text()))


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, unit="item", desc="embedding")
