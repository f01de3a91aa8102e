"""Run configuration: dataclasses are the schema and the only place defaults live.

YAML files are diffs over these defaults (``include:`` pulls in a base file, paths relative to the including
file); command-line overrides are dotted (``query.manipulation.dropout.enabled=true``). Unknown keys and
wrong types are errors (OmegaConf structured configs).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from tqse.errors import ConfigError


@dataclass
class DataConfig:
    # Dataset name -> clip manifest. `use` picks the training datasets; empty = the built-in default data.
    manifests: dict[str, str] = field(default_factory=dict)
    use: list[str] = field(default_factory=list)
    split: Optional[str] = "train"  # keep only manifest lines with this `split` (None = all lines)
    class_caption_datasets: list[str] = field(default_factory=list)  # text query = "this is the sound of {class}"
    sample_rate: int = 32000
    segment_seconds: float = 10.0
    snr_db: list[float] = field(default_factory=lambda: [-5.0, 5.0])
    different_class: bool = True
    # Probability of band-limiting each source (built-in corpus: hides the empty top band of 8-22 kHz
    # originals, so a model cannot tell classes apart by bandwidth). 0 = off, as in the paper.
    random_lowpass: float = 0.0
    # Decode every training clip once into memory at the model rate (tqse.data.preload): on a small CPU the
    # per-crop FLAC decode and resample cost as much as a small model's step.
    preload: bool = False
    workers: int = 2


@dataclass
class EncoderConfig:
    name: str = "builtin"
    path: Optional[str] = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DropoutConfig:
    enabled: bool = False
    p_audio: list[float] = field(default_factory=lambda: [0.75, 0.95])
    p_text: list[float] = field(default_factory=lambda: [0.25, 0.75])
    rescale: bool = False  # False: kept dimensions are left as they are (the paper's "zeroed out")


@dataclass
class NoiseConfig:
    enabled: bool = False
    alpha_audio: list[float] = field(default_factory=lambda: [1.5, 3.5])
    alpha_text: list[float] = field(default_factory=lambda: [1.0, 2.0])


@dataclass
class MixupConfig:
    enabled: bool = False
    snr_db: list[float] = field(default_factory=lambda: [-5.0, 5.0])


@dataclass
class SpecAugmentConfig:
    enabled: bool = False
    time_masks: int = 2
    time_width: int = 64
    freq_masks: int = 2
    freq_width: int = 2


@dataclass
class PCAConfig:
    enabled: bool = False
    dim: int = 16
    fit_on: int = 1000  # number of training captions whose text embeddings define the projection
    inverse: bool = False  # PCA-inv: project back to the full dimension


@dataclass
class ManipulationConfig:
    dropout: DropoutConfig = field(default_factory=DropoutConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    mixup: MixupConfig = field(default_factory=MixupConfig)
    specaugment: SpecAugmentConfig = field(default_factory=SpecAugmentConfig)
    pca: PCAConfig = field(default_factory=PCAConfig)


@dataclass
class QueryConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    mode: str = "text"  # text | audio | text+audio (random per example)
    modes: dict[str, str] = field(default_factory=dict)  # per-dataset override of `mode`
    cache_dir: Optional[str] = None  # precomputed embeddings (`tqse embed`)
    manipulation: ManipulationConfig = field(default_factory=ManipulationConfig)


@dataclass
class ModelConfig:
    name: str = "paper"  # a preset (paper, small, tiny, resunet30) or a model name (conformer)
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    steps: int = 400_000
    batch_size: int = 32  # global batch, split across ranks
    lr: float = 2e-4  # the paper: 2e-4 for the Conformer, 1e-3 for the ResUNet
    weight_decay: float = 1e-2
    warmup_steps: int = 4_000
    constant_steps: int = 160_000
    decay_every: int = 10_000
    decay_factor: float = 0.9
    grad_clip: float = 5.0
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | bf16 | fp16 | fp32
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 1_000
    val_every: int = 5_000
    tensorboard: bool = False
    progress: bool = True
    device: Optional[str] = None  # default: cuda if available


@dataclass
class EvalConfig:
    manifest: Optional[str] = None  # fixed-mixture manifest scored during training (best checkpoint)
    query_field: str = "caption"  # caption | class_caption; picks the best checkpoint
    also_query_fields: list[str] = field(default_factory=list)  # scored and logged too (val_<field>_si_sdri)
    max_mixtures: int = 200


@dataclass
class RunConfig:
    name: str = "run"
    output_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    query: QueryConfig = field(default_factory=QueryConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


QUERY_MODES = ("text", "audio", "text+audio")


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> list[dict]:
    """The YAML at ``path`` preceded by everything it includes (depth first), as plain dicts."""
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: include cycle")
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping")
    includes = data.pop("include", [])
    layers = []
    for include in [includes] if isinstance(includes, str) else includes:
        layers += _read_yaml(path.parent / include, seen + (path,))
    return layers + [data]


def load_config(files: list[str | os.PathLike] = (), overrides: list[str] = ()) -> RunConfig:
    """Defaults <- each YAML file (with its includes) <- dotted overrides, validated against the schema."""
    config = OmegaConf.structured(RunConfig)
    try:
        for file in files:
            for layer in _read_yaml(Path(file)):
                config = OmegaConf.merge(config, layer)
        config = OmegaConf.merge(config, OmegaConf.from_dotlist(list(overrides)))
    except OmegaConfBaseException as err:
        raise ConfigError(f"invalid config: {err}".splitlines()[0]) from None
    resolved: RunConfig = OmegaConf.to_object(config)
    validate(resolved)
    return resolved


def validate(config: RunConfig) -> None:
    modes = [config.query.mode, *config.query.modes.values()]
    bad = [m for m in modes if m not in QUERY_MODES]
    if bad:
        raise ConfigError(f"query mode {bad[0]!r} is not one of {', '.join(QUERY_MODES)}")
    unknown = [name for name in list(config.data.use) + list(config.query.modes) if name not in config.data.manifests]
    if config.data.use and unknown:
        raise ConfigError(f"dataset {unknown[0]!r} has no manifest (set data.manifests.{unknown[0]}=PATH)")
    if config.train.precision not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"train.precision must be auto, bf16, fp16 or fp32, not {config.train.precision!r}")


def to_dict(config: RunConfig) -> dict[str, Any]:
    return OmegaConf.to_container(OmegaConf.structured(config), resolve=True)


def to_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)


def config_hash(config: RunConfig) -> str:
    """Hash of everything that changes results (name, output folder and display settings excluded)."""
    data = to_dict(config)
    data.pop("name"), data.pop("output_dir")
    for key in ("progress", "tensorboard", "device"):
        data["train"].pop(key)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]
