"""Clotho v2 (Drossos et al., ICASSP 2020): captions CSV with five captions per clip.

CSV header (``clotho_captions_{development,validation,evaluation}.csv``)::

    file_name,caption_1,caption_2,caption_3,caption_4,caption_5

Audio files are named by ``file_name`` inside the split's audio folder (``clotho_audio_development/``...).
Each manifest line carries all five as ``captions``; the training dataset draws one at random per step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tqse.data.manifest import ManifestError
from tqse.data.readers.common import read_csv_rows


def clotho_candidates(csv_path: str | os.PathLike, audio_dir: str | os.PathLike,
                      split: str | None = "train") -> list[dict[str, Any]]:
    """Candidate rows for :func:`build_manifest` from a Clotho captions CSV (``split`` stored per line)."""
    rows: list[dict[str, Any]] = []
    header: list[str] | None = None
    for number, fields in read_csv_rows(csv_path, header=False):
        if header is None:
            header = fields
            if not header or header[0] != "file_name" or not any(h.startswith("caption") for h in header):
                raise ManifestError(f"{csv_path}:{number}: expected Clotho header file_name,caption_1..5")
            caption_cols = [i for i, h in enumerate(header) if h.startswith("caption")]
            continue
        if len(fields) < len(header):
            raise ManifestError(f"{csv_path}:{number}: expected {len(header)} columns, got {len(fields)}")
        captions = [fields[i] for i in caption_cols if fields[i]]
        row: dict[str, Any] = {"path": str(Path(audio_dir) / fields[0]), "captions": captions}
        if split:
            row["split"] = split
        rows.append(row)
    if header is None:
        raise ManifestError(f"{csv_path}: empty CSV")
    return rows
