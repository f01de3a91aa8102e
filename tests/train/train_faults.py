"""Shared by the training-side robustness tests: a finished tiny run to damage, and the error contract."""

from __future__ import annotations

import shutil
from pathlib import Path

from tqse.errors import TqseError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FIXTURE_SETUP = CONFIGS / "setups" / "fixture.yaml"
TINY = ["data.use=[ac]", "train.batch_size=2", "data.segment_seconds=0.5", "train.warmup_steps=2", "train.lr=1e-3",
        "train.steps=2", "train.checkpoint_every=1", "train.log_every=1"]


def tiny_config(*overrides: str):
    from tqse.config import load_config

    return load_config([FIXTURE_SETUP], [*TINY, *overrides])


def make_finished_run(folder: Path) -> Path:
    """A 2-step tiny run whose ``best`` is the step-1 checkpoint (so a fall-back to it is visible)."""
    from tqse.data.manifest import write_json
    from tqse.train.loop import train

    run = train(tiny_config(), folder, stop_after=1)
    shutil.copytree(run / "checkpoints" / "last", run / "checkpoints" / "best")
    write_json(run / "checkpoints" / "best.json", {"step": 1, "val_si_sdri": 0.0})
    return train(tiny_config(), run)


def assert_clean_error(err: BaseException, *names: str) -> None:
    """The contract for a fault a user can cause: a TqseError, one line, naming the file or option."""
    assert isinstance(err, TqseError), f"{type(err).__name__}: {err}"
    message = str(err)
    assert message and "\n" not in message, repr(message)
    assert any(name in message for name in names), f"{message!r} names none of {names}"


def leftovers(folder: Path) -> list[str]:
    """Temporary or stale copies under ``folder`` (what an interrupted atomic write leaves)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*") if ".tmp" in p.name or ".old" in p.name)
