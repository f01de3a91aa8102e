"""Bundled examples for the page: the nine mixtures ``tqse demo`` runs (``tqse/assets/demo``: sounds people
extract, from sources no model here trained on; credits in its ``CREDITS.md``), mixtures of two CC0 fixture
clips at 0 dB, and single fixture clips as audio queries.

Each mixture is made on first use (a demo mixture is the sum of its two files; a fixture one is mixed from
``tqse/assets/fixture``, Sonic Pi's CC0 samples). The audio-query examples are recordings of the same classes
that are *not* in the fixture mixtures, so they show querying by a different example of the sound.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tqse.data.locations import fixture_dir


@dataclass(frozen=True)
class ExampleMixture:
    id: str
    label: str
    sources: tuple[str, str]  # file names; the first is the suggested target
    query: str  # a suggested text query for the first source
    demo: bool = False  # a `tqse demo` mixture (files in tqse/assets/demo) rather than a fixture pair


def _demo_mixtures() -> tuple[ExampleMixture, ...]:
    import json

    from tqse.data.demo_set import demo_dir

    rows = json.loads((demo_dir() / "mixtures.json").read_text())["mixtures"]
    return tuple(ExampleMixture(r["id"], f"{r['id']}: {r['description']}",
                                (r["target"]["file"], r["interferer"]["file"]), r["right_query"], demo=True)
                 for r in rows)


MIXTURES = {m.id: m for m in (
    *_demo_mixtures(),
    ExampleMixture("bell-piano", "bell + piano", ("perc_bell.flac", "ambi_piano.flac"), "a bell rings"),
    ExampleMixture("guitar-choir", "guitar + choir", ("guit_em9.flac", "ambi_choir.flac"), "an electric guitar strums a chord"),
    ExampleMixture("drums-glass", "drums + glass hum", ("loop_amen.flac", "ambi_glass_hum.flac"), "a drum break loop"),
)}
# Audio-query examples: id -> (fixture file, label)
QUERIES = {
    "bell": ("perc_bell2.flac", "another bell"),
    "guitar": ("guit_harmonics.flac", "guitar harmonics"),
    "drums": ("loop_breakbeat.flac", "a breakbeat"),
}


@lru_cache(maxsize=1)
def _credits() -> dict[str, str]:
    import json

    from tqse.data.demo_set import demo_dir

    lines = (fixture_dir() / "clips.jsonl").read_text().splitlines()
    credits = {row["path"]: row.get("credit", "") for row in map(json.loads, filter(None, lines))}
    for row in json.loads((demo_dir() / "mixtures.json").read_text())["mixtures"]:
        for source in (row["target"], row["interferer"]):
            credits[source["file"]] = f"{source['credit_of_file']} ({source['licence_of_file']})"
    return credits


def _clip(name: str) -> tuple[np.ndarray, int]:
    from tqse.audio.io import load_audio

    return load_audio(fixture_dir() / name)


@lru_cache(maxsize=len(MIXTURES))
def mixture_audio(example_id: str) -> tuple[np.ndarray, int]:
    """``([T] float32, rate)``: the two sources cut to the shorter, at equal RMS (0 dB), peak 0.9."""
    example = MIXTURES[example_id]
    if example.demo:
        from tqse.data.demo_set import demo_mixtures

        mixture = next(m for m in demo_mixtures() if m.id == example_id)
        return mixture.mixture.astype(np.float32), mixture.sample_rate
    (a, rate), (b, _) = (_clip(name) for name in example.sources)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    b = b * (np.sqrt(np.mean(a ** 2)) / max(np.sqrt(np.mean(b ** 2)), 1e-9))
    mix = a + b
    return (0.9 * mix / max(float(np.abs(mix).max()), 1e-9)).astype(np.float32), rate


def query_audio(example_id: str) -> tuple[np.ndarray, int]:
    return _clip(QUERIES[example_id][0])


def catalogue() -> dict:
    """The JSON the page lists (ids, labels, suggested queries, credits, URLs)."""
    credits = _credits()
    mixtures = [{"id": m.id, "label": m.label, "suggested_query": m.query, "url": f"/api/examples/mixtures/{m.id}.wav",
                 "sources": [{"file": s, "credit": credits.get(s, "")} for s in m.sources]} for m in MIXTURES.values()]
    queries = [{"id": key, "label": label, "url": f"/api/examples/queries/{key}.wav",
                "sources": [{"file": name, "credit": credits.get(name, "")}]} for key, (name, label) in QUERIES.items()]
    return {"mixtures": mixtures, "queries": queries,
            "licence": "demo mixtures: each file's own (see sources; tqse/assets/demo/CREDITS.md); fixture clips: "
                       "CC0-1.0 (Sonic Pi sample library via freesound.org)"}
