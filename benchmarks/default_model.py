"""Score a model directory the way the separator issue's targets are stated, and print every figure.

    python benchmarks/default_model.py [--model DIR] [--sets test ood] [--json OUT.json]

For each fixed-mixture set of the built-in corpus (``tqse corpus build --tier default``): SI-SDRi and SDRi
with class-template queries, natural captions, and the *interferer's* class template (the wrong-query
control: a model that listens to its query scores far lower with it), with the mixtures' SNR range. Then
extraction speed of 10 s at 16 kHz on 2 threads (separator alone, and the whole ``Extractor.extract`` call
with a text query) and the size of ``model.safetensors``. Without ``--model``: the shipped default model.
The scoring and timing are ``tqse package``'s (:mod:`tqse.workflows.package`), so a card's figures and these
agree.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from tqse.workflows.package import FIELDS, score_sets, time_extraction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory (default: the shipped default model)")
    parser.add_argument("--sets", nargs="+", default=["test", "ood"], help="built-in fixed-mixture sets")
    parser.add_argument("--limit", type=int, help="score only the first N mixtures of each set")
    parser.add_argument("--no-speed", action="store_true", help="skip the timing")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    from tqse.extract import Extractor
    from tqse.models.pretrained import default_model_dir

    torch.set_num_threads(2)
    model_dir = Path(args.model) if args.model else default_model_dir()
    extractor = Extractor.from_pretrained(model_dir, device="cpu")
    figures = {"model": str(model_dir), "size_mb": round((model_dir / "model.safetensors").stat().st_size / 1e6, 2)}
    figures["scores"] = score_sets(extractor, args.sets, args.limit)
    if not args.no_speed:
        figures["speed"] = time_extraction(extractor)
    print_figures(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


def print_figures(figures: dict) -> None:
    print(f"model {figures['model']}  ({figures['size_mb']} MB)")
    print(f"{'set':6} {'SNR range':>14} {'query':26} {'SI-SDRi':>8} {'SDRi':>7} {'n':>4}")
    for name, result in figures["scores"].items():
        low, high = result["snr_db"]
        for field in FIELDS:
            s = result[field]
            print(f"{name:6} {f'[{low:+.1f}, {high:+.1f}] dB':>14} {field:26} {s['si_sdri']:8.2f} {s['sdri']:7.2f} "
                  f"{s['count']:4d}")
    if "speed" in figures:
        sp = figures["speed"]
        print(f"10 s at 16 kHz, 2 threads: separator {sp['separator_s']:.3f} s (RTF {sp['rtf_separator']:.4f}), "
              f"extract() with a text query {sp['extract_call_s']:.3f} s (RTF {sp['rtf_extract_call']:.4f})")


if __name__ == "__main__":
    main()
