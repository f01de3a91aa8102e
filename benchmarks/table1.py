"""Table I, fair (issue 24): every row trained from random weights (neutral by construction) for the same
budget, then its best validation checkpoint scored on three fixed-mixture sets with class templates, natural
captions and the wrong query; its last checkpoint too, and both also queried by the target's own audio, the audio
rows' training condition (docs/RESULTS.md, "Table I, fair"; issue 9's study is ``benchmarks/table1_issue9.py``).

    python benchmarks/table1.py --prepare                    # fill the embedding cache the rows read (once)
    python benchmarks/table1.py --rows A0 --max-seeds 1 --minutes 90 --out runs/table1_pilot \\
        --results experiments/table1_fair/pilot              # one long A0 curve: choose the budget
    python benchmarks/table1.py                              # the grid, 9,300 steps a run (resumable), then the report
    python benchmarks/table1.py --report-only --export       # rebuild the report; best seeds -> experiments/checkpoints
    python benchmarks/table1.py --bias --steps 500           # A0 / A3 from the text-trained start vs random weights
    python benchmarks/table1.py --rows AV5 --av5-from A9R    # AV5 with the manipulation av5_choice.md names
    python benchmarks/table1.py --neutral                    # optional query-free start; rows load it with --neutral-start

The budget is ``--steps`` per run (default 9,300: where the pilot's rule put it), or ``--minutes`` of training
(counted over resumes; validation and scoring excluded): one of the two, the same for every row. Steps are the
same compute whenever a run happens; minutes are not on a host whose speed drifts (docs/RESULTS.md, "Budget").
Runs go under ``--out`` (starts in ``starts/``, the bias measurement in ``bias/``) and resume where they
stopped; scoring resumes per clip and starts again when a longer budget moves a run's best checkpoint. Each
scored run's record is kept (``--records``; the bias measurement's in ``--results``/bias/records), so a new
machine skips what is done. One run at a time, on ``--threads`` threads.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator

from tqse.data.manifest import TARGET_AUDIO_FIELD
from tqse.eval.report import (format_stats, group_key, group_seeds, learning_curve, plot_curves, plot_runs, run_name,
                              runs_table, seed_stats)
from tqse.files import read_json_lines, read_metrics
from tqse.train.logging import ENVIRONMENTS
from tqse.workflows.study import (best_seed, comparison_table, export_checkpoint, keep_record,
                                  neutral_card, paper_table, run_folders, run_record, scored_folders, scored_runs,
                                  last_training_line, selection_score, study_runs, training_data, training_record)

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "table1_fair"
# row -> (config, seeds, phase). Phase 1 carries the paper's claim (captions, naive audio, every dropout form, the
# AV pair) with three seeds; phase 2 the other rows with two. Within a phase seeds are the outer loop.
ROWS = {"A0": ("A0.yaml", 3, 1), "A3": ("A3.yaml", 3, 1), "A9": ("A9.yaml", 3, 1), "A9R": ("A9R.yaml", 3, 1),
        "A9N": ("A9N.yaml", 3, 1), "AV0": ("AV0.yaml", 3, 1), "AV5": ("AV5.yaml", 3, 1),
        "A2": ("A2.yaml", 2, 2), "A8": ("A8.yaml", 2, 2), "A7": ("A7.yaml", 2, 2)}
ROW_LABELS = {"A0": "captions", "A2": "captions + dropout", "A3": "audio", "A8": "audio + Gaussian noise",
              "A9": "audio + dropout (kept dimensions as they are)", "A9R": "audio + dropout rescaled by 1/(1-p)",
              "A9N": "audio + dropout renormalised to the query norm", "A7": "audio + PCA-inv",
              "AV0": "captions on the pool's labelled clips", "AV5": "AV0 + the pool's unlabelled clips by audio"}
AUDIO_ROWS = ("A3", "A8", "A9", "A9R", "A9N", "A7")  # candidates for AV5's manipulation (--av5-from)
# neutral start of each separator: (config, folder under --starts)
STARTS = {"conformer": ("neutral_start.yaml", "neutral_start"), "tcn": ("neutral_start_tcn.yaml", "neutral_start_tcn")}
TEXT_START = "experiments/table1/warm_start"  # tqse-tcn-builtin-v0, trained with text: issue 9's start
EVAL_SETS = {"test": "corpus:default:test", "ood": "corpus:default:ood", "unseen": "corpus:pool:unseen"}
QUERY_FIELDS = ("class_caption", "caption", "interferer_class_caption")  # the last is the wrong-query control
# + the target's own audio, the audio rows' training condition: separates "learnt nothing" from "learnt to
# separate by audio queries but not by text" (the modality gap) in the same run
SCORE_FIELDS = (*QUERY_FIELDS, TARGET_AUDIO_FIELD)
# scored checkpoint -> the run's folder of its scores: the best by validation (the table) and the last (what a run
# learnt by the end of its budget, whatever validation chose)
SCORED = {"best": "eval", "last": "eval_last"}
SUBSET = "unseen48"  # the `unseen` mixtures whose target class the A rows train on (the pool adds 7 classes)
CURVES = {"val_si_sdri": "class templates", "val_caption_si_sdri": "captions",
          "val_interferer_class_caption_si_sdri": "wrong query"}
# Every row against its captions row (A0, or AV0 for the pool's), every audio row against naive audio queries (A3);
# each AV5 form (``--av5-from``) against AV0 and against AV5, whichever forms have runs (pairs without runs drop out).
PAIRS = [("A0", "A3"), ("A3", "A9"), ("A3", "A9R"), ("A3", "A9N"), ("A3", "A8"), ("A3", "A7"), ("A0", "A2"),
         ("A0", "A9"), ("A0", "A9R"), ("A0", "A9N"), ("A0", "A8"), ("A0", "A7"), ("A9", "A9R"), ("A9", "A9N"),
         ("AV0", "AV5"), *((base, f"AV5-{row}") for row in AUDIO_ROWS for base in ("AV0", "AV5"))]
BIAS_PAIRS = [("neutral-A0", "text-A0"), ("neutral-A3", "text-A3"), ("text-A3", "text-A0"),
              ("neutral-A3", "neutral-A0")]
EXPORT_ROWS = ("A0", "A3", "A9", "A9R", "A9N", "AV0", "AV5")
INIT_RESET = "train.init_reset=['*.film*']"  # every row learns its query pathway from a fresh FiLM initialisation
BUDGET_STEPS = 9300  # the A0 pilot's step at B = 39.2 CPU minutes, its declared rule's budget (docs/RESULTS.md)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--prepare", action="store_true", help="embed what the rows' caches lack, then stop")
    mode.add_argument("--neutral", nargs="?", const="conformer", choices=list(STARTS),
                      help="train or extend a neutral start (default: the conformer's) and export it")
    mode.add_argument("--bias", action="store_true", help="A0 and A3 from the text-trained start vs the neutral one")
    mode.add_argument("--report-only", action="store_true", help="rebuild the report from the runs; train nothing")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help=f"training steps of every run (default {BUDGET_STEPS})")
    budget.add_argument("--minutes", type=float, help="training minutes of every run, instead of steps")
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--max-seeds", type=int, default=3, help="run at most this many seeds per row")
    p.add_argument("--av5-from", choices=AUDIO_ROWS, help="AV5 with this row's manipulation (run AV5-ROW)")
    p.add_argument("--neutral-start", action="store_true",
                   help="rows (and the bias measurement's neutral arm) from the exported query-free neutral start "
                        "instead of random weights (its louder-source objective learnt nothing in 15 CPU minutes: "
                        "docs/RESULTS.md)")
    p.add_argument("--bias-model", default="tcn", help="separator of the bias measurement (the text start's)")
    p.add_argument("--threads", type=int, default=2, help="torch threads of every run")
    p.add_argument("--out", type=Path, default=Path("runs/table1_fair"), help="run folders (resumable)")
    p.add_argument("--results", type=Path, default=Path("experiments/table1_fair"), help="tables, plots, runs.json")
    p.add_argument("--records", type=Path, default=Path("experiments/table1_fair/records"),
                   help="each scored grid run without its weights (committed; the report reads a record where the "
                        "run's folder is gone, and the grid does not train such a run again)")
    p.add_argument("--starts", type=Path, default=Path("experiments/table1_fair"), help="exported neutral starts")
    p.add_argument("--text-start", type=Path, default=Path(TEXT_START), help="the text-trained start (--bias)")
    p.add_argument("--export", nargs="*", metavar="ROW", help=f"best seed of each row (default {' '.join(EXPORT_ROWS)}) "
                   "to --checkpoints/ROW, float16, with a card")
    p.add_argument("--checkpoints", type=Path, default=Path("experiments/checkpoints"))
    p.add_argument("--eval", nargs="+", metavar="NAME=MANIFEST", help="evaluation sets instead of test/ood/unseen")
    p.add_argument("--setup", nargs="+", default=[], metavar="YAML", help="config files merged after each row's "
                   "(configs/setups/fixture.yaml shrinks everything for a test)")
    p.add_argument("overrides", nargs="*", help="dotted config overrides for every run")
    args = p.parse_args(argv)
    if args.minutes is None and args.steps is None:
        args.steps = BUDGET_STEPS
    return args


# -- configs and runs ----------------------------------------------------------------------------------------
def load_run_config(args: argparse.Namespace, file: Path, out: Path, extra: Iterable[str] = ()):
    from tqse.config import load_config

    budget = [f"train.steps={args.steps}"] if args.steps is not None else []
    return load_config([file, *args.setup], [f"output_dir={out}", "train.progress=false", *budget, *extra,
                                             *args.overrides])


def row_run(args: argparse.Namespace, row: str, seed: int, start: Path | None, out: Path, name: str | None = None,
            extra: Iterable[str] = ()):
    """The config of one (row, seed) started from ``start`` (None: random weights), named ``{name or row}-s{seed}``."""
    init = [f"train.init_from={start}", INIT_RESET] if start is not None else []
    return load_run_config(args, CONFIGS / ROWS[row][0], out,
                           [f"name={name or row}-s{seed}", f"train.seed={seed}", *init, *extra])


def neutral_start(args: argparse.Namespace, separator: str) -> Path | None:
    """The exported neutral start of ``separator`` with ``--neutral-start`` (stops if it is missing), else None:
    random weights, neutral by construction."""
    if not args.neutral_start:
        return None
    start = args.starts / STARTS[separator][1]
    if not (start / "config.json").is_file():
        flag = "" if separator == "conformer" else f" {separator}"
        raise SystemExit(f"{start}: no neutral start yet; train it with `python benchmarks/table1.py --neutral{flag}` "
                         "(or run every row from random weights: drop --neutral-start)")
    return start


def manipulation_overrides(row: str) -> list[str]:
    """What ``row``'s config file changes in ``query.manipulation``, as overrides (AV5's own dropout off first)."""
    from tqse.config import RunConfig, flatten, load_config, to_dict

    default, ours = flatten(to_dict(RunConfig())), flatten(to_dict(load_config([CONFIGS / ROWS[row][0]])))
    changed = [f"{k}={json.dumps(v)}" for k, v in ours.items() if k.startswith("query.manipulation.") and v != default[k]]
    return ["query.manipulation.dropout.enabled=false", *changed]


def missing_embeddings(config, encoder_name: str) -> dict[str, tuple[str, int, int]]:
    """Datasets whose queries the cache lacks: ``{name: (manifest, audio clips missing, captions missing)}``."""
    from tqse.data.manifest import audio_cache_key
    from tqse.query.cache import EmbeddingCache
    from tqse.errors import QueryError
    from tqse.train.setup import training_clips, training_sources

    if not config.query.cache_dir:
        return {}
    try:
        cache = EmbeddingCache.open(config.query.cache_dir, encoder_name)
    except QueryError:  # no cache for this encoder yet: everything is missing
        cache = None
    missing: dict[str, list[int]] = {}
    for clip in training_clips(config):
        mode = config.query.modes.get(clip.dataset, config.query.mode)
        counts = missing.setdefault(clip.dataset, [0, 0])
        key = audio_cache_key(clip, config.data.segment_seconds)
        counts[0] += "audio" in mode and (cache is None or not cache.has_audio(key))
        counts[1] += "text" in mode and (cache is None or not all(cache.has_text(c) for c in clip.captions))
    sources = training_sources(config)
    return {name: (sources[name], *counts) for name, counts in missing.items() if any(counts)}


def prepare(args: argparse.Namespace) -> None:
    """Embed, with each row's own encoder (its version included), every manifest whose audio or captions a row
    reads and the cache lacks."""
    from tqse.data.manifest import read_clips
    from tqse.query.cache import build_cache

    needed, encoder = {}, None  # manifest -> (a config that reads it, whether any row needs its audio)
    for row in args.rows:
        config = load_run_config(args, CONFIGS / ROWS[row][0], args.out)
        encoder = encoder or load_encoder(config)
        for manifest, audio, _ in missing_embeddings(config, encoder.name).values():
            needed[manifest] = (config, audio > 0 or needed.get(manifest, (None, False))[1])
    for manifest, (config, audio) in needed.items():
        clips = read_clips(manifest, split=config.data.split)
        print(f"embedding {manifest} ({'audio and ' if audio else ''}captions) with {encoder.name}", flush=True)
        cache = build_cache(encoder, clips if audio else [], config.query.cache_dir, config.data.sample_rate,
                            config.data.segment_seconds, progress=True,
                            captions=sorted({c for clip in clips for c in clip.captions}))
        print(f"{cache.folder}: {len(cache)} audio embeddings", flush=True)


def check_cache(config, encoder_name: str) -> None:
    missing = missing_embeddings(config, encoder_name)
    if missing:
        lines = [f"  {name}: {audio} clips' audio, {text} clips' captions missing ({path})"
                 for name, (path, audio, text) in missing.items()]
        raise SystemExit(f"{config.name}: the embedding cache lacks queries; run `python benchmarks/table1.py "
                         "--prepare` first:\n" + "\n".join(lines))


def train_and_score(args, config, encoder, eval_sets: dict[str, str]) -> Path:
    """Train (or resume) one run to the budget, then score its best and its last checkpoint on every set and query
    field."""
    from tqse.train.loop import train
    from tqse.train.setup import run_dir_for

    check_cache(config, encoder.name)
    print(f"== {config.name}", flush=True)
    write_data_fingerprint(run_dir_for(config), config, eval_sets)
    run_dir = train(config, encoder=encoder, total_time_s=None if args.minutes is None else args.minutes * 60)
    with (run_dir / "threads.jsonl").open("a") as f:  # the thread count of every call that trained it
        f.write(json.dumps({"threads": args.threads}) + "\n")
    for checkpoint, folder in SCORED.items() if eval_sets else ():
        score_checkpoint(run_dir / "checkpoints", checkpoint, run_dir / folder, encoder, eval_sets)
    return run_dir


def write_data_fingerprint(run_dir: Path, config, eval_sets: dict[str, str]) -> None:
    """``data.json`` in the run folder: the sha256 of every manifest the run trains, validates and is scored on.
    Records outlive machines and each machine builds its own corpus, so the report checks that every run it
    tables saw the same files (a manifest lists each clip's own sha256, so its hash covers the audio too)."""
    from tqse.data.locations import resolve_manifest
    from tqse.files import file_sha256

    files = {f"train:{name}": resolve_manifest(path) for name, path in config.data.manifests.items()}
    files |= {"val": resolve_manifest(config.eval.manifest)} if config.eval.manifest else {}
    files |= {f"score:{name}": path for name, path in eval_sets.items()}
    run_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = {role: file_sha256(Path(path))[:16] for role, path in sorted(files.items())}
    (run_dir / "data.json").write_text(json.dumps(fingerprint, indent=1) + "\n")


def data_lines(folders: Iterable[Path]) -> str:
    """Which runs saw which data (:func:`write_data_fingerprint`): a verdict, then one line per distinct
    fingerprint. Rows train on different manifests by design (AV5 adds the unlabelled clips), so the verdict asks
    that every run was validated and scored on the same files and that each row's seeds trained on the same ones."""
    groups = runs_by(folders, lambda folder: _text(folder / "data.json").strip() or "not recorded")
    fingerprints = {key: json.loads(key) if key != "not recorded" else None for key in groups}
    seen: dict[tuple[str, str], set[str]] = {}  # (scope, role) -> hashes: scope "all" or the row of a train role
    for key, names in groups.items():
        for role, digest in (fingerprints[key] or {}).items():
            for name in names:
                scope = group_key(name) if role.startswith("train:") else "all"
                seen.setdefault((scope, role), set()).add(digest)
    same = "not recorded" not in groups and all(len(digests) == 1 for digests in seen.values())
    verdict = ("Every run was validated and scored on the same files, and each row's seeds trained on the same files."
               if same else "**Not every run is known to have seen the same data**: compare only runs that did.")
    lines = ["| runs | manifests (sha256, first 16 hex digits) |", "|---|---|"]
    for key, names in groups.items():
        data = ", ".join(f"{k} {v}" for k, v in fingerprints[key].items()) if fingerprints[key] else "not recorded"
        lines.append(f"| {', '.join(names)} | {data} |")
    return "\n".join([verdict, "", *lines])


def runs_by(folders: Iterable[Path], key: Callable[[Path], str]) -> dict[str, list[str]]:
    """Run names grouped by ``key`` of each run's folder, in folder order."""
    groups: dict[str, list[str]] = {}
    for folder in folders:
        groups.setdefault(key(folder), []).append(run_name(folder))
    return groups


def machines_of(folder: Path) -> str:
    """The machines (CPU, torch's vector instruction set, torch) that trained a run, in the order of the calls
    that trained it (``environments.jsonl``; ``env.json``, the last call's, for runs trained before it existed)."""
    calls = read_json_lines(folder / ENVIRONMENTS, kind="environment line")
    if not calls and (env_json := _text(folder / "env.json")):
        calls = [json.loads(env_json)]
    unknown = "not recorded (trained before env.json named the CPU)"
    names = [f"{env['cpu']}, {env['cpu_capability']}, torch {env.get('torch', '?')}" if env.get("cpu") else unknown
             for env in calls]
    return " then ".join(dict.fromkeys(names)) or unknown


def machine_lines(folders: Iterable[Path]) -> str:
    """Which machine trained each run: a run trained again on another machine is not the same model, so seeds that
    trained on different machines spread by the machines too, and a run resumed on another machine changed there."""
    groups = runs_by(folders, machines_of)
    lines = ["| machine (CPU, torch's instruction set, torch) | runs |", "|---|---|"]
    lines += [f"| {machine} | {', '.join(names)} |" for machine, names in groups.items()]
    return "\n".join(["Machines (every call that trained each run; the last call's `env.json` for runs started before "
                      "`environments.jsonl`):", "", *lines])


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def score_checkpoint(checkpoints: Path, name: str, folder: Path, encoder, eval_sets: dict[str, str]) -> None:
    """Score checkpoint ``name`` (``last`` where a run has no ``best``: it never validated) into ``folder``,
    dropping scores there of another checkpoint (a longer budget moves both)."""
    from tqse.train.checkpoint import load_training_state
    from tqse.workflows.grid import score_run

    model_dir = checkpoints / name if (checkpoints / name / "config.json").is_file() else checkpoints / "last"
    stamp = {"checkpoint": model_dir.name, "step": int(load_training_state(model_dir)["step"])}
    stamp_file = folder / "scored_checkpoint.json"
    if stamp_file.is_file() and json.loads(stamp_file.read_text()) != stamp:
        shutil.rmtree(folder)  # its scores are of a checkpoint the run no longer has
    folder.mkdir(exist_ok=True)
    stamp_file.write_text(json.dumps(stamp) + "\n")  # before the first score, so a kill cannot orphan scores
    score_run(model_dir, encoder, eval_sets, SCORE_FIELDS, folder)


def eval_names(args: argparse.Namespace) -> dict[str, str]:
    """Evaluation set name -> manifest (``--eval`` or :data:`EVAL_SETS`)."""
    return dict(item.split("=", 1) for item in args.eval) if args.eval else EVAL_SETS


def eval_sets(args: argparse.Namespace) -> dict[str, str]:
    from tqse.data.locations import resolve_manifest

    return {name: resolve_manifest(manifest) for name, manifest in eval_names(args).items()}


def load_encoder(config):
    from tqse.query.registry import encoder_from_config
    from tqse.train.setup import encoder_spec

    return encoder_from_config(encoder_spec(config))


def plan(args: argparse.Namespace) -> list[tuple[str, int]]:
    """(row, seed) in running order: phase 1 before phase 2, seeds outermost within a phase."""
    return [(row, seed) for phase in (1, 2) for seed in range(args.max_seeds)
            for row in args.rows if ROWS[row][2] == phase and seed < ROWS[row][1]]


def run_grid(args: argparse.Namespace) -> None:
    from tqse.train.setup import run_dir_for

    start, sets, encoder = neutral_start(args, "conformer"), eval_sets(args), None
    for row, seed in plan(args):
        name, extra = row, []
        if row == "AV5" and args.av5_from:
            name, extra = f"AV5-{args.av5_from}", manipulation_overrides(args.av5_from)
        config = row_run(args, row, seed, start, args.out, name, extra)
        if recorded_in_full(args, run_dir_for(config), args.records):
            continue
        encoder = encoder or load_encoder(config)
        keep_record(train_and_score(args, config, encoder, sets), args.records)


def recorded_in_full(args: argparse.Namespace, run_dir: Path, records: Path) -> bool:
    """Whether a run has a kept record in ``records`` of the whole step budget (and says so). The record is kept
    after the run was scored, so the run is done: where its folder is gone (a new machine) training it again would
    cost a run's hour for a result the report already has, and where it is here, visiting it again would only
    rescore it from its per-clip scores and rewrite its record (a new commit in ``env.json``, no scoring time in
    the summaries)."""
    steps = last_training_line(records / run_dir.name).get("step")
    done = args.steps is not None and steps is not None and steps >= args.steps
    if done:
        # The record, not the run folder, names the run: the folder may be gone (a new machine).
        print(f"== {run_name(records / run_dir.name)}: done, its record is kept in {records}", flush=True)
    return done


def bias_records(args: argparse.Namespace) -> Path:
    """Where the bias measurement keeps its runs' records: beside its report, apart from the grid's records (the
    grid's report would table them as rows otherwise)."""
    return args.results / "bias" / "records"


def run_bias(args: argparse.Namespace) -> None:
    """A0 and A3 (seeds 0..max-seeds-1) from the text-trained start and from the neutral start of the same
    separator (random weights unless ``--neutral-start``), same budget: how much the old study's start favoured the
    text rows."""
    from tqse.train.setup import run_dir_for

    starts = {"text": args.text_start, "neutral": neutral_start(args, "tcn")}
    sets, encoder = eval_sets(args), None
    for seed in range(args.max_seeds):
        for start_name, start in starts.items():
            for row in ("A0", "A3"):
                config = row_run(args, row, seed, start, args.out / "bias", f"{start_name}-{row}",
                                 [f"model.name={args.bias_model}"])
                if recorded_in_full(args, run_dir_for(config), bias_records(args)):
                    continue  # runs land one by one, so the measurement spans machines as the grid does
                encoder = encoder or load_encoder(config)
                keep_record(train_and_score(args, config, encoder, sets), bias_records(args))


def train_neutral(args: argparse.Namespace) -> Path:
    """Train (or extend) the neutral start of ``args.neutral`` and export its last checkpoint with a card."""
    file, folder = STARTS[args.neutral]
    config = load_run_config(args, CONFIGS / file, args.out / "starts")
    run_dir = train_and_score(args, config, load_encoder(config), {})
    dest = export_checkpoint(run_dir, args.starts / folder, checkpoint="last",
                             training=training_record(run_dir, "last"),
                             extra_files={"README.md": neutral_card(run_dir), "TRAINING_DATA.md": training_data(run_dir)})
    print(f"neutral start: {dest}")
    return dest


# -- the report ----------------------------------------------------------------------------------------------
def budget_table(records: list[dict]) -> str:
    """Per row: seeds, steps, training and scoring minutes (mean and range), best checkpoint's step and validation
    score."""
    lines = ["| row | seeds | steps | training minutes | scoring minutes | best step | val score of best |",
             "|---" * 7 + "|"]

    def cell(values, digits=0):
        values = [v for v in values if v is not None]
        return "-" if not values else \
            f"{sum(values) / len(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"

    for row, runs in group_seeds({r["name"]: r for r in records}).items():
        best = [r["best"] or {} for r in runs]
        score = format_stats(seed_stats([selection_score(r["best"]) for r in runs]))
        lines.append(f"| {row} | {len(runs)} | {cell([r['steps'] for r in runs])} | "
                     f"{cell([(r['train_seconds'] or 0) / 60 for r in runs], 1)} | "
                     f"{cell([r['scoring_seconds'] / 60 for r in runs], 1)} | {cell([b.get('step') for b in best])} | "
                     f"{score} |")
    return "\n".join(lines)


def av5_choice(records: list[dict]) -> str:
    """The audio row whose manipulation AV5 takes (``--av5-from``), chosen as the protocol declares: the highest
    mean over seeds of the best checkpoint's validation score (no test set chooses); provisional while an audio row
    lacks some of its seeds, since a row not yet run cannot be chosen."""
    stats = {row: seed_stats([selection_score(r["best"]) for r in runs])
             for row, runs in group_seeds({r["name"]: r for r in records}).items() if row in AUDIO_ROWS}
    stats = {row: s for row, s in stats.items() if s is not None}
    if not stats:
        return "No audio row is scored yet: AV5's manipulation is not chosen."
    lines = ["| audio row | seeds | val score of best |", "|---|---|---|"]
    lines += [f"| {row} | {s[2]} of {ROWS[row][1]} | {format_stats(s)} |" for row, s in stats.items()]
    pick = max(stats, key=lambda row: stats[row][0])
    short = [row for row in AUDIO_ROWS if row not in stats or stats[row][2] < ROWS[row][1]]
    status = f"provisional: {', '.join(short)} still lack seeds" if short else "final: every audio row has its seeds"
    return "\n".join([*lines, "", f"AV5's manipulation by validation: {pick}'s (`--av5-from {pick}`; {status})."])


def run_lines(records: list[dict], set_name: str = "test") -> str:
    """Each run on its own on one set, SI-SDRi: its best checkpoint's step and text queries, its last checkpoint's
    text and target-audio queries (what a row learnt by the end of the budget, and through which modality)."""
    def cells(scores: dict | None, fields) -> str:
        return " / ".join(f"{scores[key]['si_sdri']:+.2f}" if scores and (key := f"{set_name}-{f}") in scores
                          else "-" for f in fields)

    lines = [f"| run | best step | best: templates / captions / wrong query | last: templates / captions / "
             f"target's audio |", "|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['name']} | {(r['best'] or {}).get('step', '-')} | {cells(r['scores'], QUERY_FIELDS)} | "
                     f"{cells(r.get('scores_last'), (*QUERY_FIELDS[:2], TARGET_AUDIO_FIELD))} |")
    return "\n".join(lines)


def scoring_seconds(run_dir: Path) -> float:
    """Seconds the run's scores took: the per-clip separation times (query embedding included) of every scored
    CSV, summed; model loading and file reading are not in them."""
    from tqse.eval.runner import read_scores

    return sum(float(row["seconds"]) for folder in SCORED.values() for csv_path in (run_dir / folder).glob("*.csv")
               for row in read_scores(csv_path))


def budget_by_rule(run_dir: Path, floor: float = 30.0, window: float = 15.0, rise: float = 0.3) -> dict:
    """The pilot's rule for the budget (docs/RESULTS.md, "Budget"): the smallest B >= ``floor`` CPU minutes after
    which the class-template validation curve, each point the mean of it and its two neighbours, rises by less
    than ``rise`` dB over the next ``window`` minutes. ``{"minutes": B or None, "step", "curve_minutes"}``: B is
    None while the curve has not yet run ``window`` minutes past a point that would qualify."""
    from tqse.eval.report import run_minutes

    records = read_metrics(run_dir / "metrics.jsonl")
    curve = learning_curve(records, "val_si_sdri")
    minutes = [run_minutes(records, step) or 0.0 for step, _ in curve]
    values = [v for _, v in curve]
    smooth = [sum(values[max(0, i - 1):i + 2]) / len(values[max(0, i - 1):i + 2]) for i in range(len(values))]
    for i, (start, level) in enumerate(zip(minutes, smooth)):
        later = [j for j in range(i + 1, len(curve)) if minutes[j] >= start + window]
        if start >= floor and later and smooth[later[0]] - level < rise:
            return {"minutes": round(start, 1), "step": curve[i][0], "curve_minutes": round(max(minutes), 1)}
    return {"minutes": None, "step": None, "curve_minutes": round(max(minutes, default=0.0), 1)}


def window_means(run_dir: Path, width: float = 10.0) -> str:
    """Each validation curve of a run averaged over every ``width`` CPU minutes of training, windows closed on
    the right (single validations scatter; the pilot's table in docs/RESULTS.md is this)."""
    from tqse.eval.report import run_minutes

    records = read_metrics(run_dir / "metrics.jsonl")
    curves = {label: learning_curve(records, key) for key, label in CURVES.items()}
    bins: dict[int, dict[str, list[float]]] = {}
    for label, curve in curves.items():
        for step, value in curve:
            # (a, b]: the validation a run ends with, at exactly its budget, closes the last window
            start = max(0, math.ceil((run_minutes(records, step) or 0.0) / width) - 1)
            bins.setdefault(start, {}).setdefault(label, []).append(value)
    starts = sorted(bins)
    lines = [f"| {run_name(run_dir)}, CPU minutes | " + " | ".join(f"{b * width:g}-{(b + 1) * width:g}" for b in starts)
             + " |", "|---" * (len(starts) + 1) + "|"]
    for label in curves:
        cells = [bins[b].get(label) for b in starts]
        lines.append(f"| {label} | " + " | ".join(f"{sum(c) / len(c):.2f}" if c else "-" for c in cells) + " |")
    return "\n".join(lines)


def rule_lines(folders: Iterable[Path]) -> str:
    lines = ["| run | B by the pilot rule (CPU minutes) | at step | curve runs to (minutes) |", "|---|---|---|---|"]
    for folder in folders:
        rule = budget_by_rule(folder)
        b = "not reached yet" if rule["minutes"] is None else f"{rule['minutes']:.1f}"
        lines.append(f"| {run_name(folder)} | {b} | {rule['step'] or '-'} | {rule['curve_minutes']:.1f} |")
    return "\n".join(lines)


def write_results(out: Path, results: Path, subset_classes: set[str], set_names: Iterable[str] = tuple(EVAL_SETS),
                  pairs=PAIRS, kept: Path | None = None) -> Iterator[str]:
    """Tables (SI-SDRi, SDRi), the budget each run had, the declared rule applied to the row pairs, the paper
    beside ours, ``runs.json``, one bar plot and the learning curves of every scored run under ``out``; each run on its
    own on the first set (``runs_test.md``). A run whose folder is gone is read from its record in ``kept``."""
    set_names = tuple(set_names)
    results.mkdir(parents=True, exist_ok=True)
    folders, runs = study_runs(out, subset_classes, "unseen", SUBSET, kept)
    if not runs:
        yield f"{out}: no scored runs yet"
        return
    last = scored_runs(folders, SCORED["last"])
    records = [{**run_record(f, runs[run_name(f)], CURVES, last.get(run_name(f))), "scoring_seconds": scoring_seconds(f)}
               for f in folders]
    sets = [f"{s}-{f}" for s in (*set_names, SUBSET) for f in SCORE_FIELDS]
    columns = [f"{s}-{f}" for s in set_names for f in QUERY_FIELDS[:2]]  # rows compare on text queries only
    files = {f"table_{m}.md": runs_table(runs, m, [c for c in sets if any(c in r for r in runs.values())])
             for m in ("si_sdri", "sdri")}
    last_sets = [c for c in sets if not c.startswith(SUBSET) and any(c in r for r in last.values())]
    # Validation can pick a query-blind early step (it averages templates and captions, and captions fall as
    # audio-trained rows learn), so the rule is applied to the last checkpoints as well.
    files |= {"table_last_si_sdri.md": runs_table(last, "si_sdri", last_sets),
              "comparisons_last.md": comparison_table(last, pairs, columns)} if last else {}
    files |= {"budget.md": budget_table(records), f"runs_{set_names[0]}.md": run_lines(records, set_names[0]),
              "comparisons.md": comparison_table(runs, pairs, columns), "av5_choice.md": av5_choice(records),
              "paper.md": paper_table(runs), "budget_rule.md": rule_lines(folders),
              "curve_windows.md": "\n\n".join(window_means(f) for f in folders),
              "data.md": data_lines(folders) + "\n\n" + machine_lines(folders)}
    for name, text in files.items():
        (results / name).write_text(text + "\n", encoding="utf-8")
        yield f"{results / name}:\n{text}"
    (results / "runs.json").write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    yield f"{results / 'runs.json'}: {len(records)} runs"
    main_sets = {n: {k: v for k, v in s.items() if not k.startswith(SUBSET)} for n, s in runs.items()}
    yield f"plot: {plot_runs(main_sets, results / 'bars.png', 'si_sdri')}"
    yield f"curves: {plot_curves({run_name(f): f for f in folders}, results / 'curves.png', CURVES, x='minutes')}"


def export(args: argparse.Namespace) -> Iterator[str]:
    """The best seed of each row by validation, packaged as a model folder with its card (``tqse package``)."""
    from tqse.workflows.package import package_model

    folders = scored_folders(run_folders(args.out, args.records))  # the grid pauses for it as the next run starts
    rows = args.export or [*EXPORT_ROWS, *sorted({group_key(run_name(f)) for f in folders} - set(ROWS))]
    for row in rows:
        best = best_seed(folders, row)  # by validation: the test sets choose nothing
        if best is None:
            continue
        dest = args.checkpoints / row
        if exported_run(dest) == best.name:  # packaging scores and times it again: only a new best is worth it
            yield f"{row}: {dest} (from {best.name}, exported before)"
        elif best.parent.resolve() == args.records.resolve():  # only its record is left: export no other seed
            yield (f"{row}: not exported: its best seed {best.name} has only its record here (the run folder "
                   f"was lost); remove {best} and rerun the grid to train it again")
        else:
            package_model(best, dest, name=f"tqse-table1-fair-{row}", note=row_note(args, row, folders),
                          sets=[f"{name}={manifest}" for name, manifest in eval_sets(args).items()])
            yield f"{row}: {dest} (from {best.name})"


def row_note(args: argparse.Namespace, row: str, folders: list[Path]) -> str:
    """The card's sentence on how a row's checkpoint was chosen among its seeds."""
    label = ROW_LABELS.get(row) or f"{ROW_LABELS['AV5']}, with {row.split('-', 1)[-1]}'s manipulation"
    seeds = sum(group_key(run_name(f)) == row for f in folders)
    budget = f"{args.steps:,} steps" if args.steps is not None else f"{args.minutes:g} training minutes"
    return (f"Row {row} of tqse's fair Table I (issue 24, docs/RESULTS.md: {label}; {budget} from random "
            f"weights): the seed with the best validation score of its row's {seeds} seed(s) so far.")


def exported_run(model_dir: Path) -> str | None:
    """The run folder an exported model folder came from, or None where there is none."""
    from tqse.models.model_dir import CONFIG_NAME, read_model_config

    if not (model_dir / CONFIG_NAME).is_file():
        return None
    return read_model_config(model_dir).get("exported_from", {}).get("run")


def subset_classes(args: argparse.Namespace) -> set[str]:
    """The classes the A rows train on (the `default` tier's): the `unseen` subset every row can be asked for."""
    from tqse.train.setup import training_clips

    return {c.label for c in training_clips(load_run_config(args, CONFIGS / "A0.yaml", args.out)) if c.label}


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    here = os.getcwd()
    os.chdir(ROOT)  # the config paths that reach run hashes (train.init_from) are relative to the repository
    try:
        return study(args)
    finally:
        os.chdir(here)


def study(args: argparse.Namespace) -> int:
    if args.prepare:
        prepare(args)
        return 0
    if args.neutral:
        train_neutral(args)
        return 0
    if args.bias:
        run_bias(args)
        lines = write_results(args.out / "bias", args.results / "bias", subset_classes(args), eval_names(args),
                              BIAS_PAIRS, kept=bias_records(args))
    else:
        if not args.report_only:
            run_grid(args)
        lines = write_results(args.out, args.results, subset_classes(args), eval_names(args), kept=args.records)
    for line in lines:
        print(line)
    if args.export is not None:
        for line in export(args):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
