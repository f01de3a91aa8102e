"""Write a fixed evaluation set: mixtures drawn once from a seed, saved as audio + a mixture manifest.

Every model is then scored on identical mixtures (``tqse eval --manifest``). The draws reuse
:class:`~tqse.data.dataset.MixtureDataset`, so evaluation mixtures follow the training recipe (different-class
interferer, SNR ~ U[-5, 5] dB).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from tqse.audio.io import save_audio
from tqse.config import DataConfig
from tqse.data.dataset import MixtureDataset, class_caption
from tqse.data.manifest import ClipRecord, write_jsonl


def natural_caption(clip: ClipRecord) -> str | None:
    """The first caption that is not the class template (the template is the ``class_caption`` query)."""
    template = class_caption(clip.label) if clip.label else None
    return next((c for c in clip.captions if c != template), template)


def write_fixed_mixtures(clips: Sequence[ClipRecord], out_dir: str | os.PathLike, count: int, seed: int = 0,
                         sample_rate: int = 32000, segment_seconds: float = 10.0, name: str = "test") -> Path:
    """Write ``count`` mixtures under ``out_dir/name/`` and the manifest ``out_dir/name.jsonl``."""
    out_dir = Path(out_dir)
    dataset = MixtureDataset(clips, DataConfig(sample_rate=sample_rate, segment_seconds=segment_seconds), seed=seed)
    rows = []
    for index in range(count):
        example = dataset[index]
        clip = example.clip
        stem = f"{name}/{index:05d}"
        save_audio(out_dir / f"{stem}_mixture.flac", example.mixture, sample_rate)
        save_audio(out_dir / f"{stem}_target.flac", example.target, sample_rate)
        save_audio(out_dir / f"{stem}_interferer.flac", example.mixture - example.target, sample_rate)
        rows.append({"mixture": f"{stem}_mixture.flac", "target": f"{stem}_target.flac",
                     "interferer": f"{stem}_interferer.flac", "snr_db": round(example.snr_db, 3),
                     "class": clip.label, "caption": natural_caption(clip),
                     "class_caption": class_caption(clip.label) if clip.label else None,
                     "target_clip": os.path.relpath(clip.path, out_dir)})  # provenance, as the corpus' mixtures
    manifest = out_dir / f"{name}.jsonl"
    write_jsonl(manifest, rows)
    return manifest
