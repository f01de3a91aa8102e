"""``tqse extract INPUT... (-q TEXT | --audio-query FILE)... [-o OUT] [-n MODEL | --checkpoint DIR]``."""

from __future__ import annotations

import argparse
import logging

from tqse.extract.options import CLIP_MODES, ExtractOptions

log = logging.getLogger("tqse.extract")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "extract", help="extract the queried sound(s) from recordings",
        description="Extract the sound described by each text (or audio) query from every input. Outputs go to "
                    "OUT/<model>/<input name>/<query>.wav (like demucs); inputs are never overwritten. Any rate "
                    "and channel count in; the outputs keep the input's rate, length and channels.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="audio files, folders (searched recursively), glob patterns, or - for standard input")
    query = p.add_argument_group("queries (one output per query)")
    query.add_argument("-q", "--query", action="append", metavar="TEXT",
                       help='text query, e.g. "a dog barking"; repeat for several')
    query.add_argument("--audio-query", action="append", metavar="FILE",
                       help="an audio file whose kind of sound to extract; repeatable")
    out = p.add_argument_group("outputs")
    out.add_argument("-o", "--output", metavar="OUT", help="output folder (default: separated), or a file name "
                     "with an audio suffix for one input and one query, or - for standard output (WAV)")
    out.add_argument("--filename", metavar="TEMPLATE", help="names below OUT/<model>: fields {track} (input "
                     "name), {query} (query slug), {ext}, {model}, {parent} (default: {track}/{query}.{ext})")
    out.add_argument("--residual", action="store_true", help="also write the mixture minus the estimate "
                     "(<query>_residual), what remains after removing the sound")
    out.add_argument("--format", choices=["wav", "flac", "ogg", "mp3", "aiff", "w64"],
                     help="output format in folder mode (default: wav; a file name's suffix decides otherwise)")
    depth = out.add_mutually_exclusive_group()
    depth.add_argument("--int24", dest="depth", action="store_const", const="int24", help="24-bit integer output")
    depth.add_argument("--float32", dest="depth", action="store_const", const="float32", help="32-bit float output")
    out.add_argument("--clip-mode", choices=CLIP_MODES, default=ExtractOptions.clip_mode,
                     help="output louder than full scale: lower its level, clip it, or keep it (float32 only; "
                          "integer formats clip); never silent, each case is reported")
    model = p.add_argument_group("model")
    which = model.add_mutually_exclusive_group()
    which.add_argument("-n", "--name", help="model by name (see `tqse models`), a folder, or hf://org/name")
    which.add_argument("--checkpoint", metavar="DIR", help="model folder")
    model.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    run = p.add_argument_group("processing")
    run.add_argument("--chunk-seconds", type=float, default=ExtractOptions.chunk_seconds,
                     help="chunk length; 0 = whole file at once")
    run.add_argument("--overlap-seconds", type=float, default=ExtractOptions.overlap_seconds,
                     help="cross-fade between chunks")
    run.add_argument("--no-progress", action="store_true", help="no progress bar (also off when stderr is not a terminal)")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from tqse.extract.plan import ExtractRequest, run_extract

    options = ExtractOptions(chunk_seconds=args.chunk_seconds, overlap_seconds=args.overlap_seconds,
                             clip_mode=args.clip_mode, depth=args.depth)
    request = ExtractRequest(
        inputs=args.inputs, texts=args.query or [], audio_queries=args.audio_query or [], output=args.output,
        template=args.filename, residual=args.residual, fmt=args.format, model=args.name or args.checkpoint,
        device=args.device, progress=not args.no_progress, options=options)
    for output in run_extract(request):
        log.info("wrote %s", output)
    return 0
