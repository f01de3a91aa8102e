"""`data.class_subset`: the AV experiment's split of the classes into two fixed halves (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tqse.config import load_config
from tqse.data.manifest import classes_at, read_clips
from tqse.errors import ConfigError
from tqse.data.locations import fixture_manifest
from tqse.train.setup import training_clips

SETUP = Path(__file__).resolve().parents[2] / "configs" / "setups" / "fixture.yaml"


def test_halves_are_disjoint_and_cover_every_class_whatever_the_order():
    labels = ["dog", "bell", "cat", "dog", "rain"]
    even, odd = classes_at(labels, "even"), classes_at(reversed(labels), "odd")
    assert even == {"bell", "dog"} and odd == {"cat", "rain"}


def test_each_dataset_keeps_its_half_of_the_classes():
    config = load_config([str(SETUP)], ["data.use=[ac,vgg]", "data.class_subset={ac: even, vgg: odd}",
                                        "data.split=null"])
    clips = training_clips(config)
    by_dataset = {name: {c.label for c in clips if c.dataset == name} for name in ("ac", "vgg")}
    every = {c.label for c in read_clips(fixture_manifest())}
    assert by_dataset["ac"] == classes_at(every, "even") and by_dataset["vgg"] == classes_at(every, "odd")
    assert by_dataset["ac"] and by_dataset["vgg"] and not by_dataset["ac"] & by_dataset["vgg"]


def test_an_unknown_half_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"data.class_subset.ac='first': must be one of even, odd"):
        load_config([str(SETUP)], ["data.class_subset={ac: first}"])


def test_the_av_row_trains_captions_on_one_half_and_audio_on_the_other():
    row = Path(__file__).resolve().parents[2] / "configs" / "results" / "AVh.yaml"
    config = load_config([str(SETUP), str(row)])
    assert config.data.class_subset == {"ac": "even", "vgg": "odd"}
    assert config.query.modes == {"ac": "text", "vgg": "audio"} and config.query.manipulation.dropout.enabled
