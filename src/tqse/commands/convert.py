"""``tqse convert audiosep CKPT OUT_DIR [--drop-unused-film] [--allow-pickle] [--encoder-path PATH]``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("tqse.convert")


def register(subparsers) -> None:
    p = subparsers.add_parser("convert", help="turn another toolkit's weights into a tqse model directory",
                              description="Convert third-party checkpoints into tqse model directories.")
    sources = p.add_subparsers(dest="source", metavar="SOURCE")
    a = sources.add_parser("audiosep", help="AudioSep (ResUNet30) checkpoint -> tqse model directory",
                           description="Convert AudioSep's Lightning checkpoint (e.g. audiosep_base_4M_steps.ckpt) "
                                       "or a bare ResUNet30 state dict into a tqse model directory.")
    a.add_argument("checkpoint", metavar="CKPT", help="AudioSep .ckpt / .pt / .safetensors file")
    a.add_argument("out_dir", metavar="OUT_DIR", help="model directory to write (replaced if it exists)")
    a.add_argument("--drop-unused-film", action="store_true",
                   help="leave out the decoder FiLM heads AudioSep never uses (same output, 0.82 M fewer params)")
    a.add_argument("--allow-pickle", action="store_true",
                   help="allow checkpoints with pickled Python objects (runs code from the file: trusted files only)")
    a.add_argument("--encoder-path", metavar="PATH",
                   help="LAION-CLAP music_speech_audioset_epoch_15_esc_89.98.pt to record as the query encoder")
    a.set_defaults(func=run)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run(args: argparse.Namespace) -> int:
    from tqse.models.convert import DEFAULT_ENCODER, convert_audiosep

    encoder = dict(DEFAULT_ENCODER)
    if args.encoder_path:
        encoder["path"] = str(Path(args.encoder_path).expanduser().resolve())
    out = convert_audiosep(args.checkpoint, args.out_dir, drop_unused_film=args.drop_unused_film,
                           encoder=encoder, allow_pickle=args.allow_pickle)
    log.info("wrote %s", out)
    if not args.encoder_path:
        log.warning("no --encoder-path: set the LAION-CLAP checkpoint path in %s/config.json before use", out)
    return 0
