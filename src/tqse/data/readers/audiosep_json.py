"""AudioSep's JSON datafile format (``datafiles/template.json`` in Audio-AGI/AudioSep)::

    {"data": [{"wav": "path/to/clip.wav", "caption": "a dog barks"}, ...]}

AudioSep resolves relative ``wav`` paths against its working directory; here they are resolved against
``base`` (default: the JSON file's folder) so a manifest does not depend on where the command ran.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tqse.data.manifest import ManifestError


def audiosep_json_candidates(json_path: str | os.PathLike,
                             base: str | os.PathLike | None = None,
                             split: str | None = "train") -> list[dict[str, Any]]:
    """Candidate rows for :func:`build_manifest` from one AudioSep datafile (``split`` stored per line)."""
    json_path = Path(json_path)
    if not json_path.exists():
        raise ManifestError(f"{json_path}: datafile not found")
    try:
        obj = json.loads(json_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ManifestError(f"{json_path}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise ManifestError(f"{json_path}: expected an object with a 'data' list (AudioSep datafile)")
    root = Path(base) if base is not None else json_path.resolve().parent
    rows = []
    for i, item in enumerate(obj["data"]):
        if not isinstance(item, dict) or not isinstance(item.get("wav"), str):
            raise ManifestError(f"{json_path}: data[{i}] has no 'wav' path")
        path = item["wav"] if os.path.isabs(item["wav"]) else str(root / item["wav"])
        row: dict[str, Any] = {"path": path}
        if item.get("caption"):
            row["caption"] = str(item["caption"])
        if split:
            row["split"] = split
        rows.append(row)
    return rows
