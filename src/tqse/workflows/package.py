"""``tqse package RUN_DIR OUT_DIR``: turn a training run's checkpoint into a shippable model folder (float16
weights, scores, a model card); the release step that made every shipped default model.

1. Loads the checkpoint (a model directory; by default ``RUN_DIR/checkpoints/best``, else ``last``), keeps its
   config and casts the weights to float16.
2. Scores both the float32 checkpoint and the float16 copy on the built-in corpus' fixed test and ood
   mixtures (class templates, captions, and the interferer's class template as the wrong-query control),
   and times extraction (the same figures as ``benchmarks/default_model.py``): float16 is kept only if it
   loses < 0.05 dB.
3. Writes ``config.json`` (with the scores), ``model.safetensors``, ``README.md`` (the model card: data,
   licences, steps, hardware, wall time, scores) and ``TRAINING_DATA.md`` (``tqse corpus credits``).
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

from tqse.models.pretrained import card_front_matter
from tqse.train.lineage import PARENT_RECORD, model_history, parent_history, run_history

log = logging.getLogger(__name__)

MAX_FP16_LOSS_DB = 0.05
FIELDS = ("class_caption", "caption", "interferer_class_caption")
SETS = ("test", "ood")  # the built-in corpus' fixed-mixture sets a shipped model is scored on


def package_model(run_dir: str | Path, out_dir: str | Path, *, checkpoint: str | Path | None = None,
                  name: str | None = None, sets: Sequence[str] = SETS) -> str:
    """Package ``checkpoint`` (default: the run's best, else its last) of ``run_dir`` as ``out_dir``, named
    ``name`` (default: ``out_dir``'s folder name); returns the model card it wrote (see module docstring)."""
    from tqse.data.corpus import credits_text, default_corpus_dir
    from tqse.extract import Extractor
    from tqse.models.model_dir import read_model_config, read_weights, save_model_dir
    from tqse.train.checkpoint import load_training_state

    run_dir, out_dir = Path(run_dir), Path(out_dir)
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
    config["scores"] = {s: {f: scores[s][f] for f in FIELDS} | {"snr_db": scores[s]["snr_db"]} for s in scores}
    config["training"] = {k: v for k, v in summary.items() if k not in ("config", "train")}
    config["weights_dtype"] = "float16" if keep_half else "float32"
    card = shipped_model_card(name, config, summary, scores, speed, loss, keep_half)
    save_model_dir(out_dir, config, half if keep_half else state,
                   extra_files={"README.md": card, "TRAINING_DATA.md": credits_text(default_corpus_dir("default"))})
    return card


def best_checkpoint(run_dir: Path) -> Path:
    """``checkpoints/best`` of a run if validation chose one, else ``checkpoints/last``."""
    best = run_dir / "checkpoints" / "best"
    return best if (best / "config.json").is_file() else run_dir / "checkpoints" / "last"


def score_sets(extractor, sets: Sequence[str], limit: int | None = None) -> dict:
    """SI-SDRi and SDRi of ``extractor`` on the built-in corpus' fixed-mixture ``sets`` (``test``, ``ood`` ...)
    with each query of :data:`FIELDS`, and each set's SNR range; ``limit``: the first N mixtures only."""
    from tqse.data.locations import resolve_manifest
    from tqse.data.manifest import read_mixtures
    from tqse.eval.quick import score_mixtures

    results = {}
    for name in sets:
        manifest = resolve_manifest(f"builtin:{name}")
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


def shipped_model_card(name: str, config: dict, summary: dict, scores: dict, speed: dict, fp16_loss: float,
                       keep_half: bool) -> str:
    """The shipped model's README.md: front matter :func:`~tqse.models.pretrained.read_card_scores` reads, then
    data and licences, scores, speed and limits."""
    rows = []
    for set_name, result in scores.items():
        low, high = result["snr_db"]
        for field, label in zip(FIELDS, ("class template", "natural caption", "interferer's class template (wrong query)")):
            s = result[field]
            rows.append(f"| {set_name} | {label} | {s['si_sdri']:+.2f} | {s['sdri']:+.2f} | {s['count']} | "
                        f"[{low:+.1f}, {high:+.1f}] |")
    size = "float16" if keep_half else "float32"
    flat = {f"{s}_{f}_si_sdri": scores[s][f]["si_sdri"] for s in scores for f in FIELDS}
    return card_front_matter(config, flat) + f"""
# {name}

The default model of tqse: a text-queried target sound extractor. Give it a mixture and a caption ("a dog
barking", "this is the sound of violin"); it returns that sound. Load it with `Extractor.from_pretrained()`
or use `tqse extract mix.wav -q "a dog barking"`.

- **Architecture:** `{config['model']}` with `{json.dumps(config['kwargs'])}`, {config['sample_rate']} Hz.
- **Query encoder:** `{config['encoder']['name']}` (tqse's built-in MiniLM text tower + aisfx audio tower,
  shipped in the package; no files needed).
- **Weights:** {size} safetensors. Float16 changed SI-SDRi by at most {fp16_loss:+.2f} dB (scores rounded to 0.01 dB) on the sets below
  (kept as float16 only below {MAX_FP16_LOSS_DB} dB).
- **Trained:** {summary['steps']} steps, {summary['train_minutes']} minutes of training on {summary['hardware']},
  torch {summary['torch']}, tqse commit {summary['git_sha']}.{lineage(summary)} Query recipe: {json.dumps(config.get('trained_with', {}))}.

## Training data and licences
The built-in corpus, `default` tier (`tqse corpus build --tier default`): 48 classes of sound effects,
instruments and speech from Debian packages, General MIDI soundfont renders and synthesized speech; train
split only (1,175 clips), mixed on the fly with another class at SNR U[-5, 5] dB. The audio itself is not
redistributed; its sources, licences (GPL, CC-BY, CC-BY-SA, CC0 and others) and copyright holders are
listed in `TRAINING_DATA.md` beside this card. Whether a model trained on such data inherits their terms
is not settled law; if that matters to you, retrain on data whose licence you have checked.

## Scores
`tqse eval`-style scoring on the corpus' fixed mixtures (recordings never seen in training; `ood`: sources
never in training), printed by `python benchmarks/default_model.py --model THIS_FOLDER`:

| set | query | SI-SDRi (dB) | SDRi (dB) | mixtures | mixture SNR (dB) |
|---|---|---|---|---|---|
{chr(10).join(rows)}

The wrong-query row queries each mixture with the class of its *interferer*: a model that ignores its query
would score the same as with the right one.

## Speed
10 s of audio at 16 kHz on {speed['threads']} CPU threads: separator {speed['separator_s']:.3f} s (real-time factor
{speed['rtf_separator']:.4f}); a whole `Extractor.extract()` call with a text query {speed['extract_call_s']:.3f} s.

## Limits
Trained on 48 classes of a small corpus: queries far from them (rare sounds, music genres, complex scenes)
are out of its domain. Captions are understood through the built-in encoder's MiniLM text tower, trained
on this corpus' captions only.
"""
