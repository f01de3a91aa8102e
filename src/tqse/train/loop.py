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

from tqse.config import RunConfig, to_yaml, validate
from tqse.data.manifest import write_json
from tqse.errors import CheckpointError, ConfigError, TrainingDiverged
from tqse.losses import neg_si_sdr
from tqse.models.model_dir import WEIGHTS_NAME, load_weights_into, model_config
from tqse.query.provider import QueryProvider
from tqse.query.registry import encoder_from_config
from tqse.train import setup
from tqse.train.checkpoint import check_resume_config, clean_checkpoints, resume_point, save_checkpoint, set_rng_state
from tqse.train.distributed import DistInfo, all_reduce_mean, barrier, init_distributed, shutdown
from tqse.train.logging import MetricsLogger, environment
from tqse.train.schedule import build_optimizer

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


def requested_device(config: RunConfig) -> str:
    return config.train.device or ("cuda" if torch.cuda.is_available() else "cpu")


def pick_device(name: str, dist_info: DistInfo) -> torch.device:
    """The device of this rank: plain ``cuda`` means the rank's local GPU."""
    if name == "cuda":
        name = f"cuda:{dist_info.local_rank}"
    device = torch.device(name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def init_weights(model: torch.nn.Module, model_dir: str, device: torch.device) -> None:
    """Start from the separator weights of ``model_dir`` (``train.init_from``); the run's separator must be the
    same architecture (a mismatch names the tensor). Float16 weights (shipped models) are cast up; a query
    transform (PCA) is the run's own, fitted on its data, and is not taken over."""
    from tqse.models.model_dir import WEIGHTS_NAME, read_model_state

    path = Path(model_dir).expanduser()
    config, state = read_model_state(path, device)
    inner = {k.removeprefix("separator."): v.float() if v.is_floating_point() else v
             for k, v in state.items() if k.startswith("separator.")}
    load_weights_into(model.separator, inner, path / WEIGHTS_NAME, config["model"])
    log.info("initialised %s from %s", config["model"], path)


def reset_modules(model: torch.nn.Module, patterns: list[str]) -> None:
    """Re-initialise (``reset_parameters``) every module whose name matches one of ``patterns``."""
    import fnmatch

    for pattern in patterns:
        matched = [m for name, m in model.named_modules()
                   if fnmatch.fnmatchcase(name, pattern) and hasattr(m, "reset_parameters")]
        if not matched:
            raise ConfigError(f"train.init_reset: {pattern!r} matches no module with parameters of this model")
        for module in matched:
            module.reset_parameters()
        log.info("re-initialised %d module(s) matching %s", len(matched), pattern)


def _make_run_dir(run_dir: Path) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"--run-dir {run_dir}: is a file, not a folder") from None
    except NotADirectoryError:
        raise ConfigError(f"--run-dir {run_dir}: a folder above it is a file") from None


def train(config: RunConfig, run_dir: str | Path | None = None, encoder=None, stop_after: int | None = None,
          time_budget_s: float | None = None) -> Path:
    """Train (or resume) a run; returns the run directory.

    Args:
        encoder: an already loaded query encoder (tests and grids reuse one); default: ``config.query.encoder``.
        stop_after: stop after this many steps in this call (the run stays resumable).
        time_budget_s: stop (with a checkpoint and a validation) once this call has spent this long in training
            steps (validation and checkpoints not counted): equal-compute studies. Single-process runs only.
    """
    validate(config)  # configs built in code get the checks load_config gives YAML
    if stop_after is not None and stop_after < 0:
        raise ConfigError(f"--stop-after {stop_after}: must be >= 0 (steps to run in this call)")
    if time_budget_s is not None and not (math.isfinite(time_budget_s) and time_budget_s > 0):
        raise ConfigError(f"--max-minutes {time_budget_s / 60:g}: must be a positive finite number of minutes")
    requested = requested_device(config)
    dist_info = init_distributed(torch.device(requested).type)
    device = pick_device(requested, dist_info)
    run_dir = Path(run_dir) if run_dir else setup.run_dir_for(config)
    last_dir = run_dir / "checkpoints" / "last"
    if dist_info.is_main:
        _make_run_dir(run_dir)
        clean_checkpoints(last_dir.parent)
        check_resume_config(last_dir.parent, config)  # before config.yaml is overwritten with the new config
        (run_dir / "config.yaml").write_text(to_yaml(config))
        (run_dir / "env.json").write_text(json.dumps(environment(device, dist_info.world_size), indent=2))
    barrier(dist_info)

    torch.manual_seed(config.train.seed)
    clips = setup.training_clips(config)
    if encoder is None:
        encoder = encoder_from_config(setup.encoder_spec(config))
    encoder = encoder.to(device) if isinstance(encoder, torch.nn.Module) else encoder
    model = setup.build_training_model(config, encoder.dim, setup.fit_pca(encoder, clips, config))
    model.to(device)
    optimizer, scheduler = build_optimizer(model, config.train)

    start_step = 0
    resume = resume_point(last_dir.parent, device)
    if resume is not None:
        start_step = _resume(*resume, model, optimizer, scheduler)
        log.info("resumed %s at step %d from %s", run_dir, start_step, resume[0].name)
    elif config.train.init_from:
        init_weights(model, config.train.init_from, device)
        reset_modules(model, config.train.init_reset)
    if start_step >= config.train.steps:
        log.info("run %s already finished (%d steps)", run_dir, start_step)
        shutdown(dist_info)
        return run_dir

    ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if dist_info.enabled else model
    provider = QueryProvider(encoder, config.query, config.data.sample_rate, device=device,
                             cache=_open_cache(config, encoder))
    loader = setup.build_loader(config, clips, dist_info.rank, dist_info.world_size, start_step)
    metrics = MetricsLogger(run_dir / "metrics.jsonl", start_step,
                            run_dir / "tensorboard" if config.train.tensorboard and dist_info.is_main else None) \
        if dist_info.is_main else None
    autocast, scaler = autocast_context(config.train.precision, device)
    spec = model_config(model.model_args(), config.data.sample_rate, setup.encoder_spec(config),
                        trained_with=_trained_with(config))

    def checkpoint(step: int, folder: Path) -> None:
        if dist_info.is_main:
            save_checkpoint(folder, spec, model.state_dict(), optimizer, scheduler, step, to_yaml(config))
        barrier(dist_info)

    end_step = config.train.steps if stop_after is None else min(config.train.steps, start_step + stop_after)
    bar = tqdm(total=end_step, initial=start_step, disable=not (config.train.progress and dist_info.is_main),
               dynamic_ncols=True, desc=run_dir.name)
    ddp_model.train()
    window_start, window_steps, step = time.perf_counter(), 0, start_step
    batches = iter(loader)
    trained_s = trained_at_start = metrics.train_seconds if metrics is not None else 0.0
    budget = time_budget_s if time_budget_s is not None else math.inf
    for step in range(start_step, end_step):
        step_start = time.perf_counter()
        batch = next(batches)
        generator = torch.Generator().manual_seed(step_seed(config.train.seed, step, dist_info.rank))
        torch.manual_seed(step_seed(config.train.seed, step, dist_info.rank))
        query = provider(batch, generator).to(device)
        mixture, target = batch.mixture.to(device), batch.target.to(device)
        with autocast:
            estimate = ddp_model(mixture, query)
        loss = neg_si_sdr(estimate, target)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"step {step}: loss is {loss.item()}: training diverged (lower train.lr or "
                                   "train.grad_clip, or check the data)")
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        scheduler.step()
        trained_s += time.perf_counter() - step_start
        window_steps += 1
        done = step + 1
        if done % config.train.log_every == 0 or done == end_step:
            loss_value = all_reduce_mean(loss.detach(), dist_info).item()
            rate = window_steps / (time.perf_counter() - window_start)
            if metrics is not None:
                metrics.log(done, loss=loss_value, si_sdr=-loss_value, lr=scheduler.get_last_lr()[0],
                            grad_norm=float(grad_norm), steps_per_s=rate, train_seconds=round(trained_s, 2))
            bar.set_postfix(loss=f"{loss_value:.2f}", steps_s=f"{rate:.2f}")
            window_start, window_steps = time.perf_counter(), 0
        bar.update(1)
        if done % config.train.checkpoint_every == 0 or done == end_step:
            checkpoint(done, last_dir)
        out_of_time = trained_s - trained_at_start > budget
        if out_of_time and done % config.train.checkpoint_every:
            checkpoint(done, last_dir)
        if config.eval.manifest and (done % config.train.val_every == 0 or done == config.train.steps or out_of_time):
            _validate(config, model, encoder, device, done, metrics, run_dir, checkpoint, dist_info)
            ddp_model.train()
        if out_of_time:
            log.info("training-time budget of %.0f s reached at step %d", time_budget_s, done)
            break
    bar.close()
    if metrics is not None:
        metrics.close()
    shutdown(dist_info)
    return run_dir


def _resume(folder: Path, state: dict, training: dict, model, optimizer, scheduler) -> int:
    load_weights_into(model, state, folder / WEIGHTS_NAME, "this run's model")
    try:
        optimizer.load_state_dict(training["optimizer"])
        scheduler.load_state_dict(training["scheduler"])
        set_rng_state(training["rng"])
    except (KeyError, ValueError, TypeError, RuntimeError) as err:  # a state from another model or tqse
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{folder}: training state does not fit this run ({reason}); delete {folder} "
                              "to start over") from None
    return int(training["step"])


def _trained_with(config: RunConfig) -> dict:
    from tqse.config import config_hash, to_dict

    resolved = to_dict(config)
    return {"config_hash": config_hash(config), "data": resolved["data"]["use"] or ["builtin"],
            "query_mode": resolved["query"]["mode"], "query_modes": resolved["query"]["modes"],
            "manipulation": {k: v for k, v in resolved["query"]["manipulation"].items() if v.get("enabled")}}


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
        return float(json.loads(best_file.read_text(encoding="utf-8"))["val_si_sdri"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("%s: unreadable (%s); the next validation replaces it", best_file, type(err).__name__)
        return -math.inf


def _validate(config, model, encoder, device, step, metrics, run_dir, checkpoint, dist_info) -> None:
    if not dist_info.is_main:
        barrier(dist_info)
        return
    from tqse.eval.quick import score_mixtures

    manifest = setup.resolve_manifest(config.eval.manifest)
    scores = score_mixtures(model, encoder, manifest, config.data.sample_rate, device,
                            query_fields=[config.eval.query_field, *config.eval.also_query_fields],
                            limit=config.eval.max_mixtures)
    summary = scores[config.eval.query_field]
    logged = {f"val_{k}": v for k, v in summary.items()}
    for field in config.eval.also_query_fields:
        logged |= {f"val_{field}_{k}": v for k, v in scores[field].items() if k in ("si_sdri", "sdri")}
    metrics.log(step, **logged)
    best_file = run_dir / "checkpoints" / "best.json"
    if summary["si_sdri"] > _best_score(best_file):
        checkpoint(step, run_dir / "checkpoints" / "best")
        write_json(best_file, {"step": step, "val_si_sdri": summary["si_sdri"]}, indent=None)
    else:
        barrier(dist_info)
