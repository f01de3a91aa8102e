"""One training run's state: what ``train()`` builds once and every step, checkpoint and validation reads.

:func:`open_run` does the set-up in the order a resume depends on: the run folder (finishing or undoing a
save a kill interrupted, refusing a changed config, before ``config.yaml`` is rewritten), the seed, the clips,
the encoder, the model with its PCA fitted on those clips, the optimiser, and then either the last checkpoint
or the ``train.init_from`` weights. Everything after that takes the :class:`TrainingRun` whole.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tqse.config import RunConfig, to_yaml
from tqse.data.manifest import ClipRecord
from tqse.errors import CheckpointError, ConfigError
from tqse.models.model_dir import WEIGHTS_NAME, load_weights_into, model_config
from tqse.models.separator import Separator
from tqse.query.registry import encoder_from_config
from tqse.train import setup
from tqse.train.checkpoint import check_resume_config, clean_checkpoints, resume_point, save_checkpoint, set_rng_state
from tqse.train.distributed import DistInfo, barrier, init_distributed
from tqse.train.lineage import record_parent
from tqse.train.objective import hold_film_at_identity
from tqse.train.logging import ENVIRONMENTS, MetricsLogger, environment
from tqse.train.schedule import build_optimizer

log = logging.getLogger(__name__)


@dataclass
class TrainingRun:
    config: RunConfig
    run_dir: Path
    dist: DistInfo
    device: torch.device
    clips: list[ClipRecord]
    encoder: Any
    model: Separator
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    start_step: int
    spec: dict  # the model folder config every checkpoint carries (architecture, encoder, how it was trained)
    metrics: MetricsLogger | None = None  # main rank only, opened by open_metrics() once the run will train

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def finished(self) -> bool:
        return self.start_step >= self.config.train.steps

    def checkpoint(self, step: int, name: str = "last", wait: bool = True) -> None:
        """Save a resumable checkpoint (main rank), then wait for every rank (unless the caller will)."""
        if self.dist.is_main:
            save_checkpoint(self.checkpoints / name, self.spec, self.model.state_dict(), self.optimizer,
                            self.scheduler, step, to_yaml(self.config))
        if wait:
            barrier(self.dist)

    def open_metrics(self) -> None:
        if self.dist.is_main:
            tensorboard = self.run_dir / "tensorboard" if self.config.train.tensorboard else None
            self.metrics = MetricsLogger(self.run_dir / "metrics.jsonl", self.start_step, tensorboard)


def open_run(config: RunConfig, run_dir: str | Path | None = None, encoder=None) -> TrainingRun:
    """Create or resume the run of ``config`` in ``run_dir`` (default: ``runs/<name>-<config hash>``)."""
    requested = requested_device(config)
    dist = init_distributed(torch.device(requested).type)
    device = pick_device(requested, dist)
    run_dir = Path(run_dir) if run_dir else setup.run_dir_for(config)
    env = _prepare_run_dir(run_dir, config, device, dist.world_size) if dist.is_main else {}
    barrier(dist)

    torch.manual_seed(config.train.seed)
    clips = setup.training_clips(config)
    encoder_spec = setup.resumed_encoder_spec(run_dir / "checkpoints", setup.encoder_spec(config))
    if encoder is None:
        encoder = encoder_from_config(encoder_spec)
    encoder = encoder.to(device) if isinstance(encoder, torch.nn.Module) else encoder
    model = setup.build_training_model(config, encoder.dim, setup.fit_pca(encoder, clips, config)).to(device)
    optimizer, scheduler = build_optimizer(model, config.train)
    start_step = _restore(config, run_dir, model, optimizer, scheduler, device)
    if config.train.objective == "louder":
        hold_film_at_identity(model)  # after the restore: weights from train.init_from must not leak the query
    if dist.is_main and start_step < config.train.steps:  # a call that finds the run finished trains nothing
        record_call(run_dir, start_step, env)
    if dist.is_main and start_step == 0 and config.train.init_from:
        record_parent(run_dir, config.train.init_from)
    spec = model_config(model.model_args(), config.data.sample_rate, encoder_spec,
                        trained_with=_trained_with(config, clips))
    return TrainingRun(config, run_dir, dist, device, clips, encoder, model, optimizer, scheduler, start_step, spec)


def requested_device(config: RunConfig) -> str:
    return config.train.device or ("cuda" if torch.cuda.is_available() else "cpu")


def pick_device(name: str, dist: DistInfo) -> torch.device:
    """The device of this rank: plain ``cuda`` means the rank's local GPU."""
    if name == "cuda":
        name = f"cuda:{dist.local_rank}"
    device = torch.device(name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def _prepare_run_dir(run_dir: Path, config: RunConfig, device: torch.device, world_size: int) -> dict[str, Any]:
    """Create the run folder, check a resume's config, write ``config.yaml`` and ``env.json``; the environment
    written, for :func:`record_call`."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"--run-dir {run_dir}: is a file, not a folder") from None
    except NotADirectoryError:
        raise ConfigError(f"--run-dir {run_dir}: a folder above it is a file") from None
    clean_checkpoints(run_dir / "checkpoints")
    check_resume_config(run_dir / "checkpoints", config)  # before config.yaml is overwritten with the new config
    (run_dir / "config.yaml").write_text(to_yaml(config))
    env = environment(device, world_size)
    (run_dir / "env.json").write_text(json.dumps(env, indent=2))
    return env


def record_call(run_dir: Path, start_step: int, env: dict[str, Any]) -> None:
    """Append this call's environment to ``environments.jsonl`` with the step it starts from: ``env.json`` holds
    only the last call's, and a run resumed on another machine or at another commit is a different model from the
    step it changed on."""
    with (run_dir / ENVIRONMENTS).open("a", encoding="utf-8") as f:
        f.write(json.dumps({"from_step": start_step, **env}) + "\n")


def _restore(config: RunConfig, run_dir: Path, model, optimizer, scheduler, device: torch.device) -> int:
    """The step to start from: the last checkpoint's, or 0 (with ``train.init_from`` weights if set)."""
    resume = resume_point(run_dir / "checkpoints", device)
    if resume is not None:
        step = _resume(*resume, model, optimizer, scheduler)
        log.info("resumed %s at step %d from %s", run_dir, step, resume[0].name)
        return step
    if config.train.init_from:
        init_weights(model, config.train.init_from, device)
        reset_modules(model, config.train.init_reset)
    return 0


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


def init_weights(model: torch.nn.Module, model_dir: str, device: torch.device) -> None:
    """Start from the separator weights of ``model_dir`` (``train.init_from``); the run's separator must be the
    same architecture (a mismatch names the tensor). Float16 weights (shipped models) are cast up; a query
    transform (PCA) is the run's own, fitted on its data, and is not taken over."""
    from tqse.models.model_dir import read_model_state

    path = Path(model_dir).expanduser()
    config, state = read_model_state(path, device)
    inner = {k.removeprefix("separator."): v.float() if v.is_floating_point() else v
             for k, v in state.items() if k.startswith("separator.")}
    # a separator that adds mixture features keeps its own (pretrained trunk, zero projection): the rest of
    # it starts from the parent, which then computes exactly what the parent did
    added = {k: v for k, v in model.separator.state_dict().items() if k.startswith("mixture_features.")}
    load_weights_into(model.separator, {**added, **inner}, path / WEIGHTS_NAME, config["model"])
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


def _trained_with(config: RunConfig, clips=()) -> dict:
    from tqse.config import config_hash, to_dict

    resolved = to_dict(config)
    record = {"config_hash": config_hash(config), "data": resolved["data"]["use"] or ["builtin"],
              "query_mode": resolved["query"]["mode"], "query_modes": resolved["query"]["modes"],
              "manipulation": {k: v for k, v in resolved["query"]["manipulation"].items() if v.get("enabled")}}
    if config.train.objective != "extract":  # named only where it is not the default, so older cards stay as they are
        record["objective"] = config.train.objective
    classes = sorted({c.label for c in clips if c.label})
    if classes:  # the sounds the model knows, for describing queries (tqse.query.describe.model_classes)
        record["classes"] = classes
    return record
