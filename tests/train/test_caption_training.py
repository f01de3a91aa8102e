"""Training with captions people type (issue 23, points 3 and 4): the caption pool reaches the text queries of
captioned datasets only, the fine-tune config of the shipped model runs a step on the new text side, and a
resumed run keeps the encoder version its checkpoints were trained with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tqse.config import load_config
from tqse.data.manifest import ClipRecord
from tqse.query.caption_data import evaluation_texts
from tqse.query.keywords import normalise
from tqse.train.setup import resumed_encoder_spec, with_caption_pool

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


def _clips():
    return [ClipRecord("a.flac", ["a dog barks twice"], "dog", "ac"), ClipRecord("b.flac", [], "dog", "vgg"),
            ClipRecord("c.flac", ["a hum"], "no such class", "ac"), ClipRecord("d.flac", ["rain"], "rain", "ac")]


def test_the_pool_is_the_identity_when_off_and_feeds_captioned_datasets_only():
    off = load_config([CONFIGS / "setups" / "fixture.yaml"])
    assert with_caption_pool(_clips(), off) == _clips()
    on = load_config([CONFIGS / "setups" / "fixture.yaml"], ["query.captions.paraphrases=20",
                                                               "query.captions.audiocaps=true"])
    a, b, c, d = with_caption_pool(_clips(), on)
    assert a.captions[0] == "a dog barks twice" and len(a.captions) > 20  # its own caption kept, the pool added
    assert b.captions == [] and c.captions == ["a hum"]  # class-template dataset, unknown class: unchanged
    assert set(d.captions) & set(a.captions) == set()  # each class its own pool
    assert not {normalise(t) for t in a.captions + d.captions} & evaluation_texts()
    assert with_caption_pool(_clips(), on) == [a, b, c, d]  # seeded: a resumed run draws the same pool


def test_caption_configs_load_and_name_version_2():
    for name in ("caption_pool", "finetune_default"):
        config = load_config([CONFIGS / "captions" / f"{name}.yaml"])
        assert config.query.encoder.kwargs == {"version": 2} and config.query.captions.paraphrases > 0
        assert config.query.manipulation.noise.enabled and config.model.name == "small-s2"
    assert load_config([CONFIGS / "captions" / "finetune_default.yaml"]).train.init_from == "experiments/default_model/tqse-conformer-builtin-v2/model"


@pytest.mark.slow
def test_finetuning_the_shipped_model_on_the_new_text_side_runs_a_step(tmp_path, monkeypatch):
    """The fine-tune config, shrunk to the fixture: v2's weights (the default until v3), encoder version 2, pooled captions."""
    from tqse.query.builtin import encoder_identity, version_folder
    from tqse.train.loop import train

    monkeypatch.chdir(ROOT)  # init_from is relative to the repository, as the config's comment says
    config = load_config([CONFIGS / "captions" / "finetune_default.yaml"], [
        "data.manifests.ac=fixture", "data.manifests.vgg=fixture", "data.use=[ac]", "data.preload=false",
        "data.segment_seconds=0.5", "query.cache_dir=null", "query.captions.paraphrases=8",
        "train.steps=1", "train.batch_size=2", "train.checkpoint_every=1", "eval.manifest=null", "train.progress=false"])
    run = train(config, tmp_path / "run")
    saved = json.loads((run / "checkpoints" / "last" / "config.json").read_text())
    assert saved["encoder"]["kwargs"] == {"version": 2}
    assert saved["encoder"]["id"] == encoder_identity(version_folder(2))[0]
    assert "drums" in saved["trained_with"]["classes"]
    assert json.loads((run / "init_from.json").read_text())["path"].endswith("tqse-conformer-builtin-v2/model")


def test_a_run_resumed_after_the_default_moved_keeps_its_checkpoints_version(tmp_path):
    spec = {"name": "builtin", "path": None, "kwargs": {}}
    assert resumed_encoder_spec(tmp_path / "checkpoints", spec) == spec  # a fresh run: today's default
    last = tmp_path / "checkpoints" / "last"
    last.mkdir(parents=True)
    v2 = ROOT / "experiments" / "default_model" / "tqse-conformer-builtin-v2" / "model"
    (last / "config.json").write_text((v2 / "config.json").read_text())  # written before versions existed: version 1
    assert resumed_encoder_spec(tmp_path / "checkpoints", spec)["kwargs"] == {"version": 1}
    pinned = {"name": "builtin", "path": None, "kwargs": {"version": 2}}
    assert resumed_encoder_spec(tmp_path / "checkpoints", pinned) == pinned  # a named version is the config's
