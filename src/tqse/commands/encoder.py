"""``tqse encoder train|info``: retrain the built-in query encoder, or describe an encoder."""

from __future__ import annotations

import argparse
import json

from tqse.commands.embed import add_encoder_arguments, encoder_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("encoder", help="train the built-in query encoder or describe an encoder",
                              description="Query-encoder utilities.")
    sub = p.add_subparsers(dest="encoder_command", metavar="ACTION")
    t = sub.add_parser("train", help="train the built-in encoder's audio tower and projections (CLAP-style)",
                       description="Contrastive training of the built-in encoder (frozen MiniLM text tower + log-mel "
                                   "CNN) on a captioned clip manifest with train/val/test/ood splits. Writes "
                                   "config.json + weights.safetensors; use the folder with --encoder PATH.")
    t.add_argument("--data", required=True, metavar="MANIFEST", help="clip manifest with captions and 'split'")
    t.add_argument("--out", required=True, metavar="DIR", help="output folder")
    t.add_argument("--steps", type=int, help="default 3000 (aisfx) / 800 (cnn)")
    t.add_argument("--batch-size", type=int, help="default 256 (aisfx) / 48 (cnn)")
    t.add_argument("--lr", type=float, help="default 1e-3 (aisfx) / 2e-3 (cnn)")
    t.add_argument("--crop-seconds", type=float, default=3.0, help="random training crop length")
    t.add_argument("--eval-every", type=int, default=100)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    t.add_argument("--tower", choices=("aisfx", "cnn"), default="aisfx",
                   help="aisfx: frozen pretrained sound-effects CNN trunk (needs the aisfx wheel, --no-deps) + "
                        "trained projections (the shipped encoder); cnn: small log-mel CNN trained from scratch")
    t.add_argument("--feature-cache", metavar="FILE", help="keep frozen-trunk features here between runs")
    t.set_defaults(func=run_train)
    i = sub.add_parser("info", help="load an encoder and print its name, size and training record")
    add_encoder_arguments(i)
    i.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


# Chosen on the default corpus's val split (aisfx: a 5-run sweep of lr x steps x batch; cnn: CPU budget).
TOWER_DEFAULTS = {"aisfx": {"steps": 3000, "batch_size": 256, "lr": 1e-3},
                  "cnn": {"steps": 800, "batch_size": 48, "lr": 2e-3}}


def run_train(args: argparse.Namespace) -> int:
    from tqse.query.builtin_train import TrainSettings, train_builtin

    chosen = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in TOWER_DEFAULTS[args.tower].items()}
    settings = TrainSettings(**chosen,
                             crop_seconds=args.crop_seconds, eval_every=args.eval_every, seed=args.seed,
                             threads=args.threads)
    from tqse.query.builtin import AISFX_CONFIG

    record = train_builtin(args.data, args.out, settings, config=AISFX_CONFIG if args.tower == "aisfx" else None,
                           feature_cache=args.feature_cache)
    print(json.dumps(record["training"]["metrics"]))
    return 0


def run_info(args: argparse.Namespace) -> int:
    encoder = encoder_from_args(args)
    info = {"name": encoder.name, "dim": encoder.dim, "sample_rate": encoder.sample_rate,
            "clip_seconds": encoder.clip_samples / encoder.sample_rate,
            "parameters": sum(p.numel() for p in encoder.parameters())}
    config = getattr(encoder, "config", None)
    training = config.get("training") if isinstance(config, dict) else None
    if training:
        info["trained"] = {k: training[k] for k in ("manifest", "clips", "metrics", "temperature") if k in training}
    print(json.dumps(info, indent=1))
    return 0
