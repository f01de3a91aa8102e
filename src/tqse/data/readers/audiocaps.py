"""AudioCaps (Kim et al., NAACL 2019): official split CSVs + one audio file per clip.

CSV header (``train.csv``, ``val.csv``, ``test.csv``)::

    audiocap_id,youtube_id,start_time,caption

Train has one caption per clip; val/test have five rows (five captions) per YouTube clip, which are grouped
into one manifest line with ``captions`` (the training dataset draws one per step). Downloads name the audio
in different ways, so each clip is looked up by several stems: ``{youtube_id}``, ``Y{youtube_id}``
(AudioSet style), ``{youtube_id}_{start}`` / ``{youtube_id}_{start:06d}`` and ``{audiocap_id}``.
"""

from __future__ import annotations

import os
from typing import Any

from tqse.data.manifest import ManifestError
from tqse.data.readers.common import index_audio_files, read_csv_rows

COLUMNS = ("audiocap_id", "youtube_id", "start_time", "caption")


def _stems(audiocap_id: str, youtube_id: str, start: str) -> list[str]:
    start_int = str(int(float(start))) if start else ""
    stems = [youtube_id, f"Y{youtube_id}"]
    if start_int:
        stems += [f"{youtube_id}_{start_int}", f"{youtube_id}_{int(start_int):06d}",
                  f"Y{youtube_id}_{start_int}"]
    return stems + [audiocap_id]


def audiocaps_candidates(csv_path: str | os.PathLike, audio_dir: str | os.PathLike,
                         split: str | None = "train") -> list[dict[str, Any]]:
    """Candidate rows for :func:`build_manifest` from one AudioCaps split CSV.

    ``split`` is stored in every line (training keeps ``data.split``, default ``train``): pass ``val`` /
    ``test`` for those CSVs.

    Clips whose audio file is not found keep a non-existent path and are counted as ``missing``.
    """
    index = index_audio_files(audio_dir)
    by_clip: dict[str, dict[str, Any]] = {}
    header_checked = False
    for number, fields in read_csv_rows(csv_path, header=False):
        if not header_checked:
            header_checked = True
            if fields[:4] != list(COLUMNS):
                raise ManifestError(f"{csv_path}:{number}: expected AudioCaps header {','.join(COLUMNS)}")
            continue
        if len(fields) < 4:
            raise ManifestError(f"{csv_path}:{number}: expected 4 columns, got {len(fields)}")
        audiocap_id, youtube_id, start, caption = fields[:4]
        key = f"{youtube_id}_{start}"
        if key not in by_clip:
            path = next((index[s] for s in _stems(audiocap_id, youtube_id, start) if s in index),
                        os.path.join(str(audio_dir), f"{youtube_id}.wav"))
            by_clip[key] = {"path": path, "captions": [], "youtube_id": youtube_id,
                            "start_time": float(start) if start else 0.0}
            if split:
                by_clip[key]["split"] = split
        if caption:
            by_clip[key]["captions"].append(caption)
    return [_caption_fields(row) for row in by_clip.values()]


def _caption_fields(row: dict[str, Any]) -> dict[str, Any]:
    """One caption -> ``caption`` (the engine's single-caption key), several -> ``captions``."""
    captions = row.pop("captions")
    if len(captions) == 1:
        row["caption"] = captions[0]
    elif captions:
        row["captions"] = captions
    return row
