"""Models by name: the shipped default, every model folder under ``$TQSE_HOME/models``, or a path.

Resolution of ``name`` (:func:`resolve_model`): an existing folder path; ``default`` (or nothing) for the
default model; a folder name under ``$TQSE_HOME/models`` (``TQSE_HOME`` defaults to ``~/.cache/tqse``);
``hf://org/name[@revision]`` through ``huggingface_hub`` when installed (offline unless the user has network).
The default model is ``$TQSE_MODEL``, else the model shipped in the package (``tqse/assets/default_model``),
else the model ``tqse demo`` installs (``$TQSE_HOME/models/demo``).

A model folder is ``config.json`` + ``model.safetensors`` + an optional ``README.md`` card whose YAML front
matter may carry ``scores:`` (name -> number). ``tqse models`` shows each folder's plain summary (its name, what
it was trained on, one figure per evaluation set: :func:`tqse.models.card.plain_summary`), else those scores.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from tqse.files import tqse_home
from tqse.errors import CheckpointError
from tqse.models.model_dir import CONFIG_NAME, WEIGHTS_NAME

DEFAULT_NAME = "default"
HF_PREFIX = "hf://"


def models_home() -> Path:
    return tqse_home() / "models"


def demo_model_dir() -> Path:
    return models_home() / "demo"


def shipped_model_dir() -> Path:
    return Path(str(resources.files("tqse") / "assets" / "default_model"))


def default_model_dir() -> Path:
    candidates = []
    if os.environ.get("TQSE_MODEL"):
        candidates.append(Path(os.environ["TQSE_MODEL"]))
    candidates += [shipped_model_dir(), demo_model_dir()]
    for candidate in candidates:
        if (candidate / CONFIG_NAME).exists():
            return candidate
    raise CheckpointError("no default model found: pass -n NAME or --checkpoint DIR, set TQSE_MODEL, or run "
                          f"`tqse demo` (trains one into {demo_model_dir()}); `tqse models` lists what is installed")


def resolve_model(name: str | os.PathLike | None = None) -> Path:
    """A model folder for ``name`` (see module docstring); :class:`CheckpointError` naming the choices."""
    if name is None or str(name) == DEFAULT_NAME:
        return default_model_dir()
    text = str(name)
    if text.startswith(HF_PREFIX):
        return _from_hub(text[len(HF_PREFIX):])
    path = Path(text).expanduser()
    if path.is_dir() or os.sep in text or text.startswith("."):
        return path  # a path: load_model_dir says precisely what is wrong with it
    named = models_home() / text
    if named.is_dir():
        return named
    known = ", ".join(m.name for m in list_models()) or "none installed"
    raise CheckpointError(f"unknown model '{text}': not a folder and not in {models_home()} "
                          f"(available: {known}); `tqse models` lists them")


def _from_hub(spec: str) -> Path:
    """``org/name[@revision]`` from the Hugging Face hub cache (downloaded only when the hub is online)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise CheckpointError(f"hf://{spec}: install huggingface_hub (pip install huggingface_hub) to load "
                              "models from the hub") from None
    repo, _, revision = spec.partition("@")
    if repo.count("/") != 1:
        raise CheckpointError(f"hf://{spec}: expected hf://org/name[@revision]")
    try:
        return Path(snapshot_download(repo, revision=revision or None))
    except Exception as err:  # noqa: BLE001 - the hub raises many kinds (offline, 404, auth); all mean "not here"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"hf://{spec}: not available ({first}); offline, the model must already be "
                              "in the Hugging Face cache") from None


@dataclass(frozen=True)
class ModelInfo:
    """One installed model: what ``tqse models`` prints."""

    name: str
    path: Path
    size_bytes: int
    sample_rate: int | None
    encoder: str | None
    scores: dict[str, float] = field(default_factory=dict)
    is_default: bool = False
    summary: dict = field(default_factory=dict)  # tqse.models.card.plain_summary: model name, data, figures


def list_models() -> list[ModelInfo]:
    """The shipped default model (if present) and every model folder under ``$TQSE_HOME/models``."""
    found: list[ModelInfo] = []
    try:
        default = default_model_dir().resolve()
    except CheckpointError:
        default = None
    shipped = shipped_model_dir()
    if (shipped / CONFIG_NAME).exists():
        found.append(model_info(shipped, DEFAULT_NAME, default))
    home = models_home()
    if home.is_dir():
        for folder in sorted(home.iterdir()):
            if folder.is_dir() and (folder / CONFIG_NAME).exists():
                found.append(model_info(folder, folder.name, default))
    return found


def model_info(folder: Path, name: str, default: Path | None = None) -> ModelInfo:
    """Read what a listing needs; a damaged folder is listed with blanks rather than failing the listing."""
    from tqse.models.card import plain_summary

    try:
        config = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
        config = config if isinstance(config, dict) else {}
    except (OSError, ValueError):
        config = {}
    encoder = config.get("encoder")
    encoder = encoder.get("name") if isinstance(encoder, dict) else None
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    rate = config.get("sample_rate")
    return ModelInfo(name, folder, size, int(rate) if isinstance(rate, (int, float)) else None, encoder,
                     read_card_scores(folder), default is not None and folder.resolve() == default,
                     plain_summary(folder, config))


def read_card_scores(folder: Path) -> dict[str, float]:
    """``scores:`` from the YAML front matter of ``folder/README.md`` (empty when absent or unreadable)."""
    import yaml

    card = folder / "README.md"
    try:
        text = card.read_text(encoding="utf-8")
        if not text.startswith("---"):
            return {}
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
        scores = meta.get("scores") or {}
        return {str(k): float(v) for k, v in scores.items()}
    except (OSError, ValueError, AttributeError, IndexError, TypeError, yaml.YAMLError):
        return {}


def card_front_matter(config: dict, scores: dict[str, float] | None = None) -> str:
    """The YAML front matter of a model card (library, model, sample rate, encoder, flat scores), which
    :func:`read_card_scores` and ``tqse models`` read back."""
    import yaml

    encoder = config.get("encoder", {}).get("name") if isinstance(config.get("encoder"), dict) else None
    meta = {"library_name": "tqse", "model": config.get("model"), "sample_rate": config.get("sample_rate"),
            "encoder": encoder, "scores": {k: round(float(v), 3) for k, v in (scores or {}).items()}}
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n"


def model_card(config: dict, scores: dict[str, float] | None = None) -> str:
    """A README.md card: YAML front matter (library, sample rate, encoder, scores) and a short usage note."""
    encoder = config.get("encoder", {}).get("name") if isinstance(config.get("encoder"), dict) else None
    return (f"{card_front_matter(config, scores)}\n# tqse model\n\n"
            f"Separator `{config.get('model')}` at {config.get('sample_rate')} Hz queried through the "
            f"`{encoder}` encoder. Files: `{CONFIG_NAME}` (how to rebuild it), `{WEIGHTS_NAME}` (weights).\n\n"
            "```python\nfrom tqse import Extractor\n\nExtractor.from_pretrained(\"path/to/this/folder\")"
            ".extract(\"mix.wav\", text=\"a dog barking\")\n```\n")
