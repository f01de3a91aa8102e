"""``tqse gap --encoder NAME --data MANIFEST``: the modality-gap report (table, PNG plot, ``--json``)."""

from __future__ import annotations

import argparse

from tqse.commands import defaults_of
from tqse.commands.embed import add_encoder_arguments, crop_value, encoder_from_args


def register(subparsers) -> None:
    from tqse.query.gap import gap_report

    report = defaults_of(gap_report)
    p = subparsers.add_parser("gap", help="modality-gap report of a query encoder on a clip manifest",
                              description="Paired vs unpaired audio-caption cosine, within-modality cosine, centroid "
                                          "distance, centred cosine and text-to-audio recall, before and after each "
                                          "embedding manipulation (dropout, noise, PCA, PCA-inv; mixup and SpecAugment "
                                          "with --audio-level).")
    p.add_argument("--data", required=True, metavar="MANIFEST", help="clip manifest with captions (JSONL)")
    p.add_argument("--split", help="only clips whose 'split' field has this value (e.g. test)")
    p.add_argument("--max-clips", type=int, default=1000, help="use at most this many clips (manifest order)")
    p.add_argument("--caption-index", type=int, default=report["caption_index"],
                   help="which caption of each clip to pair")
    p.add_argument("--crop-seconds", type=crop_value, default=None, metavar="S|none",
                   help="centre crop of each clip before embedding (default: whole clip)")
    p.add_argument("--by-class", action="store_true",
                   help="captions are per class (like the built-in corpus): unpaired = different class, and "
                        "retrieving any clip of the caption's class counts as a hit")
    p.add_argument("--audio-level", action="store_true", help="also evaluate mixup and SpecAugment (slower)")
    p.add_argument("--plot", metavar="PNG", help="write the plot here")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object instead of a table")
    p.add_argument("--seed", type=int, default=report["seed"])
    add_encoder_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.data.manifest import read_clips
    from tqse.query.gap import format_table, gap_report, plot_report, report_json

    clips = [c for c in read_clips(args.data, split=args.split) if c.captions][: args.max_clips]
    if len(clips) < 2:
        from tqse.data.manifest import ManifestError

        raise ManifestError(f"{args.data}: the gap report needs at least 2 clips with captions")
    encoder = encoder_from_args(args)
    report = gap_report(encoder, clips, crop_seconds=args.crop_seconds, caption_index=args.caption_index,
                        seed=args.seed, audio_level=args.audio_level,
                        by_class=args.by_class)
    if args.plot:
        plot_report(report, args.plot)
    if args.json:
        print(report_json(report))
    else:
        print(f"encoder {report['encoder']}, {report['clips']} clips of {args.data}"
              + (f" (split {args.split})" if args.split else ""))
        print(format_table(report))
    return 0
