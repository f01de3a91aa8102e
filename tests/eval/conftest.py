"""A few-clip imitation of AudioSep's evaluation layout, built from the committed CC0 fixture audio.

Same folder names, file names and CSV columns (including Clotho's duplicated header and quoted commas) as
``evaluation/metadata`` + ``evaluation/data`` of Audio-AGI/AudioSep; each mixture = source + 0.5 x noise.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tqse.audio.io import load_audio, save_audio
from tqse.data.manifest import read_clips
from tqse.data.locations import fixture_manifest

RATE = 32000


def _clips(seconds: float) -> list[np.ndarray]:
    n = int(seconds * RATE)
    out = []
    for clip in read_clips(fixture_manifest()):
        wav, _ = load_audio(clip.path, RATE)
        out.append(np.pad(wav, (0, max(0, n - wav.shape[0])))[:n])
    return out


def _pair(folder: Path, source_name: str, mixture_name: str, clips, i: int) -> None:
    source, noise = clips[i % len(clips)], clips[(i + 5) % len(clips)]
    save_audio(folder / source_name, source, RATE)
    save_audio(folder / mixture_name, source + 0.5 * noise, RATE)


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def build_audiosep_layout(root: Path, seconds: float = 0.5) -> Path:
    clips = _clips(seconds)
    meta, data = root / "evaluation" / "metadata", root / "evaluation" / "data"
    captions = ["a dog barks, then a car passes", "guitar chords", "a bell rings twice"]
    _csv(meta / "audiocaps_eval.csv", ["idx", "caption", "labels", "src_wav", "noise_wav"],
         [[str(i), c, "Dog Vehicle", f"Y{i}.wav", f"Yn{i}.wav"] for i, c in enumerate(captions)])
    _csv(meta / "clotho_eval.csv", ["idx", "caption", "src_wav", "noise_wav1", "noise_wav1"],
         [[str(i), c, f"s{i}.wav", f"n{i}, a.wav", f"m{i}.wav"] for i, c in enumerate(captions)])
    _csv(meta / "esc50_eval.csv", ["idx", "caption", "src_wav", "noise_wav"],
         [[str(i), c, f"1-{i}-A-0.wav", f"2-{i}-A-1.wav"] for i, c in enumerate(["dog", "rain", "dog"])])
    music = ["violin", "violin", "violin", "erhu"]
    _csv(meta / "music_eval.csv", ["idx", "caption", "src_wav", "noise_wav"],
         [[str(i), c, f"Y{i}_0.wav", f"Y{i}_1.wav"] for i, c in enumerate(music)])
    for name, n in (("audiocaps", 3), ("clotho", 3), ("esc50", 3), ("music", 4)):
        for i in range(n):
            _pair(data / name, f"segment-{i}.wav", f"mixture-{i}.wav", clips, i)
    vgg = [("abc_000030+++def_000010", "playing accordion", "sea lion barking"),
           ("ghi_000001+++jkl_000002", "dog barking", "people eating noodle")]
    _csv(meta / "vggsound_eval.csv", ["file_id", "mix_wav", "s0_wav", "s0_text", "s1_wav", "s1_text"],
         [[f, f"data/mix_wav/{f}.wav", f"data/s0_wav/{f}.wav", t0, f"data/s1_wav/{f}.wav", t1]
          for f, t0, t1 in vgg])
    for i, (f, _, _) in enumerate(vgg):
        _pair(data / "vggsound" / "data", f"s0_wav/{f}.wav", f"mix_wav/{f}.wav", clips, i)
    _csv(meta / "class_labels_indices.csv", ["index", "mid", "display_name"],
         [["0", "/m/09x0r", "Speech"], ["1", "/m/05zppz", "Male speech, man speaking"], ["2", "/m/x", "Bell"]])
    # class 0: 12 clips (only the first 10 sorted count), class 1: 3 clips, class 2: no folder at all
    for class_id, count in ((0, 12), (1, 3)):
        folder = data / "audioset" / f"class_id={class_id}"
        for i in range(count):
            stem = f"class_id={class_id},index={i:03d}"
            _pair(folder, f"{stem},source.wav", f"{stem},mixture.wav", clips, i + class_id)
        (folder / "notes.txt").write_text("not audio")
    return root


@pytest.fixture(scope="session")
def audiosep_root(tmp_path_factory) -> Path:
    return build_audiosep_layout(tmp_path_factory.mktemp("audiosep"))
