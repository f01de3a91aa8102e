"""Fixed evaluation mixtures: target + interferer of another class at SNR ~ U[-5, 5] dB, written once.

Every model is scored on identical mixtures: they are drawn from the seed, written as audio (mixture,
target, scaled interferer) plus ``mixtures/{val,test,ood}.jsonl`` (the pool tier: ``unseen`` for ``ood``).
Interferers come from the same split (for the held-out split also from ``test``), never from training clips, and never from the target's class family
(speech female vs speech male, rain vs water). If the sum would clip, all three signals are scaled
together, so ``mixture == target + interferer`` still holds.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np

from tqse.audio.io import load_audio, save_audio
from tqse.data.corpus.clips import PEAK, SAMPLE_RATE
from tqse.data.corpus.taxonomy import FAMILIES


def mix_at_snr(target: np.ndarray, interferer: np.ndarray, snr_db: float,
               peak: float = PEAK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``tqse.data.mixing.mix_at_snr`` with the corpus' peak limit (-1 dBFS).

    Shape:
        target, interferer: [T]; returns (mixture, target, interferer_scaled), each [T].
    """
    from tqse.data.mixing import mix_at_snr as _mix

    return _mix(target, interferer, snr_db, peak_limit=peak)


def _family(label: str) -> str:
    return FAMILIES.get(label, label)


def plan_mixtures(targets: list[dict], pools: dict[str, list[dict]], max_per_class: int, seed: int,
                  splits: tuple[str, ...] = ("val", "test", "ood")) -> dict[str, list[tuple[dict, dict, float]]]:
    """Choose (target row, interferer row, snr_db) per eval split; deterministic from ``seed``.

    Args:
        targets: clip rows of target classes (with ``split`` and ``class``).
        pools: split -> rows usable as interferers in that split (targets and interferer-only clips).
    """
    plan: dict[str, list[tuple[dict, dict, float]]] = {}
    for split in splits:
        rng = np.random.default_rng([seed, SPLIT_IDS[split]])
        by_class: dict[str, list[dict]] = defaultdict(list)
        for row in targets:
            if row["split"] == split:
                by_class[row["class"]].append(row)
        pool = pools.get(split, [])
        chosen = []
        for label in sorted(by_class):
            rows = sorted(by_class[label], key=lambda r: r["path"])
            candidates = [r for r in pool if _family(r["class"]) != _family(label)]
            if not candidates:
                continue
            for i in rng.permutation(len(rows))[:max_per_class]:
                other = candidates[int(rng.integers(len(candidates)))]
                chosen.append((rows[i], other, float(np.round(rng.uniform(-5, 5), 2))))
        plan[split] = chosen
    return plan


SPLIT_IDS = {"val": 1, "test": 2, "ood": 3, "unseen": 4}


def write_mixtures(plan: dict[str, list[tuple[dict, dict, float]]], corpus_dir: str | os.PathLike,
                   caption_of) -> dict[str, int]:
    """Write audio and ``mixtures/<split>.jsonl``; ``caption_of(row)`` gives the natural-caption query.

    Resumable: a mixture whose three files exist is not re-rendered.
    """
    from tqse.data.manifest import write_jsonl

    root = Path(corpus_dir)
    counts = {}
    for split, items in plan.items():
        folder = root / "mixtures" / split
        # files are named by index: a different plan (new seed, new splits) must not reuse old audio
        signature = json.dumps([(t["path"], i["path"], snr) for t, i, snr in items])
        sig_file = folder / "plan.json"
        stale = sig_file.read_text() != signature if sig_file.exists() else folder.exists()
        if stale:
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        sig_file.write_text(signature)
        rows = []
        for k, (tgt, itf, snr) in enumerate(items):
            names = {kind: folder / f"{k:05d}_{kind}.flac" for kind in ("mix", "target", "interferer")}
            if not all(p.exists() for p in names.values()):
                t, _ = load_audio(root / tgt["path"], SAMPLE_RATE, allow_silent=True)
                i, _ = load_audio(root / itf["path"], SAMPLE_RATE, allow_silent=True)
                n = min(len(t), len(i))
                mix, t_s, i_s = mix_at_snr(t[:n], i[:n], snr)
                for kind, wav in zip(("mix", "target", "interferer"), (mix, t_s, i_s)):
                    save_audio(names[kind], wav, SAMPLE_RATE, subtype="PCM_16")
            rel = {kind: os.path.relpath(p, root / "mixtures") for kind, p in names.items()}
            rows.append({"mixture": rel["mix"], "target": rel["target"], "interferer": rel["interferer"],
                         "snr_db": snr, "class": tgt["class"], "caption": caption_of(tgt),
                         "class_caption": tgt["captions"][0], "interferer_class": itf["class"],
                         "target_clip": os.path.relpath(root / tgt["path"], root / "mixtures"),
                         "interferer_clip": os.path.relpath(root / itf["path"], root / "mixtures")})
        counts[split] = write_jsonl(root / "mixtures" / f"{split}.jsonl", rows)
    return counts
