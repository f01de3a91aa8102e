"""``tqse package RUN_DIR OUT_DIR [--checkpoint DIR] [--name NAME] [--sets test ood] [--note TEXT]``: a run -> a
shipped model; ``--card-only``: re-render an existing model folder's card from its records and the run's config."""

from __future__ import annotations

import argparse

from tqse.workflows.package import SETS


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "package", help="turn a training run's checkpoint into a shippable model folder (float16, scores, card)",
        description="Cast a run's checkpoint to float16 (kept only if it loses < 0.05 dB), score it on the built-in "
                    "corpus' fixed test and ood mixtures, time it, and write OUT_DIR: config.json with the scores "
                    "and the records its card is made of (training data, how the checkpoint was chosen, speed), "
                    "model.safetensors, README.md (the model card) and TRAINING_DATA.md. Needs the built corpus "
                    "(tqse corpus build --tier default). With --card-only, OUT_DIR is an existing model folder: "
                    "its card is re-rendered from its config.json and RUN_DIR (a run folder or its config.yaml), "
                    "weights and scores untouched (--sets: score it on sets it has no score for and add them).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the training run (config.yaml, env.json, metrics.jsonl)")
    p.add_argument("out_dir", metavar="OUT_DIR", help="model folder to write (replaced if it exists)")
    p.add_argument("--checkpoint", metavar="DIR", help="checkpoint folder (default: RUN_DIR/checkpoints/best, "
                   "else RUN_DIR/checkpoints/last)")
    p.add_argument("--name", help="model name in its config and card (default: OUT_DIR's folder name)")
    p.add_argument("--sets", nargs="+", help="fixed-mixture sets to score on (default: "
                   f"{' '.join(SETS)}): names of the built-in data's (test, ood) or a tier's (corpus:pool:unseen, "
                   "recorded as unseen); with --card-only, the sets to add to a folder that has no score on them, "
                   "scored on its weights as they are and marked in the card as scored later")
    p.add_argument("--note", help="a sentence for the card on how this checkpoint was chosen among candidates "
                   "(e.g. which sets compared them before shipping)")
    p.add_argument("--card-only", action="store_true", help="re-render OUT_DIR's card; cast nothing and score "
                   "nothing but the --sets it has no score for")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqse.workflows.package import package_model, refresh_card

    if args.card_only:
        print(refresh_card(args.run_dir, args.out_dir, note=args.note, add_sets=args.sets or ()))
        return 0
    print(package_model(args.run_dir, args.out_dir, checkpoint=args.checkpoint, name=args.name,
                        sets=args.sets or SETS, note=args.note or ""))
    return 0
