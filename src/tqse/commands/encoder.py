"""``tqse encoder train|info``: retrain the built-in query encoder, or describe an encoder."""

from __future__ import annotations

import argparse
import json

from tqse.commands import defaults_of
from tqse.commands.embed import add_encoder_arguments, encoder_from_args


def register(subparsers) -> None:
    from tqse.query.builtin_train import DEFAULT_TOWER, TOWER_SETTINGS, TrainSettings

    d = defaults_of(TrainSettings)
    per_tower = {name: TrainSettings.for_tower(name) for name in TOWER_SETTINGS}

    def by_tower(key: str) -> str:
        return "default " + " / ".join(f"{getattr(s, key):g} ({name})" for name, s in per_tower.items())

    p = subparsers.add_parser("encoder", help="train the built-in query encoder or describe an encoder",
                              description="Query-encoder utilities.")
    sub = p.add_subparsers(dest="encoder_command", metavar="ACTION")
    t = sub.add_parser("train", help="train the built-in encoder's audio tower and projections (CLAP-style)",
                       description="Contrastive training of the built-in encoder (frozen MiniLM text tower + log-mel "
                                   "CNN) on a captioned clip manifest with train/val/test/ood splits. Writes "
                                   "config.json + weights.safetensors; use the folder with --encoder PATH.")
    t.add_argument("--data", required=True, metavar="MANIFEST", help="clip manifest with captions and 'split'")
    t.add_argument("--out", required=True, metavar="DIR", help="output folder")
    t.add_argument("--steps", type=int, help=by_tower("steps"))
    t.add_argument("--batch-size", type=int, help=by_tower("batch_size"))
    t.add_argument("--lr", type=float, help=by_tower("lr"))
    t.add_argument("--crop-seconds", type=float, default=d["crop_seconds"], help="random training crop length")
    t.add_argument("--eval-every", type=int, default=d["eval_every"])
    t.add_argument("--seed", type=int, default=d["seed"])
    t.add_argument("--threads", type=int, default=d["threads"], help="torch CPU threads")
    t.add_argument("--tower", choices=tuple(TOWER_SETTINGS), default=DEFAULT_TOWER,
                   help="aisfx: frozen pretrained sound-effects CNN trunk (needs the aisfx wheel, --no-deps) + "
                        "trained projections (the shipped encoder); cnn: small log-mel CNN trained from scratch")
    t.add_argument("--feature-cache", metavar="FILE", help="keep frozen-trunk features here between runs")
    t.set_defaults(func=run_train)
    i = sub.add_parser("info", help="load an encoder and print its name, size and training record")
    add_encoder_arguments(i)
    i.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_train(args: argparse.Namespace) -> int:
    from tqse.query.builtin_train import TrainSettings, train_builtin

    given = {k: getattr(args, k) for k in ("steps", "batch_size", "lr") if getattr(args, k) is not None}
    settings = TrainSettings.for_tower(args.tower, **given, crop_seconds=args.crop_seconds,
                                       eval_every=args.eval_every, seed=args.seed, threads=args.threads)
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
