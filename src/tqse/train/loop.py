"""The training loop, readable top to bottom (seed paper Sec. IV-C; nanoGPT's loop is the model).

``train(config)`` creates or resumes ``runs/<name>-<config hash>/``: it restores the last checkpoint if one
exists, so starting the same command again after a kill continues where the run stopped, with the same
data and random draws it would have had (see :mod:`tqse.train.checkpoint`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from tqse.config import EvalConfig, RunConfig, validate
from tqse.data.locations import resolve_manifest
from tqse.data.manifest import WRONG_QUERY_FIELD, write_json
from tqse.errors import ConfigError, TrainingDiverged
from tqse.losses import neg_si_sdr
from tqse.query.provider import QueryProvider
from tqse.train import setup
from tqse.train.distributed import all_reduce_mean, barrier, shutdown
from tqse.train.objective import louder_step
from tqse.train.run import TrainingRun, open_run

log = logging.getLogger(__name__)


def step_seed(seed: int, step: int, rank: int) -> int:
    """Seed of one step on one rank: random draws never depend on how many steps ran before a resume."""
    return (seed * 1_000_003 + step) * 1024 + rank


def autocast_context(precision: str, device: torch.device):
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if precision == "fp32":
        return contextlib.nullcontext(), None
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    return torch.autocast(device.type, dtype=dtype), scaler


def train(config: RunConfig, run_dir: str | Path | None = None, encoder=None, stop_after: int | None = None,
          time_budget_s: float | None = None, total_time_s: float | None = None) -> Path:
    """Train (or resume) a run; returns the run directory.

    Args:
        encoder: an already loaded query encoder (tests and grids reuse one); default: ``config.query.encoder``.
        stop_after: stop after this many steps in this call (the run stays resumable).
        time_budget_s: stop (with a checkpoint and a validation) once this call has spent this long in training
            steps (validation and checkpoints not counted): equal-compute studies. Single-process runs only.
        total_time_s: the same for the whole run, counted over every resume: a run killed and restarted still
            trains for exactly this long in all (nothing happens once it has).
    """
    validate(config)  # configs built in code get the checks load_config gives YAML
    if stop_after is not None and stop_after < 0:
        raise ConfigError(f"--stop-after {stop_after}: must be >= 0 (steps to run in this call)")
    for option, seconds in (("--max-minutes", time_budget_s), ("--total-minutes", total_time_s)):
        if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
            raise ConfigError(f"{option} {seconds / 60:g}: must be a positive finite number of minutes")
    run = open_run(config, run_dir, encoder)
    if run.finished:
        log.info("run %s already finished (%d steps)", run.run_dir, run.start_step)
    else:
        end_step = config.train.steps if stop_after is None else min(config.train.steps, run.start_step + stop_after)
        _train_steps(run, end_step, time_budget_s, total_time_s)
    shutdown(run.dist)
    return run.run_dir


def _train_steps(run: TrainingRun, end_step: int, time_budget_s: float | None,
                 total_time_s: float | None = None) -> None:
    """Steps ``run.start_step`` .. ``end_step`` with logging, checkpoints and validation on their schedules."""
    config, model, dist = run.config, run.model, run.dist
    ddp_model = torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[run.device.index] if run.device.type == "cuda" else None) if dist.enabled else model
    provider = QueryProvider(run.encoder, config.query, config.data.sample_rate, device=run.device,
                             cache=_open_cache(config, run.encoder))
    loader = setup.build_loader(config, run.clips, dist.rank, dist.world_size, run.start_step)
    run.open_metrics()
    autocast, scaler = autocast_context(config.train.precision, run.device)
    bar = tqdm(total=end_step, initial=run.start_step, disable=not (config.train.progress and dist.is_main),
               dynamic_ncols=True, desc=run.run_dir.name)
    ddp_model.train()
    window_start, window_steps = time.perf_counter(), 0
    batches = iter(loader)
    trained_s = trained_at_start = run.metrics.train_seconds if run.metrics is not None else 0.0
    budget = time_budget_s if time_budget_s is not None else math.inf
    total = total_time_s if total_time_s is not None else math.inf
    louder = config.train.objective == "louder"
    if trained_s >= total:
        log.info("run %s has trained %.1f of its %.1f minutes already", run.run_dir, trained_s / 60, total / 60)
        end_step = run.start_step
    for step in range(run.start_step, end_step):
        step_start = time.perf_counter()
        batch = next(batches)
        generator = torch.Generator().manual_seed(step_seed(config.train.seed, step, dist.rank))
        torch.manual_seed(step_seed(config.train.seed, step, dist.rank))
        mixture, target = batch.mixture.to(run.device), batch.target.to(run.device)
        if louder:  # the query-free warm start (tqse.train.objective): no query is read or embedded
            query, target = louder_step(mixture, target, run.encoder.dim)
        else:
            query = provider(batch, generator).to(run.device)
        with autocast:
            estimate = ddp_model(mixture, query)
        loss = neg_si_sdr(estimate, target)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"step {step}: loss is {loss.item()}: training diverged (lower train.lr or "
                                   "train.grad_clip, or check the data)")
        grad_norm = _update(run, loss, scaler)
        trained_s += time.perf_counter() - step_start
        window_steps += 1
        done = step + 1
        out_of_time = trained_s - trained_at_start > budget or trained_s > total
        if done % config.train.log_every == 0 or done == end_step or out_of_time:
            loss_value = all_reduce_mean(loss.detach(), dist).item()
            rate = window_steps / (time.perf_counter() - window_start)
            if run.metrics is not None:
                run.metrics.log(done, loss=loss_value, si_sdr=-loss_value, lr=run.scheduler.get_last_lr()[0],
                                grad_norm=float(grad_norm), steps_per_s=rate, train_seconds=round(trained_s, 2))
            bar.set_postfix(loss=f"{loss_value:.2f}", steps_s=f"{rate:.2f}")
            window_start, window_steps = time.perf_counter(), 0
        bar.update(1)
        if done % config.train.checkpoint_every == 0 or done == end_step or out_of_time:
            run.checkpoint(done)
        if config.eval.manifest and (done % config.train.val_every == 0 or done == config.train.steps or out_of_time):
            _validate(run, done)
            ddp_model.train()
        if out_of_time:
            log.info("training-time budget reached at step %d (%.1f minutes in all)", done, trained_s / 60)
            break
    bar.close()
    if run.metrics is not None:
        run.metrics.close()


def _update(run: TrainingRun, loss: torch.Tensor, scaler) -> torch.Tensor:
    """One optimiser step on ``loss`` (gradients clipped; scaled under fp16); returns the gradient norm."""
    run.optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(run.optimizer)
    else:
        loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.config.train.grad_clip)
    if scaler is not None:
        scaler.step(run.optimizer)
        scaler.update()
    else:
        run.optimizer.step()
    run.scheduler.step()
    return grad_norm


def _open_cache(config: RunConfig, encoder):
    if not config.query.cache_dir:
        return None
    from tqse.query.cache import EmbeddingCache

    return EmbeddingCache.open(config.query.cache_dir, encoder.name)


def _best_score(best_file: Path) -> float:
    """The best validation score so far; a damaged record (a kill mid-write, before writes were atomic) counts
    as none, so the next validation rewrites it."""
    if not best_file.exists():
        return -math.inf
    try:
        record = json.loads(best_file.read_text(encoding="utf-8"))
        return float(record.get("score", record["val_si_sdri"]))  # runs of older tqse versions: no "score"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        log.warning("%s: unreadable (%s); the next validation replaces it", best_file, type(err).__name__)
        return -math.inf


def selection_score(config: EvalConfig, scores: dict[str, dict[str, float]]) -> float:
    """The number "best" maximises (``eval.select_by``): the first query field's SI-SDRi, or the mean over the
    scored fields that query the target (the wrong-query control is left out: lower is better there)."""
    if config.select_by == "first":
        return scores[config.query_field]["si_sdri"]
    fields = [f for f in dict.fromkeys([config.query_field, *config.also_query_fields]) if f != WRONG_QUERY_FIELD]
    return sum(scores[f]["si_sdri"] for f in fields) / len(fields)


def _validate(run: TrainingRun, step: int) -> None:
    """Score the fixed validation mixtures (main rank), log them, and keep the best checkpoint (and, with
    ``train.keep_val_checkpoints``, this one as ``step-<N>``)."""
    if not run.dist.is_main:
        barrier(run.dist)
        return
    from tqse.eval.quick import score_mixtures

    config = run.config
    scores = score_mixtures(run.model, run.encoder, resolve_manifest(config.eval.manifest), config.data.sample_rate,
                            run.device, query_fields=[config.eval.query_field, *config.eval.also_query_fields],
                            limit=config.eval.max_mixtures,
                            reference="louder" if config.train.objective == "louder" else "target")
    summary = scores[config.eval.query_field]
    logged = {f"val_{k}": v for k, v in summary.items()}
    for field in config.eval.also_query_fields:
        logged |= {f"val_{field}_{k}": v for k, v in scores[field].items() if k in ("si_sdri", "sdri")}
    run.metrics.log(step, **logged)
    if config.train.keep_val_checkpoints:
        run.checkpoint(step, f"step-{step}", wait=False)
    best_file = run.checkpoints / "best.json"
    score = selection_score(config.eval, scores)
    if score > _best_score(best_file):
        run.checkpoint(step, "best", wait=False)
        write_json(best_file, {"step": step, "score": score, "select_by": config.eval.select_by,
                               "val_si_sdri": summary["si_sdri"]}, indent=None)
    barrier(run.dist)
