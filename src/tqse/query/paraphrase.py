"""Varied captions for every class: what people type, generated from a small per-class lexicon.

``tqse/assets/captions/lexicon.json`` holds, per class, ``names`` ("a dog", "a hound"), ``plurals``, ``acts``
(base verb phrases: "bark", "growl and bark"), ``sounds`` (noun phrases: "barking", "a bark"), hand-written
``phrases`` and ``near`` classes (the hard negatives). :func:`paraphrases` combines them in sentence shapes
people use ("a dog barks", "dogs barking", "the sound of barking", "barking dog", "you can hear a puppy
yapping") with modifiers of place, distance, loudness, count and repetition, spelling variants and typos.
:func:`prompt_ensemble` is the other, training-free approach: many fixed templates around the class name,
averaged into a class prototype (CLIP's prompt ensembling).

A new class is a new entry of the lexicon; nothing here names a class.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

LEXICON = Path(__file__).resolve().parents[1] / "assets" / "captions" / "lexicon.json"

PLACES = ["in the distance", "nearby", "far away", "close to the microphone", "outside", "indoors", "in a large room",
          "in a small room", "on a street", "in the countryside", "in a city", "at night", "in the morning",
          "in the background", "in the foreground", "with an echo", "in a hall", "in a park", "from another room",
          "across a field", "in a forest", "at home", "somewhere outdoors", "on a recording"]
MANNER = ["loudly", "softly", "quietly", "faintly", "repeatedly", "several times", "twice", "once", "continuously",
          "for a while", "over and over", "again and again", "intermittently", "briefly", "nonstop", "slowly",
          "quickly", "then stops", "on and off", "very loudly", "very close"]
ADJECTIVES = ["loud", "distant", "faint", "quiet", "nearby", "single", "lone", "small", "large", "noisy", "far-off"]
COUNTS = ["two", "three", "several", "a few", "many", "a group of", "lots of", "some"]
PREFIXES = ["you can hear", "there is", "in this recording,", "the sound of", "a recording of", "audio of",
            "I hear", "listen to", "a clip of", "someone recorded", "we hear", "sound of", "this is",
            "a sound effect of", "field recording of", "what sounds like"]
SPELLING = {"airplane": "aeroplane", "tires": "tyres", "tire": "tyre", "gray": "grey", "color": "colour",
            "harbor": "harbour", "practicing": "practising", "theater": "theatre", "neighbor": "neighbour",
            "favorite": "favourite", "meter": "metre", "center": "centre"}
KEYBOARD = "qwertyuiop asdfghjkl zxcvbnm"


def conjugate(base: str) -> tuple[str, str]:
    """``"bark loudly"`` -> (``"barks loudly"``, ``"barking loudly"``): English rules for the first word (of
    each part of ``"growl and bark"``)."""
    if " and " in base:
        parts = [conjugate(part) for part in base.split(" and ")]
        return " and ".join(p[0] for p in parts), " and ".join(p[1] for p in parts)
    verb, _, rest = base.partition(" ")
    tail = f" {rest}" if rest else ""
    irregular = {"be": ("is", "being"), "have": ("has", "having"), "go": ("goes", "going"), "do": ("does", "doing")}
    if verb in irregular:
        third, ing = irregular[verb]
    else:
        if re.search(r"(s|sh|ch|x|z|o)$", verb):
            third = verb + "es"
        elif re.search(r"[^aeiou]y$", verb):
            third = verb[:-1] + "ies"
        else:
            third = verb + "s"
        if verb.endswith("ie"):
            ing = verb[:-2] + "ying"
        elif verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")) and len(verb) > 2:
            ing = verb[:-1] + "ing"
        elif re.fullmatch(r"[^aeiou]*[aeiou][^aeiouwxy]", verb):  # one syllable, consonant-vowel-consonant
            ing = verb + verb[-1] + "ing"
        else:
            ing = verb + "ing"
    return third + tail, ing + tail


def _article(phrase: str, adjective: str) -> str:
    """``("a elephant", "loud")`` -> ``"a loud elephant"``: put an adjective after the article, fixing a/an."""
    words = phrase.split(" ", 1)
    if words[0] in ("a", "an") and len(words) == 2:
        return f"{'an' if adjective[0] in 'aeiou' else 'a'} {adjective} {words[1]}"
    if words[0] == "the" and len(words) == 2:
        return f"the {adjective} {words[1]}"
    return f"{adjective} {phrase}"


def typo(text: str, rng: np.random.Generator) -> str:
    """One keyboard slip in one word of four letters or more: swap, drop, double or a neighbouring key."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = long[rng.integers(len(long))]
    w, j = words[i], int(rng.integers(1, len(words[i]) - 1))
    kind = rng.integers(4)
    if kind == 0:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == 1:
        w = w[:j] + w[j + 1:]
    elif kind == 2:
        w = w[:j] + w[j] + w[j:]
    else:
        k = KEYBOARD.find(w[j].lower())
        if k >= 0:
            row_neighbours = [c for c in (KEYBOARD[k - 1:k] + KEYBOARD[k + 1:k + 2]) if c.isalpha()]
            if row_neighbours:
                w = w[:j] + row_neighbours[rng.integers(len(row_neighbours))] + w[j + 1:]
    words[i] = w
    return " ".join(words)


@lru_cache(maxsize=4)
def load_lexicon(path: str | Path = LEXICON) -> dict[str, dict[str, list[str]]]:
    return json.loads(Path(path).read_text())


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _shape(label: str, entry: dict[str, list[str]], rng: np.random.Generator) -> str:
    """One caption of one of the sentence shapes people use."""
    name = _pick(rng, entry["names"])
    if rng.random() < 0.25:
        name = _article(name, _pick(rng, ADJECTIVES))
    act3, acting = conjugate(_pick(rng, entry["acts"]))
    plural = _pick(rng, entry["plurals"] or [name])
    shape = int(rng.integers(10))
    if shape == 0:
        text = f"{name} {act3}"
    elif shape == 1:
        text = f"{name} {acting}"
    elif shape == 2:
        base = _pick(rng, entry["acts"])
        text = f"{_pick(rng, COUNTS)} {plural} {base}" if rng.random() < 0.5 else f"{plural} {acting}"
    elif shape == 3:
        text = _pick(rng, entry["sounds"])
    elif shape == 4:
        text = f"the sound of {name} {acting}" if rng.random() < 0.5 else f"the sound of {_pick(rng, entry['sounds'])}"
    elif shape == 5:
        text = _pick(rng, entry["phrases"])
    elif shape == 6:  # what people type into a search box
        bare = re.sub(r"^(a|an|the) ", "", name)
        text = _pick(rng, [bare, label, f"{label} sound", f"{bare} noise", f"{acting.split(' ')[0]} {bare}",
                           f"{bare} {acting.split(' ')[0]}"])
    elif shape == 7:
        text = f"{name} {act3} and then {conjugate(_pick(rng, entry['acts']))[0]}"
    elif shape == 8:
        text = f"{_pick(rng, entry['sounds'])} {_pick(rng, PLACES)}"
    else:
        text = f"{name} can be heard {acting}"
    if shape not in (6, 8) and rng.random() < 0.45:
        text += " " + (_pick(rng, PLACES) if rng.random() < 0.5 else _pick(rng, MANNER))
    if shape in (1, 2, 3, 8) and rng.random() < 0.3:  # noun phrases: "you can hear dogs barking"
        text = f"{_pick(rng, PREFIXES)} {text}"
    return text


def _surface(text: str, rng: np.random.Generator, typo_rate: float) -> str:
    """Spelling variants, typos, capitals and full stops: the same caption as different people write it."""
    if rng.random() < 0.5:
        text = " ".join(SPELLING.get(w, w) for w in text.split(" "))
    if rng.random() < typo_rate:
        text = typo(text, rng)
    if rng.random() < 0.3:
        text = text[:1].upper() + text[1:]
    if rng.random() < 0.2:
        text += "."
    return text


def paraphrases(label: str, n: int, seed: int = 0, typo_rate: float = 0.12,
                lexicon: dict[str, dict[str, list[str]]] | None = None, exclude: set[str] | None = None) -> list[str]:
    """``n`` distinct captions of ``label`` (fewer if the lexicon cannot make that many), deterministic in
    ``seed``; captions whose normalised text is in ``exclude`` are never returned."""
    from tqse.query.keywords import normalise

    entry = (lexicon or load_lexicon())[label]
    rng = np.random.default_rng([seed, sum(map(ord, label)), len(label)])
    out: dict[str, None] = {}
    for _ in range(n * 20):
        if len(out) >= n:
            break
        text = _surface(_shape(label, entry, rng), rng, typo_rate)
        if exclude is None or normalise(text) not in exclude:
            out.setdefault(text)
    return list(out)


PROMPTS = ["{}", "the sound of {}", "this is the sound of {}", "a recording of {}", "{} sound", "{} noise",
           "the sound of a {}", "a {} can be heard", "you can hear {}", "{} in the distance", "a loud {}",
           "a quiet {}", "{} nearby", "an audio clip of {}", "sounds of {}", "{} sounds", "the noise of {}",
           "a field recording of {}", "someone recorded {}", "there is {} in this recording"]


def prompt_ensemble(label: str, lexicon: dict[str, dict[str, list[str]]] | None = None) -> list[str]:
    """The prompts of one class prototype: every template around the class name and the lexicon's bare names."""
    entry = (lexicon or load_lexicon()).get(label, {"names": []})
    names = [label] + [re.sub(r"^(a|an|the) ", "", n) for n in entry["names"][:3]]
    return list(dict.fromkeys(t.format(n) for n in dict.fromkeys(names) for t in PROMPTS))
