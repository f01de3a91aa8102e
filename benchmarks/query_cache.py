"""What the embedding cache saves: audio-query cost per batch, encoder tower vs cache lookup, and training
steps/s of the tiny Conformer with audio queries + dropout, without and with `query.cache_dir`.

    python benchmarks/query_cache.py [--manifest CLIPS.jsonl] [--seconds 4] [--batch 8] [--steps 30]

Defaults to the committed fixture; point --manifest at a built corpus (`tqse corpus build`) for the
figures in docs/ENCODERS.md. Prints one JSON object per line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch


def query_cost(encoder, clips, seconds: float, batch: int, repeats: int = 5) -> dict:
    from tqse.audio.io import load_audio
    from tqse.query.base import fit_length
    from tqse.query.cache import audio_cache_key, build_cache

    rate = 32000
    clips = clips[:batch]
    wav = torch.stack([fit_length(torch.from_numpy(load_audio(c.path, rate)[0]), int(seconds * rate)) for c in clips])
    cache = build_cache(encoder, clips, tempfile.mkdtemp(), rate, seconds, batch_size=batch)
    keys = [audio_cache_key(c, seconds) for c in clips]
    compute, lookup = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.embed_audio(wav, rate)
        compute.append(time.perf_counter() - start)
        start = time.perf_counter()
        cache.audio(keys)
        lookup.append(time.perf_counter() - start)
    return {"encoder": encoder.name, "batch": len(clips), "seconds": seconds,
            "embed_audio_ms": round(1000 * statistics.median(compute), 1),
            "cache_lookup_ms": round(1000 * statistics.median(lookup), 3)}


def train_rate(manifest: str, seconds: float, batch: int, steps: int, cache_dir: str | None) -> float:
    from tqse.config import load_config
    from tqse.files import read_metrics
    from tqse.train.loop import train

    with tempfile.TemporaryDirectory() as tmp:
        overrides = [f"data.manifests.d={manifest}", "data.use=[d]", f"data.segment_seconds={seconds}",
                     "model.name=tiny", f"train.steps={steps}", f"train.batch_size={batch}", "train.log_every=5",
                     "train.progress=false", "train.checkpoint_every=100000", "query.mode=audio",
                     "query.manipulation.dropout.enabled=true", "data.workers=1"]
        if cache_dir:
            overrides.append(f"query.cache_dir={cache_dir}")
        run = train(load_config([], overrides), Path(tmp) / "run")
        rows = read_metrics(run / "metrics.jsonl")[1:]  # the first window includes start-up
        return round(sum(5 for _ in rows) / sum(5 / r["steps_per_s"] for r in rows), 3)


def main() -> None:
    from tqse.data.manifest import read_clips
    from tqse.query import load_encoder
    from tqse.query.cache import build_cache
    from tqse.data.locations import fixture_manifest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", default=str(fixture_manifest()))
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(2)
    encoder = load_encoder("builtin")
    clips = read_clips(args.manifest, split="train")
    print(json.dumps(query_cost(encoder, clips, args.seconds, args.batch)), flush=True)
    cache_dir = tempfile.mkdtemp()
    build_cache(encoder, clips, cache_dir, 32000, args.seconds, batch_size=args.batch)
    for label, cache in (("without_cache", None), ("with_cache", cache_dir)):
        rate = train_rate(args.manifest, args.seconds, args.batch, args.steps, cache)
        print(json.dumps({"train": "tiny", "query": "audio+dropout", label: rate, "unit": "steps/s"}), flush=True)


if __name__ == "__main__":
    main()
