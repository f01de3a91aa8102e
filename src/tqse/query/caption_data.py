"""The caption sets of the built-in encoder's text side: what trains it, what selects it, what only evaluates it.

Vendored under ``tqse/assets/captions/`` (text only; AudioCaps' captions are MIT, see ``audiocaps/LICENSE.md``):

    keywords.tsv                     the keyword table (tqse.query.keywords)
    lexicon.json                     per-class words the paraphrase generator combines (tqse.query.paraphrase)
    audiocaps/train_matched.tsv      AudioCaps train captions naming one class       -> training
    audiocaps/val_matched.tsv        AudioCaps val captions naming one class         -> model selection
    dev_written.tsv                  captions written for classes AudioCaps lacks    -> model selection
    audiocaps/anchor.txt             other AudioCaps train captions                  -> the anchor term
    eval/audiocaps_test_matched.tsv  AudioCaps test (2.0) captions naming one class  -> evaluation only
    eval/audiocaps_test_other.tsv    AudioCaps test captions naming only a source no class covers -> evaluation only
    eval/written_clotho_style.tsv    captions written for tqse for classes AudioCaps lacks         -> evaluation only
    eval/unfamiliar_written.tsv      written queries about sounds no class covers                  -> evaluation only

``python -m tqse.query.caption_data build --audiocaps GIT_DIR_OR_FOLDER`` rebuilds the ``audiocaps/`` and
``eval/audiocaps_*`` files from the public repository ``cdjkim/audiocaps`` (deterministic: seeded caps).
Every training file is decontaminated against everything evaluation-only (:func:`evaluation_texts`), by
normalised text (:func:`tqse.query.keywords.normalise`).
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tqse.query.keywords import KeywordMatcher, normalise

ROOT = Path(__file__).resolve().parents[1] / "assets" / "captions"
AUDIOCAPS_FILES = {"train": "dataset/train.csv", "val": "dataset/val.csv", "test": "dataset2.0/test.csv",
                   "test_v1": "dataset/test.csv"}
TRAIN_CAP = 300  # captions per class kept from AudioCaps train (speech and cars would otherwise dominate)
ANCHOR_SIZE = 3000
OTHER_CAP = 400
# Sources of the "unfamiliar" set: far from every class. Engines, unnamed speakers, other vehicles, recording
# artefacts and imitations are left out: they are near a class (car, speech), not foreign to all of them.
UNFAMILIAR_SOURCES = ("baby", "cat", "other animals", "human sounds", "singing", "music", "toilet", "cooking",
                      "tools and objects", "phone", "steam", "fireworks")


@dataclass(frozen=True)
class Caption:
    text: str
    label: str | None  # a class, or None for a query about no known class
    source: str  # "audiocaps-test", "written", ...


def _read_tsv(path: Path) -> list[list[str]]:
    rows = [line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return rows[1:]  # header


def _write_tsv(path: Path, header: list[str], rows: list[list[str]], comment: str) -> None:
    lines = [f"# {line}" for line in comment.strip().splitlines()] + ["\t".join(header)]
    lines += ["\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row) for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


# -- loaders ---------------------------------------------------------------------------------------------------

def train_captions(root: Path = ROOT) -> list[Caption]:
    return [Caption(r[2], r[1], "audiocaps-train") for r in _read_tsv(root / "audiocaps" / "train_matched.tsv")]


def selection_captions(root: Path = ROOT) -> list[Caption]:
    """Model selection only: AudioCaps val captions naming one class, and captions written for the classes
    AudioCaps lacks (``dev_written.tsv``, apart from the evaluation captions)."""
    return ([Caption(r[2], r[1], "audiocaps-val") for r in _read_tsv(root / "audiocaps" / "val_matched.tsv")]
            + [Caption(r[1], r[0], "written-dev") for r in _read_tsv(root / "dev_written.tsv")])


def anchor_texts(root: Path = ROOT) -> list[str]:
    return [line for line in (root / "audiocaps" / "anchor.txt").read_text().splitlines()
            if line and not line.startswith("#")]


def evaluation_sets(root: Path = ROOT) -> dict[str, list[Caption]]:
    """Evaluation-only captions by set: ``audiocaps_test`` and ``written`` (known classes), ``unfamiliar``
    (AudioCaps test captions about sources no class covers, and written ones; label None)."""
    ev = root / "eval"
    unfamiliar = [Caption(r[1], None, "audiocaps-test") for r in _read_tsv(ev / "audiocaps_test_other.tsv")]
    unfamiliar += [Caption(r[0], None, "written") for r in _read_tsv(ev / "unfamiliar_written.tsv")]
    return {"audiocaps_test": [Caption(r[2], r[1], "audiocaps-test") for r in _read_tsv(ev / "audiocaps_test_matched.tsv")],
            "written": [Caption(r[1], r[0], "written") for r in _read_tsv(ev / "written_clotho_style.tsv")],
            "unfamiliar": unfamiliar}


def evaluation_texts(root: Path = ROOT) -> set[str]:
    """Normalised text of everything no training path may contain: the evaluation files, the whole AudioCaps
    test split as vendored, and the corpus' held-out captions (the ``caption`` queries of its fixed mixtures)."""
    texts = {normalise(c.text) for captions in evaluation_sets(root).values() for c in captions}
    return texts | {normalise(t) for t in corpus_heldout_captions()}


def corpus_heldout_phrases() -> list[str]:
    """The phrase of each class the corpus builder holds out (the last of its ``PHRASES`` row)."""
    from tqse.data.corpus.captions import PHRASES

    return [p[-1] for p in PHRASES.values()]


def contains_heldout_phrase(text: str, phrases: list[str] | None = None) -> bool:
    """Does ``text`` contain (normalised, whole words) one of the corpus' held-out phrases? Training drops such
    captions too, not only exact copies: "a dog yelps and barks loudly" would all but copy "a dog yelps and barks"."""
    padded = f" {normalise(text)} "
    return any(f" {normalise(p)} " in padded for p in (phrases or corpus_heldout_phrases()))


def corpus_heldout_captions() -> list[str]:
    """Every caption the corpus builder holds out of training (its unseen phrase of each class in its unseen
    templates), i.e. what ``benchmarks/caption_retrieval.py --split`` scores."""
    from tqse.data.corpus.captions import PHRASES, UNSEEN_TEMPLATES

    held = [p[-1] for p in PHRASES.values()]
    return [t.format(p=p) for t in UNSEEN_TEMPLATES for p in held] + held


def corpus_seen_captions() -> dict[str, list[str]]:
    """Class -> the corpus' training captions: its class template and seen phrases in seen templates."""
    from tqse.data.corpus.captions import PHRASES, SEEN_TEMPLATES, class_caption

    return {c: [class_caption(c)] + [t.format(p=p) for t in SEEN_TEMPLATES for p in phrases[:-1]]
            for c, phrases in PHRASES.items()}


def training_pools(classes: list[str], sources: tuple[str, ...] = ("audiocaps", "paraphrase", "corpus"),
                   paraphrases: int = 400, typo_rate: float = 0.12, seed: int = 0,
                   audiocaps_per_class: int = 0) -> dict[str, list[str]]:
    """Class -> every caption the text side may train on: AudioCaps train captions naming it (all vendored, or
    the first ``audiocaps_per_class``), ``paraphrases`` generated captions, the corpus' own training captions and
    the class template. Deduplicated; nothing whose normalised text is evaluation-only or a selection caption,
    and nothing containing a held-out corpus phrase."""
    from tqse.data.corpus.captions import class_caption
    from tqse.query.paraphrase import paraphrases as generate

    banned = evaluation_texts() | {normalise(c.text) for c in selection_captions()}
    pools: dict[str, list[str]] = {c: [] for c in classes}
    if "audiocaps" in sources:
        for caption in train_captions():
            if caption.label in pools and not (0 < audiocaps_per_class <= len(pools[caption.label])):
                pools[caption.label].append(caption.text)
    if "paraphrase" in sources:
        for c in classes:
            pools[c] += generate(c, paraphrases, seed=seed, typo_rate=typo_rate, exclude=banned)
    if "corpus" in sources:
        for c, captions in corpus_seen_captions().items():
            if c in pools:
                pools[c] += captions
    held = corpus_heldout_phrases()
    return {c: list(dict.fromkeys(t for t in texts + [class_caption(c)]
                                  if normalise(t) not in banned and not contains_heldout_phrase(t, held)))
            for c, texts in pools.items()}


# -- builder ---------------------------------------------------------------------------------------------------

def read_audiocaps(source: str | Path, split: str) -> list[dict[str, str]]:
    """Rows of one AudioCaps CSV from a checkout folder or a (bare) git directory of ``cdjkim/audiocaps``."""
    source, name = Path(source), AUDIOCAPS_FILES[split]
    if (source / name).exists():
        text = (source / name).read_text()
    else:
        text = subprocess.run(["git", "-C", str(source), "show", f"HEAD:{name}"], check=True,
                              capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(text)))


def _source_of(matcher: KeywordMatcher, caption: str) -> tuple[str | None, str | None]:
    """(class, other source) the caption names: at most one of them is set."""
    name = matcher.source(caption)
    if name is None:
        return None, None
    return (name, None) if matcher.role(name) == "target" else (None, name)


def build(source: str | Path, root: Path = ROOT, seed: int = 0) -> dict[str, int]:
    """Write the vendored AudioCaps files (see module docstring); returns the row counts."""
    matcher = KeywordMatcher()
    rng = np.random.default_rng(seed)
    test_rows = read_audiocaps(source, "test") + read_audiocaps(source, "test_v1")
    test_ids = {r["youtube_id"] for r in test_rows}
    matched_test, other_test = [], []
    for r in read_audiocaps(source, "test"):
        label, other = _source_of(matcher, r["caption"])
        if label is not None:
            matched_test.append([r["audiocap_id"], label, r["caption"].strip()])
        elif other in UNFAMILIAR_SOURCES:
            other_test.append([r["audiocap_id"], r["caption"].strip(), other])
    other_test = [other_test[i] for i in sorted(rng.permutation(len(other_test))[:OTHER_CAP])]
    credit = ("From AudioCaps (Kim et al., NAACL-HLT 2019), github.com/cdjkim/audiocaps, MIT licence "
              "(audiocaps/LICENSE.md); selected by tqse.query.caption_data with keywords.tsv.")
    _write_tsv(root / "eval" / "audiocaps_test_matched.tsv", ["audiocap_id", "class", "caption"], matched_test,
               f"Evaluation only: AudioCaps 2.0 test captions that name exactly one class.\n{credit}")
    _write_tsv(root / "eval" / "audiocaps_test_other.tsv", ["audiocap_id", "caption", "source"], other_test,
               f"Evaluation only: AudioCaps 2.0 test captions whose only source is one no class covers "
               f"(seeded sample of at most {OTHER_CAP}).\n{credit}")
    banned = evaluation_texts(root) | {normalise(r["caption"]) for r in test_rows}

    def clean(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        # AudioCaps splits share no clip, but 260 captions recur word for word across train and test.
        return [r for r in rows if r["youtube_id"] not in test_ids and normalise(r["caption"]) not in banned]

    val_rows = clean(read_audiocaps(source, "val"))
    val = [[r["audiocap_id"], label, r["caption"].strip()] for r in val_rows
           if (label := matcher.match(r["caption"]))]
    banned |= {normalise(r[2]) for r in val}
    by_class: dict[str, list[list[str]]] = {}
    unmatched = []
    for r in clean(read_audiocaps(source, "train")):
        label = matcher.match(r["caption"])
        if label:
            by_class.setdefault(label, []).append([r["audiocap_id"], label, r["caption"].strip()])
        elif _source_of(matcher, r["caption"]) == (None, None):
            unmatched.append(r["caption"].strip())
    train = []
    for label in sorted(by_class):
        rows = by_class[label]
        train += [rows[i] for i in sorted(rng.permutation(len(rows))[:TRAIN_CAP])]
    _write_tsv(root / "audiocaps" / "train_matched.tsv", ["audiocap_id", "class", "caption"], train,
               f"Training: AudioCaps train captions naming exactly one class, at most {TRAIN_CAP} per class "
               f"(seeded), none equal to an evaluation caption.\n{credit}")
    _write_tsv(root / "audiocaps" / "val_matched.tsv", ["audiocap_id", "class", "caption"], val,
               f"Model selection: AudioCaps val captions naming exactly one class.\n{credit}")
    anchor = sorted({unmatched[i] for i in rng.permutation(len(unmatched))[:ANCHOR_SIZE]})
    (root / "audiocaps" / "anchor.txt").write_text(
        "# Anchor term: AudioCaps train captions that name several or no classes (seeded sample; their "
        "MiniLM similarities are kept).\n# " + credit + "\n" + "\n".join(anchor) + "\n")
    return {"train": len(train), "val": len(val), "anchor": len(anchor), "test_matched": len(matched_test),
            "test_other": len(other_test)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tqse.query.caption_data", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="rebuild the vendored AudioCaps subsets from a cdjkim/audiocaps checkout")
    b.add_argument("--audiocaps", required=True, help="checkout folder or git directory of cdjkim/audiocaps")
    b.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    counts = build(args.audiocaps, seed=args.seed)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
