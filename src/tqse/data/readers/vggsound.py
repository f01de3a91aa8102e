"""VGGSound (Chen et al., ICASSP 2020): ``vggsound.csv`` without header, one clip per row::

    youtube_id,start_seconds,label,split        e.g.  ---g-f_I2yQ,1,people marching,test

Audio files are looked up as ``{youtube_id}_{start:06d}`` (the layout of the official release and of
AudioSep's VGGSound test set), ``{youtube_id}_{start}`` or ``{youtube_id}``. Video containers (.mp4) must
be converted to audio first (``ffmpeg -i X.mp4 -ac 1 X.flac``): libsndfile reads audio files only.

Each clip gets ``class`` = label and ``caption`` = "this is the sound of {label}" (the paper's text query).
Clips whose YouTube id also occurs in AudioSet are removed when an AudioSet id list is given, as in the
paper (AudioSet is used as an evaluation set, so VGGSound training clips must not overlap it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from tqse.data.manifest import ManifestError
from tqse.data.readers.common import index_audio_files, read_csv_rows

log = logging.getLogger(__name__)
CAPTION_TEMPLATE = "this is the sound of {label}"
YOUTUBE_ID_LENGTH = 11


def read_audioset_ids(path: str | os.PathLike) -> set[str]:
    """YouTube ids from an AudioSet list: one id per line, or AudioSet's segment CSVs
    (``YTID, start_seconds, end_seconds, positive_labels`` with ``#`` comment lines).

    A leading ``Y`` added by AudioSet downloaders (12-character ``Y<id>``) is removed.
    """
    path = Path(path)
    if not path.exists():
        raise ManifestError(f"{path}: AudioSet id list not found")
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        first = line.split(",")[0].strip()
        first = os.path.splitext(first)[0] if first.endswith((".wav", ".flac")) else first
        if len(first) == YOUTUBE_ID_LENGTH + 1 and first.startswith("Y"):
            first = first[1:]
        ids.add(first)
    return ids


def vggsound_candidates(csv_path: str | os.PathLike, audio_dir: str | os.PathLike, *,
                        split: str | None = "train",
                        audioset_ids: set[str] | None = None) -> tuple[list[dict[str, Any]], int]:
    """Candidate rows for :func:`build_manifest` and the number of clips removed as AudioSet overlap.

    Args:
        split: keep only rows of this split (``train`` / ``test``); ``None`` keeps all.
        audioset_ids: YouTube ids to exclude (see :func:`read_audioset_ids`).
    """
    index = index_audio_files(audio_dir)
    rows, removed = [], 0
    for number, fields in read_csv_rows(csv_path, header=False):
        if len(fields) < 4:
            raise ManifestError(f"{csv_path}:{number}: expected youtube_id,start,label,split")
        youtube_id, start, label, row_split = fields[:4]
        if not start.lstrip("-").isdigit():
            if number == 1:  # tolerate a header line some mirrors add
                continue
            raise ManifestError(f"{csv_path}:{number}: start '{start}' is not an integer")
        if split is not None and row_split != split:
            continue
        if audioset_ids and youtube_id in audioset_ids:
            removed += 1
            continue
        stems = (f"{youtube_id}_{int(start):06d}", f"{youtube_id}_{int(start)}", youtube_id)
        path = next((index[s] for s in stems if s in index),
                    os.path.join(str(audio_dir), f"{stems[0]}.flac"))
        rows.append({"path": path, "class": label, "caption": CAPTION_TEMPLATE.format(label=label),
                     "youtube_id": youtube_id, "start_time": int(start), "split": row_split})
    if audioset_ids is not None:
        log.info("%s: removed %d clips that also occur in AudioSet", csv_path, removed)
    return rows, removed
