"""Which corpus class does a free caption name? The keyword table and its matcher.

The table (``tqse/assets/captions/keywords.tsv``) has one row per sound source: the corpus' classes
(role ``target``) and sources no class covers (role ``other``: babies, cats, music, toilets...). Each row
lists *strong* words that name the source, *sound* words specific enough to name it alone, *context* words
that belong to it once it is named, and optionally words it *requires* (speech rows need a speech verb).
:meth:`KeywordMatcher.match` keeps a caption only when it names exactly one source, that source is a
class, and nothing else in the caption names another source: "a dog barks and whimpers" -> dog,
"a dog barks as a man speaks" -> None, "a baby coos" -> None. The AudioCaps subset (:mod:`tqse.query.caption_data`)
is selected with it; the rules are documented at the top of the table file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "assets" / "captions" / "keywords.tsv"
COLUMNS = ("strong", "sound", "context", "requires")


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: the form every de-duplication compares."""
    return " ".join(re.sub(r"[^a-z0-9']+", " ", text.lower().replace("'", "")).split())


def _term_regex(term: str) -> str:
    words = [re.escape(w) for w in term.replace("-", " ").split()]
    body = r"[\s-]+".join(words)
    if body.endswith(r"\*"):
        body = body[:-2] + r"\w*"
    return body


def compile_terms(spec: str, groups: dict[str, str]) -> re.Pattern | None:
    """``"dog|dogs|pupp*|@music"`` -> one whole-word regex (None for an empty cell)."""
    terms: list[str] = []
    for term in (t.strip() for t in spec.split("|")):
        if term.startswith("@"):
            terms += [t.strip() for t in groups[term[1:]].split("|")]
        elif term:
            terms.append(term)
    if not terms:
        return None
    terms = sorted(set(terms), key=len, reverse=True)  # longest first: "big cat" before "cat"
    return re.compile(r"(?<![\w-])(?:" + "|".join(_term_regex(t) for t in terms) + r")(?![\w])")


@dataclass(frozen=True)
class Row:
    name: str
    role: str  # "target" (a class) or "other"
    patterns: dict[str, re.Pattern | None]

    def spans(self, text: str, column: str) -> list[tuple[int, int]]:
        pattern = self.patterns[column]
        return [m.span() for m in pattern.finditer(text)] if pattern is not None else []


def read_table(path: str | Path = TABLE) -> list[Row]:
    groups: dict[str, str] = {}
    rows: list[Row] = []
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if cells[0].startswith("@"):
            groups[cells[0][1:]] = cells[1]
            continue
        if cells[0] == "class":  # header
            continue
        cells += [""] * (2 + len(COLUMNS) - len(cells))
        if cells[1] not in ("target", "other"):
            raise ValueError(f"{path}: row {cells[0]!r} has role {cells[1]!r} (target or other)")
        rows.append(Row(cells[0], cells[1], {c: compile_terms(v, groups) for c, v in zip(COLUMNS, cells[2:])}))
    names = [r.name for r in rows]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a source is listed twice")
    return rows


def _inside(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(a <= span[0] and span[1] <= b and (b - a) > (span[1] - span[0]) for a, b in others)


class KeywordMatcher:
    """``match(caption) -> class | None`` with the rules of the keyword table (module docstring)."""

    def __init__(self, rows: list[Row] | None = None):
        self.rows = rows if rows is not None else read_table()
        self.classes = [r.name for r in self.rows if r.role == "target"]
        self._by_name = {r.name: r for r in self.rows}

    def _hits(self, text: str, column: str, rows: list[Row]) -> dict[str, list[tuple[int, int]]]:
        """Row -> spans in ``column``, for rows whose requirement is met; spans inside a longer hit of
        another row are dropped."""
        found = {r.name: r.spans(text, column) for r in rows
                 if r.patterns["requires"] is None or r.spans(text, "requires")}
        every = {name: spans for name, spans in found.items() if spans}
        kept = {}
        for name, spans in every.items():
            others = [s for other, ss in every.items() if other != name for s in ss]
            spans = [s for s in spans if not _inside(s, others)]
            if spans:
                kept[name] = spans
        return kept

    def candidates(self, caption: str) -> list[str]:
        """The sources the caption names first: rows with a strong hit, else rows with a sound hit."""
        text = normalise(caption)
        strong = self._hits(text, "strong", self.rows)
        return sorted(strong) if strong else sorted(self._hits(text, "sound", self.rows))

    def role(self, name: str) -> str:
        return self._by_name[name].role

    def explains(self, name: str, caption: str) -> bool:
        """Blank the source's own words (strong, sound, context, required): does no other source show?"""
        row, text = self._by_name[name], normalise(caption)
        blanked = list(text)
        for column in COLUMNS:
            for a, b in row.spans(text, column):
                blanked[a:b] = " " * (b - a)
        rest = "".join(blanked)
        others = [r for r in self.rows if r is not row]
        return not (self._hits(rest, "strong", others) or self._hits(rest, "sound", others))

    def source(self, caption: str) -> str | None:
        """The one source (class or other row) the caption names, or None.

        Of the candidate sources (:meth:`candidates`) exactly one must explain the whole caption: once its
        own words are blanked, no other source may show. So "a dog barks and whimpers" is a dog (whimpering
        belongs to a named dog), "a dog barks as a man speaks" is nothing, "a baby cries" is the baby.
        """
        explaining = [name for name in self.candidates(caption) if self.explains(name, caption)]
        return explaining[0] if len(explaining) == 1 else None

    def match(self, caption: str) -> str | None:
        """The one class the caption names, or None (no class, several sources, or a source no class covers)."""
        name = self.source(caption)
        return name if name is not None and self.role(name) == "target" else None


@lru_cache(maxsize=1)
def default_matcher() -> KeywordMatcher:
    return KeywordMatcher()
