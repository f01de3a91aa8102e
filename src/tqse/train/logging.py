"""Metrics as JSONL (one object per logged step), TensorBoard optional, run environment record."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from tqse import __version__
from tqse.errors import ConfigError
from tqse.files import atomic_write, read_metrics


class MetricsLogger:
    """Appends ``{"step": ..., ...}`` lines to ``metrics.jsonl``; on resume drops lines past the resumed step,
    so the file always describes exactly one history."""

    def __init__(self, path: Path, resume_step: int = 0, tensorboard_dir: Path | None = None):
        self.path = path
        self.train_seconds = 0.0
        if path.exists():
            kept = [row for row in read_metrics(path) if row.get("step", 0) <= resume_step]
            with atomic_write(path) as tmp:  # a kill while rewriting must not lose the history kept
                tmp.write_text("".join(json.dumps(row) + "\n" for row in kept))
            # Training time (validation and checkpoints excluded) carries over a resume: curves against CPU time.
            self.train_seconds = max([row.get("train_seconds", 0.0) for row in kept] or [0.0])
        self.writer = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is an optional extra
                raise ConfigError("train.tensorboard=true needs `pip install tqse[tensorboard]`") from None
            self.writer = SummaryWriter(str(tensorboard_dir))

    def log(self, step: int, **values: Any) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, **values}) + "\n")
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


ENVIRONMENTS = "environments.jsonl"  # one line per call that trained a run: the step it started from, its environment


def environment(device: torch.device, world_size: int) -> dict[str, Any]:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return {"tqse": __version__, "torch": torch.__version__, "python": sys.version.split()[0],
            "platform": platform.platform(), "device": str(device), "world_size": world_size,
            "cuda": torch.cuda.get_device_name(device) if device.type == "cuda" else None, "git_sha": sha or None,
            "cpu": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def cpu_model() -> str:
    """The processor's name. Recorded because a run trained again on another machine, same config and seed, is
    not the same model (different CPUs take different vector kernels, and training amplifies the rounding); the
    vector instruction set torch chose sits beside it (``cpu_capability``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
