"""Rendered sources: instrument phrases from General MIDI soundfonts and speech from flite / espeak-ng.

Instruments: random-walk phrases (seeded) played with ``tinysoundfont`` in-process. A recording group is
``(soundfont, preset, register)``: the sample zones of a soundfont differ by register, so the low, middle
and high thirds of an instrument's range are the closest thing to different recordings a single soundfont
has. Erhu has no General MIDI preset: it is approximated by the Fiddle and Violin presets played with
pitch-bend slides and labelled ``approximation`` in the manifest.

Speech: sentences built from a small word bank, spoken by flite voices ``rms`` and ``kal16`` (male) and
espeak-ng English variants ``en+f1..f5`` (female) and ``en+m1..m7`` (male); one voice is one group.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tqse.data.corpus.clips import SAMPLE_RATE, load_source

# class -> (list of (bank, program) GM presets, (lowest, highest) MIDI note, polyphonic, slides)
INSTRUMENTS: dict[str, tuple[list[tuple[int, int]], tuple[int, int], bool, bool]] = {
    "accordion": ([(0, 21), (0, 23)], (53, 89), True, False),
    "acoustic guitar": ([(0, 24), (0, 25)], (40, 79), True, False),
    "cello": ([(0, 42)], (36, 74), False, False),
    "clarinet": ([(0, 71)], (50, 89), False, False),
    "erhu": ([(0, 110), (0, 40)], (62, 93), False, True),
    "flute": ([(0, 73)], (60, 96), False, False),
    "saxophone": ([(0, 64), (0, 65), (0, 66), (0, 67)], (44, 81), False, False),
    "trumpet": ([(0, 56), (0, 59)], (55, 82), False, False),
    "tuba": ([(0, 58)], (28, 58), False, False),
    "violin": ([(0, 40)], (55, 96), False, False),
    "xylophone": ([(0, 13)], (65, 108), False, False),
    "piano": ([(0, 0), (0, 1), (0, 2)], (28, 96), True, False),
    "drums": ([(128, p) for p in (0, 8, 16, 24, 25, 32, 40, 48)], (35, 59), False, False),
}
ERHU_NOTE = "approximation: General MIDI Fiddle/Violin with pitch-bend slides (no erhu preset exists)"
_DRUM_PARTS = {"kick": (35, 36), "snare": (38, 40, 37), "hat": (42, 44, 46), "tom": (41, 43, 45, 47, 48, 50),
               "cymbal": (49, 51, 57, 59), "hand": (39, 54, 56)}


@dataclass
class Rendered:
    """One rendered clip (already ``length`` samples, peak-normalised later by the builder)."""

    label: str
    wav: np.ndarray
    group: str
    source: str          # "sf:<name>" or "voice:<engine>:<voice>"
    detail: str
    description: str     # what was rendered, for the manifest's ``original``
    extra: dict


def _phrase(rng: np.random.Generator, low: int, high: int, seconds: float, poly: bool) -> list[tuple]:
    """(start_s, duration_s, [keys], velocity) events of a random walk within [low, high]."""
    beat = 60.0 / rng.uniform(70, 150)
    key, t, events = int(rng.integers(low, high + 1)), rng.uniform(0, 0.3), []
    while t < seconds:
        dur = beat * float(rng.choice([0.5, 1, 1, 2, 3]))
        if rng.random() < 0.12:          # a rest
            t += dur
            continue
        key = int(np.clip(key + rng.choice([-4, -3, -2, -1, 1, 2, 3, 5, 7, -5, -7, 0]), low, high))
        keys = [key]
        if poly and rng.random() < 0.4:
            keys += [k for k in (key + 4 + int(rng.integers(0, 2)), key + 7) if k <= high + 12]
        events.append((t, dur * rng.uniform(0.8, 1.05), keys, int(rng.integers(60, 120))))
        t += dur
    return events


def _drum_pattern(rng: np.random.Generator, seconds: float) -> list[tuple]:
    step = 60.0 / rng.uniform(80, 170) / 2
    probs = {"kick": [0.9, 0.1, 0.3, 0.15], "snare": [0.05, 0.1, 0.9, 0.15], "hat": [0.8, 0.6, 0.8, 0.6],
             "tom": [0.04] * 4, "cymbal": [0.1, 0.0, 0.02, 0.0], "hand": [0.05] * 4}
    choice = {part: int(rng.choice(keys)) for part, keys in _DRUM_PARTS.items()}
    events, t, i = [], rng.uniform(0, 0.2), 0
    while t < seconds:
        for part, p in probs.items():
            if rng.random() < p[i % 4]:
                key = choice[part] if part != "tom" else int(rng.choice(_DRUM_PARTS["tom"]))
                events.append((t, step, [key], int(rng.integers(70, 127))))
        t, i = t + step, i + 1
    return events


def render_phrase(synth, sfid: int, bank: int, program: int, events: list[tuple], seconds: float,
                  slides: bool, rng: np.random.Generator) -> np.ndarray:
    """Play ``events`` on channel 0 and return mono float32 [seconds * 32 kHz]."""
    synth.program_select(0, sfid, bank, program, is_drums=bank == 128)
    synth.pitchbend_range(0, 2.0)
    timeline = []
    for start, dur, keys, vel in events:
        timeline += [(start, "on", keys, vel), (start + dur, "off", keys, 0)]
        if slides and rng.random() < 0.6:        # glide into the note from below/above (erhu-like)
            depth = int(rng.choice([-1, 1])) * int(rng.integers(1500, 4000))
            for k in range(6):
                timeline.append((start + k * 0.02, "bend", depth * (5 - k) // 5, 0))
    timeline.sort(key=lambda e: (e[0], e[1] != "off"))
    total, out, pos = int(seconds * SAMPLE_RATE), [], 0
    for when, kind, keys, vel in timeline:
        at = min(total, int(when * SAMPLE_RATE))
        if at > pos:
            out.append(np.frombuffer(synth.generate(at - pos), dtype=np.float32).copy())
            pos = at
        if kind == "on":
            for key in keys:
                synth.noteon(0, key, vel)
        elif kind == "off":
            for key in keys:
                synth.noteoff(0, key)
        else:
            synth.pitchbend(0, 8192 + int(keys))
    if pos < total:
        out.append(np.frombuffer(synth.generate(total - pos), dtype=np.float32).copy())
    synth.notes_off()
    synth.sounds_off()
    synth.generate(SAMPLE_RATE // 4)     # flush release tails so they do not leak into the next clip
    stereo = np.concatenate(out).reshape(-1, 2)
    return stereo.mean(axis=1).astype(np.float32)


def render_instruments(sf_path: str, sf_name: str, per_class: int, seconds: float, seed: int,
                       classes: list[str] | None = None, family: str | None = None) -> list[Rendered]:
    """``per_class`` clips per instrument class from one soundfont, spread over presets and registers.

    ``family`` names the soundfont family in the recording groups (default ``sf_name``): two files of one
    family (FluidR3 GM and GS) play the same samples, so the same preset and register is one group.
    """
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=SAMPLE_RATE)
    sfid = synth.sfload(str(sf_path))
    out = []
    for label in classes or list(INSTRUMENTS):
        presets, (low, high), poly, slides = INSTRUMENTS[label]
        presets = [p for p in presets if synth.sfpreset_name(sfid, *p)]
        if not presets:
            continue
        # ~6 recording groups per instrument: presets x registers (fewer presets -> finer registers)
        n_reg = {1: 6, 2: 3}.get(len(presets), 2)
        width = max(1, (high - low) // n_reg)
        for i in range(per_class):
            rng = np.random.default_rng([seed, i, sum(map(ord, label)), sum(map(ord, sf_name))])
            bank, program = presets[i % len(presets)]
            register = (i // len(presets)) % n_reg
            lo = low + register * width
            events = (_drum_pattern(rng, seconds) if bank == 128
                      else _phrase(rng, lo, min(high, lo + width + 4), seconds, poly))
            wav = render_phrase(synth, sfid, bank, program, events, seconds, slides, rng)
            name = synth.sfpreset_name(sfid, bank, program)
            group = f"sf:{family or sf_name}:{label}:{bank}-{program}" + ("" if bank == 128 else f":reg{register}")
            extra = {"approximation": ERHU_NOTE} if label == "erhu" else {}
            out.append(Rendered(label, wav, group, f"sf:{sf_name}", "",
                                f"{sf_name} preset {bank}:{program} '{name}' phrase {i}", extra))
    return out


_SUBJECTS = ["the old man", "my sister", "a young boy", "the teacher", "our neighbour", "the driver",
             "a tall woman", "the farmer", "my friend", "the doctor", "a little girl", "the captain"]
_VERBS = ["carried", "opened", "found", "painted", "sold", "lost", "cleaned", "bought", "watched", "fixed",
          "dropped", "borrowed"]
_OBJECTS = ["a heavy box", "the red door", "an old map", "the broken clock", "a basket of apples",
            "the blue car", "a wooden chair", "the front window", "a small boat", "the kitchen table"]
_TAILS = ["before noon", "in the rain", "near the station", "after dinner", "on the hill", "last summer",
          "by the river", "without a word", "at the market", "in the morning"]
_QUESTIONS = ["Where did you leave the keys?", "Could you close the window, please?",
              "What time does the train leave?", "Have you seen my brown jacket?",
              "Is it going to rain tomorrow?", "How far is it to the next town?"]


def sentences(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` short English sentences from the word bank (about 2-3 s each when spoken)."""
    out = []
    for _ in range(n):
        if rng.random() < 0.2:
            out.append(str(rng.choice(_QUESTIONS)))
        else:
            parts = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS), rng.choice(_TAILS)]
            out.append(" ".join(map(str, parts)).capitalize() + ".")
    return out


def voice_gender(voice: str) -> str:
    """``speech male`` or ``speech female`` for a voice id like ``espeak:en+f3``, ``espeak:de+Annie`` or
    ``flite:rms``."""
    from tqse.data.corpus.sources import FEMALE_VARIANTS

    if voice.startswith("espeak:"):
        return "speech female" if voice.rsplit("+", 1)[-1] in FEMALE_VARIANTS else "speech male"
    return "speech male"        # flite rms and kal16 are both male voices


LANGUAGE_NAMES = {"en": "", "en-us": "American English", "de": "German", "fr": "French", "es": "Spanish",
                  "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "ru": "Russian", "sv": "Swedish", "cs": "Czech",
                  "tr": "Turkish", "el": "Greek", "fi": "Finnish", "it": "Italian"}


def voice_language(voice: str) -> str:
    """The espeak-ng language of a voice id (``en`` for flite voices)."""
    return voice.split(":", 1)[1].split("+")[0] if voice.startswith("espeak:") else "en"


def speech_detail(voice: str) -> str:
    """"a man speaking", or with the language for the pool's other languages: "a woman speaking German"."""
    who = "a man speaking" if voice_gender(voice) == "speech male" else "a woman speaking"
    language = LANGUAGE_NAMES.get(voice_language(voice), "")
    return f"{who} {language}" if language else who


def texts_for(voice: str, rng: np.random.Generator, n: int) -> list[str]:
    """What a voice says: word-bank sentences in English; in other languages numbers, dates and times
    (espeak-ng reads digits in the voice's own language, so these are real words of it), with one English
    sentence in four read with the language's pronunciation, as a foreign speaker would."""
    if voice_language(voice) == "en":
        return sentences(rng, n)
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.25:
            out += sentences(rng, 1)
        elif kind < 0.6:
            out.append(" ".join(str(int(rng.integers(1, 10 ** int(rng.integers(1, 5))))) for _ in range(3)))
        elif kind < 0.8:
            out.append(f"{int(rng.integers(1, 29))}.{int(rng.integers(1, 13))}.{int(rng.integers(1950, 2030))}")
        else:
            out.append(f"{int(rng.integers(0, 24))}:{int(rng.integers(0, 60)):02d}, {int(rng.integers(2, 999))}")
    return out


def speak(voice: str, text: str, runtime: Path, rng: np.random.Generator) -> np.ndarray:
    """Synthesize ``text`` with the extracted flite / espeak-ng in ``runtime``; mono float32 at 32 kHz."""
    libdir = runtime / "usr/lib/x86_64-linux-gnu"
    env = dict(os.environ, LD_LIBRARY_PATH=f"{libdir}:{libdir / 'pulseaudio'}", ESPEAK_DATA_PATH=str(libdir))
    engine, name = voice.split(":", 1)
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "s.wav"
        if engine == "flite":
            cmd = [str(runtime / "usr/bin/flite"), "-voice", name, "--setf",
                   f"duration_stretch={rng.uniform(0.85, 1.15):.2f}", "-t", text, "-o", str(wav_path)]
        else:
            cmd = [str(runtime / "usr/bin/espeak-ng"), "-v", name, "-s", str(int(rng.integers(140, 185))),
                   "-w", str(wav_path), text]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0 or not wav_path.exists():
            raise RuntimeError(f"{voice}: speech synthesis failed: {proc.stderr.strip()[-200:]}")
        wav, _ = load_source(str(wav_path))
    return wav


# -- the pool tier's extra renders (issue 22): variation presets, articulations, sound-effect presets --------
# Variation banks of FluidR3 GM (8) and MuseScore's expressive bank (17); a preset a font lacks is skipped.
EXTRA_INSTRUMENTS: dict[str, list[tuple[int, int]]] = {
    "accordion": [(8, 21), (17, 21)], "acoustic guitar": [(8, 25)], "violin": [(8, 40), (17, 40)],
    "cello": [(17, 42)], "trumpet": [(17, 56)], "tuba": [(17, 58)], "clarinet": [(17, 71)], "flute": [(17, 73)],
    "saxophone": [(17, 64), (17, 65), (17, 66), (17, 67)], "piano": [(8, 0)], "bell": [(0, 14), (8, 14)],
    "drums": [(128, p) for p in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 33, 34, 35, 36, 41, 42)],
}
BELL_RANGE = (55, 84)
# Sound-effect presets: (bank, program) -> (class, detail, sustained). GM's programs 122-127 and the GS
# add-on's variation banks; sustained sounds (rain, engines) are held for seconds, the others struck.
SFX_PRESETS: dict[tuple[int, int], tuple[str, str, bool]] = {
    (0, 122): ("water", "waves breaking on a shore", True), (0, 123): ("bird", "a bird tweeting", False),
    (0, 124): ("alarm", "a telephone ringing", False), (0, 125): ("aircraft", "a helicopter", True),
    (0, 126): ("crowd", "applause", True), (0, 127): ("gunshot", "a gunshot", False),
    (1, 122): ("rain", "rain falling", True), (1, 123): ("dog", "a dog barking", False),
    (1, 125): ("car", "a car engine running", True), (1, 126): ("laughter", "people laughing", False),
    (1, 127): ("gunshot", "a machine gun", False), (2, 122): ("thunder", "thunder rolling", True),
    (2, 123): ("horse", "a horse galloping", True), (2, 124): ("door", "a door creaking", False),
    (2, 125): ("car", "a car braking to a stop", False), (2, 126): ("pain grunt", "someone screaming", False),
    (3, 122): ("wind", "wind blowing", True), (3, 123): ("bird", "birds singing", False),
    (3, 124): ("door", "a door slamming", False), (3, 125): ("car", "a car passing by", False),
    (3, 126): ("thud", "a punch", False), (3, 127): ("explosion", "an explosion", False),
    (4, 122): ("water", "a stream flowing", True), (5, 122): ("water", "bubbling water", False),
    (5, 124): ("bell", "wind chimes", True), (5, 125): ("alarm", "a siren", True),
    (5, 126): ("footsteps", "footsteps", True), (6, 125): ("train", "a passing train", True),
    (7, 125): ("aircraft", "a jet plane", True),
}
ARTICULATIONS = ("legato", "staccato", "soft", "loud")


def _articulate(events: list[tuple], style: str, rng: np.random.Generator) -> list[tuple]:
    """Note lengths or velocities changed for one playing style (soundfonts switch sample layers by
    velocity, so soft and loud playing are different recordings of the instrument)."""
    out = []
    for start, dur, keys, vel in events:
        if style == "staccato":
            dur *= 0.3
        elif style == "legato":
            dur *= 1.25
        elif style == "soft":
            vel = int(rng.integers(25, 60))
        else:
            vel = int(rng.integers(100, 128))
        out.append((start, dur, keys, vel))
    return out


def _sfx_events(rng: np.random.Generator, seconds: float, sustained: bool) -> list[tuple]:
    """Struck or held notes near the sample's root key, so the effect sounds at about its own pitch."""
    events, t = [], rng.uniform(0, 0.4)
    while t < seconds:
        dur = rng.uniform(3.0, 9.0) if sustained else rng.uniform(0.4, 2.5)
        events.append((t, dur, [int(rng.integers(56, 66))], int(rng.integers(70, 128))))
        t += dur + rng.uniform(0.05, 1.2)
    return events


def render_extras(sf_path: str, sf_name: str, family: str, seconds: float, seed: int,
                  held_out: bool) -> list[Rendered]:
    """The pool's extra renders from one soundfont: variation presets played in four articulations (2
    clips per drum kit, 6 per other preset) and every sound-effect preset the font has (6 clips each; half
    for a held-out font). One preset (and register half) is one recording group."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=SAMPLE_RATE)
    sfid = synth.sfload(str(sf_path))
    out: list[Rendered] = []
    for label, presets in EXTRA_INSTRUMENTS.items():
        low, high = INSTRUMENTS[label][1] if label in INSTRUMENTS else BELL_RANGE
        poly = INSTRUMENTS[label][2] if label in INSTRUMENTS else False
        for bank, program in (p for p in presets if synth.sfpreset_name(sfid, *p)):
            for i in range(2 if bank == 128 else (3 if held_out else 6)):
                rng = np.random.default_rng([seed, i, bank, program, sum(map(ord, sf_name)), 7])
                style = ARTICULATIONS[i % len(ARTICULATIONS)]
                half = i % 2
                lo = low + half * (high - low) // 2
                events = (_drum_pattern(rng, seconds) if bank == 128
                          else _phrase(rng, lo, min(high, lo + (high - low) // 2 + 4), seconds, poly))
                wav = render_phrase(synth, sfid, bank, program, _articulate(events, style, rng), seconds, False, rng)
                group = f"sf:{family}:{label}:{bank}-{program}" + ("" if bank == 128 else f":half{half}")
                name = synth.sfpreset_name(sfid, bank, program)
                out.append(Rendered(label, wav, group, f"sf:{sf_name}", "",
                                    f"{sf_name} preset {bank}:{program} '{name}' {style} phrase {i}", {}))
    for (bank, program), (label, detail, sustained) in SFX_PRESETS.items():
        if not synth.sfpreset_name(sfid, bank, program):
            continue
        for i in range(3 if held_out else 6):
            rng = np.random.default_rng([seed, i, bank, program, sum(map(ord, sf_name)), 11])
            wav = render_phrase(synth, sfid, bank, program, _sfx_events(rng, seconds, sustained), seconds, False, rng)
            name = synth.sfpreset_name(sfid, bank, program)
            out.append(Rendered(label, wav, f"sf:{family}:{label}:sfx{bank}-{program}", f"sf:{sf_name}", detail,
                                f"{sf_name} sound-effect preset {bank}:{program} '{name}' take {i}", {}))
    return out
