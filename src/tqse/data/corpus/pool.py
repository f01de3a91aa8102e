"""What the audio-only pool tier (issue 22) adds to a build: class-less clips, splits pinned to an older
tier, and the counts that say whether the pool is diverse enough.

- **Unlabelled clips.** Every usable sound no rule labels enters with ``class: null`` (audio-query
  training only). "Usable" means: not in a music folder (:data:`tqse.data.corpus.taxonomy.WIDE_EXCLUDE`),
  not excluded by a rule, at least :data:`MIN_UNLABELLED_SECONDS` long after silence trimming (UI clicks
  and blips are shorter) and at most :data:`MAX_UNLABELLED_SECONDS` (longer files in game data are music
  beds or menu loops that no rule named).
- **Pinned splits.** The pool is built beside the ``default`` tier, whose fixed ``val``/``test``/``ood``
  mixtures every shipped model is scored on. A recording (or rendered group) the older tier holds out keeps
  its split here, so training on the pool never sees those mixtures' clips.
- **Diversity counts.** Distinct recordings in train per source family (a package, a soundfont family, a
  speech engine), the share of rendered recordings, and per-class counts with and without the unlabelled
  clips (``stats.json`` -> ``pool``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from tqse.data.corpus.sources import SOUNDFONT_FAMILY
from tqse.data.manifest import iter_jsonl

MIN_UNLABELLED_SECONDS = 0.3
MAX_UNLABELLED_SECONDS = 120.0
# The diversity aims, reported (and checked by the build's summary): no source family above this
# share of the train recordings, rendered recordings at most this share.
MAX_FAMILY_SHARE = 0.20
MAX_RENDERED_SHARE = 1 / 3


def source_family(source_id: str) -> str:
    """The family a clip's ``source_id`` belongs to: its package, ``sf:<soundfont family>`` or the speech
    engine (``voice:espeak`` / ``voice:flite``)."""
    if source_id.startswith("sf:"):
        name = source_id[3:]
        return f"sf:{SOUNDFONT_FAMILY.get(name, name)}"
    if source_id.startswith("voice:"):
        return ":".join(source_id.split(":")[:2])
    return source_id


def is_rendered(row: dict) -> bool:
    """Rendered instruments, sound-effect presets and synthesized speech (not a file from a package)."""
    return row["source_id"].startswith(("sf:", "voice:"))


def pinned_splits(folder: Path, heldout: str) -> dict[str, str]:
    """Keys the older tier in ``folder`` keeps out of training -> their split there.

    Keys are recording groups (rendered and sound-effect groups alike) and ``package:path`` of every file
    in a held-out clip (with its duplicates); the older tier's ``ood`` becomes ``heldout``.
    """
    pins: dict[str, str] = {}
    for name in ("clips.jsonl", "interferers.jsonl"):
        for _, row in iter_jsonl(folder / name):
            if row["split"] == "train":
                continue
            split = heldout if row["split"] == "ood" else row["split"]
            pins[row["recording_group"]] = split
            if row.get("sha256"):
                pins[f"{row['source_id']}:{row['original']}"] = split
                pins.update({key: split for key in row.get("duplicates", [])})
    return pins


def group_pins(rows: list[dict], pins: dict[str, str]) -> dict[str, str]:
    """Split of every group of ``rows`` that holds a pinned recording or is itself pinned."""
    out: dict[str, str] = {}
    for row in rows:
        keys = [row["recording_group"]]
        if row.get("sha256"):
            keys += [f"{row['source_id']}:{row['original']}", *row.get("duplicates", [])]
        for key in keys:
            if key in pins:
                out.setdefault(row["recording_group"], pins[key])
    return out


def interleave_by_class(items: list[tuple[dict, dict, float]]) -> list[tuple[dict, dict, float]]:
    """Mixtures reordered class by class in turns (a, b, c, a, b, c, ...), so that the first N mixtures of a
    set, which training-time validation scores (``eval.max_mixtures``), cover every class evenly."""
    by_class: dict[str, list] = defaultdict(list)
    for item in items:
        by_class[item[0]["class"]].append(item)
    queues = [by_class[label] for label in sorted(by_class)]
    out = []
    for turn in range(max((len(q) for q in queues), default=0)):
        out += [q[turn] for q in queues if turn < len(q)]
    return out


def _recordings(row: dict) -> int:
    return 1 if "recordings_in_group" not in row else row["recordings_in_group"]


def diversity(rows: list[dict]) -> dict:
    """Distinct train recordings per source family and source, the rendered share and class counts.

    ``rows`` are every clip of the build (targets, interferer-only and unlabelled). A sound-effect group counts
    its distinct files once (as in :func:`tqse.data.corpus.audit.corpus_stats`); a rendered clip is one
    recording.
    """
    seen: set[tuple] = set()
    per_family: Counter = Counter()
    per_source: Counter = Counter()
    per_class: Counter = Counter()
    rendered = 0
    for row in rows:
        if row["split"] != "train":
            continue
        key = (row["recording_group"], row["class"])
        if "recordings_in_group" in row and key in seen:
            continue
        seen.add(key)
        n = _recordings(row)
        per_family[source_family(row["source_id"])] += n
        per_source[row["source_id"]] += n
        per_class[row["class"] or "(unlabelled)"] += n
        rendered += n if is_rendered(row) else 0
    total = sum(per_family.values()) or 1
    top_family, top_count = per_family.most_common(1)[0] if per_family else ("", 0)
    return {
        "train_recordings": sum(per_family.values()), "rendered_share": round(rendered / total, 3),
        "largest_family": top_family, "largest_family_share": round(top_count / total, 3),
        "per_family": dict(per_family.most_common()), "per_source": dict(per_source.most_common()),
        "per_class": dict(sorted(per_class.items())),
        "aims_met": {"family_share": top_count / total <= MAX_FAMILY_SHARE,
                     "rendered_share": rendered / total <= MAX_RENDERED_SHARE},
    }
