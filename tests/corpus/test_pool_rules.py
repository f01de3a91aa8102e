"""Behaviour of the pool tier's labelling rules (``rules_pool``), on real paths from the new packages.

Paths are embedded so the core checks run anywhere; the listing files under ``/tmp/debs`` (one line per
audio file of a package, written when the rules were made) only widen the shadowing check when present.
"""

import re
from pathlib import Path

import pytest

from tqse.data.corpus.captions import PHRASES
from tqse.data.corpus.rules_pool import POOL_BLACKLIST, POOL_CLASSES, POOL_PARAPHRASES, POOL_RULES, pool_family_key
from tqse.data.corpus.taxonomy import CLASSES, RULES

PACKAGES = {
    "warzone2100-data", "freedroidrpg-data", "gcompris-qt-data", "pingus-data", "frozen-bubble-data", "xmoto-data",
    "extremetuxracer-data", "chromium-bsu-data", "minetest-data", "lbreakout2-data", "ri-li-data",
    "trigger-rally-data", "openarena-data", "tuxtype-data", "oxygen-sounds", "mirrormagic-data", "hydrogen-drumkits",
    "asterisk-core-sounds-fr-wav", "asterisk-core-sounds-es-wav", "asterisk-core-sounds-it-wav",
    "asterisk-core-sounds-ru-wav", "asterisk-moh-opsound-wav",
}
UNLABELLED, EXCLUDED = "<unlabelled>", "<excluded>"


def pool_classify(package: str, path: str) -> tuple[str, int | None]:
    """``(label | EXCLUDED | UNLABELLED, index of the deciding rule)`` the way ``taxonomy.classify`` decides:
    blacklist first, then the first matching rule (case-insensitive ``re.search``), else unlabelled."""
    if any(re.search(pattern, path, re.I) for pattern, _ in POOL_BLACKLIST.get(package, [])):
        return EXCLUDED, None
    for i, (pattern, label, _detail) in enumerate(POOL_RULES.get(package, [])):
        if re.search(pattern, path, re.I):
            return (label or EXCLUDED), i
    return UNLABELLED, None


# For every rule of every package, one real path (prefix, suffixes) that this rule is the first to match.
FIRST_HITS: dict[str, tuple[str, list[str]]] = {
    "warzone2100-data": ("usr/share/games/warzone2100/base.wz/", [
        "sequenceaudio/np1.ogg", "audio/sfx/misc/silence.ogg", "audio/memressp/power/pcv341.ogg",
        "audio/extra/lz.ogg", "audio/sfx/explons/smlexpl.ogg", "audio/sfx/explons/bldfall.ogg",
        "audio/sfx/weapons/mgbar2.ogg", "audio/sfx/weapons/lrgcan.ogg", "audio/sfx/weapons/flmthrow.ogg",
        "audio/sfx/vehicle/tland.ogg", "audio/sfx/misc/help.ogg", "audio/sfx/building/oilpump.ogg",
    ]),
    "freedroidrpg-data": ("usr/share/freedroidrpg/data/", [
        "sound/music/menu.ogg", "sound/effects/MenuClick.ogg",
        "sound/effects/tux_ingame_comments/CantRepairThat.ogg", "sound/effects/Glass_Break.ogg",
        "sound/effects/CameraTakesPicture.ogg", "sound/effects/swing_then_hit_1.ogg",
        "sound/effects/swing_then_nohit_1.ogg", "sound/effects/tux_footstep.ogg",
    ]),
    "gcompris-qt-data": ("usr/share/gcompris-qt/rcc/", [
        "core.rcc/gcompris/src/core/resource/intro.ogg", "core.rcc/gcompris/src/core/resource/sounds/win.wav",
        "instruments.rcc/gcompris/src/activities/instruments/resource/violin.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/cello.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/accordion.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/trumpet.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/saxophone.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/clarinet.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/tuba.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/piano.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/guitar.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/flute_traversiere.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/electric_guitar.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/organ.ogg",
        "instruments.rcc/gcompris/src/activities/instruments/resource/bongo.ogg",
        "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/owl.ogg",
        "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/pig.ogg",
        "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/chickens.ogg",
        "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/cat.ogg",
        "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/horse.ogg",
        "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/cow.ogg",
        "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/LRBark_3_LA_cut.ogg",
        "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/duck.ogg",
        "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/animals/sheep.ogg",
        "melody.rcc/gcompris/src/activities/melody/resource/xylofon_son2.wav",
        "traffic.rcc/gcompris/src/activities/traffic/resource/car.wav",
        "railroad.rcc/gcompris/src/activities/railroad/resource/sounds/train.wav",
        "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/LRRain_in_garden_01_LA_cut.ogg",
        "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/LRFrogsInPondDuringStormLACut.ogg",
        "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/LRApplauses_1_LA_cut.ogg",
        "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/LRDoor_Open_2_LA.ogg",
        "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/LRBuddhist_gong_05_LA.ogg",
        "melody.rcc/gcompris/src/activities/melody/resource/knock.wav",
        "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/LRFactory_noise_06_LA.ogg",
        "watercycle.rcc/gcompris/src/activities/watercycle/resource/harbor1.wav",
        "watercycle.rcc/gcompris/src/activities/watercycle/resource/harbor2.wav",
        "guessnumber.rcc/gcompris/src/activities/guessnumber/resource/helicopter.wav",
        "core.rcc/gcompris/src/core/resource/sounds/water.wav",
        "money.rcc/gcompris/src/activities/money/resource/money2.wav",
        "mining.rcc/gcompris/src/activities/mining/resource/pickaxe.wav",
        "target.rcc/gcompris/src/activities/target/resource/arrow.wav",
        "reversecount.rcc/gcompris/src/activities/reversecount/resource/icy_walk.wav",
    ]),
    "pingus-data": ("usr/share/games/pingus/data/sounds/", [
        "splash.wav",
    ]),
    "frozen-bubble-data": ("usr/share/games/frozen-bubble/snd/", [
        "introzik.ogg", "cancel.ogg", "applause.ogg",
    ]),
    "xmoto-data": ("usr/share/games/xmoto/Textures/Musics/", [
        "menu.ogg",
    ]),
    "extremetuxracer-data": ("usr/share/games/etr/", [
        "music/race1-jt.ogg", "sounds/tree_hit.wav",
    ]),
    "chromium-bsu-data": ("usr/share/games/chromium-bsu/wav/", [
        "music_game.wav", "exploBig.wav",
    ]),
    "minetest-data": ("usr/share/games/minetest/games/", [
        "devtest/mods/soundstuff/sounds/soundstuff_mono.ogg",
        "minetest_game/mods/default/sounds/default_break_glass.1.ogg",
        "minetest_game/mods/default/sounds/default_water_footstep.1.ogg",
        "minetest_game/mods/default/sounds/default_glass_footstep.ogg",
        "minetest_game/mods/doors/sounds/doors_door_open.ogg",
        "minetest_game/mods/env_sounds/sounds/env_sounds_water.1.ogg",
        "minetest_game/mods/fire/sounds/fire_large.ogg", "minetest_game/mods/tnt/sounds/tnt_explode.ogg",
    ]),
    "lbreakout2-data": ("usr/share/games/lbreakout2/", [
        "sounds/click.wav", "sounds/exp.wav",
    ]),
    "ri-li-data": ("usr/share/games/ri-li/Ri-li/Sounds/", [
        "clic.wav", "crash.wav",
    ]),
    "trigger-rally-data": ("usr/share/games/trigger-rally/data.zip/sounds/", [
        "codriver/paula/cut.wav", "codriver/tim/cut.wav", "engine.wav", "gravel.wav", "wind.wav", "bang.wav",
    ]),
    "openarena-data": ("usr/share/games/openarena/", [
        "baseoa/pak0.pk3/sound/misc/menu1.wav", "baseoa/pak0.pk3/sound/player/sarge/gasp.wav",
        "missionpack/mp-pak0.pk3/sound/voices/festivoxmale/no.ogg",
        "missionpack/mp-pak0.pk3/sound/voices/rott/no.ogg", "baseoa/pak0.pk3/sound/weapons/vulcan/wvulfire.wav",
        "baseoa/pak0.pk3/sound/weapons/rocket/rocklx1a.wav", "baseoa/pak0.pk3/sound/world/fire1.wav",
        "baseoa/pak0.pk3/sound/world/wind1.wav", "baseoa/pak0.pk3/sound/player/watr_in.wav",
        "baseoa/pak0.pk3/sound/player/footsteps/boot1.wav", "baseoa/pak0.pk3/sound/world/fan4.wav",
        "baseoa/pak0.pk3/sound/movers/doors/dr1_end.wav", "baseoa/pak0.pk3/sound/player/land1.wav",
    ]),
    "tuxtype-data": ("usr/share/tuxtype/", [
        "sounds/tuxi.ogg", "sounds/cheer.wav", "sounds/win.wav", "sounds/explosion.wav", "sounds/alarm.wav",
    ]),
    "oxygen-sounds": ("usr/share/sounds/", [
        "Oxygen-Sys-Log-In.ogg", "Oxygen-Im-Phone-Ring.ogg", "Oxygen-Im-Sms.ogg",
    ]),
    "mirrormagic-data": ("usr/share/games/mirrormagic/sounds/", [
        "snd_classic/halloffame.wav", "snd_classic/booom.wav", "snd_classic/lachen.wav", "snd_classic/gong.wav",
        "snd_classic/whoosh.wav",
    ]),
    "hydrogen-drumkits": ("usr/share/hydrogen/data/drumkits/", [
        "VariBreaks/VP Click.flac", "circAfrique v4/Djembe1 Bass.wav", "Gimme A Hand 1.0/Clave-Med.wav",
        "HardElectro1/CHH_1.flac", "ForzeeStereo/Kick-0.wav",
    ]),
    "asterisk-core-sounds-fr-wav": ("usr/share/asterisk/sounds/fr_CA_f_June/", [
        "beep.wav", "for.wav",
    ]),
    "asterisk-core-sounds-es-wav": ("usr/share/asterisk/sounds/es_MX_f_Allison/", [
        "beep.wav", "hours.wav",
    ]),
    "asterisk-core-sounds-it-wav": ("usr/share/asterisk/sounds/it_IT_m_Carlo/", [
        "beep.wav", "is.wav",
    ]),
    "asterisk-core-sounds-ru-wav": ("usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU/", [
        "beep.wav", "for.wav",
    ]),
    "asterisk-moh-opsound-wav": ("usr/share/asterisk/moh/", [
        "macroform-cold_day.wav",
    ]),
}

W = "usr/share/games/warzone2100/base.wz/audio/"
G = "usr/share/gcompris-qt/rcc/"
OA = "usr/share/games/openarena/"
TR = "usr/share/games/trigger-rally/data.zip/sounds/"
H = "usr/share/hydrogen/data/drumkits/"
AST = "usr/share/asterisk/sounds/"

EXPECTED = [
    # voices: the announcer is a woman, three of her folder's lines are a man; processed voices stay unlabelled
    ("warzone2100-data", W + "memressp/research/pcv353.ogg", "speech female"),
    ("warzone2100-data", W + "memressp/research/pcv355.ogg", "speech male"),
    ("warzone2100-data", W + "tutorial/tut73.ogg", "speech female"),
    ("warzone2100-data", W + "memressp/cmndrvoc/com030.ogg", UNLABELLED),
    ("warzone2100-data", W + "vtoltalk/v-atkrn1.ogg", UNLABELLED),
    ("warzone2100-data", W + "taunts/taunt2/hahaha2.ogg", UNLABELLED),
    ("warzone2100-data", W + "nexus/laugh1.ogg", UNLABELLED),
    ("warzone2100-data", W + "countdown/10to1.ogg", UNLABELLED),
    ("warzone2100-data", "usr/share/games/warzone2100/base.wz/sequenceaudio/res_droid.ogg", EXCLUDED),
    ("warzone2100-data", W + "sfx/weapons/mgheavy.ogg", "gunshot"),
    ("warzone2100-data", W + "sfx/weapons/bemlsr.ogg", UNLABELLED),
    ("warzone2100-data", W + "sfx/vehicle/vtolland.ogg", "aircraft"),
    ("warzone2100-data", W + "sfx/vehicle/tread.ogg", UNLABELLED),
    ("warzone2100-data", W + "radclick/radclik5.ogg", EXCLUDED),
    ("trigger-rally-data", TR + "codriver/paula/hairpin.wav", "speech female"),
    ("trigger-rally-data", TR + "codriver/tim/hairpin.wav", "speech male"),
    ("trigger-rally-data", TR + "codriver/ab/Hairpin.wav", UNLABELLED),
    ("trigger-rally-data", TR + "wind.wav", "wind"),
    ("trigger-rally-data", TR + "engine.wav", "car"),
    ("trigger-rally-data", TR + "gear.wav", UNLABELLED),
    ("openarena-data", OA + "missionpack/mp-pak0.pk3/sound/voices/festivoxmale/coverme.ogg", "speech male"),
    ("openarena-data", OA + "missionpack/mp-pak0.pk3/sound/voices/festivoxmale/bzzz.ogg", UNLABELLED),
    ("openarena-data", OA + "missionpack/mp-pak0.pk3/sound/voices/rott/baseunderattack.ogg", "speech male"),
    ("openarena-data", OA + "baseoa/pak0.pk3/sound/player/sarge/pain75_1.wav", "pain grunt"),
    ("openarena-data", OA + "baseoa/pak0.pk3/sound/player/sarge/taunt.wav", UNLABELLED),
    ("openarena-data", OA + "baseoa/pak0.pk3/sound/world/wind2.wav", "wind"),
    ("openarena-data", OA + "baseoa/pak0.pk3/sound/world/demonwind01.wav", UNLABELLED),
    ("openarena-data", OA + "baseoa/pak0.pk3/sound/misc/nightmare.wav", EXCLUDED),
    ("openarena-data", OA + "baseoa/pak0.pk3/sound/world/drops.wav", EXCLUDED),
    ("openarena-data", OA + "baseoa/pak0.pk3/sound/world/ambient/x_rumbledrone.wav", UNLABELLED),
    ("openarena-data", OA + "baseoa/pak0.pk3/sound/weapons/railgun/railgf1a.wav", UNLABELLED),
    ("freedroidrpg-data", "usr/share/freedroidrpg/data/sound/effects/tux_ingame_comments/Tux_Item_Cant_Be_0.ogg",
     "speech male"),
    ("freedroidrpg-data", "usr/share/freedroidrpg/data/sound/effects/bot_sounds/voice_samples/12.ogg", UNLABELLED),
    ("freedroidrpg-data", "usr/share/freedroidrpg/data/sound/music/town.ogg", EXCLUDED),
    ("freedroidrpg-data", "usr/share/freedroidrpg/data/sound/effects/item_sounds/Item_Drop_Sound_3.ogg", EXCLUDED),
    # Asterisk: one speaker per package, gender from the speaker folder; tones, silences and monkeys are not speech
    ("asterisk-core-sounds-fr-wav", AST + "fr_CA_f_June/vm-intro.wav", "speech female"),
    ("asterisk-core-sounds-es-wav", AST + "es_MX_f_Allison/digits/1.wav", "speech female"),
    ("asterisk-core-sounds-it-wav", AST + "it_IT_m_Carlo/vm-intro.wav", "speech male"),
    ("asterisk-core-sounds-ru-wav", AST + "ru_RU_f_IvrvoiceRU/letters/a.wav", "speech female"),
    ("asterisk-core-sounds-ru-wav", AST + "ru_RU_f_IvrvoiceRU/is.wav", EXCLUDED),
    ("asterisk-core-sounds-it-wav", AST + "it_IT_m_Carlo/silence/10.wav", EXCLUDED),
    ("asterisk-core-sounds-fr-wav", AST + "fr_CA_f_June/beep.wav", EXCLUDED),
    ("asterisk-core-sounds-es-wav", AST + "es_MX_f_Allison/ascending-2tone.wav", EXCLUDED),
    ("asterisk-core-sounds-fr-wav", AST + "fr_CA_f_June/tt-monkeys.wav", UNLABELLED),
    ("asterisk-core-sounds-fr-wav", AST + "fr_CA_f_June/tt-monkeysintro.wav", "speech female"),
    ("asterisk-moh-opsound-wav", "usr/share/asterisk/moh/reno_project-system.wav", EXCLUDED),
    # gcompris: instruments, farm animals, everyday recordings, world music
    ("gcompris-qt-data", G + "instruments.rcc/gcompris/src/activities/instruments/resource/guitar.ogg",
     "acoustic guitar"),
    ("gcompris-qt-data", G + "instruments.rcc/gcompris/src/activities/instruments/resource/flute_traversiere.ogg",
     "flute"),
    ("gcompris-qt-data", G + "instruments.rcc/gcompris/src/activities/instruments/resource/tambourine.ogg", "drums"),
    ("gcompris-qt-data", G + "instruments.rcc/gcompris/src/activities/instruments/resource/organ.ogg", "organ"),
    ("gcompris-qt-data", G + "instruments.rcc/gcompris/src/activities/instruments/resource/harmonica.ogg",
     UNLABELLED),
    ("gcompris-qt-data", G + "instruments.rcc/gcompris/src/activities/instruments/resource/horn.ogg", UNLABELLED),
    ("gcompris-qt-data", G + "explore_farm_animals.rcc/gcompris/src/activities/explore_farm_animals/resource/"
     "animals/chickens.ogg", "chicken"),
    ("gcompris-qt-data", G + "explore_world_music.rcc/gcompris/src/activities/explore_world_music/resource/"
     "music/japan.ogg", EXCLUDED),
    ("gcompris-qt-data", G + "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/"
     "LRTrain_slowing_down_01_LA_cut.ogg", "train"),
    ("gcompris-qt-data", G + "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/"
     "LRRain_in_garden_01_LA_cut.ogg", "rain"),
    ("gcompris-qt-data", G + "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/LRWeird_3_LA.ogg",
     UNLABELLED),
    ("gcompris-qt-data", G + "railroad.rcc/gcompris/src/activities/railroad/resource/sounds/train.wav", "train"),
    ("gcompris-qt-data", G + "watercycle.rcc/gcompris/src/activities/watercycle/resource/harbor1.wav",
     "horn signal"),
    ("gcompris-qt-data", G + "core.rcc/gcompris/src/core/resource/intro.ogg", EXCLUDED),
    # drum kits, with the non-drum samples of the percussion kits left unlabelled
    ("hydrogen-drumkits", H + "The Black Pearl 1.0/PearlSnare-Hard.wav", "drums"),
    ("hydrogen-drumkits", H + "Gimme A Hand 1.0/Cowbell-Med.wav", "drums"),
    ("hydrogen-drumkits", H + "Gimme A Hand 1.0/Fingersnap-Med.wav", UNLABELLED),
    ("hydrogen-drumkits", H + "Gimme A Hand 1.0/WaterglassLo-Soft.wav", UNLABELLED),
    ("hydrogen-drumkits", H + "Audiophob/122557__anillogic__trimo-c3.wav", UNLABELLED),
    ("hydrogen-drumkits", H + "Audiophob/124101__connersaw8__crash.wav", "drums"),
    ("hydrogen-drumkits", H + "HardElectro1/xFX_6.flac", UNLABELLED),
    ("hydrogen-drumkits", H + "Millo-Drums_v.1/emptySample.flac", EXCLUDED),
    # small packages: music out, everyday sounds in, game blips unlabelled
    ("oxygen-sounds", "usr/share/sounds/Oxygen-Sys-Log-In-Long.ogg", EXCLUDED),
    ("oxygen-sounds", "usr/share/sounds/Oxygen-Sys-Log-Out.ogg", "beep"),
    ("oxygen-sounds", "usr/share/sounds/Oxygen-Window-Close.ogg", UNLABELLED),
    ("minetest-data", "usr/share/games/minetest/games/minetest_game/mods/default/sounds/default_snow_footstep.3.ogg",
     "footsteps"),
    ("minetest-data", "usr/share/games/minetest/games/minetest_game/mods/default/sounds/default_water_footstep.2.ogg",
     "water"),
    ("minetest-data", "usr/share/games/minetest/games/minetest_game/mods/carts/sounds/carts_cart_moving.1.ogg",
     UNLABELLED),
    ("xmoto-data", "usr/share/games/xmoto/Textures/Musics/batcave.ogg", EXCLUDED),
    ("extremetuxracer-data", "usr/share/games/etr/sounds/snow_slide.wav", UNLABELLED),
    ("tuxtype-data", "usr/share/tuxtype/sounds/amidst_the_raindrops.ogg", EXCLUDED),
    ("tuxtype-data", "usr/share/tuxtype/themes/dansk/sounds/excuseme.wav", UNLABELLED),
    ("mirrormagic-data", "usr/share/games/mirrormagic/sounds/snd_mirrormagic/whoosh.wav", "whoosh"),
    ("pingus-data", "usr/share/games/pingus/data/sounds/goodidea.wav", UNLABELLED),
]


@pytest.mark.parametrize("package,path,expected", EXPECTED)
def test_real_paths_get_the_expected_outcome(package, path, expected):
    assert pool_classify(package, path)[0] == expected


def test_rules_cover_exactly_the_new_packages_and_none_of_the_old():
    assert set(POOL_RULES) == PACKAGES
    assert set(POOL_BLACKLIST) <= PACKAGES
    assert not set(POOL_RULES) & set(RULES)


def test_every_regex_compiles_and_every_label_is_a_known_class():
    known = set(CLASSES) | set(POOL_CLASSES)
    for package, rules in POOL_RULES.items():
        for pattern, label, detail in rules:
            re.compile(pattern, re.I)
            assert label is None or label in known, (package, label)
            assert detail, (package, pattern)                        # a caption phrase, or why it is excluded
            if label:
                assert detail[0].isalpha(), detail                      # captions drop details that are not
    for package, entries in POOL_BLACKLIST.items():
        for pattern, reason in entries:
            re.compile(pattern, re.I)
            assert reason


def test_new_classes_are_complete():
    assert not set(POOL_CLASSES) & set(CLASSES)
    for label, (category, role) in POOL_CLASSES.items():
        assert role in ("target", "interferer") and category
        assert len(POOL_PARAPHRASES[label]) >= min(len(p) for p in PHRASES.values())
    assert set(POOL_PARAPHRASES) == set(POOL_CLASSES)


def test_no_rule_is_shadowed_by_an_earlier_rule_of_its_package():
    for package, rules in POOL_RULES.items():
        prefix, suffixes = FIRST_HITS[package]
        decided = {pool_classify(package, prefix + s)[1] for s in suffixes}
        assert decided == set(range(len(rules))), (package, sorted(set(range(len(rules))) - decided))


def test_real_listings_hit_every_rule_when_present():
    listings = Path("/tmp/debs")
    if not listings.is_dir():
        pytest.skip("package listings not here (the embedded FIRST_HITS cover every rule)")
    for package, rules in POOL_RULES.items():
        listing = listings / f"{package}.audio.tsv"
        if listing.exists():
            paths = [line.split("\t", 1)[0] for line in listing.read_text().splitlines() if line]
            decided = {pool_classify(package, p)[1] for p in paths}
            assert set(range(len(rules))) <= decided, package


def test_family_keys_group_speakers_kits_and_takes():
    def same(package, *paths):
        return len({pool_family_key(package, p) for p in paths}) == 1

    def differ(package, a, b):
        return pool_family_key(package, a) != pool_family_key(package, b)

    it, fr, es = (f"asterisk-core-sounds-{lang}-wav" for lang in ("it", "fr", "es"))
    assert same(it, AST + "it_IT_m_Carlo/vm-intro.wav", AST + "it_IT_m_Carlo/digits/7.wav")
    assert pool_family_key(fr, AST + "fr_CA_f_June/a.wav") != pool_family_key(es, AST + "es_MX_f_Allison/a.wav")
    assert same("hydrogen-drumkits", H + "ForzeeStereo/Kick-0.wav", H + "ForzeeStereo/China-1.wav")
    assert differ("hydrogen-drumkits", H + "ForzeeStereo/Kick-0.wav", H + "VariBreaks/VP Kick 1.flac")
    wz = "warzone2100-data"
    assert same(wz, W + "tutorial/tut1.ogg", W + "memressp/power/pcv346.ogg", W + "extra/lz.ogg")
    assert differ(wz, W + "memressp/power/pcv341.ogg", W + "tutorial/tut1.ogg")      # the male lines
    assert same(wz, W + "taunts/taunt1/haha1.ogg", W + "taunts/taunt1/gmeover1.ogg")
    assert differ(wz, W + "taunts/taunt1/gmeover1.ogg", W + "taunts/taunt2/gmeover2.ogg")
    assert same("trigger-rally-data", TR + "codriver/tim/left.wav", TR + "codriver/tim/jump.wav")
    assert differ("trigger-rally-data", TR + "codriver/tim/left.wav", TR + "codriver/paula/left.wav")
    sarge, mg = OA + "baseoa/pak0.pk3/sound/player/sarge/", OA + "baseoa/pak0.pk3/sound/weapons/machinegun/"
    assert same("openarena-data", sarge + "death1.wav", sarge + "pain25_1.wav", sarge + "gasp.wav")
    assert same("openarena-data", mg + "machgf1b.wav", mg + "machgf4b.wav")
    mem = G + "memory-sound.rcc/gcompris/src/activities/memory-sound/resource/"
    assert same("gcompris-qt-data", mem + "LRFactory_noise_01_LA.ogg", mem + "LRFactory_noise_06_LA.ogg")
    assert same("gcompris-qt-data", mem + "LRBark_1_LA_cut.ogg", mem + "LRBark_3_LA_cut.ogg")
    assert differ("gcompris-qt-data", mem + "LRBark_1_LA_cut.ogg", mem + "LRFactory_noise_01_LA.ogg")
    tux = "usr/share/freedroidrpg/data/sound/effects/tux_ingame_comments/"
    assert same("freedroidrpg-data", tux + "CantRepairThat.ogg", tux + "Tux_This_Quick_Fix_0.ogg")
    # everything else keeps taxonomy.family_key's default
    minetest = "usr/share/games/minetest/games/minetest_game/mods/fire/sounds/fire_fire.1.ogg"
    assert pool_family_key("minetest-data", minetest) is None
    assert pool_family_key(wz, W + "sfx/weapons/mgbar1.ogg") is None
