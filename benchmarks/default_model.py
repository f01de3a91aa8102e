"""Score a model directory the way the separator issue's targets are stated, and print every figure.

    python benchmarks/default_model.py [--model DIR] [--sets test ood] [--json OUT.json]

For each fixed-mixture set of the built-in corpus (``tqse corpus build --tier default``): SI-SDRi and SDRi
with class-template queries, natural captions, and the *interferer's* class template (the wrong-query
control: a model that listens to its query scores far lower with it), with the mixtures' SNR range. Then
extraction speed of 10 s at 16 kHz on 2 threads (separator alone, and the whole ``Extractor.extract`` call
with a text query) and the size of ``model.safetensors``. Without ``--model``: the shipped default model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

FIELDS = ("class_caption", "caption", "interferer_class_caption")


def score_sets(extractor, sets: list[str], limit: int | None) -> dict:
    from tqse.data.manifest import read_mixtures
    from tqse.eval.quick import score_mixtures
    from tqse.data.locations import resolve_manifest

    results = {}
    for name in sets:
        manifest = resolve_manifest(f"builtin:{name}")
        snrs = [row.snr_db for row in read_mixtures(manifest)[:limit]]
        results[name] = {"snr_db": [min(snrs), max(snrs)]}
        scores = score_mixtures(extractor.model, extractor.encoder, manifest, extractor.sample_rate,
                                extractor.device, query_fields=FIELDS, limit=limit)
        for field, summary in scores.items():
            results[name][field] = {k: round(v, 2) for k, v in summary.items()}
    return results


def time_extraction(extractor, seconds: float = 10.0, repeats: int = 7) -> dict:
    torch.set_num_threads(2)
    rate = 16000
    wav = (np.random.default_rng(0).standard_normal(int(seconds * rate)) * 0.1).astype(np.float32)
    query = extractor.embed_query(text="a dog barking")
    mixture = torch.from_numpy(wav)[None]
    with torch.inference_mode():
        extractor.model(mixture, query)  # warm-up
        model_times = []
        for _ in range(repeats):
            start = time.perf_counter()
            extractor.model(mixture, query)
            model_times.append(time.perf_counter() - start)
    extractor.extract(wav, sample_rate=rate, text="a dog barking")
    call_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        extractor.extract(wav, sample_rate=rate, text="a dog barking")
        call_times.append(time.perf_counter() - start)
    model_s, call_s = statistics.median(model_times), statistics.median(call_times)
    return {"seconds_of_audio": seconds, "threads": 2, "separator_s": round(model_s, 4),
            "extract_call_s": round(call_s, 4), "rtf_separator": round(model_s / seconds, 5),
            "rtf_extract_call": round(call_s / seconds, 5)}


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
