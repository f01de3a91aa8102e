"""Table I of the paper on the built-in corpus, as issue 9 ran it: every row trained with the same recipe,
steps, data and evaluation, over several seeds, from the first shipped model's trunk, then scored on the
corpus' fixed `test` and `ood` mixtures with natural captions and with class templates.

**Superseded** by ``benchmarks/table1.py`` (issue 24: a query-free neutral start, an equal budget of CPU
minutes, the `small-s2` Conformer, three evaluation sets). Kept so that ``experiments/table1/`` and
``experiments/table1_long/`` (docs/RESULTS.md, "Issue 9's study") stay reproducible:

    python benchmarks/table1_issue9.py                    # train + score what is missing (resumable), then report
    python benchmarks/table1_issue9.py --report-only      # rebuild the tables and plots from the run folders

Runs go under ``--out`` (ignored folder; every run resumes where it stopped). Seeds are the outer loop, so a
grid stopped early has whole seeds. The report (tables, bar plot, learning curves, per-run JSON) is written
to ``--results`` by ``tqse report``'s functions, with the paper's numbers beside ours.

The AV row (``configs/results/AVh.yaml``) trains with captions for the classes at even positions of the
sorted class list and with audio only for the odd ones; its question is how text queries do on the odd
classes, so every run is also summarised on the `test` mixtures whose target is an odd class.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Iterable, Iterator

from tqse.data.manifest import classes_at
from tqse.eval.report import plot_curves, plot_runs, run_name, runs_table
from tqse.workflows.study import best_seed, export_checkpoint, paper_table, run_folders, run_record, study_runs

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs/efficient/tcn.yaml"
# The first shipped default model, kept byte-identical so the study does not move when the default is replaced.
WARM_START = ROOT / "experiments/table1/warm_start"
# row -> (config, seeds). A0/A3/A9 carry the claim, so they get three seeds; the others two. Seeds are the
# outer loop: every row's second seed comes before any third one.
ROWS = {
    "A0": ("configs/table1/A0.yaml", 3),   # captions
    "A3": ("configs/table1/A3.yaml", 3),   # audio, naive
    "A9": ("configs/table1/A9.yaml", 3),   # audio + dropout
    "A2": ("configs/table1/A2.yaml", 2),   # captions + dropout
    "A8": ("configs/table1/A8.yaml", 2),   # audio + Gaussian noise
    "AVh": ("configs/results/AVh.yaml", 2),  # captions for half the classes, audio for the other half
    "A9N": ("configs/results/A9N.yaml", 2),  # beyond the paper: dropout, renormalised to the query norm
    "V0": ("configs/table1/V0.yaml", 2),   # class templates ("this is the sound of X") as the text
    "A7": ("configs/table1/A7.yaml", 2),   # audio, PCA-inv (the paper's own gap fix, Sec. IV-D)
}
EVAL_SETS = ("test", "ood")
# The interferer's class template is the wrong-query control: a row whose model ignores its query scores the
# same with it as with the right one.
QUERY_FIELDS = ("caption", "class_caption", "interferer_class_caption")
ROW_LABELS = {"A0": "captions", "A2": "captions + dropout", "A3": "audio", "A8": "audio + noise",
              "A9": "audio + dropout", "AVh": "captions (half the classes) + audio (other half), dropout",
              "A9N": "audio + dropout, renormalised (beyond the paper)", "A7": "audio, PCA-inv"}
SUBSET = "test_odd"  # the `test` mixtures whose target class is at an odd position of the sorted class list


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/table1", help="run folders (resumable)")
    p.add_argument("--results", default="experiments/table1", help="tables, plots and summaries")
    p.add_argument("--steps", type=int, default=500, help="training steps of every run")
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    p.add_argument("--max-seeds", type=int, default=3, help="run at most this many seeds per row")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--export", nargs="*", default=[], metavar="ROW",
                   help="copy the best seed of these rows to experiments/table1/checkpoints/ROW (float16; "
                        "experiments/checkpoints/ now holds issue 24's rows)")
    p.add_argument("--from-scratch", action="store_true",
                   help="random initialisation instead of the shared warm start (needs far more steps)")
    p.add_argument("overrides", nargs="*", help="dotted config overrides for every run (e.g. for tests)")
    return p.parse_args(argv)


def warm_start(args: argparse.Namespace) -> list[str]:
    """Every row starts from the same trained separator with its query pathway (the FiLM generators, the only
    place the query enters the TCN) re-initialised: rows differ only in how they learn to use the query."""
    if args.from_scratch:
        return []
    return [f"train.init_from={WARM_START}", "train.init_reset=['*.film*']"]


def train_all(args: argparse.Namespace) -> None:
    from tqse.data.locations import resolve_manifest
    from tqse.workflows.grid import run_grid

    eval_sets = {name: resolve_manifest(f"builtin:{name}") for name in EVAL_SETS}
    overrides = [f"train.steps={args.steps}", "train.val_every=250", "train.progress=false", *warm_start(args),
                 *args.overrides]
    for seed in range(args.max_seeds):
        rows = [str(ROOT / ROWS[r][0]) for r in args.rows if seed < ROWS[r][1]]
        if rows:
            run_grid(str(RECIPE), rows, eval_sets, overrides, QUERY_FIELDS, args.out, seeds=[seed])


def export(args: argparse.Namespace) -> None:
    folders = run_folders(args.out)
    for row in args.export:
        best = best_seed(folders, row, "test-class_caption")
        if best is not None:
            print(f"{row}: {export_checkpoint(best, ROOT / 'experiments' / 'table1' / 'checkpoints' / row)} "
                  f"(from {best.name})")


# -- the report ----------------------------------------------------------------------------------------------
def write_results(out: str | os.PathLike, results: str | os.PathLike, classes: Iterable[str] = ()
                  ) -> Iterator[str]:
    """Subset summaries, tables (SI-SDRi and SDRi), bar plot, learning curves and ``runs.json`` of every run
    under ``out``, written to ``results``; yields a line per file written."""
    results = Path(results)
    results.mkdir(parents=True, exist_ok=True)
    odd = classes_at(classes, "odd")  # the half AVh trains with audio only
    folders, runs = study_runs(out, odd, "test", SUBSET)
    if not runs:
        yield f"{out}: no scored runs yet"
        return
    for metric in ("si_sdri", "sdri"):
        path = results / f"table_{metric}.md"
        path.write_text(runs_table(runs, metric) + "\n", encoding="utf-8")
        yield f"{path}:\n{path.read_text()}"
    (results / "paper.md").write_text(paper_table(runs) + "\n", encoding="utf-8")
    yield f"{results / 'paper.md'}:\n{paper_table(runs)}"
    curves = {"val_si_sdri": "class_caption", "val_caption_si_sdri": "caption"}
    records = [run_record(f, runs[run_name(f)], curves) for f in folders]
    (results / "runs.json").write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    yield f"{results / 'runs.json'}: {len(records)} runs"
    yield f"plot: {plot_runs(runs, results / 'bars.png', 'si_sdri')}"
    yield f"curves: {plot_curves({run_name(f): f for f in folders}, results / 'curves.png')}"


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    if not args.report_only:
        train_all(args)
    from tqse.data.locations import resolve_manifest
    from tqse.data.manifest import read_clips

    classes = [c.label for c in read_clips(resolve_manifest("builtin"), split="train")]
    for line in write_results(args.out, args.results, classes):
        print(line)
    export(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
