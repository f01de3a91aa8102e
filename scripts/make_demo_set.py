"""Build the committed demo set (``src/tqse/assets/demo/``) from a built ``pool`` corpus tier; ``tqse demo`` plays it.

    tqse corpus build --tier pool          # once (issue 22's tier; its `unseen` split is what this reads)
    python scripts/make_demo_set.py        # writes src/tqse/assets/demo/{*.flac,mixtures.json,CREDITS.md}

The rule (fixed before any model scored a mixture, and never changed because of a score):

1. **Scenarios** (:data:`SCENARIOS`): one per kind of extraction issue 25 names (a voice over traffic or
   music, a dog or birds in a street, an instrument in a band, an alarm or bell over speech, rain or water
   under speech), each naming a source family and a class for the target and for the interferer, a natural
   caption of each (the right query and the wrong query) and what to call each sound in a sentence.
2. **Candidates**: clips of the pool tier's ``unseen`` split (source families no model of this repository
   trains on) of that family and class, whose licence allows redistribution (:func:`redistributable`), not
   already used by an earlier scenario, sharing no recording with any clip outside ``unseen``, and (when the
   ``default`` tier is built) from no source family or file the ``default`` tier trains on.
3. **Clip and excerpt**: at 16 kHz mono, the candidate and 8-s window (0.5-s steps) with the largest share of
   active 50-ms frames (within 30 dB of the clip's loudest frame), so that each sound is present throughout;
   ties go to the earlier window, then to the first clip in path order. Nothing here looks at a model.
4. **Mixing**: target and interferer at 0 dB SNR (equal energy, the middle of the training range
   U[-5, 5] dB), the pair scaled so the mixture peaks at 0.9; written as 16-bit FLAC. The mixture is the sum
   of the two files (the demo adds them), so the references are exact.

Credits and licences are copied from the corpus rows, with the matching part of each Debian package's
``copyright`` file (its ``Files`` stanza and licence texts) into ``CREDITS.md``.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tqse.audio.io import load_audio, save_audio
from tqse.data.locations import default_corpus_dir
from tqse.data.mixing import measured_snr, mix_at_snr

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tqse" / "assets" / "demo"
RATE, SECONDS, SNR_DB, PEAK = 16000, 8.0, 0.0, 0.9
FRAME_S, STEP_S, ACTIVE_DB = 0.05, 0.5, 30.0


@dataclass(frozen=True)
class Pick:
    family: str  # the corpus row's source_id
    label: str  # the corpus row's class


@dataclass(frozen=True)
class Scenario:
    id: str
    description: str
    target: Pick
    interferer: Pick
    right_query: str  # a natural caption of the target
    wrong_query: str  # a natural caption of the interferer
    target_name: str  # "the dog" in "the dog is 7 dB clearer"
    other_name: str


SCENARIOS = (
    Scenario("voice-over-traffic", "a man speaking Italian over road traffic",
             Pick("asterisk-core-sounds-it-wav", "speech male"), Pick("lincity-ng-data", "car"),
             "a man speaking", "road traffic", "the man's voice", "the traffic"),
    Scenario("voice-over-piano", "a woman's synthetic voice over piano music",
             Pick("voice:espeak:en+f4", "speech female"), Pick("sf:musescore", "piano"),
             "a woman speaking", "a piano playing", "the woman's voice", "the piano"),
    Scenario("dog-in-street", "a dog barking by a busy road",
             Pick("gcompris-qt-data", "dog"), Pick("lincity-ng-data", "car"),
             "a dog barking", "cars driving past", "the dog", "the traffic"),
    Scenario("birds-in-street", "birds singing by a road",
             Pick("supertuxkart-data", "bird"), Pick("lincity-ng-data", "car"),
             "birds singing", "traffic noise", "the birds", "the traffic"),
    Scenario("saxophone-with-drums", "a saxophone playing with a drum kit",
             Pick("sf:musescore", "saxophone"), Pick("sf:musescore", "drums"),
             "a saxophone playing", "drums playing a beat", "the saxophone", "the drums"),
    Scenario("phone-over-speech", "a telephone ringing while a man talks",
             Pick("sf:musescore", "alarm"), Pick("voice:flite:kal16", "speech male"),
             "a telephone ringing", "a man speaking", "the telephone", "the voice"),
    Scenario("bells-over-speech", "bells ringing over a woman's voice",
             Pick("sf:musescore", "bell"), Pick("voice:espeak:it+f1", "speech female"),
             "bells ringing", "a woman speaking", "the bells", "the voice"),
    Scenario("rain-under-speech", "rain falling in a garden while a man talks",
             Pick("gcompris-qt-data", "rain"), Pick("voice:espeak:it+m5", "speech male"),
             "rain falling", "a man speaking", "the rain", "the voice"),
    Scenario("voice-over-water", "a woman talking beside running water",
             Pick("voice:espeak:it+f2", "speech female"), Pick("supertuxkart-data", "water"),
             "a woman speaking", "water running", "the woman's voice", "the water"),
)
NOT_REDISTRIBUTABLE = ("sampling", "-nc", "-nd", "unknown", "see copyright")


def redistributable(licence: str) -> bool:
    """Free licences only: no Sampling+, NonCommercial or NoDerivatives terms, nothing unresolved."""
    return bool(licence) and not any(word in licence.lower() for word in NOT_REDISTRIBUTABLE)


def read_rows(pool: Path) -> list[dict]:
    rows = []
    for name in ("clips.jsonl", "interferers.jsonl"):
        rows += [json.loads(line) for line in (pool / name).read_text().splitlines() if line.strip()]
    return rows


def trained_on(default_tier: Path) -> tuple[set[str], set[str]]:
    """(source families, source-file hashes) of the ``default`` tier's train split, if that tier is built."""
    manifest = default_tier / "clips.jsonl"
    if not manifest.exists():
        return set(), set()
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    train = [r for r in rows if r.get("split") == "train"]
    return {r["source_id"] for r in train}, {r["sha256"] for r in train if r.get("sha256")}


def candidates(pick: Pick, rows: list[dict], used: set[str], families: set[str], hashes: set[str]) -> list[dict]:
    seen_elsewhere = {key for r in rows if r.get("split") != "unseen"
                      for key in (r.get("recording_group"), r.get("sha256"), r.get("clip_sha256")) if key}
    found = []
    for row in rows:
        keys = {row.get("recording_group"), row.get("sha256"), row.get("clip_sha256")} - {None}
        if (row.get("split") == "unseen" and row["source_id"] == pick.family and row["class"] == pick.label
                and redistributable(row.get("licence", "")) and row["path"] not in used
                and not keys & seen_elsewhere and row["source_id"] not in families
                and row.get("sha256") not in hashes):
            found.append(row)
    return sorted(found, key=lambda r: r["path"])


def most_active_window(wav: np.ndarray) -> tuple[float, int]:
    """(share of active frames, start sample) of the most active :data:`SECONDS` window of ``wav``."""
    frame, step, width = int(FRAME_S * RATE), int(STEP_S / FRAME_S), int(SECONDS / FRAME_S)
    n = len(wav) // frame
    energy = 10 * np.log10((wav[:n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1) + 1e-12)
    active = energy > energy.max() - ACTIVE_DB
    best = (-1.0, 0)
    for start in range(0, max(n - width, 0) + 1, step):
        share = float(active[start:start + width].mean())
        if share > best[0]:
            best = (share, start * frame)
    return best


def choose(pick: Pick, rows: list[dict], pool: Path, used: set[str], families: set[str],
           hashes: set[str]) -> tuple[dict, np.ndarray, float]:
    """(row, 16 kHz excerpt, share of active frames) by rule 3 of the module docstring."""
    best = None
    for row in candidates(pick, rows, used, families, hashes):
        wav, _ = load_audio(pool / row["path"], RATE)
        share, start = most_active_window(wav)
        if best is None or share > best[2]:
            best = (row, wav[start:start + int(SECONDS * RATE)], share, start / RATE)
    if best is None:
        raise SystemExit(f"no candidate for {pick} in {pool}: is the pool tier built?")
    row, excerpt, share, start_s = best
    used.add(row["path"])
    return row | {"window_start_s": start_s}, excerpt, share


def source_record(row: dict, file: str, share: float) -> dict:
    keep = ("class", "source", "source_id", "original", "licence", "credit", "detail", "path", "clip_sha256",
            "window_start_s")
    return {"file": file, "active_share": round(share, 3)} | {k: row[k] for k in keep if row.get(k) is not None}


def build(pool: Path, default_tier: Path, out: Path) -> list[dict]:
    rows = read_rows(pool)
    families, hashes = trained_on(default_tier)
    used: set[str] = set()
    manifest = []
    for scenario in SCENARIOS:
        target_row, target, t_share = choose(scenario.target, rows, pool, used, families, hashes)
        other_row, other, o_share = choose(scenario.interferer, rows, pool, used, families, hashes)
        mixture, target, other = mix_at_snr(target, other, SNR_DB)
        gain = PEAK / float(np.abs(mixture).max())
        files = {"target": f"{scenario.id}.target.flac", "interferer": f"{scenario.id}.interferer.flac"}
        save_audio(out / files["target"], target * gain, RATE, subtype="PCM_16")
        save_audio(out / files["interferer"], other * gain, RATE, subtype="PCM_16")
        written = [load_audio(out / files[k], allow_silent=True)[0] for k in ("target", "interferer")]
        manifest.append(asdict(scenario) | {
            "snr_db": round(measured_snr(*written), 2) + 0.0, "seconds": SECONDS, "sample_rate": RATE,
            "target": source_record(target_row, files["target"], t_share),
            "interferer": source_record(other_row, files["interferer"], o_share)})
    return manifest


# -- credits ----------------------------------------------------------------------------------------------
def copyright_file(pool: Path, source: str) -> tuple[str, str]:
    """(package name, text of its Debian copyright file) for a row's ``source`` ("pkg version")."""
    package = source.split(" ")[0]
    found = sorted((pool.parent / "_cache" / "pkgs").glob(f"{package}_*/files/usr/share/doc/{package}/copyright"))
    return package, found[-1].read_text(errors="replace") if found else ""


# Stanzas DEP-5 names by source-tree path where the installed path does not show it: the corpus row then
# carries the package-wide licence and holders (for this package: the English voice's), so it is named here.
STANZA_FOR = {"asterisk-core-sounds-it-wav": "it-*"}


def copyright_excerpt(text: str, original: str, package: str = "") -> tuple[str | None, str | None, str]:
    """(licence, holders, excerpt): the part of a Debian copyright file that covers ``original``: its ``Files``
    stanza (:data:`STANZA_FOR`, else the last specific match, else ``Files: *``) cut to the matching
    patterns, and the licence texts it names; a free-form file whole (licence and holders then None)."""
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]
    if not any(b.startswith("Files:") for b in blocks):
        return None, None, text.strip()
    stanza, matched = None, []
    for block in blocks:
        if not block.startswith("Files:"):
            continue
        files = re.search(r"^Files:[ \t]*([^\n]*(?:\n[ \t]+[^\n]+)*)", block, re.M)
        hits = [p for p in files.group(1).split() if _covers(p, original, package)]
        if hits and (hits != ["*"] or stanza is None):
            stanza, matched = block[:files.start()] + "Files: " + " ".join(hits) + block[files.end():], hits
    stanza = stanza or blocks[0]
    names = re.search(r"^License:[ \t]*(\S[^\n]*)$", stanza, re.M)
    licence = names.group(1).strip() if names else None
    holders = re.search(r"^Copyright:[ \t]*([^\n]*(?:\n[ \t]+[^\n]+)*)", stanza, re.M)
    holders = "; ".join(h.strip() for h in holders.group(1).splitlines()) if holders and matched != ["*"] else None
    wanted = set(re.split(r"\s+(?:or|and|OR|AND)\s+|,\s*", licence or ""))
    texts = [b for b in blocks if b.startswith("License:") and b.split("\n", 1)[0][8:].strip() in wanted]
    return licence, holders, "\n\n".join([stanza] + texts)


def _covers(pattern: str, original: str, package: str) -> bool:
    if package in STANZA_FOR:
        return pattern == STANZA_FOR[package]
    regex = "(^|/)" + re.escape(pattern).replace(r"\*", "[^/]*").replace(r"\?", ".") + "$"
    return pattern == "*" or bool(re.search(regex, original))


def attribute(manifest: list[dict], pool: Path) -> dict[tuple[str, str], list[str]]:
    """Add ``licence_of_file`` and ``credit_of_file`` (from the covering stanza of the package's copyright file,
    else the corpus row's) to each source record; return each distinct (package, excerpt) with its files."""
    excerpts: dict[tuple[str, str], list[str]] = {}
    for item in manifest:
        for role in ("target", "interferer"):
            record = item[role]
            package, text = copyright_file(pool, record["source"])
            licence, holders, excerpt = (copyright_excerpt(text, record["original"], package) if text
                                         else (None, None, "(copyright file not found)"))
            record["licence_of_file"] = licence or record["licence"]
            record["credit_of_file"] = holders or (record["credit"] if not record["credit"].rstrip().endswith(":")
                                                   else f"{package}: see its copyright file below")
            excerpts.setdefault((record["source"], excerpt), []).append(record["file"])
    return excerpts


def _cell(text: str) -> str:
    return text.replace("|", "/").strip() or "-"


def credits_markdown(manifest: list[dict], excerpts: dict[tuple[str, str], list[str]]) -> str:
    lines = ["# Demo set: credits and licences", "",
             f"{len(manifest)} mixtures for `tqse demo`, built by `scripts/make_demo_set.py` from the built-in",
             "corpus' `pool` tier (its `unseen` split: source families no model of this repository trains on; the",
             "choice rule is in `README.md` beside this file). Each file is an 8-s, 16 kHz mono excerpt of one",
             "corpus clip, resampled and rescaled; a mixture is the sum of its two files. Each file keeps its own",
             "licence; tqse's Apache-2.0 does not apply to them. Below: the licence and copyright holders of the",
             "part of the Debian package's `copyright` file that covers the file (the corpus row's when the file",
             "is free-form), then that part itself. `mixtures.json` holds the same records beside the corpus",
             "row's own `licence` and `credit` (which, where no stanza names the file, list the whole package's).",
             "",
             "| file | sound | Debian package | original | licence | credit |", "|---|---|---|---|---|---|"]
    for item in manifest:
        for role in ("target", "interferer"):
            s = item[role]
            lines.append(f"| `{s['file']}` | {_cell(s.get('detail') or s['class'])} | {s['source']} | "
                         f"{_cell(s['original'][:80])} | {_cell(s['licence_of_file'])} | {_cell(s['credit_of_file'])} |")
    lines += ["", "## The copyright statements these files fall under", ""]
    for (source, excerpt), files in excerpts.items():
        package = source.split(" ")[0]
        lines += [f"### {source}: {', '.join(f'`{f}`' for f in files)}", "",
                  f"From `/usr/share/doc/{package}/copyright`:", "", "```", excerpt, "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=Path, default=default_corpus_dir("pool"), help="built pool tier")
    parser.add_argument("--default-tier", type=Path, default=default_corpus_dir("default"),
                        help="built default tier (what the shipped model trained on), checked when present")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    manifest = build(args.pool, args.default_tier, args.out)
    excerpts = attribute(manifest, args.pool)
    (args.out / "mixtures.json").write_text(json.dumps({"sample_rate": RATE, "seconds": SECONDS,
                                                        "mixtures": manifest}, indent=1) + "\n")
    (args.out / "CREDITS.md").write_text(credits_markdown(manifest, excerpts))
    for item in manifest:
        print(f"{item['id']:22} {item['target']['path']:70} + {item['interferer']['path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
