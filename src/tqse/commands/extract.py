"""``tqse extract MIX --query TEXT -o OUT [--checkpoint DIR]``."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("tqse.extract")


def register(subparsers) -> None:
    p = subparsers.add_parser("extract", help="extract the queried sound from a recording",
                              description="Extract the sound described by a text (or audio) query from MIX.")
    p.add_argument("mixture", help="input audio file (any rate, any channel count)")
    query = p.add_mutually_exclusive_group(required=True)
    query.add_argument("-q", "--query", help='text query, e.g. "a dog barking"')
    query.add_argument("--audio-query", help="an audio file whose sound to extract")
    p.add_argument("-o", "--output", required=True, help="output file (same rate as the input)")
    p.add_argument("--checkpoint", help="model directory (default: the shipped default model)")
    p.add_argument("--chunk-seconds", type=float, default=10.0, help="chunk length; 0 = whole file at once")
    p.add_argument("--overlap-seconds", type=float, default=1.0, help="cross-fade between chunks")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.api import Extractor
    from tqse.pretrained import default_model_dir

    model_dir = args.checkpoint or default_model_dir()
    extractor = Extractor.from_pretrained(model_dir, device=args.device)
    streaming = args.chunk_seconds > 0
    if streaming:
        extractor.extract_file(args.mixture, args.output, text=args.query, audio_query=args.audio_query,
                               chunk_seconds=args.chunk_seconds, overlap_seconds=args.overlap_seconds)
    else:
        from tqse.audio.io import load_audio, save_audio

        wav, rate = load_audio(args.mixture, mono=False)
        out = extractor.extract(wav, rate, text=args.query, audio_query=args.audio_query, chunk_seconds=0)
        save_audio(args.output, out, rate)
    log.info("wrote %s", args.output)
    return 0
