"""JSONL manifests: one single-source clip (or one fixed mixture) per line.

Clip lines (written by every reader: AudioCaps, Clotho, VGGSound, folders, shards, the built-in corpus)::

    {"path": "clips/dog_01.flac",          # relative to the manifest's folder, or absolute
     "caption": "a dog barks twice",       # optional; or "captions": [...] (one drawn per step)
     "class": "dog",                       # optional class label (enables different-class interferers)
     "dataset": "audiocaps",               # optional; per-dataset query modality keys on it
     "embedding_key": "...",               # optional; key into a precomputed embedding cache
     "frames": 320000, "sample_rate": 32000}   # optional header cache (read from the file if missing)

Any other keys (split, source, licence, ...) are kept in ``ClipRecord.extra``.

Mixture lines (fixed evaluation sets)::

    {"mixture": ..., "target": ..., "interferer": ..., "snr_db": 1.3, "class": ..., "caption": ...,
     "class_caption": "this is the sound of dog"}
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from tqse.errors import ManifestError  # noqa: F401 - re-exported: `from tqse.data.manifest import ManifestError`
from tqse.files import atomic_write, file_sha256

CLIP_KEYS = {"path", "caption", "captions", "class", "dataset", "embedding_key", "frames", "sample_rate"}


@dataclass
class ClipRecord:
    path: str
    captions: list[str] = field(default_factory=list)
    label: str | None = None
    dataset: str = "default"
    embedding_key: str | None = None
    frames: int | None = None
    sample_rate: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, relative_to: str | os.PathLike | None = None) -> dict[str, Any]:
        path = self.path
        if relative_to is not None:
            path = os.path.relpath(path, relative_to)
        out: dict[str, Any] = {"path": path}
        if len(self.captions) == 1:
            out["caption"] = self.captions[0]
        elif self.captions:
            out["captions"] = list(self.captions)
        optional = {"class": self.label, "embedding_key": self.embedding_key, "frames": self.frames,
                    "sample_rate": self.sample_rate}
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.dataset != "default":
            out["dataset"] = self.dataset
        out.update(self.extra)
        return out


@functools.lru_cache(maxsize=1 << 16)
def _content_hash(path: str, mtime_ns: int, size: int) -> str:  # noqa: ARG001 - stat fields key the memo
    return file_sha256(path)


def audio_cache_key(clip: ClipRecord, crop_seconds: float | None) -> str:
    """Key of ``clip``'s deterministic crop in an embedding cache (:mod:`tqse.query.cache`): content hash + crop
    length (``None`` = whole clip).

    A manifest ``embedding_key`` is used verbatim (the user manages it); otherwise the manifest's
    ``clip_sha256`` (the built-in corpus: this clip's file) or ``sha256`` field saves reading the file.
    """
    if clip.embedding_key:
        return clip.embedding_key
    digest = clip.extra.get("clip_sha256") or clip.extra.get("sha256")
    if not digest:
        st = os.stat(clip.path)
        digest = _content_hash(str(clip.path), st.st_mtime_ns, st.st_size)
    crop = "full" if crop_seconds is None else f"{float(crop_seconds):g}s"
    return f"{digest[:32]}-{crop}"


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line, with errors naming file and line."""
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path}: manifest not found")
    if path.is_dir():
        raise ManifestError(f"{path}: is a directory, not a manifest")
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ManifestError(f"{path}:{number}: not UTF-8 text (a binary file?)") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ManifestError(f"{path}:{number}: not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict):
                raise ManifestError(f"{path}:{number}: expected a JSON object")
            yield number, obj


def _resolve(base: Path, value: str) -> str:
    return value if os.path.isabs(value) else str((base / value).resolve())


def check_text(value: Any, where: str, key: str) -> None:
    """Refuse text no tokenizer can take: JSON may carry lone UTF-16 surrogates (``"\\ud800"``), which are not
    Unicode characters and make tokenizers fail deep inside with a ``TypeError``."""
    if value is None:
        return
    if not isinstance(value, str):
        raise ManifestError(f"{where}: '{key}' must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ManifestError(f"{where}: '{key}' contains an invalid character (lone surrogate at {err.start})") from None


def parse_clip(obj: dict[str, Any], base: Path, where: str, dataset: str | None = None) -> ClipRecord:
    if "path" not in obj or not isinstance(obj["path"], str):
        raise ManifestError(f"{where}: clip line has no 'path'")
    captions = obj.get("captions") or ([obj["caption"]] if obj.get("caption") else [])
    if not isinstance(captions, list) or not all(isinstance(c, str) for c in captions):
        raise ManifestError(f"{where}: 'captions' must be a list of strings")
    for caption in captions:
        check_text(caption, where, "caption")
    for key in ("frames", "sample_rate"):  # a header cache: wrong values would be trusted when cropping
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ManifestError(f"{where}: '{key}' must be a positive integer, not {value!r}")
    label = obj.get("class")
    if label is not None and not isinstance(label, (str, int, float)) or isinstance(label, bool):
        raise ManifestError(f"{where}: 'class' must be a text (or a number, or null), not {type(label).__name__}")
    for key in ("class", "dataset", "path"):  # labels may be numbers in some datasets: only text is checked
        if isinstance(obj.get(key), str):
            check_text(obj[key], where, key)
    return ClipRecord(
        path=_resolve(base, obj["path"]),
        captions=captions,
        label=obj.get("class"),
        dataset=dataset or obj.get("dataset") or "default",
        embedding_key=obj.get("embedding_key"),
        frames=obj.get("frames"),
        sample_rate=obj.get("sample_rate"),
        extra={k: v for k, v in obj.items() if k not in CLIP_KEYS},
    )


def read_clips(path: str | os.PathLike, dataset: str | None = None,
               split: str | None = None) -> list[ClipRecord]:
    """Read a clip manifest; ``dataset`` overrides the per-line dataset name, ``split`` keeps the lines of that
    split (lines without a ``split`` field belong to every split: a plain list of clips is all training data)."""
    base = Path(path).resolve().parent
    clips = []
    for number, obj in iter_jsonl(path):
        if split is not None and obj.get("split", split) != split:
            continue
        clips.append(parse_clip(obj, base, f"{path}:{number}", dataset))
    if not clips:
        raise ManifestError(f"{path}: no clips" + (f" with split '{split}'" if split else ""))
    return clips


def classes_at(labels: Iterable[str], half: str) -> set[str]:
    """The classes at even (``half="even"``) or odd positions of the sorted distinct ``labels``: a fixed,
    data-independent split of a taxonomy into two halves (the AV experiment, ``data.class_subset``)."""
    return set(sorted(set(labels))[0 if half == "even" else 1::2])


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically (temporary file + rename); returns the number of lines."""
    count = 0
    with atomic_write(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> None:
    """Write one JSON document atomically (temporary file + rename): a kill never leaves half a file."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=indent, ensure_ascii=False), encoding="utf-8")


@dataclass
class MixtureRecord:
    mixture: str
    target: str
    interferer: str | None
    snr_db: float | None
    label: str | None
    caption: str | None
    class_caption: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def query(self, field_name: str) -> str:
        """The text query of this mixture for ``field_name`` in {caption, class_caption}, or
        ``interferer_class_caption``: the class template of the *interferer*, the wrong-query control (a
        model that listens to its query must score far lower with it)."""
        if field_name == WRONG_QUERY_FIELD:
            other = self.extra.get("interferer_class")
            text = CLASS_TEMPLATE.format(other) if other else None
        else:
            text = getattr(self, field_name, None)
        if not text:
            raise ManifestError(f"{self.mixture}: mixture has no '{field_name}' to use as query")
        return text

    def louder_source(self) -> str:
        """The file of the louder of the two sources (the target at an SNR >= 0 dB, else the interferer): what a
        query-free model is trained to return (``train.objective=louder``)."""
        if self.snr_db is None or (self.snr_db < 0 and not self.interferer):
            raise ManifestError(f"{self.mixture}: the louder source needs the mixture's 'snr_db' and 'interferer'")
        return self.target if self.snr_db >= 0 else self.interferer


CLASS_TEMPLATE = "this is the sound of {}"  # the paper's query for data with labels but no captions
WRONG_QUERY_FIELD = "interferer_class_caption"
# not text: the target's own audio as the query, the condition audio-query rows train on (a model that learnt to
# separate by audio but not by text scores well with it and poorly with captions: the modality gap, measured)
TARGET_AUDIO_FIELD = "target_audio"
MIXTURE_KEYS = {"mixture", "target", "interferer", "snr_db", "class", "caption", "class_caption"}


def read_mixtures(path: str | os.PathLike) -> list[MixtureRecord]:
    """Read a fixed-mixture manifest (paths relative to the manifest's folder)."""
    base = Path(path).resolve().parent
    rows = []
    for number, obj in iter_jsonl(path):
        for key in ("mixture", "target"):
            if not isinstance(obj.get(key), str):
                raise ManifestError(f"{path}:{number}: mixture line has no '{key}'")
        for key in ("caption", "class_caption"):
            check_text(obj.get(key), f"{path}:{number}", key)
        rows.append(MixtureRecord(
            mixture=_resolve(base, obj["mixture"]),
            target=_resolve(base, obj["target"]),
            interferer=_resolve(base, obj["interferer"]) if obj.get("interferer") else None,
            snr_db=obj.get("snr_db"),
            label=obj.get("class"),
            caption=obj.get("caption"),
            class_caption=obj.get("class_caption"),
            extra={k: v for k, v in obj.items() if k not in MIXTURE_KEYS},
        ))
    if not rows:
        raise ManifestError(f"{path}: no mixtures")
    return rows
