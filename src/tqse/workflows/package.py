"""``tqse package RUN_DIR OUT_DIR``: turn a training run's checkpoint into a shippable model folder (float16
weights, scores, a model card); the release step that made every shipped default model.

1. Loads the checkpoint (a model directory; by default ``RUN_DIR/checkpoints/best``, else ``last``), keeps its
   config and casts the weights to float16.
2. Scores both the float32 checkpoint and the float16 copy on the built-in corpus' fixed test and ood
   mixtures (class templates, captions, and the interferer's class template as the wrong-query control),
   and times extraction (the same figures as ``benchmarks/default_model.py``): float16 is kept only if it
   loses < 0.05 dB.
3. Writes ``config.json`` with the records a card is made of (:mod:`tqse.models.card`: what the weights were
   trained on, which set chose the checkpoint, scores, speed, training history), ``model.safetensors``,
   ``README.md`` (the card, rendered from those records) and ``TRAINING_DATA.md`` (the credits of the
   corpus tier the run trained on).

``--card-only`` (:func:`refresh_card`) re-renders the card of an existing model folder from its config and a
run's ``config.yaml`` (a run folder or a committed copy under ``experiments/``), weights and scores untouched;
with ``--sets``, it also scores the folder on the named sets it has no score for (recorded as scored later).
"""

from __future__ import annotations

import json
import logging
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import yaml

from tqse.models.card import render_card
from tqse.train.lineage import PARENT_RECORD, model_history, parent_history, run_history

log = logging.getLogger(__name__)

MAX_FP16_LOSS_DB = 0.05
FIELDS = ("class_caption", "caption", "interferer_class_caption")
SETS = ("test", "ood")  # the built-in corpus' fixed-mixture sets a shipped model is scored on


def package_model(run_dir: str | Path, out_dir: str | Path, *, checkpoint: str | Path | None = None,
                  name: str | None = None, sets: Sequence[str] = SETS, note: str = "") -> str:
    """Package ``checkpoint`` (default: the run's best, else its last) of ``run_dir`` as ``out_dir``, named
    ``name`` (default: ``out_dir``'s folder name); returns the model card it wrote (see module docstring).
    ``note``: a sentence for the card's selection section (e.g. how candidates were compared)."""
    from tqse.extract import Extractor
    from tqse.models.model_dir import read_model_config, read_weights, save_model_dir
    from tqse.train.checkpoint import load_training_state

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    chosen = "named" if checkpoint else best_checkpoint(run_dir).name
    checkpoint = Path(checkpoint) if checkpoint else best_checkpoint(run_dir)
    name = name or out_dir.name
    torch.set_num_threads(2)
    config = read_model_config(checkpoint)
    step = int(load_training_state(checkpoint)["step"])
    state = read_weights(checkpoint)
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    fp32_scores = score_sets(Extractor.from_pretrained(checkpoint, device="cpu"), sets)
    config["name"] = name
    with tempfile.TemporaryDirectory() as staging:
        extractor = Extractor.from_pretrained(save_model_dir(Path(staging) / name, config, half), device="cpu")
        fp16_scores = score_sets(extractor, sets)
        speed = time_extraction(extractor)
    loss = worst_fp16_loss(fp32_scores, fp16_scores)
    keep_half = loss < MAX_FP16_LOSS_DB
    scores = fp16_scores if keep_half else fp32_scores
    summary = training_summary(run_dir, step)
    run_config = yaml.safe_load(summary["config"]) or {}
    config["scores"] = {s: {f: scores[s][f] for f in FIELDS} | {"snr_db": scores[s]["snr_db"]} for s in scores}
    config["training"] = {k: v for k, v in summary.items() if k not in ("config", "train")} | {
        "lineage": lineage(summary), "data": data_record(run_config),
        "selection": selection_record(run_config, chosen, checkpoint.name, note)
        | {"scores": val_scores(run_dir / "metrics.jsonl", step, run_config)}}
    config["speed"] = speed
    config["exported_from"] = {"run": run_dir.name, "checkpoint": checkpoint.name}
    config["fp16_change_db"] = round(loss, 2)
    config["weights_dtype"] = "float16" if keep_half else "float32"
    card = render_card(config)
    save_model_dir(out_dir, config, half if keep_half else state,
                   extra_files={"README.md": card, "TRAINING_DATA.md": training_credits(run_config)})
    return card


def refresh_card(run: str | Path, model_dir: str | Path, *, note: str | None = None,
                 description: str | None = None, add_sets: Sequence[str] = ()) -> str:
    """Re-render ``model_dir``'s card from its ``config.json``, adding the data and selection records from
    ``run`` (a run folder or its ``config.yaml``) where missing; weights, scores and speed are kept.
    ``add_sets``: fixed-mixture sets (as :func:`score_sets` takes them) the folder has no score on yet, scored
    now on its weights as they are and recorded as scored later (``training.selection.scored_later``), so the
    card says they played no part in choosing or packaging it; sets it has scores for are left as they are."""
    from tqse.extract import Extractor
    from tqse.models.model_dir import CONFIG_NAME, read_model_config

    model_dir, run = Path(model_dir), Path(run)
    config = read_model_config(model_dir)
    run_config = yaml.safe_load((run / "config.yaml" if run.is_dir() else run).read_text()) or {}
    training = config.setdefault("training", {})
    training.setdefault("data", data_record(run_config))
    if "selection" not in training:
        step = training.get("steps", 0) - (training.get("continued_from") or {}).get("steps", 0)
        metrics = (run if run.is_dir() else run.parent) / "metrics.jsonl"
        training["selection"] = selection_record(run_config, "best", "best", "") | {
            "scores": val_scores(metrics, step, run_config)}
    new_sets = [spec for spec in add_sets if spec.rsplit(":", 1)[-1] not in (config.get("scores") or {})]
    if new_sets:
        torch.set_num_threads(2)
        added = score_sets(Extractor.from_pretrained(model_dir, device="cpu"), new_sets)
        config.setdefault("scores", {}).update(
            {s: {f: added[s][f] for f in FIELDS if f in added[s]} | {"snr_db": added[s]["snr_db"]} for s in added})
        later = training["selection"].setdefault("scored_later", [])
        later += [s for s in added if s not in later]
    if note is not None:
        training["selection"]["note"] = note
    if description is not None:
        config["description"] = description
    card = render_card(config)
    (model_dir / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    (model_dir / "README.md").write_text(card)
    return card


# -- what the run trained on and how its checkpoint was chosen ----------------------------------------------
CORPUS_DESCRIPTION = ("Sound effects, instruments and speech from Debian packages, General MIDI soundfont "
                      "renders and synthesized speech (`docs/CORPUS.md`).")
MANIPULATIONS = {"dropout": "dropout", "noise": "Gaussian noise", "mixup": "mixup", "specaugment": "SpecAugment",
                 "pca": "a PCA projection"}


def _training_manifests(run_config: dict) -> dict[str, Path]:
    from tqse.data.locations import default_training_manifest, resolve_manifest

    data = run_config.get("data") or {}
    if not data.get("use"):
        return {"builtin": Path(default_training_manifest())}
    return {name: Path(resolve_manifest(str(data["manifests"][name]))) for name in data["use"]}


def data_record(run_config: dict) -> dict:
    """What a run trained on, in numbers: corpus tier (when its manifests are one built tier), clips, classes
    and source families of its training split, the mixing SNR and the kind of queries."""
    from tqse.data.manifest import iter_jsonl, read_clips
    from tqse.train.setup import group_fraction

    data, query = run_config.get("data") or {}, run_config.get("query") or {}
    split, fraction = data.get("split", "train"), data.get("fraction") or {}
    manifests = _training_manifests(run_config)
    rows, tiers = {}, set()
    for name, path in manifests.items():
        if path.suffix == ".jsonl" and path.is_file():
            found = [r for _, r in iter_jsonl(path) if r.get("split", split) == split]
            if name in fraction and found:  # only the recording groups training kept (``data.fraction``):
                # its own selection, on the same lines parsed as training parses them (paths resolved)
                clips = read_clips(path, dataset=name, split=split)
                kept = {id(clip) for clip in group_fraction(clips, fraction[name])}
                found = [row for row, clip in zip(found, clips) if id(clip) in kept]
            rows.update({r["path"]: r for r in found})
        tiers.add(path.parent.name if (path.parent / "stats.json").is_file() else None)
    classes = sorted({r["class"] for r in rows.values() if r.get("class")})
    configured = (data.get("manifests") or {}) if data.get("use") else {"builtin": "builtin"}
    record = {"manifests": {k: str(configured.get(k, v)) for k, v in manifests.items()}, "split": split,
              "clips": len(rows), "unlabelled_clips": sum(not r.get("class") for r in rows.values()),
              "classes": len(classes), "class_names": classes,
              "source_families": len({r["source_id"] for r in rows.values() if r.get("source_id")}) or None,
              "snr_db": data.get("snr_db"), "queries": query_kinds(data, query, manifests)}
    if len(tiers) == 1 and None not in tiers:
        record |= {"tier": tiers.pop(), "description": CORPUS_DESCRIPTION}
    if data.get("class_subset") or data.get("fraction"):
        record["subset"] = {"class_subset": data.get("class_subset"), "fraction": data.get("fraction")}
    return record


def query_kinds(data: dict, query: dict, manifests: dict) -> str:
    """"text queries: natural captions and class templates, with Gaussian noise on the query embeddings"."""
    kinds = []
    for name in manifests:
        mode = (query.get("modes") or {}).get(name, query.get("mode", "text"))
        if "text" in mode:
            kinds.append("class templates" if name in (data.get("class_caption_datasets") or []) else "natural captions")
        if "audio" in mode:
            kinds.append("audio embeddings of the target clip")
    kinds = list(dict.fromkeys(kinds))
    manip = [label for key, label in MANIPULATIONS.items()
             if ((query.get("manipulation") or {}).get(key) or {}).get("enabled")]
    text = f"queries: {' and '.join(kinds) or 'not recorded'}"
    return text + (f", with {' and '.join(manip)} on the query embeddings" if manip else "")


def selection_record(run_config: dict, chosen: str, checkpoint: str, note: str) -> dict:
    """Which set chose the checkpoint, by which rule (the run's ``eval`` config), or that none did."""
    from tqse.data.locations import resolve_manifest
    from tqse.data.manifest import iter_jsonl
    from tqse.errors import ConfigError, ManifestError

    ev = run_config.get("eval") or {}
    if chosen == "last" or not ev.get("manifest"):
        return {"chosen_on": None, "rule": "the run's last checkpoint (no validation set chose it)"}
    manifest = str(ev["manifest"])
    limit = int(ev.get("max_mixtures", 200))
    try:
        rows = [row for _, row in iter_jsonl(resolve_manifest(manifest))][:limit]
    except (ConfigError, ManifestError, OSError):
        rows = []
    snrs = [row["snr_db"] for row in rows if isinstance(row.get("snr_db"), (int, float))]
    # "builtin:val" / "corpus:pool:val" -> "val"; a path -> its file name
    name = manifest.rsplit(":", 1)[-1] if ":" in manifest and not Path(manifest).suffix else Path(manifest).stem
    record = {"chosen_on": manifest, "set": name, "mixtures": len(rows) or limit,
              "rule": ev.get("select_by", "first"), "query_field": ev.get("query_field", "caption"),
              "snr_db": [min(snrs), max(snrs)] if snrs else None}
    if chosen == "named":
        record["named_checkpoint"] = checkpoint
    return record | ({"note": note} if note else {})


def val_scores(metrics: Path, step: int, run_config: dict) -> dict[str, float]:
    """The validation SI-SDRi per query field that chose the checkpoint at ``step`` (``metrics.jsonl``)."""
    from tqse.files import read_metrics

    field = (run_config.get("eval") or {}).get("query_field", "caption")
    rows = [r for r in (read_metrics(metrics) if metrics.is_file() else []) if r.get("step") == step]
    found = {}
    for row in rows:
        for key, value in row.items():
            if key == "val_si_sdri":
                found[field] = round(float(value), 2)
            elif key.startswith("val_") and key.endswith("_si_sdri"):
                found[key[4:-8]] = round(float(value), 2)
    return found


def training_credits(run_config: dict) -> str:
    """``TRAINING_DATA.md``: the credits of each corpus tier (or ``CREDITS.md`` folder) the run trained on."""
    from tqse.data.corpus import credits_text

    parts = []
    for name, path in _training_manifests(run_config).items():
        folder = path.parent
        if (folder / "credits.json").is_file():
            parts.append(credits_text(folder))
        elif (folder / "CREDITS.md").is_file():
            parts.append((folder / "CREDITS.md").read_text())
        else:
            parts.append(f"{name} ({path}): no credits found beside this manifest; state its licences here.")
    return "\n\n".join(dict.fromkeys(parts))


def best_checkpoint(run_dir: Path) -> Path:
    """``checkpoints/best`` of a run if validation chose one, else ``checkpoints/last``."""
    best = run_dir / "checkpoints" / "best"
    return best if (best / "config.json").is_file() else run_dir / "checkpoints" / "last"


def score_sets(extractor, sets: Sequence[str], limit: int | None = None) -> dict:
    """SI-SDRi and SDRi of ``extractor`` on fixed-mixture ``sets`` (``test``, ``ood``: the built-in data's; a
    tier's, ``corpus:pool:unseen``, scored as ``unseen``; or ``NAME=MANIFEST``, any fixed-mixture manifest scored
    as NAME) with each query of :data:`FIELDS`, and each set's SNR range; ``limit``: the first N mixtures only."""
    from tqse.data.locations import resolve_manifest
    from tqse.data.manifest import read_mixtures
    from tqse.eval.quick import score_mixtures

    results = {}
    for spec in sets:
        if "=" in spec:
            name, manifest = spec.split("=", 1)
        else:
            manifest = resolve_manifest(spec if ":" in spec else f"builtin:{spec}")
            name = spec.rsplit(":", 1)[-1]  # "corpus:pool:unseen" -> "unseen"
        snrs = [row.snr_db for row in read_mixtures(manifest)[:limit]]
        results[name] = {"snr_db": [min(snrs), max(snrs)]}
        scores = score_mixtures(extractor.model, extractor.encoder, manifest, extractor.sample_rate,
                                extractor.device, query_fields=FIELDS, limit=limit)
        for field, summary in scores.items():
            results[name][field] = {k: round(v, 2) for k, v in summary.items()}
    return results


def time_extraction(extractor, seconds: float = 10.0, repeats: int = 7) -> dict:
    """Median time of the separator alone and of a whole ``Extractor.extract`` call with a text query on
    ``seconds`` of noise at 16 kHz, 2 torch threads."""
    torch.set_num_threads(2)
    rate = 16000
    wav = (np.random.default_rng(0).standard_normal(int(seconds * rate)) * 0.1).astype(np.float32)
    query = extractor.embed_query(text="a dog barking")
    mixture = torch.from_numpy(wav)[None]
    with torch.inference_mode():
        extractor.model(mixture, query)  # warm-up
        model_times = []
        for _ in range(repeats):
            start = time.perf_counter()
            extractor.model(mixture, query)
            model_times.append(time.perf_counter() - start)
    extractor.extract(wav, sample_rate=rate, text="a dog barking")
    call_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        extractor.extract(wav, sample_rate=rate, text="a dog barking")
        call_times.append(time.perf_counter() - start)
    model_s, call_s = statistics.median(model_times), statistics.median(call_times)
    return {"seconds_of_audio": seconds, "threads": 2, "separator_s": round(model_s, 4),
            "extract_call_s": round(call_s, 4), "rtf_separator": round(model_s / seconds, 5),
            "rtf_extract_call": round(call_s / seconds, 5)}


def training_summary(run_dir: Path, step: int) -> dict:
    """Steps, CPU time and hardware of the run that produced the checkpoint at ``step``; a run that started
    from another model's weights (``train.init_from``) adds that model's own training, so the totals are the
    model's whole history."""
    env = json.loads((run_dir / "env.json").read_text())
    summary = {"hardware": f"{env['device']} ({platform.processor() or platform.machine()}), 2 torch threads",
               "torch": env["torch"], "git_sha": env.get("git_sha"), "config": (run_dir / "config.yaml").read_text()}
    summary["train"] = yaml.safe_load(summary["config"]).get("train") or {}
    history = run_history(run_dir, step, continued_from(run_dir, summary["train"]))
    if history["continued_from"] is None:
        del history["continued_from"]
    return summary | history


def continued_from(run_dir: Path, train: dict) -> dict | None:
    """The training history of the model a run started from (``train.init_from``), or None: as the run
    recorded it when it started (``init_from.json``), else (runs of older tqse versions) as that folder is now."""
    init_from = train.get("init_from")
    if not init_from:
        return None
    recorded = parent_history(run_dir)
    if recorded is not None:
        return recorded
    log.warning("%s has no %s; reading the parent's record from %s as it is now", run_dir, PARENT_RECORD, init_from)
    return model_history(Path(init_from).expanduser())


def worst_fp16_loss(fp32: dict, fp16: dict) -> float:
    return max(fp32[s][f]["si_sdri"] - fp16[s][f]["si_sdri"] for s in fp32 for f in ("class_caption", "caption"))


def lineage(summary: dict) -> str:
    """How a model continued from another one was trained after it (from the run's resolved config)."""
    parent = summary.get("continued_from")
    if not parent:
        return ""
    train = summary["train"]
    schedule = (f"learning rate {train['lr']:g}: {train['warmup_steps']} warm-up steps, {train['constant_steps']} "
                f"flat, then x{train['decay_factor']:g} every {train['decay_every']}")
    return (f" In all: {parent['steps']} steps as `{parent['name']}`, then {summary['steps'] - parent['steps']} more"
            f" from its weights (`train.init_from`; {schedule}).")
