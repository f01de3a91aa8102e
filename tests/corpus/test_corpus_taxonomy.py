from tqse.data.corpus.taxonomy import CLASSES, RULES, classify, family_key
from tqse.data.corpus.captions import PHRASES, captions_for
from tqse.data.corpus.sources import file_credit, parse_copyright, tier_spec
import numpy as np

from corpus_fakes import COPYRIGHT


def test_rules_map_files_to_classes_and_skip_music():
    assert classify("lugaru-data", "usr/share/games/lugaru/Sounds/Bark2.ogg").label == "dog"
    assert classify("widelands-data", "usr/share/games/widelands/data/sound/animals/wolf_01.ogg").label == "wolf"
    assert classify("widelands-data", "usr/share/games/widelands/data/music/ingame_01.ogg") is None
    assert classify("hedgewars-data", "usr/share/games/hedgewars/Data/Sounds/voices/Robot/Laugh.ogg") is None
    assert classify("hedgewars-data", "usr/share/games/hedgewars/Data/Sounds/voices/Pirate/Laugh.ogg").label \
        == "laughter"
    assert classify("asterisk-core-sounds-en-wav",
                    "usr/share/asterisk/sounds/en_US_f_Allison/digits/1.wav").label == "speech female"
    assert classify("tuxpaint-stamps-default", "usr/share/tuxpaint/stamps/animals/birds/crow_desc.ogg") is None


def test_blacklist_wins_over_rules():
    assert classify("hydrogen-data", "usr/share/hydrogen/data/drumkits/GMRockKit/Kick-Hard.wav").label == "drums"
    assert classify("hydrogen-data", "usr/share/hydrogen/data/drumkits/x/emptySample.wav") is None
    assert classify("hedgewars-data", "usr/share/games/hedgewars/Data/Sounds/splash.ogg").label == "water"
    assert classify("hedgewars-data", "usr/share/games/hedgewars/Data/Sounds/planewater.ogg") is None


def test_every_rule_label_is_a_class_with_phrases():
    labels = {label for rules in RULES.values() for _, label, _ in rules if label}
    assert labels <= set(CLASSES)
    assert set(CLASSES) <= set(PHRASES)


def test_family_key_groups_takes_not_different_sounds():
    key = lambda p: family_key("wesnoth-1.16-data", f"usr/share/games/wesnoth/1.16/data/core/sounds/{p}")
    assert key("wolf-hit-1.ogg") == key("wolf-hit-4.ogg")
    assert key("wolf-hit-1.ogg") != key("wolf-growl-1.ogg")
    kit = lambda p: family_key("hydrogen-data", f"usr/share/hydrogen/data/drumkits/GMRockKit/{p}")
    assert kit("Snare-Hard.wav") == kit("Snare-Softest.wav") != kit("Kick-Hard.wav")
    voice = lambda p: family_key("hedgewars-data", f"usr/share/games/hedgewars/Data/Sounds/voices/{p}")
    assert voice("Pirate/Laugh.ogg") == voice("Pirate/Ow1.ogg") != voice("British/Laugh.ogg")


def test_unseen_captions_only_outside_train():
    rng = np.random.default_rng(0)
    caps, unseen = captions_for("dog", "a dog barking", "train", rng)
    assert caps[0] == "this is the sound of dog" and unseen == []
    caps, unseen = captions_for("dog", "a dog barking", "test", rng)
    assert unseen and not set(unseen) & set(caps)
    assert all(PHRASES["dog"][-1] not in c for c in caps)        # the held-out paraphrase stays held out


def test_licences_per_file_and_per_package():
    assert file_credit(COPYRIGHT, "usr/share/sonic-pi/samples/loop_amen.flac") == \
        ("CC0", "2009 Dolfeus; http://freesound.org/people/Dolfeus/sounds/43389/")
    licence, credit = file_credit(COPYRIGHT, "usr/share/sonic-pi/samples/other.flac")
    assert licence == "MIT AND CC0" and credit == ""
    assert parse_copyright(COPYRIGHT)[1] == ["2020 Example", "2009 Dolfeus"]


def test_tiers_nest_and_hold_out_sources():
    tiny, default, full = (tier_spec(t) for t in ("tiny", "default", "full"))
    assert set(tiny.sfx_packages) < set(default.sfx_packages) < set(full.sfx_packages)
    assert "sf:musescore" in default.ood_sources and "fluid-soundfont-gm" in default.soundfonts


def test_rule_digest_only_changes_with_the_tiers_own_packages(monkeypatch):
    from tqse.data.corpus import taxonomy

    tiny = tier_spec("tiny").sfx_packages
    before = taxonomy.rules_digest(tiny)
    monkeypatch.setitem(taxonomy.RULES, "supertux-data", [(r"x", "dog", "a dog")])
    assert taxonomy.rules_digest(tiny) == before
    monkeypatch.setitem(taxonomy.RULES, "etw-data", [(r"x", "dog", "a dog")])
    assert taxonomy.rules_digest(tiny) != before
