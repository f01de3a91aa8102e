"""The audio-only pool tier (issue 22) on fake packages: unlabelled clips, the unseen-source split, splits
pinned to the `default` tier, diversity counts. The real build is `test_corpus_real_pool.py` (slow)."""

import json

import pytest

from tqse.data.corpus import build_corpus
from tqse.data.corpus.pool import diversity, interleave_by_class, source_family
from tqse.data.manifest import iter_jsonl, read_clips, read_mixtures

from corpus_fakes import SMALL, PoolApt, check_splits

# sonic-pi: guitar and drum loops labelled, every other fixture file left unlabelled (ambi_*, bass_*, perc_*)
SONIC_RULES = [(r"/guit_", "acoustic guitar", "a guitar"), (r"/loop_", "drums", "a drum loop")]
KIT_RULES = [(r"/drumkits/.*/(kick|snare)", "drums", "a drum kit")]   # the click: unlabelled, too short


def _rows(path):
    return [obj for _, obj in iter_jsonl(path)] if path.exists() else []


@pytest.fixture
def pool(tmp_path, monkeypatch):
    from tqse.data.corpus import taxonomy

    monkeypatch.setitem(taxonomy.RULES, "sonic-pi-samples", SONIC_RULES)
    monkeypatch.setitem(taxonomy.POOL_RULES, "hydrogen-drumkits", KIT_RULES)
    apt = PoolApt(tmp_path / "apt")
    out = tmp_path / "corpus" / "pool"
    clips = build_corpus("pool", out, clip_seconds=3.0, seed=0, cache=tmp_path / "cache", fetcher=apt,
                         spec_overrides=SMALL)
    return clips.parent


def test_unmatched_audio_enters_the_pool_without_class_or_caption(pool):
    unlabelled = _rows(pool / "unlabelled.jsonl")
    assert unlabelled, "fixture files no rule labels must become unlabelled clips"
    assert all(r["class"] is None and r["captions"] == [] and r["category"] == "unlabelled" for r in unlabelled)
    assert {r["split"] for r in unlabelled} == {"train"}          # not scorable: they only train
    names = {r["original"].rsplit("/", 1)[-1] for r in unlabelled}
    assert any(n.startswith(("ambi_", "bass_", "perc_")) for n in names)
    assert not any(n.startswith(("guit_", "loop_")) for n in names)
    # the reader gives them no label, so training can only query them by audio
    assert all(c.label is None and not c.captions for c in read_clips(pool / "unlabelled.jsonl"))


def test_clicks_shorter_than_0_3_s_never_enter(pool):
    every = _rows(pool / "clips.jsonl") + _rows(pool / "interferers.jsonl") + _rows(pool / "unlabelled.jsonl")
    assert not any("click" in r["original"] for r in every)
    assert any("kick" in r["original"] for r in every)


def test_held_out_families_form_the_unseen_split_with_fixed_mixtures(pool):
    rows = _rows(pool / "clips.jsonl") + _rows(pool / "interferers.jsonl")
    kit = [r for r in rows if r["source_id"] == "hydrogen-drumkits"]
    assert kit and {r["split"] for r in kit} == {"unseen"}
    assert not any(r["split"] == "ood" for r in rows)
    from tqse.data.corpus.sources import tier_spec

    assert check_splits(rows, tier_spec("pool").ood_sources) == []
    mixtures = read_mixtures(pool / "mixtures" / "unseen.jsonl")
    assert mixtures and all(m.label for m in mixtures)
    unseen_clips = {r["path"] for r in rows if r["split"] == "unseen"}
    assert all(json.loads(line)["target_clip"].split("../", 1)[-1] in unseen_clips
               for line in (pool / "mixtures" / "unseen.jsonl").read_text().splitlines())


def test_recordings_the_default_tier_holds_out_keep_their_split(pool):
    default = pool.parent / "default"
    assert (default / "state.json").exists(), "the pool builds the default tier beside it to pin splits"
    held = {r["recording_group"]: r["split"] for r in _rows(default / "clips.jsonl") + _rows(default / "interferers.jsonl")
            if r["split"] != "train"}
    assert held
    pooled = {r["recording_group"]: r["split"] for r in _rows(pool / "clips.jsonl") + _rows(pool / "interferers.jsonl")}
    for group, split in held.items():
        if group in pooled:
            assert pooled[group] == ("unseen" if split == "ood" else split), group


def test_stats_report_sources_families_and_the_rendered_share(pool):
    stats = json.loads((pool / "stats.json").read_text())
    report = stats["pool"]
    assert report["train_recordings"] == sum(report["per_family"].values()) > 0
    assert "(unlabelled)" in report["per_class"]
    assert 0 <= report["rendered_share"] <= 1 and set(report["aims_met"]) == {"family_share", "rendered_share"}
    assert stats["unlabelled_clips"]["train"] == len(_rows(pool / "unlabelled.jsonl"))
    assert "scan" in stats["build_seconds"]


def test_source_families_join_soundfonts_and_speech_engines():
    assert source_family("sf:fluidr3gs") == source_family("sf:fluidr3") == "sf:fluidr3"
    assert source_family("sf:musescorefull") == "sf:musescore"
    assert source_family("voice:espeak:de+f2") == source_family("voice:espeak:en+m1") == "voice:espeak"
    assert source_family("openarena-data") == "openarena-data"


def test_diversity_counts_a_group_of_takes_once():
    rows = [{"split": "train", "recording_group": "g", "class": "dog", "source_id": "a", "recordings_in_group": 5},
            {"split": "train", "recording_group": "g", "class": "dog", "source_id": "a", "recordings_in_group": 5},
            {"split": "train", "recording_group": "sf:x:1", "class": "piano", "source_id": "sf:fluidr3"},
            {"split": "val", "recording_group": "h", "class": "dog", "source_id": "b", "recordings_in_group": 9}]
    report = diversity(rows)
    assert report["train_recordings"] == 6 and report["rendered_share"] == round(1 / 6, 3)
    assert report["largest_family"] == "a" and not report["aims_met"]["family_share"]


def test_fixed_mixtures_interleave_classes_so_any_prefix_is_balanced():
    items = [({"class": c}, {}, 0.0) for c in "aaabbbccc"]
    assert [i[0]["class"] for i in interleave_by_class(items)] == list("abcabcabc")


def test_a_shared_unlabelled_file_does_not_make_two_speakers_one_group():
    import numpy as np

    from tqse.data.corpus.build import Builder

    beep = np.tile(np.linspace(0, 20, 16, dtype=np.float32), (40, 1))
    voice_a, voice_b = beep + np.random.default_rng(1).normal(0, 5, beep.shape), beep + 40.0 * np.eye(40, 16)

    def rec(key, family, label, fingerprint):
        return {"key": key, "family": family, "class": label, "seconds": 1.0, "fingerprint": fingerprint.tolist()}

    recs = [rec("fr:beep", "fr", "", beep), rec("fr:hello", "fr", "speech female", voice_a),
            rec("es:beep", "es", "", beep), rec("es:hola", "es", "speech female", voice_b)]
    Builder.group(None, recs)
    assert {r["key"]: r["group"] for r in recs}["fr:hello"] != {r["key"]: r["group"] for r in recs}["es:hola"]
    assert recs[2]["duplicate_of"] == "fr:beep"          # the copy is still dropped as a duplicate
    labelled = [rec("a:dog", "a", "dog", beep), rec("b:dog", "b", "dog", beep)]
    Builder.group(None, labelled)
    assert labelled[0]["group"] == labelled[1]["group"]  # the same recording of a labelled sound: one group
