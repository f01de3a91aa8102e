"""``tqse bench {extract,train,data} ... [--json]``: the speed figures quoted in the README."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="measure extraction, training and data-pipeline speed")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    ex = kinds.add_parser("extract", help="seconds to separate N seconds of audio")
    ex.add_argument("--model", default="small", help="paper, small, tiny or resunet30")
    ex.add_argument("--seconds", type=float, default=10.0)
    ex.add_argument("--repeats", type=int, default=3)
    tr = kinds.add_parser("train", help="training steps per second")
    tr.add_argument("--model", default="tiny")
    tr.add_argument("--batch-size", type=int, default=8)
    tr.add_argument("--seconds", type=float, default=4.0, help="segment length")
    tr.add_argument("--steps", type=int, default=5)
    tr.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    da = kinds.add_parser("data", help="on-the-fly mixtures per second per core (FLAC)")
    da.add_argument("--seconds", type=float, default=10.0, help="clip length")
    da.add_argument("--mixtures", type=int, default=40)
    for sub in (ex, tr, da):
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        if sub is not da:
            sub.add_argument("--device", default="cpu")
            sub.add_argument("--threads", type=int, default=2, help="CPU threads (the README's figures use 2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.workflows import bench

    if args.kind == "extract":
        result = bench.bench_extract(args.model, args.seconds, args.repeats, args.device, args.threads)
    elif args.kind == "train":
        result = bench.bench_train(args.model, args.batch_size, args.seconds, args.steps, args.device, args.threads,
                                   args.precision)
    else:
        result = bench.bench_data(args.seconds, mixtures=args.mixtures)
    print(json.dumps(result) if args.json else "  ".join(f"{k}={v}" for k, v in result.items()))
    return 0
