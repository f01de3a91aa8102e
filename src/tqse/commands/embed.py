"""``tqse embed --data MANIFEST --encoder NAME --out DIR``: precompute the query-embedding cache."""

from __future__ import annotations

import argparse
import logging

from tqse.commands import defaults_of
from tqse.config import DataConfig, EncoderConfig

log = logging.getLogger("tqse.embed")


def add_encoder_arguments(p: argparse.ArgumentParser) -> None:
    """``--encoder`` plus the options the file-based backends need (shared by embed, gap, encoder info)."""
    p.add_argument("--encoder", default=EncoderConfig.name, metavar="NAME|PATH",
                   help="builtin (default), laion, msclap, hf, hash, or a checkpoint path (.pt LAION, .pth MS-CLAP, "
                        "ClapModel folder)")
    p.add_argument("--encoder-path", metavar="PATH", help="checkpoint file or folder for --encoder laion/msclap/hf")
    p.add_argument("--tokenizer", metavar="DIR",
                   help="tokenizer folder (roberta-base for a LAION .pt, GPT-2 for MS-CLAP)")
    p.add_argument("--trust-checkpoint", action="store_true",
                   help="allow torch's pickle loader if weights_only=True cannot read the checkpoint (runs code from "
                        "the file: trusted files only)")
    p.add_argument("--device", default="cpu", help="torch device for the encoder (default: cpu)")


def encoder_from_args(args: argparse.Namespace):
    from tqse.query.registry import load_encoder

    kwargs = {}
    if args.tokenizer:
        kwargs["tokenizer"] = args.tokenizer
    if args.trust_checkpoint:
        kwargs["trust_checkpoint"] = True
    return load_encoder(args.encoder, path=args.encoder_path, **kwargs).to(args.device)


def crop_value(text: str) -> float | None:
    return None if text.lower() in ("none", "full", "0") else float(text)


def register(subparsers) -> None:
    from tqse.query.cache import build_cache

    p = subparsers.add_parser("embed", help="precompute audio and caption embeddings of a clip manifest",
                              description="Embed every clip (its deterministic centre crop) and every caption once, "
                                          "into a memory-mapped cache that training reads (query.cache_dir).")
    p.add_argument("--data", required=True, metavar="MANIFEST", help="clip manifest (JSONL)")
    p.add_argument("--out", required=True, metavar="DIR", help="cache folder (one sub-folder per encoder)")
    p.add_argument("--split", help="only clips whose 'split' field has this value")
    p.add_argument("--sample-rate", type=int, default=DataConfig.sample_rate,
                   help="rate the training loads clips at (data.sample_rate)")
    p.add_argument("--crop-seconds", type=crop_value, default=DataConfig.segment_seconds, metavar="S|none",
                   help="centre crop embedded per clip; must equal the training config's data.segment_seconds "
                        "(the default is the config's) because it is part of the cache key; 'none' = whole clips")
    p.add_argument("--batch-size", type=int, default=defaults_of(build_cache)["batch_size"])
    p.add_argument("--captions-only", action="store_true",
                   help="embed the manifest's captions only, no audio (clips queried by text alone)")
    add_encoder_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.data.manifest import read_clips
    from tqse.query.cache import build_cache

    clips = read_clips(args.data, split=args.split)
    encoder = encoder_from_args(args)
    captions = sorted({c for clip in clips for c in clip.captions})
    cache = build_cache(encoder, [] if args.captions_only else clips, args.out, args.sample_rate, args.crop_seconds,
                        args.batch_size, progress=True, captions=captions)
    print(f"{cache.folder}: {len(cache)} audio embeddings, encoder {encoder.name}, dim {encoder.dim}")
    return 0
