"""A multi-seed study of the paper's tables on disk (``benchmarks/table1.py``; issue 9's study,
``benchmarks/table1_issue9.py``): run folders named ``ROW-sSEED``, their evaluation summaries, the seed worth
exporting, class-subset summaries, the paper's Table I beside ours, and the comparison rule the write-up
declares: **a difference between two rows is real only when it exceeds the sample standard deviation over
seeds of both rows** (:func:`compare`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Mapping

from tqse.eval.report import group_key, group_seeds, learning_curve, load_summaries, run_name, seed_stats
from tqse.eval.runner import read_scores, summarise
from tqse.files import read_json_lines, read_metrics

# Saijo et al., ICASSP 2025, Table I (SI-SDR, dB; Conformer + LAION-CLAP): captions on AudioCaps (in domain) and
# Clotho (out of domain), class templates on VGGSound. Different data, encoder and model from ours: orientation.
PAPER_TABLE1 = {
    "A0": {"AudioCaps": 7.6, "Clotho": 5.1, "VGGSound": 6.2},
    "A2": {"AudioCaps": 7.9, "Clotho": 5.8, "VGGSound": 6.9},
    "A3": {"AudioCaps": 5.1, "Clotho": 1.7, "VGGSound": 0.8},
    "A7": {"AudioCaps": 6.9, "Clotho": 3.8, "VGGSound": 4.8},
    "A8": {"AudioCaps": 8.1, "Clotho": 6.3, "VGGSound": 6.9},
    "A9": {"AudioCaps": 8.1, "Clotho": 6.4, "VGGSound": 7.0},
    "AV0": {"AudioCaps": 7.8, "Clotho": 5.9, "VGGSound": 8.5},
    "AV5": {"AudioCaps": 7.8, "Clotho": 6.6, "VGGSound": 8.5},
}
PAPER_COLUMNS = (("test-caption", "AudioCaps"), ("ood-caption", "Clotho"), ("test-class_caption", "VGGSound"))


def run_folders(out: str | os.PathLike, records: str | os.PathLike | None = None) -> list[Path]:
    """Run folders (with a resolved ``config.yaml``) directly under ``out``, in name order; with ``records``, also
    the kept records there (:func:`keep_record`) of runs whose folder is not under ``out`` (lost with a machine)."""
    live = _folders(out)
    names = {p.name for p in live}
    kept = [p for p in _folders(records) if p.name not in names] if records is not None else []
    return sorted(live + kept, key=lambda p: p.name)


def _folders(parent: str | os.PathLike) -> list[Path]:
    parent = Path(parent)
    return sorted(p for p in parent.iterdir() if (p / "config.yaml").is_file()) if parent.is_dir() else []


def keep_record(run_dir: Path, records: Path) -> Path:
    """Copy a scored run's record (config, metrics, scores and per-clip CSVs, the best checkpoint's step and
    score) without its weights to ``records/<run folder>``, replacing an older copy: run folders are ignored
    by git and can be lost with a machine, a committed record keeps the run in the report."""
    dest = records / run_dir.name
    if dest.exists():
        shutil.rmtree(dest)
    checkpoints = run_dir / "checkpoints"

    def weights(folder: str, names: list[str]) -> set[str]:  # the checkpoint folders; their json files stay
        return {n for n in names if (Path(folder) / n).is_dir()} if Path(folder) == checkpoints else set()

    shutil.copytree(run_dir, dest, ignore=weights)
    return dest


def last_training_line(run: Path | list[dict]) -> dict:
    """The last training line (its ``step`` and ``train_seconds``) of a run folder or its metrics rows, as
    :func:`tqse.eval.report.learning_curve` takes them; ``{}`` where there is none (or no folder: a record that
    was never kept)."""
    records = run if isinstance(run, list) else read_metrics(run / "metrics.jsonl")
    return next((r for r in reversed(records) if "train_seconds" in r), {})


def scored_runs(folders: Iterable[Path], scores: str = "eval") -> dict[str, dict[str, dict]]:
    """``{run name: {set name: summary}}`` of the folders with at least one evaluation summary in their ``scores``
    folder (``eval``: the scored checkpoint of ``tqse train``, the best; a study may score others beside it)."""
    runs = {run_name(f): load_summaries(f / scores) for f in folders}
    return {name: summaries for name, summaries in runs.items() if summaries}


def scored_folders(folders: Iterable[Path]) -> list[Path]:
    """The folders of scored runs (at least one summary in ``eval/``). A run still training is left out: its best
    checkpoint is of its early steps, not its budget's, and it is not yet one of its row's seeds."""
    return [f for f in folders if load_summaries(f / "eval")]


def study_runs(out: str | os.PathLike, classes: set[str], source: str, subset: str,
               records: str | os.PathLike | None = None) -> tuple[list[Path], dict]:
    """The scored run folders under ``out`` (and kept ``records`` of lost ones) and :func:`scored_runs` of them,
    after writing every run's summaries of ``source`` restricted to ``classes`` (as ``{subset}-{field}``). Runs
    still training are left out of both: a report's learning curve of a row is its seeds' mean at the steps all
    of them validated, so a seed in progress would cut it short."""
    folders = run_folders(out, records)
    for folder in folders:
        write_subset(folder, classes, source, subset)
    runs = scored_runs(folders)
    return [f for f in folders if run_name(f) in runs], runs


def write_subset(run_dir: Path, classes: set[str], source: str, name: str) -> list[str]:
    """Summaries of ``{source}-{field}`` restricted to the mixtures of ``classes``, as ``{name}-{field}.json``
    in the run's ``eval/`` folder (so ``tqse report`` finds them); returns the names written."""
    written = []
    for csv_path in sorted((run_dir / "eval").glob(f"{source}-*.csv")):
        field = csv_path.stem[len(source) + 1:]
        rows = [r for r in read_scores(csv_path) if r["group"] in classes]
        if rows:
            summary = summarise(rows, name=f"{name}-{field}", aggregation="mean", n_items=len(rows),
                                info={"subset_of": csv_path.stem, "classes": len(classes)})
            (run_dir / "eval" / f"{name}-{field}.json").write_text(json.dumps(summary, indent=1) + "\n")
            written.append(summary["name"])
    return written


def paper_table(runs: Mapping[str, Mapping[str, Any]]) -> str:
    """Ours (SI-SDRi: `test`/`ood` captions, `test` class templates) beside the paper's Table I (SI-SDR)."""
    lines = ["| row | " + " | ".join(f"ours: {c} | paper: {p}" for c, p in PAPER_COLUMNS) + " |",
             "|---" * (2 * len(PAPER_COLUMNS) + 1) + "|"]
    for row, seeds in group_seeds(runs).items():
        if row not in PAPER_TABLE1:
            continue
        cells = []
        for ours, theirs in PAPER_COLUMNS:
            stats = seed_stats([(s.get(ours) or {}).get("metrics", {}).get("si_sdri") for s in seeds])
            cells += ["-" if stats is None else f"{stats[0]:.2f}", f"{PAPER_TABLE1[row][theirs]:.1f}"]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def best_record(run_dir: Path) -> dict | None:
    """The run's ``checkpoints/best.json`` (step and validation score of its best checkpoint), or None."""
    path = run_dir / "checkpoints" / "best.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def selection_score(best: Mapping | None) -> float | None:
    """The validation score a run's best checkpoint was chosen by (``best.json``); runs of older tqse versions
    recorded only its class-template SI-SDRi."""
    return best.get("score", best.get("val_si_sdri")) if best else None


def run_record(run_dir: Path, summaries: Mapping[str, dict], curves: Mapping[str, str],
               last_scores: Mapping[str, dict] | None = None) -> dict:
    """One run's facts for ``runs.json``: name, seed, steps, training seconds, best checkpoint, its scores (and
    those of the last checkpoint, where ``last_scores`` gives them), and the validation curves ``{metrics key: label}``
    (each under its label)."""
    records = read_metrics(run_dir / "metrics.jsonl")
    last = last_training_line(records)
    return {"name": run_name(run_dir), "folder": run_dir.name, "steps": last.get("step"),
            "train_seconds": last.get("train_seconds"), "best": best_record(run_dir),
            "scores": {k: v["metrics"] for k, v in sorted(summaries.items())},
            **({"scores_last": {k: v["metrics"] for k, v in sorted(last_scores.items())}} if last_scores else {}),
            "val_curve": {label: learning_curve(records, key) for key, label in curves.items()}}


def best_seed(folders: Iterable[Path], row: str, score_set: str | None = None) -> Path | None:
    """The run of ``row`` (any seed) worth exporting: the highest SI-SDRi on ``score_set``, or with
    ``score_set=None`` the highest validation score of its best checkpoint (no test set involved)."""
    scored = []
    for folder in folders:
        if group_key(run_name(folder)) != row:
            continue
        if score_set is None:
            score = selection_score(best_record(folder))
        else:
            summary = load_summaries(folder / "eval").get(score_set)
            score = summary["metrics"]["si_sdri"] if summary else None
        if score is not None:
            scored.append((score, folder))
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def checkpoint_dir(run_dir: Path, checkpoint: str | None = None) -> Path:
    """``checkpoints/<checkpoint>`` of a run; by default its best one, else its last."""
    best = run_dir / "checkpoints" / (checkpoint or "best")
    return best if (best / "config.json").is_file() or checkpoint else run_dir / "checkpoints" / "last"


def export_checkpoint(run_dir: Path, dest: Path, extra_files: Mapping[str, str] | None = None,
                      training: dict | None = None, checkpoint: str | None = None) -> Path:
    """A checkpoint of the run (by default its best, else its last) as a small model folder: float16 weights,
    config (plus a ``training`` record when given), the run's resolved config, ``extra_files`` (a card), and
    its evaluation summaries and per-clip scores, so ``tqse eval --checkpoint dest`` re-scores it."""
    from tqse.models.model_dir import read_model_state, save_model_dir

    source = checkpoint_dir(run_dir, checkpoint)
    config, state = read_model_state(source)
    state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    config = {**config, "weights_dtype": "float16", "exported_from": {"run": run_dir.name, "checkpoint": source.name},
              **({"training": training} if training else {})}
    save_model_dir(dest, config, state, {"run_config.yaml": (run_dir / "config.yaml").read_text(), **(extra_files or {})})
    scores = sorted(p for p in (run_dir / "eval").glob("*.*") if p.suffix in (".json", ".csv"))
    if scores:
        (dest / "eval").mkdir()
        for file in scores:
            shutil.copy2(file, dest / "eval" / file.name)
    return dest


def compare(runs: Mapping[str, Mapping[str, Any]], a: str, b: str, column: str, metric: str = "si_sdri") -> dict | None:
    """Row ``b`` minus row ``a`` on one ``column`` (a set name), with the declared rule applied: ``real`` when
    the difference of the seed means exceeds the sample sd of both rows (each needs two seeds or more)."""
    groups = group_seeds(runs)
    stats = [seed_stats([(s.get(column) or {}).get("metrics", {}).get(metric) for s in groups.get(row, [])])
             for row in (a, b)]
    if None in stats:
        return None
    (mean_a, sd_a, n_a), (mean_b, sd_b, n_b) = stats
    diff = mean_b - mean_a
    real = min(n_a, n_b) >= 2 and abs(diff) > max(sd_a, sd_b)
    return {"a": a, "b": b, "column": column, "diff": diff, "sd": (sd_a, sd_b), "seeds": (n_a, n_b), "real": real}


def verdict(result: dict) -> str:
    """The declared rule's word for one :func:`compare` result."""
    if min(result["seeds"]) < 2:
        return "one seed"  # a sample sd needs two: nothing can be called real or within spread
    return "real" if result["real"] else "within spread"


def comparison_table(runs: Mapping[str, Mapping[str, Any]], pairs: Iterable[tuple[str, str]],
                     columns: Iterable[str], metric: str = "si_sdri") -> str:
    """Markdown: one line per pair ``(a, b)``, one cell per column: ``b - a`` in dB, marked ``real`` or
    ``within spread`` by :func:`compare`, or ``one seed`` where a row has fewer than two (the rule cannot judge)."""
    columns = list(columns)
    lines = ["| b - a | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for a, b in pairs:
        cells = []
        for column in columns:
            result = compare(runs, a, b, column, metric)
            cells.append("-" if result is None else f"{result['diff']:+.2f} ({verdict(result)})")
        if any(cell != "-" for cell in cells):
            lines.append(f"| {b} - {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- model cards of exported checkpoints ---------------------------------------------------------------------
def training_record(run_dir: Path, checkpoint: str | None = None) -> dict:
    """The ``training`` record of a checkpoint's ``config.json``: steps and CPU minutes of its whole history
    (with the model it started from, as :func:`tqse.train.lineage.model_history` reads them), of this run
    alone, and where it ran."""
    from tqse.train.checkpoint import load_training_state
    from tqse.eval.report import run_minutes
    from tqse.train.lineage import run_history

    step = int(load_training_state(checkpoint_dir(run_dir, checkpoint))["step"])
    history = run_history(run_dir, step)
    env = json.loads((run_dir / "env.json").read_text(encoding="utf-8"))
    calls = read_json_lines(run_dir / "threads.jsonl", lambda row: "threads" in row, "threads line")
    threads = sorted({call["threads"] for call in calls})
    return {"steps": history["steps"], "train_minutes": history["train_minutes"], "run_steps": step,
            "run_minutes": run_minutes(run_dir, step), "continued_from": history["continued_from"],
            "hardware": f"{env['device']}, torch threads {threads or 'not recorded'}", "torch": env["torch"],
            "git_sha": env.get("git_sha")}


def data_tiers(run_config: dict) -> list[str]:
    """The built-in data a resolved run config trains on: corpus tiers (``default``, ``pool``) or ``fixture``."""
    data = run_config.get("data") or {}
    names = list(data.get("use") or []) + list(data.get("interferers") or [])
    tiers = []
    for name in names:
        value = str((data.get("manifests") or {}).get(name, ""))
        tier = value.split(":")[1] if value.startswith("corpus:") else {"builtin": "default"}.get(value, value)
        tiers.append(tier if tier in ("default", "pool", "full", "tiny", "fixture") else "your data")
    return list(dict.fromkeys(tiers))


def _run_config(folder: Path, name: str = "config.yaml") -> dict:
    import yaml

    path = folder / name
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}


def lineage_tiers(run_dir: Path) -> list[str]:
    """:func:`data_tiers` of the run and of the model it started from (its exported ``run_config.yaml``)."""
    tiers = data_tiers(_run_config(run_dir))
    record = run_dir / "init_from.json"
    if record.is_file():
        parent = Path(json.loads(record.read_text(encoding="utf-8"))["path"])
        tiers += data_tiers(_run_config(parent, "run_config.yaml"))
    return list(dict.fromkeys(tiers))


def training_data(run_dir: Path) -> str:
    """``TRAINING_DATA.md``: where the audio of every tier the model (and its start) trained on comes from."""
    from tqse.data.corpus import credits_text, default_corpus_dir
    from tqse.errors import ManifestError

    parts = []
    for tier in lineage_tiers(run_dir):
        if tier == "fixture":
            parts.append("## The CC0 test fixture\n\nThe 12 clips of `src/tqse/assets/fixture/` (CC0; CREDITS.md there).")
            continue
        try:
            parts.append(f"## Corpus tier `{tier}`\n\n" + credits_text(default_corpus_dir(tier)))
        except ManifestError as err:
            parts.append(f"## Corpus tier `{tier}`\n\nCredits not found on the machine that exported this ({err}).")
    return "# Training data\n\n" + "\n\n".join(parts) + "\n"


LICENCE_NOTE = ("The audio is tqse's built-in corpus, built locally from Debian packages, General MIDI soundfont "
                "renders and synthesized speech, and never redistributed; its sources, licences (GPL, CC-BY, "
                "CC-BY-SA, CC0 and others) and copyright holders are in `TRAINING_DATA.md` beside this card. "
                "Whether a model trained on such data inherits their terms is not settled law.")


def licence_note(tiers: list[str]) -> str:
    if tiers == ["fixture"]:
        return "the committed CC0 fixture (`src/tqse/assets/fixture/`, CREDITS.md there)."
    return LICENCE_NOTE


def _card_facts(run_dir: Path, checkpoint: str | None) -> list[str]:
    record, config = training_record(run_dir, checkpoint), _run_config(run_dir)
    model = json.loads((checkpoint_dir(run_dir, checkpoint) / "config.json").read_text(encoding="utf-8"))
    parent = record["continued_from"]
    data = config.get("data") or {}
    query = config.get("query") or {}
    louder = config["train"].get("objective") == "louder"
    datasets = ", ".join(f"`{n}` = `{data['manifests'][n]}` (" + ("no query: the louder source" if louder else
                         f"{(query.get('modes') or {}).get(n) or query.get('mode')} queries") + ")"
                         for n in data.get("use") or [])
    return [f"- **Architecture:** `{model['model']}` `{json.dumps(model['kwargs'])}`, {model['sample_rate']} Hz; "
            f"query encoder `{model['encoder']['name']}`; float16 weights.",
            f"- **Config:** `run_config.yaml` (resolved); train.objective `{config['train'].get('objective', 'extract')}`.",
            f"- **Training:** step {record['run_steps']} of this run, {record['run_minutes']} CPU minutes of training "
            f"steps ({record['hardware']}, torch {record['torch']}, tqse commit {record['git_sha']})"
            + (f"; with its start `{parent['name']}` ({parent['steps']} steps, {parent['train_minutes']} minutes): "
               f"{record['steps']} steps, {record['train_minutes']} minutes in all." if parent else "."),
            f"- **Data:** {datasets or '-'}; split `{data.get('split')}`; interferers also from "
            f"{', '.join(data.get('interferers') or []) or 'the same clips'}; {data.get('segment_seconds')} s crops, "
            f"SNR U{data.get('snr_db')} dB.",
            f"- **Licence of the data:** {licence_note(lineage_tiers(run_dir))}"]


def neutral_card(run_dir: Path) -> str:
    """README.md of an exported neutral start (``train.objective=louder``) with its validation curve."""
    records = read_metrics(run_dir / "metrics.jsonl")
    curve = ", ".join(f"{step}: {value:+.2f}" for step, value in learning_curve(records, "val_si_sdri"))
    return "\n".join(["# Neutral start for Table I (issue 24)", "",
                      "A separator trained without any query: each step's target is the louder of the mixture's "
                      "two sources, the query is a zero vector and every FiLM layer is held at the identity "
                      "(`train.objective=louder`, `tqse.train.objective`). Every row of the fair Table I starts "
                      "from these weights with fresh FiLM generators (`train.init_reset=['*.film*']`), so no "
                      "row inherits a trunk tuned to one query modality. Exported from the run's last checkpoint.",
                      "", *_card_facts(run_dir, "last"), "",
                      f"Validation (SI-SDRi of the louder source, dB, by step): {curve or '-'}.", ""])
