"""Run configuration: dataclasses are the schema and the only place defaults live.

YAML files are diffs over these defaults (``include:`` pulls in a base file, paths relative to the including
file); command-line overrides are dotted (``query.manipulation.dropout.enabled=true``). Unknown keys and
wrong types are errors (OmegaConf structured configs).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from tqse.errors import ConfigError


@dataclass
class AugmentConfig:
    """Audio-side augmentation of each source crop before mixing (tqse.data.augment); off by default, as in
    the paper. Each step happens with its probability; a reverberated target stays reverberant in the
    reference (the model extracts the sound as recorded in the room)."""

    enabled: bool = False
    p_eq: float = 0.5
    eq_db: list[float] = field(default_factory=lambda: [-9.0, 9.0])  # range of the random EQ curve's gains
    p_highpass: float = 0.15  # a phone / small-speaker low cut (the low-pass side is data.random_lowpass)
    p_speed: float = 0.3
    speed: list[float] = field(default_factory=lambda: [0.9, 1.1])  # resampling factor: pitch and tempo together
    p_reverb: float = 0.3
    rt60_s: list[float] = field(default_factory=lambda: [0.15, 0.9])
    gain_db: list[float] = field(default_factory=lambda: [-12.0, 6.0])  # level of the whole example


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
    # Dataset -> "even" | "odd": keep every other class of its sorted class list (clips of the other half
    # are dropped). The AV experiment: captions for one half of the classes, audio only for the other.
    class_subset: dict[str, str] = field(default_factory=dict)
    # Probability of band-limiting each source (built-in corpus: hides the empty top band of 8-22 kHz
    # originals, so a model cannot tell classes apart by bandwidth). 0 = off, as in the paper.
    random_lowpass: float = 0.0
    # Decode every training clip once into memory at the model rate (tqse.data.preload): on a small CPU the
    # per-crop FLAC decode and resample cost as much as a small model's step.
    preload: bool = False
    workers: int = 2
    # Datasets (keys of `manifests`) whose clips only interfere: never a target, drawn as the other source
    # (the pool's interferer-only and unlabelled clips: "interferers come from the whole pool").
    interferers: list[str] = field(default_factory=list)
    # Dataset -> fraction of its recording groups kept (nested: the groups of 0.25 are inside those of 0.5),
    # for data-scaling curves at a fixed rest of the recipe.
    fraction: dict[str, float] = field(default_factory=dict)
    augment: AugmentConfig = field(default_factory=AugmentConfig)


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
    renormalize: bool = False  # beyond the paper: restore each query's norm after dropping dimensions


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
class CaptionPoolConfig:
    # Captions people type (issue 23): a labelled clip of a captioned dataset (not one of
    # data.class_caption_datasets) also draws its text query from generated paraphrases of its class
    # (tqse.query.paraphrase: synonyms, verbs, place/distance/loudness/count modifiers, typos) and, with
    # `audiocaps`, the vendored AudioCaps train captions naming its class (tqse.query.caption_data). Neither
    # holds an evaluation caption. Off (0 / false) = the clips' own captions only.
    paraphrases: int = 0  # generated captions per class
    audiocaps: bool = False
    typo_rate: float = 0.12  # share of generated captions with a typo or spelling variant


@dataclass
class QueryConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    captions: CaptionPoolConfig = field(default_factory=CaptionPoolConfig)
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
    # A model directory whose separator weights start a new run (not a resume: optimiser, schedule and step
    # start afresh), e.g. the committed default model continued with a decaying learning rate.
    init_from: Optional[str] = None
    # Module names (shell patterns, e.g. "*.film") re-initialised after init_from: a warm start that keeps a
    # trained separator but none of its query mapping (issue 9's equal-compute Table I).
    init_reset: list[str] = field(default_factory=list)
    # What a step trains the separator to return: "extract" (the paper: the source the query names) or
    # "louder" (a query-free warm start: the louder of the two sources, a zero query, every FiLM layer held at
    # the identity; tqse.train.objective). Issue 24's neutral start for Table I.
    objective: str = "extract"
    log_every: int = 50
    checkpoint_every: int = 1_000
    val_every: int = 5_000
    # Keep the checkpoint of every validation as checkpoints/step-<N> (besides best and last), so a model can
    # be picked afterwards by another criterion or another set. Each is a full, resumable checkpoint.
    keep_val_checkpoints: bool = False
    tensorboard: bool = False
    progress: bool = True
    device: Optional[str] = None  # default: cuda if available


@dataclass
class EvalConfig:
    manifest: Optional[str] = None  # fixed-mixture manifest scored during training (best checkpoint)
    query_field: str = "caption"  # caption | class_caption; picks the best checkpoint
    also_query_fields: list[str] = field(default_factory=list)  # scored and logged too (val_<field>_si_sdri)
    # What "best" means: the SI-SDRi of query_field ("first"), or the mean over query_field and the
    # also_query_fields that query the target ("mean": a model good with templates and with captions).
    select_by: str = "first"
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


def _parse_yaml(path: Path) -> dict:
    """One YAML file as a dict, with every way it can be unreadable as a one-line :class:`ConfigError`."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a config file")
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not a text (UTF-8) config file (byte {err.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:  # syntax errors: point at the line, as compilers do
        mark = err.problem_mark or err.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:  # e.g. a control character the YAML reader refuses
        raise ConfigError(f"{path}: invalid YAML: {_one_line(err)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping, not {type(data).__name__}")
    return data


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> list[dict]:
    """The YAML at ``path`` preceded by everything it includes (depth first), as plain dicts."""
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: include cycle")
    data = _parse_yaml(path)
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) and i for i in includes):
        raise ConfigError(f"{path}: 'include' must be a file name or a list of file names, not {includes!r}"[:300])
    layers = []
    for include in includes:
        layers += _read_yaml(path.parent / include, seen + (path,))
    return layers + [data]


def _one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _merge(config, layer, where: str):
    try:
        return OmegaConf.merge(config, layer)
    except (OmegaConfBaseException, ValueError, TypeError, LookupError) as err:
        raise ConfigError(f"{where}: {_explain(config, err)}") from None


def _explain(config, err: BaseException) -> str:
    """OmegaConf's message, or for a scalar given to a list key (its message names "AnyNode" and
    "ListConfig", words from its internals) what the key takes, with its current value as the example."""
    key = getattr(err, "full_key", None)
    current = OmegaConf.select(config, key, default=None) if key else None
    if OmegaConf.is_list(current) and "is not a ListConfig" in str(err):
        example = ",".join(str(v) for v in OmegaConf.to_container(current))
        return f"{key} takes a list, e.g. {key}=[{example}]"
    return _one_line(err)


def load_config(files: list[str | os.PathLike] = (), overrides: list[str] = ()) -> RunConfig:
    """Defaults <- each YAML file (with its includes) <- dotted overrides, validated against the schema."""
    config = OmegaConf.structured(RunConfig)
    for file in files:
        for layer in _read_yaml(Path(file)):
            config = _merge(config, layer, f"invalid config {file}")
    for override in overrides:  # one at a time, so an error names the override that caused it
        try:
            layer = OmegaConf.from_dotlist([override])
        except Exception as err:  # noqa: BLE001 - OmegaConf's parser raises IndexError etc. on odd keys
            raise ConfigError(f"override {override!r}: cannot parse ({_one_line(err)})") from None
        config = _merge(config, layer, f"override {override!r}")
    try:
        resolved: RunConfig = OmegaConf.to_object(config)
    except OmegaConfBaseException as err:
        raise ConfigError(f"invalid config: {_one_line(err)}") from None
    validate(resolved)
    return resolved


INF = math.inf

# Every numeric option, dotted key -> (lowest, highest) allowed, both inclusive; ``OPEN_ZERO`` keys must be
# strictly positive. One table, so a new option gets its bounds here and nowhere else. Upper bounds only where
# a larger value is surely a typo that would exhaust memory or hang (rates, lengths, worker processes).
NUMBER_BOUNDS: dict[str, tuple[float, float]] = {
    "data.sample_rate": (1_000, 384_000),
    "data.segment_seconds": (0.1, 3_600),
    "data.random_lowpass": (0, 1),
    "data.workers": (0, 256),
    "data.augment.p_eq": (0, 1),
    "data.augment.p_highpass": (0, 1),
    "data.augment.p_speed": (0, 1),
    "data.augment.p_reverb": (0, 1),
    "query.manipulation.specaugment.time_masks": (0, 1_000),
    "query.manipulation.specaugment.time_width": (0, 100_000),
    "query.manipulation.specaugment.freq_masks": (0, 1_000),
    "query.manipulation.specaugment.freq_width": (0, 100_000),
    "query.manipulation.pca.dim": (1, 100_000),
    "query.manipulation.pca.fit_on": (1, INF),
    "query.captions.paraphrases": (0, 100_000),
    "query.captions.typo_rate": (0, 1),
    "train.steps": (1, INF),
    "train.batch_size": (1, INF),
    "train.lr": (0, INF),
    "train.weight_decay": (0, INF),
    "train.warmup_steps": (0, INF),
    "train.constant_steps": (0, INF),
    "train.decay_every": (1, INF),
    "train.decay_factor": (0, 1),
    "train.grad_clip": (0, INF),
    "train.seed": (0, 2**32 - 1),  # numpy seeds must be >= 0; step seeds (loop.step_seed) must fit in 64 bits
    "train.log_every": (1, INF),
    "train.checkpoint_every": (1, INF),
    "train.val_every": (1, INF),
    "eval.max_mixtures": (1, INF),
}
OPEN_ZERO = {"train.lr", "train.decay_factor", "train.grad_clip"}

# [low, high] pairs from which a value is drawn uniformly: two finite numbers, low <= high, within these bounds.
RANGE_BOUNDS: dict[str, tuple[float, float]] = {
    "data.snr_db": (-100, 100),
    "data.augment.eq_db": (-40, 40),
    "data.augment.speed": (0.5, 2),
    "data.augment.rt60_s": (0.01, 10),
    "data.augment.gain_db": (-60, 40),
    "query.manipulation.dropout.p_audio": (0, 1),
    "query.manipulation.dropout.p_text": (0, 1),
    "query.manipulation.noise.alpha_audio": (0, 1_000),
    "query.manipulation.noise.alpha_text": (0, 1_000),
    "query.manipulation.mixup.snr_db": (-100, 100),
}

CLASS_HALVES = ("even", "odd")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
OBJECTIVES = ("extract", "louder")
SELECT_BY = ("first", "mean")
# interferer_class_caption queries the interferer's class: the wrong-query control (tqse.data.manifest).
QUERY_FIELDS = ("caption", "class_caption", "interferer_class_caption")


def _get(config: RunConfig, key: str) -> Any:
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _bounds_text(lo: float, hi: float, open_zero: bool) -> str:
    low = "> 0" if open_zero else f">= {lo:n}"
    return low if hi == INF else f"{low} and <= {hi:n}"


def _check_number(key: str, value: Any) -> None:
    lo, hi = NUMBER_BOUNDS[key]
    open_zero = key in OPEN_ZERO
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{key}={value!r}: must be a finite number {_bounds_text(lo, hi, open_zero)}")
    if value < lo or value > hi or (open_zero and value <= 0):
        raise ConfigError(f"{key}={value!r}: must be {_bounds_text(lo, hi, open_zero)}")


def _check_range(key: str, value: Any) -> None:
    lo, hi = RANGE_BOUNDS[key]
    numbers = list(value) if isinstance(value, (list, tuple)) else None
    if numbers is None or len(numbers) != 2:
        raise ConfigError(f"{key}={value!r}: must be a [low, high] pair of two numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in numbers):
        raise ConfigError(f"{key}={numbers!r}: both ends must be finite numbers")
    if numbers[0] > numbers[1]:
        raise ConfigError(f"{key}={numbers!r}: reversed range (low must be <= high)")
    if numbers[0] < lo or numbers[1] > hi:
        raise ConfigError(f"{key}={numbers!r}: must lie within [{lo:n}, {hi:n}]")


def check_device(name: str | None, key: str = "train.device") -> None:
    """Refuse a device this machine cannot run on, saying which part is wrong (name, type, index)."""
    if name is None:
        return
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"{key}={name!r}: not a device name (cpu, cuda, cuda:N or mps)") from None
    if device.type == "cpu":
        return
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"{key}={name!r}: no CUDA GPU is available on this machine (use cpu)")
        if device.index is not None and device.index >= count:
            raise ConfigError(f"{key}={name!r}: GPU index {device.index} does not exist (this machine has {count})")
        return
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError(f"{key}={name!r}: Apple MPS is not available on this machine (use cpu)")
        return
    raise ConfigError(f"{key}={name!r}: device type '{device.type}' is not supported for training (cpu, cuda, mps)")


def validate(config: RunConfig) -> None:
    """Refuse a config no run can use, naming the dotted key: the one place where options are checked.

    Called after every merge (:func:`load_config`) and again by ``train`` for configs built in code.
    """
    for key in NUMBER_BOUNDS:
        _check_number(key, _get(config, key))
    for key in RANGE_BOUNDS:
        _check_range(key, _get(config, key))
    modes = {"query.mode": config.query.mode, **{f"query.modes.{k}": v for k, v in config.query.modes.items()}}
    bad = [(key, mode) for key, mode in modes.items() if mode not in QUERY_MODES]
    if bad:
        raise ConfigError(f"{bad[0][0]}={bad[0][1]!r}: query mode is not one of {', '.join(QUERY_MODES)}")
    named = list(config.data.use) + list(config.query.modes) + list(config.data.interferers) + list(config.data.fraction)
    unknown = [name for name in named if name not in config.data.manifests]
    if config.data.use and unknown:
        raise ConfigError(f"dataset {unknown[0]!r} has no manifest (set data.manifests.{unknown[0]}=PATH)")
    for name, share in config.data.fraction.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ConfigError(f"data.fraction.{name}={share!r}: must be a number in (0, 1]")
    for name, half in config.data.class_subset.items():
        if half not in CLASS_HALVES:
            raise ConfigError(f"data.class_subset.{name}={half!r}: must be one of {', '.join(CLASS_HALVES)}")
    if config.train.precision not in PRECISIONS:
        raise ConfigError(f"train.precision must be auto, bf16, fp16 or fp32, not {config.train.precision!r}")
    for key, value in [("eval.query_field", config.eval.query_field)] + \
            [("eval.also_query_fields", v) for v in config.eval.also_query_fields]:
        if value not in QUERY_FIELDS:
            raise ConfigError(f"{key} must be one of {', '.join(QUERY_FIELDS)}, not {value!r}")
    if config.train.objective not in OBJECTIVES:
        raise ConfigError(f"train.objective must be one of {', '.join(OBJECTIVES)}, not {config.train.objective!r}")
    if config.eval.select_by not in SELECT_BY:
        raise ConfigError(f"eval.select_by must be one of {', '.join(SELECT_BY)}, not {config.eval.select_by!r}")
    if not isinstance(config.model.name, str) or not config.model.name:
        raise ConfigError("model.name must be a preset or model name")
    check_device(config.train.device)


def to_dict(config: RunConfig) -> dict[str, Any]:
    return OmegaConf.to_container(OmegaConf.structured(config), resolve=True)


def to_yaml(config: RunConfig) -> str:
    return yaml.safe_dump(to_dict(config), sort_keys=False)


# Keys that do not change results: left out of the run's hash (and so of its folder name).
NOT_HASHED = ("name", "output_dir", "train.progress", "train.tensorboard", "train.device",
              "train.keep_val_checkpoints")
# Keys a resumed run may change: when to stop, log and save, and how many loader processes (examples are a pure
# function of seed and index, see tqse.data.dataset), none of which alters the steps already taken.
RESUME_MAY_CHANGE = ("train.steps", "train.log_every", "train.checkpoint_every", "data.workers")


def config_hash(config: RunConfig) -> str:
    """Hash of everything that changes results (name, output folder and display settings excluded).

    Only values that differ from the defaults are hashed, so an option added to tqse later (at a default
    that keeps old behaviour) leaves the hash, and so the run folder a command resumes, unchanged.
    """
    defaults = flatten(to_dict(RunConfig()))
    data = {k: v for k, v in flatten(to_dict(config)).items()
            if (k not in defaults or v != defaults[k]) and not any(k == n or k.startswith(n + ".") for n in NOT_HASHED)}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:8]


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"dotted.key": value}`` (lists and other values are leaves)."""
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out.update(flatten(value, name) if isinstance(value, dict) and value else {name: value})
    return out


def changed_keys(stored: dict[str, Any], config: RunConfig) -> list[str]:
    """Dotted keys whose value differs between a stored resolved config and ``config``, ignoring keys that do
    not change results or may change on resume, and keys only one side has (options added or removed since)."""
    old, new = flatten(stored), flatten(to_dict(config))
    ignored = (*NOT_HASHED, *RESUME_MAY_CHANGE)
    return sorted(k for k in old.keys() & new.keys()
                  if old[k] != new[k] and not any(k == i or k.startswith(i + ".") for i in ignored))
