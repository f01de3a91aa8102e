"""``tqse bench {extract,train,data} ... [--json]``: the speed figures quoted in the README."""

from __future__ import annotations

import argparse
import json

from tqse.commands import defaults_of


def register(subparsers) -> None:
    from tqse.workflows.bench import bench_data, bench_extract, bench_train

    e, t, d = defaults_of(bench_extract), defaults_of(bench_train), defaults_of(bench_data)
    p = subparsers.add_parser("bench", help="measure extraction, training and data-pipeline speed")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    ex = kinds.add_parser("extract", help="seconds to separate N seconds of audio")
    ex.add_argument("--model", default=e["model"], help="paper, small, tiny or resunet30")
    ex.add_argument("--seconds", type=float, default=e["seconds"])
    ex.add_argument("--repeats", type=int, default=e["repeats"])
    tr = kinds.add_parser("train", help="training steps per second")
    tr.add_argument("--model", default=t["model"])
    tr.add_argument("--batch-size", type=int, default=t["batch_size"])
    tr.add_argument("--seconds", type=float, default=t["seconds"], help="segment length")
    tr.add_argument("--steps", type=int, default=t["steps"])
    tr.add_argument("--precision", default=t["precision"], choices=["fp32", "bf16"])
    da = kinds.add_parser("data", help="on-the-fly mixtures per second per core (FLAC)")
    da.add_argument("--seconds", type=float, default=d["clip_seconds"], help="clip length")
    da.add_argument("--mixtures", type=int, default=d["mixtures"])
    for sub, defaults in ((ex, e), (tr, t), (da, d)):
        sub.add_argument("--json", action="store_true", help="print one JSON object")
        if sub is not da:
            sub.add_argument("--device", default=defaults["device"])
            sub.add_argument("--threads", type=int, default=defaults["threads"],
                             help="CPU threads (the README's figures use 2)")
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
