"""``tqse eval``: AudioSep's benchmarks and/or fixed-mixture manifests, one report for all.

    tqse eval --checkpoint DIR --benchmark audiocaps clotho --root /data/AudioSep [--out DIR]
    tqse eval --checkpoint DIR --manifest corpus/test_mixtures.jsonl --query-field class_caption
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("tqse.eval")


def register(subparsers) -> None:
    from tqse.commands import defaults_of
    from tqse.eval.protocols import BENCHMARKS
    from tqse.eval.runner import ModelSeparator, evaluate

    p = subparsers.add_parser("eval", help="score a model on AudioSep's benchmarks or mixture manifests",
                              description="Evaluate a model with AudioSep's protocol (SDR, SDRi, SI-SDR, "
                                          "SI-SDRi). Per-clip CSV + summary JSON per set; resumable.")
    p.add_argument("--checkpoint", help="model directory (default: the shipped default model)")
    p.add_argument("--benchmark", nargs="+", choices=[*BENCHMARKS, "all"], default=[],
                   help="AudioSep benchmark(s); needs --root")
    p.add_argument("--root", help="AudioSep checkout (or its evaluation/ folder) with metadata/ and data/")
    p.add_argument("--manifest", nargs="+", default=[],
                   help="fixed-mixture manifest(s) (JSONL), or builtin:val|test|ood (default with no "
                        "--benchmark: the built-in corpus' test and ood mixtures)")
    p.add_argument("--query-field", help="manifests: caption | class_caption (default caption), or "
                                         "target_audio (the target's own audio as the query); "
                                         "AudioCaps benchmark: caption | labels")
    p.add_argument("--out", help="output folder (default: eval/<checkpoint name>)")
    p.add_argument("--batch-size", type=int, default=defaults_of(evaluate)["batch_size"],
                   help="clips per forward pass (equal-length clips)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--chunk-seconds", type=float, default=defaults_of(ModelSeparator)["chunk_seconds"],
                   help="0 = whole clip in one pass, as AudioSep evaluates; >0 = chunked extraction")
    p.add_argument("--no-resume", action="store_true", help="rescore clips already in the CSV")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _sets(args: argparse.Namespace) -> list[tuple[str, list, str, int]]:
    """``(name, items, aggregation, rate)`` of every requested set, all parsed before any model runs.

    Benchmarks are scored at 32 kHz (AudioSep's rate); manifests at their mixtures' own rate.
    """
    from tqse.audio.io import audio_info
    from tqse.data.manifest import TARGET_AUDIO_FIELD
    from tqse.errors import ConfigError
    from tqse.eval import protocols

    _check_options(args)
    names = list(protocols.BENCHMARKS) if "all" in args.benchmark else list(dict.fromkeys(args.benchmark))
    if names and not args.root:
        raise ConfigError("--benchmark needs --root (the folder holding AudioSep's metadata/ and data/)")
    if names and args.query_field == TARGET_AUDIO_FIELD:  # one separator kind serves every set of the call
        raise ConfigError(f"--query-field {TARGET_AUDIO_FIELD} queries fixed-mixture manifests only: give "
                          "--manifest without --benchmark")
    manifests = list(args.manifest)
    if not names and not manifests:
        # The built-in default: the corpus' fixed test and out-of-domain mixtures.
        from tqse.data.locations import built_corpus_mixtures

        manifests = built_corpus_mixtures(("test", "ood"))
        if not manifests:
            raise ConfigError("nothing to evaluate: give --benchmark NAME --root DIR and/or --manifest FILE "
                              "(or build the corpus, `tqse corpus build`, to score on its test mixtures)")
    sets = []
    for name in names:
        field = args.query_field if name == "audiocaps" else None
        sets.append((name, protocols.load_benchmark(name, args.root, field),
                     protocols.AGGREGATION.get(name, "mean"), protocols.EVAL_SAMPLE_RATE))
    from tqse.data.locations import resolve_manifest

    for manifest in map(resolve_manifest, manifests):
        items = protocols.manifest_items(manifest, args.query_field or "caption")
        sets.append((Path(manifest).stem, items, "mean", audio_info(items[0].mixture).sample_rate))
    for name, items, *_ in sets:
        missing = protocols.missing_files(items)
        if missing:
            from tqse.data.manifest import ManifestError

            raise ManifestError(f"{name}: {len(missing)} audio files missing, e.g. {missing[0]}")
    return sets


def _check_options(args: argparse.Namespace) -> None:
    """The numeric and device options of ``tqse eval``, checked before any file is read."""
    import math

    from tqse.config import check_device
    from tqse.errors import ConfigError

    if not math.isfinite(args.chunk_seconds) or args.chunk_seconds < 0:
        raise ConfigError(f"--chunk-seconds {args.chunk_seconds}: must be 0 (whole clip) or a positive number")
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size {args.batch_size}: must be >= 1")
    check_device(args.device, "--device")


def _run_name(model_dir: Path) -> str:
    """Default output name: the model folder, or ``<run>-best`` for ``runs/<run>/checkpoints/best``."""
    path = model_dir.resolve()
    return f"{path.parent.parent.name}-{path.name}" if path.parent.name == "checkpoints" else path.name


def _check_out(out: Path) -> None:
    """A file where the output folder (or one above it) should be: say so before any scoring."""
    from tqse.errors import OptionError

    for folder in (out, *out.absolute().parents):
        if folder.exists():
            if not folder.is_dir():
                raise OptionError(f"--out {out}: {folder} is a file, not a folder")
            return


def run(args: argparse.Namespace) -> int:
    from tqse.data.manifest import TARGET_AUDIO_FIELD
    from tqse.extract import Extractor
    from tqse.eval.report import comparison_table, readme_line
    from tqse.eval.runner import ModelSeparator, evaluate
    from tqse.models.pretrained import default_model_dir

    model_dir = Path(args.checkpoint) if args.checkpoint else default_model_dir()
    out = Path(args.out or Path("eval") / _run_name(model_dir))
    _check_out(out)
    sets = _sets(args)
    extractor = Extractor.from_pretrained(model_dir, device=args.device)
    info = {"checkpoint": str(model_dir), "device": str(extractor.device), "batch_size": args.batch_size,
            "query_field": args.query_field, "chunk_seconds": args.chunk_seconds}
    summaries = {}
    for name, items, aggregation, rate in sets:
        separator = ModelSeparator(extractor, rate, chunk_seconds=args.chunk_seconds,
                                   audio_queries=args.query_field == TARGET_AUDIO_FIELD)
        summaries[name] = evaluate(items, separator, sample_rate=rate, out_dir=out, name=name,
                                   aggregation=aggregation, separate_batch=separator.batch,
                                   batch_size=args.batch_size, resume=not args.no_resume,
                                   progress=not args.no_progress, info=info)
    table = comparison_table(summaries)
    (out / "report.md").write_text(f"{table}\n\n{readme_line(summaries)}\n", encoding="utf-8")
    print(table)
    print(readme_line(summaries))
    log.info("per-clip CSVs, summaries and report.md in %s", out)
    return 0
