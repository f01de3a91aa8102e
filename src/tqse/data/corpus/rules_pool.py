"""File -> class rules for the packages new in the audio-only ``pool`` tier (same format as ``taxonomy.RULES``).

Rules are ordered ``(regex, label, detail)`` per package, matched case-insensitively with ``re.search``
against the file's path inside the package; the first match wins. For members of game archives the path
runs through the archive (``.../base.wz/audio/sfx/...``, ``.../pak0.pk3/sound/...``, ``.../data.zip/...``,
``.../rcc/<name>.rcc/gcompris/src/...``). Semantics in the pool tier:

* a rule with a label -> a **labelled** clip of that class; ``detail`` is its short noun phrase for the
  captions ("a woman speaking French");
* a rule with ``None`` -> the file is **excluded** (music beds, songs, jingles, menu loops, silence, UI
  clicks, pure tones); for these rules the third field says why (it is never used as a caption);
* no rule matches -> an **unlabelled** clip (``class: null``), used only for audio-query training: weapon
  zaps, fantasy and robot voices, taunts, game effects without a clear everyday class, speech of unclear
  gender. Unlabelled is the default whenever a label would be a guess; the builder also drops files
  shorter than 0.3 s after trimming and silent files, so those are not listed one by one.

Labels were decided from the file names and folders, then spot-checked on spectrograms (every doubtful
file, a sample of every rule) and, for voices, a YIN pitch estimate (median F0 of voiced frames: the
women here sit at 195-225 Hz, the men at 105-130 Hz; Asterisk's Italian "Carlo" at ~190 Hz is the one
high male voice, kept male on the speaker folder's gender tag ``it_IT_m_Carlo``). No new class was
needed: every labelled file fits an existing class, and none of the candidates (car horn, snoring,
heartbeat, monkeys) has the >= 6 recordings in >= 3 groups a class needs; :data:`POOL_CLASSES` and
:data:`POOL_PARAPHRASES` are therefore empty and kept for the builder's merge.
"""

from __future__ import annotations

import re

Rule = tuple[str, str | None, str]

# Warzone 2100: three lines of a man among the announcer's; the folders of the female announcer (countdown
# included for the family: same actress, some lines processed) and of the other voices.
_WZ_MALE = r"/memressp/(power/pcv341|research/pcv355|research/pcv360)\."
_WZ_ANNOUNCER = re.compile(r"/audio/(memressp/(?!cmndrvoc/)[a-z]+|tutorial|extra|proxmessages|countdown)/")
_WZ_VOICE = re.compile(r"/audio/(taunts/taunt\d|nexus|memressp/cmndrvoc|vtoltalk|trnsppil|coltive)/")


def _asterisk(speaker: str, label: str, detail: str) -> list[Rule]:
    """One Asterisk speaker folder: speech except silences, beep tones and the monkeys joke prompt."""
    return [(r"/silence/|/(ascending|descending)-2tone\.|/beep(err)?\.|/confbridge-(join|leave)\.", None,
             "silence files / a 700 Hz beep, 2-tone and conference join/leave signals (pure tones, the same file "
             "in every language pack: kept, they would tie all five speakers into one recording group)"),
            (rf"/{speaker}/(?!tt-monkeys\.)", label, detail)]   # tt-monkeys: monkeys screeching -> unlabelled


POOL_RULES: dict[str, list[Rule]] = {
    # 558 files in base.wz, no music (that is a separate package). ~300 lines of one female announcer
    # (memressp/* but cmndrvoc, tutorial, extra, proxmessages; F0 ~200 Hz, clean speech) -> speech female,
    # except three lines of a man (F0 ~110 Hz) among them.
    # Unlabelled: countdown (same announcer but some lines are processed), radio-processed pilot / commander
    # / collective voices, Nexus robot voice, taunts, lasers, hover/tread engines, ricochets, UI beeps.
    "warzone2100-data": [
        (r"/sequenceaudio/", None, "video soundtracks: synth beds and bleeps under voice-over"),
        (r"/sfx/misc/silence\.|/radclick/", None, "silence / radio clicks"),
        (_WZ_MALE, "speech male", "a man announcing"),
        (r"/audio/(memressp/(?!cmndrvoc/)[a-z]+|tutorial|extra|proxmessages)/", "speech female",
         "a woman announcing"),
        (r"/explons/(lrgexpl|smlexpl|atnkexpl|mpodexpl|nxsexpld)\.", "explosion", "an explosion"),
        (r"/explons/bldfall\.", "explosion", "a building collapsing"),
        (r"/weapons/(mgbar\d|mgheavy|mgtower|asltmg)\.", "gunshot", "machine-gun fire"),
        (r"/weapons/(lrgcan|medcan|smlcan|rapdcan|hivelcan)\.", "gunshot", "a cannon firing"),
        (r"/weapons/flmthrow\.", "fire", "a flamethrower roaring"),
        (r"/vehicle/(vtol-move|vtolland|vtoloff|tflight|tstart|tland)\.", "aircraft", "an aircraft's jet engines"),
        (r"/sfx/misc/(scream\d?|help)\.", "pain grunt", "a person screaming"),
        (r"/building/oilpump\.", "machinery", "an oil pump"),
    ],
    # 188 files: 17 music tracks and title themes (excluded), menu blips and win/lose jingles (excluded),
    # Tux's comments (one male actor, F0 ~130 Hz) -> speech male, a few everyday effects. Robot voices
    # (bot_sounds, vocoded) and weapon zaps stay unlabelled.
    "freedroidrpg-data": [
        (r"/music/|/titles/", None, "music"),
        (r"/(MenuClick|Menu_Item_|Move_Menu_Position|Takeover_Game_|ThouArtDefeated)", None,
         "menu blips and win/lose jingles"),
        (r"/tux_ingame_comments/", "speech male", "a man speaking"),
        (r"/Glass_Break\.", "glass breaking", "glass breaking"),
        (r"/CameraTakesPicture\.", "camera shutter", "a camera shutter"),
        (r"/swing_then_hit_\d", "sword clash", "a weapon swinging and striking metal"),
        (r"/swing_then_nohit_\d", "whoosh", "a weapon swishing"),
        (r"/tux_footstep\.", "footsteps", "a footstep"),
    ],
    # 136 files in Qt bundles (the spoken voices are other packages). instruments.rcc: real single-instrument
    # recordings; harmonica, banjo, harp, French horn and trombone have no class and stay unlabelled.
    # memory-sound.rcc: freesound-style everyday recordings. world music, the intro music and UI blips excluded.
    "gcompris-qt-data": [
        (r"/explore_world_music/|/core/resource/intro\.|/LRLaPause", None, "music"),
        (r"/sounds/(win|bonus|completetask|flip|scroll|audioclick|darken|smudge|bleep)\.|/click\.wav$|"
         r"/morse_code/resource/silence\.", None, "UI blips, reward jingles, silence"),
        (r"/instruments/resource/violin\.", "violin", "a violin"),
        (r"/instruments/resource/cello\.", "cello", "a cello"),
        (r"/instruments/resource/accordion\.", "accordion", "an accordion"),
        (r"/instruments/resource/trumpet\.", "trumpet", "a trumpet"),
        (r"/instruments/resource/saxophone\.", "saxophone", "a saxophone"),
        (r"/instruments/resource/clarinet\.", "clarinet", "a clarinet"),
        (r"/instruments/resource/tuba\.", "tuba", "a tuba"),
        (r"/instruments/resource/piano\.", "piano", "a piano"),
        (r"/instruments/resource/guitar\.", "acoustic guitar", "an acoustic guitar"),
        (r"/instruments/resource/flute_traversiere\.", "flute", "a flute"),
        (r"/instruments/resource/electric_guitar\.", "electric guitar", "an electric guitar"),
        (r"/instruments/resource/organ\.", "organ", "an organ"),
        (r"/instruments/resource/(tambourine|snare_drum|bongo|triangle|cymbal|timpani|maracas|drum_kit|"
         r"castanets)\.", "drums", "a percussion instrument"),
        (r"/animals/owl\.", "bird", "an owl hooting"),
        (r"/animals/pig\.", "pig", "a pig grunting"),
        (r"/animals/chickens\.", "chicken", "chickens clucking"),
        (r"/animals/cat\.", "big cat", "a cat meowing"),
        (r"/animals/horse\.", "horse", "a horse neighing"),
        (r"/animals/cow\.", "cow", "a cow mooing"),
        (r"/animals/dog\.|/LRBark_", "dog", "a dog barking"),
        (r"/animals/duck\.", "duck", "a duck quacking"),
        (r"/animals/sheep\.", "sheep", "a sheep bleating"),
        (r"/melody/resource/xylofon_son\d", "xylophone", "a xylophone note"),
        (r"/LRStartAndStopCarEngine|/traffic/resource/car\.", "car", "a car engine"),
        (r"/LRTrain_slowing_down|/railroad/resource/sounds/train\.", "train", "a train"),
        (r"/LRRain_in_garden", "rain", "rain falling in a garden"),
        (r"/LRFrogsInPond", "frog", "frogs croaking in a pond"),
        (r"/LRApplauses", "crowd", "applause"),
        (r"/LRDoor_Open", "door", "a door opening"),
        (r"/LRBuddhist_gong", "bell", "a gong"),
        (r"/LRObject_falling|/LRHits_|/melody/resource/knock\.", "thud", "objects falling and knocking"),
        (r"/LRFactory_noise", "machinery", "factory machinery"),
        (r"/watercycle/resource/harbor1\.", "horn signal", "a ship's horn"),
        (r"/watercycle/resource/harbor2\.", "bird", "seagulls calling over a harbour"),
        (r"/guessnumber/resource/helicopter\.", "aircraft", "a helicopter"),
        (r"/canal_lock/resource/water_fill\.|/core/resource/sounds/water\.|/resource/bubble\.", "water",
         "water flowing and bubbling"),
        (r"/money/resource/money\d", "coins", "coins jingling"),
        (r"/mining/resource/pickaxe\.", "hammering", "a pickaxe striking rock"),
        (r"/target/resource/arrow\.", "bow and arrow", "an arrow hitting a target"),
        (r"/reversecount/resource/icy_walk\.", "footsteps", "footsteps on ice"),
    ],
    # 11 short files (11 kHz): pingu voice squeaks stay unlabelled; one splash.
    "pingus-data": [(r"/splash\.", "water", "a splash")],
    # 21 files: 3 music tracks and menu blips excluded; applause labelled; the rest are game effects.
    "frozen-bubble-data": [
        (r"/(frozen-mainzik-[12]p|introzik)\.", None, "music"),
        (r"/(menu_change|menu_selected|chatted|cancel)\.", None, "menu blips"),
        (r"/applause\.", "crowd", "applause"),
    ],
    # 7 files, all music.
    "xmoto-data": [(r"/Musics/", None, "music")],
    # 20 files: 10 music tracks excluded; slides on snow/ice/mud (no class) unlabelled; a tree hit.
    "extremetuxracer-data": [
        (r"/etr/music/", None, "music"),
        (r"/tree_hit\.", "thud", "someone crashing into a tree"),
    ],
    # 9 files: 2 music loops excluded; the explosions labelled, power-up sounds unlabelled.
    "chromium-bsu-data": [
        (r"/music_(game|menu)\.", None, "music"),
        (r"/explo(Big|Pop|Std)\.", "explosion", "an explosion"),
    ],
    # 109 files of minetest_game's mods: footsteps on ten surfaces, doors, fire, flowing water, glass, TNT.
    # Digging / placing node clicks and lava bubbles stay unlabelled.
    "minetest-data": [
        (r"/devtest/", None, "a 0.08 s test blip"),
        (r"_break_glass\.", "glass breaking", "glass shattering"),
        (r"/default_water_footstep\.", "water", "wading through water"),
        (r"_footstep\.", "footsteps", "footsteps"),
        (r"/doors_|_steel_bar_door_", "door", "a door opening and closing"),
        (r"/env_sounds_water\.", "water", "flowing water"),
        (r"/fire_(fire|large|small)\.|/default_furnace_active\.", "fire", "a fire crackling"),
        (r"/tnt_explode\.", "explosion", "an explosion"),
    ],
    # 38 files, almost all < 0.3 s UI/game blips; voice lines ("excellent", "damn") are processed -> unlabelled.
    "lbreakout2-data": [
        (r"/(gui_theme/|sounds/(menu_click|menu_motion|click)\.)", None, "menu clicks"),
        (r"/sounds/exp\.", "explosion", "an explosion"),
    ],
    # 9 files (toy train puzzle): synthetic tones and jingles unlabelled; the crash labelled.
    "ri-li-data": [
        (r"/clic\.", None, "a menu click"),
        (r"/crash\.", "thud", "a toy train crashing"),
    ],
    # 134 files in data.zip: three rally co-drivers. paula (F0 ~200 Hz) and tim (~120 Hz) have clear genders;
    # "ab" (F0 spread 120-270 Hz, shouted) is not clear and stays unlabelled. Car engine, gravel, wind.
    "trigger-rally-data": [
        (r"/codriver/paula/", "speech female", "a woman calling rally pace notes"),
        (r"/codriver/tim/", "speech male", "a man calling rally pace notes"),
        (r"/sounds/engine\.", "car", "a car engine running"),
        (r"/sounds/gravel\.", "car", "tyres rolling on gravel"),
        (r"/sounds/wind\.", "wind", "wind rushing"),
        (r"/sounds/bang\.", "thud", "a car crash"),
    ],
    # 312 files in pak0.pk3 / mp-pak0.pk3. Player model "sarge" (male pain/death cries), two bot voice packs:
    # festivoxmale (Festival TTS, male, like the flite voices of the speech tier) and rott (a man).
    # Sci-fi weapons, powerups, drones, moans and growls stay unlabelled.
    "openarena-data": [
        (r"/misc/(menu\d|silence|nightmare)\.|/ui/assets/|/world/(1shot_greg_\d+|drops)\.", None,
         "menu blips, silence, tonal ambient beds and stingers (music-like)"),
        (r"/player/sarge/(death\d|pain\d+_\d|fall\d|falling\d|jump\d|gasp)\.", "pain grunt", "a man crying out"),
        (r"/voices/festivoxmale/(?!(boom|bzzz|heh|ugh)\.)", "speech male", "a synthesized male voice"),
        (r"/voices/rott/", "speech male", "a man speaking"),
        (r"/(machinegun/machgf\d|shotgun/sshotf|vulcan/vulcanf\d|vulcan/wvulfire)", "gunshot", "a gun firing"),
        (r"/(rocket/rocklx1a|proxmine/wstbexpl|items/kam_explode)", "explosion", "an explosion"),
        (r"/world/(fire[12]|firesoft)\.", "fire", "a fire crackling"),
        (r"/world/wind[12]\.", "wind", "wind howling"),
        (r"/world/waterfall\.|/player/watr_(in|out)\.", "water", "water splashing"),
        (r"/footsteps/(boot|step|clank|mech|splash)\d", "footsteps", "footsteps"),
        (r"/world/(machinerydrone\d+|tim_machine|tim_pump|fan4)\.", "machinery", "machinery humming"),
        (r"/movers/doors/dr1_end\.", "door", "a heavy door closing"),
        (r"/player/land1\.", "thud", "a landing thud"),
    ],
    # 22 files: three music tracks excluded; speech "excuse me" of unknown speakers unlabelled.
    "tuxtype-data": [
        (r"/(amidst_the_raindrops|chiptune2|tuxi)\.ogg$", None, "music"),
        (r"/sounds/cheer\.", "crowd", "a crowd cheering"),
        (r"/sounds/win(final)?\.", "crowd", "applause"),
        (r"/sounds/explosion\.", "explosion", "an explosion"),
        (r"/sounds/alarm\.", "alarm", "an alarm buzzer"),
    ],
    # 50 KDE notification sounds: synthesized mallet chimes -> beep (like sound-theme-freedesktop); the
    # login/logout jingles are music; the ring melody is a phone ring; window swooshes stay unlabelled.
    "oxygen-sounds": [
        (r"Oxygen-Sys-Log-(In|Out-Long)", None, "login/logout jingles (music)"),
        (r"Oxygen-Im-Phone-Ring\.", "alarm", "a phone ringing"),
        (r"Oxygen-(Im|Sys|K3B)-", "beep", "an electronic notification chime"),
    ],
    # 51 files (two themes, 4 shared recordings), nearly all < 0.3 s blips.
    "mirrormagic-data": [
        (r"/halloffame\.", None, "a music jingle"),
        (r"/booom\.", "explosion", "an explosion"),
        (r"/lachen\.", "laughter", "someone laughing"),
        (r"/gong\.", "bell", "a gong"),
        (r"/whoosh\.", "whoosh", "a whoosh"),
    ],
    # 668 samples of 13 kits. Whole kits are drums (cowbell, claps, djembes, shakers included); finger snaps,
    # tapped water glasses, a synth tone (Audiophob's trimo-c3) and the electro kits' FX / whistle samples
    # are not drums and stay unlabelled.
    "hydrogen-drumkits": [
        (r"/(emptySample|VP Click|EE_Click)\.", None, "silence / metronome clicks"),
        (r"/drumkits/circAfrique[^/]*/", "drums", "African djembe and dunun drums"),
        (r"/drumkits/Gimme A Hand[^/]*/(?!Fingersnap|Waterglass)", "drums", "hand percussion"),
        (r"/drumkits/(ElectricEmpireKit|HardElectro1|VariBreaks)/(?!xFX|yFX|EE_Whistle)", "drums",
         "an electronic drum kit"),
        (r"/drumkits/(?!circAfrique|Gimme A Hand|ElectricEmpireKit|HardElectro1|VariBreaks)[^/]+/(?!\d+__anillogic__)",
         "drums",
         "a drum kit"),
    ],
    # Asterisk telephone prompts, 8 kHz, one speaker per package (gender tag in the speaker folder, checked
    # by pitch): fr_CA_f_June (June Wallack), es_MX_f_Allison (Allison Smith), ru_RU_f_IvrvoiceRU: women;
    # it_IT_m_Carlo: a man.
    "asterisk-core-sounds-fr-wav": _asterisk("fr_CA_f_June", "speech female", "a woman speaking French"),
    "asterisk-core-sounds-es-wav": _asterisk("es_MX_f_Allison", "speech female", "a woman speaking Spanish"),
    "asterisk-core-sounds-it-wav": _asterisk("it_IT_m_Carlo", "speech male", "a man speaking Italian"),
    "asterisk-core-sounds-ru-wav": _asterisk("ru_RU_f_IvrvoiceRU", "speech female", "a woman speaking Russian"),
    # 5 music-on-hold tracks.
    "asterisk-moh-opsound-wav": [(r"/moh/", None, "music on hold")],
}

# Files a broad rule would mislabel, or that are unusable: (regex, reason).
POOL_BLACKLIST: dict[str, list[tuple[str, str]]] = {
    "mirrormagic-data": [(r"/snd_classic/base\.wav$", "empty file (0 samples)")],
    "freedroidrpg-data": [(r"/Item_Drop_Sound_3\.", "empty file (0 samples)")],
    "asterisk-core-sounds-ru-wav": [(r"/ru_RU_f_IvrvoiceRU/is\.wav$", "empty file (0 samples)")],
}

# New classes (label -> (category, role)) and their caption paraphrases: none needed (see the docstring).
POOL_CLASSES: dict[str, tuple[str, str]] = {}
POOL_PARAPHRASES: dict[str, list[str]] = {}


def pool_family_key(package: str, path: str) -> str | None:
    """The file family (recording-group unit) of ``path`` where ``taxonomy.family_key``'s default is wrong.

    Returns ``None`` to fall back to the default (folder + stem without trailing digits / velocity suffix).
    One speaker or voice actor is one family (an Asterisk language pack, the Warzone announcer, an OpenArena
    player model or bot voice, a rally co-driver, Tux); one Hydrogen drum kit is one family; takes spread
    over differently named files are grouped (gcompris ``LRFactory_noise_01_LA``..``06``, OpenArena
    ``machgf1b``..``4b``, the Oxygen theme's chimes, MirrorMagic's two themes sharing recordings).
    """
    directory, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    if package.startswith("asterisk-core-sounds-"):
        m = re.search(r"/sounds/([a-z]{2}_[A-Z]{2}_[fm]_[^/]+)/", path)
        return f"{package}:{m.group(1) if m else 'speaker'}"
    if package == "hydrogen-drumkits":
        m = re.search(r"/drumkits/([^/]+)/", path)
        return f"{package}:{m.group(1)}" if m else None
    if package == "warzone2100-data":
        if re.search(_WZ_MALE, path):
            return f"{package}:male-announcer"
        if _WZ_ANNOUNCER.search(path):
            return f"{package}:announcer"
        m = _WZ_VOICE.search(path)
        return f"{package}:voice-{m.group(1).rsplit('/', 1)[-1]}" if m else None
    if package == "openarena-data":
        m = re.search(r"/(player/(?!footsteps/)[^/]+|voices/[^/]+)/", path)
        if m:
            return f"{package}:{m.group(1)}"
        stem = re.sub(r"\d+[a-z]?$|_far$", "", stem.lower())       # machgf1b..4b, kam_explode(_far)
        stem = "fire" if stem == "firesoft" else stem                # a softened copy of fire1
        return f"{package}:{directory.rsplit('/', 1)[-1]}/{stem}"
    if package == "trigger-rally-data" and "/codriver/" in path:
        return f"{package}:codriver-{directory.rsplit('/', 1)[-1]}"
    if package == "freedroidrpg-data" and "/tux_ingame_comments/" in path:
        return f"{package}:tux"
    if package == "gcompris-qt-data" and "/memory-sound/" in path:
        stem = re.sub(r"[-_ ]?\d+$", "", re.sub(r"^LR|(_\d+)?_LA(_cut)?$|\d*LACut$", "", stem))
        return f"{package}:memory-sound/{stem.lower()}"
    if package == "oxygen-sounds":
        return f"{package}:{'-'.join(stem.split('-')[:2]).lower()}"
    if package == "mirrormagic-data":
        return f"{package}:{stem.lower()}"
    if package == "lbreakout2-data" and re.search(r"/(dammit|damn|excellent|verygood|wontgiveup)\.", path):
        return f"{package}:voice"
    if package == "pingus-data" and re.search(r"/(goodidea|letsgo|ohno|yipee)\.", path):
        return f"{package}:pingu-voice"
    return None
