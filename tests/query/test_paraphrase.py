"""The paraphrase generator of the built-in encoder's text side (tqse.query.paraphrase)."""

from __future__ import annotations

import numpy as np
import pytest

from tqse.query.keywords import normalise
from tqse.query.paraphrase import conjugate, load_lexicon, paraphrases, prompt_ensemble, typo


@pytest.mark.parametrize("base, third, gerund", [
    ("bark", "barks", "barking"), ("run", "runs", "running"), ("hum", "hums", "humming"),
    ("whinny", "whinnies", "whinnying"), ("buzz", "buzzes", "buzzing"), ("whistle", "whistles", "whistling"),
    ("open", "opens", "opening"), ("go off", "goes off", "going off"), ("be bowed", "is bowed", "being bowed"),
    ("growl and bark", "growls and barks", "growling and barking"), ("fly over", "flies over", "flying over"),
])
def test_conjugation(base, third, gerund):
    assert conjugate(base) == (third, gerund)


def test_paraphrases_are_many_distinct_deterministic_and_respect_exclusions():
    first = paraphrases("dog", 200, seed=3)
    assert len(first) == 200 == len(set(first))
    assert first == paraphrases("dog", 200, seed=3)
    assert first != paraphrases("dog", 200, seed=4)
    banned = {normalise(t) for t in first[:50]}
    again = paraphrases("dog", 200, seed=3, exclude=banned)
    assert not banned & {normalise(t) for t in again}


def test_every_class_yields_varied_captions():
    for label in load_lexicon():
        texts = paraphrases(label, 100, seed=0)
        assert len(texts) >= 90, label
        assert len({t.split(" ")[0].lower() for t in texts}) >= 5, label  # not one sentence shape


def test_typo_changes_one_word_a_little():
    rng = np.random.default_rng(0)
    for _ in range(50):
        text = "a violin plays a sad melody"
        changed = typo(text, rng)
        diff = [(a, b) for a, b in zip(text.split(), changed.split()) if a != b]
        assert len(changed.split()) == len(text.split()) and len(diff) <= 1
        assert all(abs(len(a) - len(b)) <= 1 for a, b in diff)


def test_prompt_ensemble_wraps_the_class_name_and_its_synonyms():
    prompts = prompt_ensemble("dog")
    assert "this is the sound of dog" in prompts and "the sound of a puppy" in prompts
    assert len(prompts) == len(set(prompts)) >= 40
    assert prompt_ensemble("a class no lexicon has")[0] == "a class no lexicon has"
