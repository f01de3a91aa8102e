"""How much better a model separates clips it was trained on than unseen ones: the generalisation gap.

    python benchmarks/generalization_gap.py [--model DIR] [--count 206] [--json OUT.json]

Draws ``--count`` fixed 10 s mixtures from the built-in corpus' *training* clips (a target and an interferer
of another class at SNR ~ U[-5, 5] dB, as training and the fixed `val` mixtures draw them; written once under
``--mixtures``), scores the model on them and on the same number of `val` mixtures, with class-template and
natural-caption queries, and prints both and their difference. A large gap says the model has learnt its
training clips more than the classes: more distinct training clips, not more steps, is what moves it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

FIELDS = ("class_caption", "caption")


def training_mixtures(clips_manifest: Path, out_dir: Path, count: int, seed: int = 0,
                      sample_rate: int = 16000) -> Path:
    """``count`` fixed mixtures of the manifest's ``train`` clips (written once; reused if already there)."""
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips, read_mixtures

    manifest = out_dir / f"train-{count}-seed{seed}.jsonl"
    if manifest.exists() and len(read_mixtures(manifest)) == count:
        return manifest
    clips = [clip for clip in read_clips(clips_manifest, split="train") if clip.label]
    return write_fixed_mixtures(clips, out_dir, count, seed=seed, sample_rate=sample_rate, segment_seconds=10.0,
                                name=f"train-{count}-seed{seed}")


def gap(extractor, seen: Path, unseen: Path, count: int) -> dict:
    """SI-SDRi per query kind on mixtures of training clips (``seen``) and of unseen clips, and the gap."""
    from tqse.data.manifest import read_mixtures
    from tqse.eval.quick import score_mixtures

    result = {}
    for name, manifest in (("train clips", seen), ("val clips", unseen)):
        scores = score_mixtures(extractor.model, extractor.encoder, str(manifest), extractor.sample_rate,
                                extractor.device, query_fields=FIELDS, limit=count)
        snrs = [row.snr_db for row in read_mixtures(manifest)[:count]]
        result[name] = {field: round(scores[field]["si_sdri"], 2) for field in FIELDS} | {
            "snr_db": [round(min(snrs), 1), round(max(snrs), 1)]}
    result["gap"] = {f: round(result["train clips"][f] - result["val clips"][f], 2) for f in FIELDS}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory (default: the shipped default model)")
    parser.add_argument("--count", type=int, default=206, help="mixtures per set (val has 206)")
    parser.add_argument("--mixtures", type=Path, default=Path("~/.cache/tqse/gap-mixtures").expanduser(),
                        help="where the training-clip mixtures are written once")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    from tqse.extract import Extractor
    from tqse.data.locations import default_training_manifest, resolve_manifest
    from tqse.models.pretrained import default_model_dir

    torch.set_num_threads(2)
    model_dir = Path(args.model) if args.model else default_model_dir()
    extractor = Extractor.from_pretrained(model_dir, device="cpu")
    seen = training_mixtures(Path(default_training_manifest()), args.mixtures, args.count)
    figures = {"model": str(model_dir)} | gap(extractor, seen, Path(resolve_manifest("builtin:val")), args.count)
    print(f"model {model_dir}; {args.count} mixtures per set; SI-SDRi (dB)")
    print(f"{'':12} {'SNR range':>16} {'class template':>15} {'natural caption':>16}")
    for name in ("train clips", "val clips", "gap"):
        snr = "" if name == "gap" else "[{:+.1f}, {:+.1f}] dB".format(*figures[name]["snr_db"])
        print(f"{name:12} {snr:>16} {figures[name]['class_caption']:15.2f} {figures[name]['caption']:16.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
