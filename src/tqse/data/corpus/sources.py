"""Which Debian packages feed each corpus tier, which sources are held out, and how licences are read.

Only packages from the Debian archive are used (the one network the build can rely on besides PyPI).
Sound-effect packages give recorded audio; two General MIDI soundfonts give the instruments; flite and
espeak-ng (binaries and voices extracted from their packages, never installed) give speech.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TIERS = ("tiny", "default", "full", "pool")

SFX_PACKAGES: dict[str, tuple[str, ...]] = {
    "tiny": ("sonic-pi-samples", "sound-theme-freedesktop", "bucklespring-data", "etw-data",
             "heroes-sound-effects", "hydrogen-data", "freeciv-data", "alsa-utils"),
    "default": ("lugaru-data", "wesnoth-1.16-data", "widelands-data", "megaglest-data",
                "tuxpaint-stamps-default", "tuxpaint-data", "lincity-ng-data", "hedgewars-data",
                "asterisk-core-sounds-en-wav", "lmms-common", "dustracing2d-data"),
    "full": ("0ad-data", "flightgear-data-base", "redeclipse-data", "supertuxkart-data", "supertux-data"),
    # the audio-only pool (issue 22): exactly these packages besides full's; festvox-kallpc16k is left out
    # (a Festival diphone database without audio files: it needs Festival, which is not an allowed source)
    "pool": ("warzone2100-data", "freedroidrpg-data", "gcompris-qt-data", "pingus-data", "frozen-bubble-data",
             "xmoto-data", "extremetuxracer-data", "chromium-bsu-data", "minetest-data", "lbreakout2-data",
             "ri-li-data", "trigger-rally-data", "openarena-data", "tuxtype-data", "oxygen-sounds",
             "mirrormagic-data", "hydrogen-drumkits", "asterisk-core-sounds-fr-wav", "asterisk-core-sounds-es-wav",
             "asterisk-core-sounds-it-wav", "asterisk-core-sounds-ru-wav", "asterisk-moh-opsound-wav"),
}

SOUNDFONTS: dict[str, tuple[str, str]] = {
    # package -> (file inside the package, short name)
    "fluid-soundfont-gm": ("usr/share/sounds/sf2/FluidR3_GM.sf2", "fluidr3"),
    "musescore-general-soundfont-small": ("usr/share/sounds/sf3/MuseScore_General_Lite.sf3", "musescore"),
    # pool only: the GS add-on of FluidR3 (its GS sound-effect banks) and the full MuseScore font
    "fluid-soundfont-gs": ("usr/share/sounds/sf2/FluidR3_GS.sf2", "fluidr3gs"),
    "musescore-general-soundfont": ("usr/share/sounds/sf3/MuseScore_General_Full.sf3", "musescorefull"),
}
# A source family is what the "no family above 20 %" and the held-out sets count as one source:
# a package, a soundfont family (both FluidR3 files are one, both MuseScore files are one) or a speech
# engine. Soundfont short name -> family.
SOUNDFONT_FAMILY = {"fluidr3": "fluidr3", "fluidr3gs": "fluidr3", "musescore": "musescore",
                    "musescorefull": "musescore"}

# Speech runtime: binaries, shared libraries and voice data, extracted next to each other and run with
# LD_LIBRARY_PATH; libpulse & co. are only there because libpcaudio (linked by espeak-ng) needs them.
SPEECH_RUNTIME = ("flite", "libflite1", "espeak-ng", "libespeak-ng1", "espeak-ng-data", "libpcaudio0",
                  "libsonic0", "libpulse0", "libasyncns0", "libsndfile1", "libflac12", "libvorbis0a",
                  "libvorbisenc2", "libopus0", "libogg0", "libmpg123-0", "libmp3lame0")

AUDIO_EXTENSIONS = (".wav", ".ogg", ".oga", ".flac", ".opus", ".mp3")


@dataclass(frozen=True)
class TierSpec:
    """Everything that differs between tiers."""

    name: str
    sfx_packages: tuple[str, ...]
    soundfonts: tuple[str, ...]
    ood_sources: frozenset[str]             # packages / "sf:<name>" / "voice:<name>" held out of training
    speech_clips_per_voice: int
    instrument_clips_per_soundfont: int     # per instrument class
    ood_instrument_clips: int               # per instrument class from a held-out soundfont
    max_segments_per_recording: int
    max_mixtures_per_class: int
    min_recordings: int = 6                 # a target class needs this many distinct recordings ...
    min_groups: int = 3                     # ... in this many recording groups, else interferer-only
    voices: tuple[str, ...] = field(default=())
    # The pool tier (issue 22) and nothing else sets these:
    heldout_split: str = "ood"              # name of the split the held-out sources form
    unlabelled: bool = False                # audio no rule labels enters as class-less clips
    pin_splits_from: str | None = None      # a tier whose val/test/ood recordings keep their split here
    rendered_extras: bool = False           # variation presets, articulations and sound-effect presets
    extra_voice_clips: int = 0              # speech clips per voice beyond the first 14 voices


_VOICES = ("flite:rms", "flite:kal16", "espeak:en+f1", "espeak:en+f2", "espeak:en+f3", "espeak:en+f4",
           "espeak:en+f5", "espeak:en+m1", "espeak:en+m2", "espeak:en+m3", "espeak:en+m4", "espeak:en+m5",
           "espeak:en+m6", "espeak:en+m7")

# espeak-ng variants whose voice file states a gender (the others default to a male voice, or are robots,
# whispers and effects): the pool speaks with these.
FEMALE_VARIANTS = ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "Annie", "anika", "aunty", "belinda",
                   "linda", "steph")
MALE_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "Andy", "Denis", "Diogo", "Henrique", "Hugo",
                 "Lee", "Marco", "Storm", "antonio", "michel", "miguel", "sandro", "travis", "victor")
# Languages of the pool's extra espeak-ng voices; Italian is held out whole (with Asterisk's Italian
# speaker) as the unseen-source split's language.
POOL_LANGUAGES = ("en-us", "de", "fr", "es", "pt", "nl", "pl", "ru", "sv", "cs", "tr", "el", "fi", "it")
HELDOUT_LANGUAGE = "it"


def _pool_voices() -> tuple[str, ...]:
    """Two female and two male variants per language, rotating through the variant lists."""
    voices = []
    for i, lang in enumerate(POOL_LANGUAGES):
        for k in range(2):
            voices.append(f"espeak:{lang}+{FEMALE_VARIANTS[(2 * i + k) % len(FEMALE_VARIANTS)]}")
            voices.append(f"espeak:{lang}+{MALE_VARIANTS[(2 * i + k) % len(MALE_VARIANTS)]}")
    return _VOICES + tuple(voices)


# The unseen-source split of the pool: whole source families no training run of any tier has used (the
# default tier's held-out sources, plus one game's sound effects with many classes, a children's game with
# real instrument and animal recordings, a drum-kit collection, both MuseScore fonts and one language).
POOL_HELDOUT = frozenset({
    "heroes-sound-effects", "lincity-ng-data", "sf:musescore", "sf:musescorefull", "voice:flite:kal16",
    "voice:espeak:en+f4", "supertuxkart-data", "gcompris-qt-data", "hydrogen-drumkits",
    "asterisk-core-sounds-it-wav",
    *(f"voice:{v}" for v in _pool_voices() if v.startswith(f"espeak:{HELDOUT_LANGUAGE}+")),
})


def tier_spec(tier: str) -> TierSpec:
    """The :class:`TierSpec` of ``tier`` (tiny | default | full | pool)."""
    if tier not in TIERS:
        raise ValueError(f"unknown corpus tier '{tier}' (choose from {', '.join(TIERS)})")
    upto = TIERS[: TIERS.index(tier) + 1]
    sfx = tuple(p for t in upto for p in SFX_PACKAGES[t])
    if tier == "pool":
        return TierSpec(tier, sfx, tuple(SOUNDFONTS), POOL_HELDOUT, speech_clips_per_voice=24,
                        instrument_clips_per_soundfont=60, ood_instrument_clips=20, max_segments_per_recording=4,
                        max_mixtures_per_class=12, voices=_pool_voices(), heldout_split="unseen", unlabelled=True,
                        pin_splits_from="default", rendered_extras=True, extra_voice_clips=10)
    if tier == "tiny":
        return TierSpec(tier, sfx, ("musescore-general-soundfont-small",),
                        frozenset({"heroes-sound-effects", "voice:flite:kal16", "voice:espeak:en+f4"}),
                        speech_clips_per_voice=4, instrument_clips_per_soundfont=8, ood_instrument_clips=4,
                        max_segments_per_recording=1, max_mixtures_per_class=4, min_recordings=4,
                        voices=_VOICES)
    return TierSpec(tier, sfx, tuple(SOUNDFONTS)[:2],
                    frozenset({"heroes-sound-effects", "lincity-ng-data", "sf:musescore", "voice:flite:kal16",
                               "voice:espeak:en+f4"}),
                    speech_clips_per_voice=14 if tier == "default" else 24,
                    instrument_clips_per_soundfont=36 if tier == "default" else 60,
                    ood_instrument_clips=12 if tier == "default" else 20,
                    max_segments_per_recording=3 if tier == "default" else 4,
                    max_mixtures_per_class=12 if tier == "default" else 20, voices=_VOICES)


def parse_copyright(text: str) -> tuple[str, list[str]]:
    """Licence names and copyright holders from a Debian ``copyright`` file (DEP-5 or free-form).

    Returns:
        ``(licence, holders)``: the distinct ``License:`` short names joined by " AND " (or "see copyright
        file" when the file is free-form), and up to 12 distinct copyright lines.
    """
    licences: list[str] = []
    for match in re.finditer(r"^License:[ \t]*(\S[^\n]*)$", text, re.M):
        name = match.group(1).strip()
        if name and name not in licences:
            licences.append(name)
    holders: list[str] = []
    for match in re.finditer(r"^Copyright:[ \t]*([^\n]*(?:\n[ \t]+[^\n]+)*)", text, re.M):
        for line in match.group(1).splitlines():
            line = line.strip()
            if line and line != "." and line not in holders:
                holders.append(line)
    if not licences:
        found = re.findall(r"\b(GPL-?[23]\+?|CC[- ]BY(?:-SA)?[- ][0-9.]+|CC0|public domain|LGPL-?[23]\+?|MIT|BSD)",
                           text, re.I)
        licences = sorted(set(found)) or ["see copyright file"]
    return " AND ".join(licences), holders[:12]


def _stanzas(text: str) -> list[tuple[list[str], str, str]]:
    """(Files patterns, licence short name, credit) of each DEP-5 files stanza, in file order."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        files = re.search(r"^Files:[ \t]*([^\n]*(?:\n[ \t]+[^\n]+)*)", block, re.M)
        licence = re.search(r"^License:[ \t]*(\S[^\n]*)$", block, re.M)
        if files and licence:
            credit = [m.group(1).strip() for m in re.finditer(r"^(?:Copyright|Source):[ \t]*(\S[^\n]*)$",
                                                                block, re.M)]
            out.append((files.group(1).split(), licence.group(1).strip(), "; ".join(credit)))
    return out


def file_credit(text: str, path: str) -> tuple[str, str]:
    """Licence and credit of one installed file as the package's copyright file states them.

    DEP-5 patterns name source-tree paths (``etc/samples/bd_808.flac``) that differ from installed ones
    (``usr/share/sonic-pi/samples/bd_808.flac``): a pattern matches when the installed path ends with it,
    or, for a pattern naming one file (no wildcard), when the file names agree. The last matching specific
    stanza wins (DEP-5 rule). When no specific stanza matches, all licences the package states are
    returned with an empty credit, which errs on the side of attribution.

    Returns:
        ``(licence, credit)``.
    """
    best = None
    name = path.rsplit("/", 1)[-1]
    for patterns, licence, credit in _stanzas(text):
        for pattern in patterns:
            if pattern in ("*", "debian/*"):
                continue
            regex = "(^|/)" + re.escape(pattern).replace(r"\*", "[^/]*").replace(r"\?", ".") + "$"
            wild = "*" in pattern or "?" in pattern
            if re.search(regex, path) or (not wild and pattern.rsplit("/", 1)[-1] == name):
                best = (licence, credit)
    return best or (parse_copyright(text)[0], "")
