"""Build what a run needs from its config: training clips, encoder, the model (with its PCA projection), data
loader."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from tqse.config import RunConfig
from tqse.data.dataset import IndexSampler, MixtureDataset, check_mixable, class_caption, collate
from tqse.data.locations import default_training_manifest, resolve_manifest
from tqse.data.manifest import ClipRecord, classes_at, read_clips
from tqse.errors import CheckpointError, ConfigError
from tqse.files import tqse_home
from tqse.models import resolve_preset
from tqse.models.separator import PCAProjection, Separator

log = logging.getLogger(__name__)


def default_manifests() -> dict[str, str]:
    """The built-in default training data when ``data.use`` is empty (see :mod:`tqse.data.locations`)."""
    return {"builtin": str(default_training_manifest())}


def training_sources(config: RunConfig) -> dict[str, str]:
    """Dataset name -> clip manifest (``*.jsonl``) or shard index (``shards.json``) for this run."""
    if not config.data.use:
        return default_manifests()
    return {name: resolve_manifest(config.data.manifests[name]) for name in config.data.use}


def is_shard_index(path: str) -> bool:
    return path.endswith(".json") and not path.endswith(".jsonl")


def training_clips(config: RunConfig) -> list[ClipRecord]:
    """Clips of every manifest source (shard sources stream instead: see :func:`build_loader`)."""
    manifests = {k: v for k, v in training_sources(config).items() if not is_shard_index(v)}
    clips = [clip for name, path in manifests.items() for clip in _dataset_clips(config, name, path)]
    return with_caption_pool(clips, config)


def interferer_clips(config: RunConfig) -> list[ClipRecord]:
    """Clips of the interferer-only datasets (``data.interferers``)."""
    return [clip for name in config.data.interferers
            for clip in _dataset_clips(config, name, resolve_manifest(config.data.manifests[name]))]


def _dataset_clips(config: RunConfig, name: str, path: str) -> list[ClipRecord]:
    found = read_clips(path, dataset=name, split=config.data.split)
    if name in config.data.class_subset:
        found = class_half(found, config.data.class_subset[name], path)
    if name in config.data.fraction:
        found = group_fraction(found, config.data.fraction[name])
    log.info("dataset %s: %d clips from %s", name, len(found), path)
    return found


def group_fraction(clips: list[ClipRecord], share: float) -> list[ClipRecord]:
    """The clips of about ``share`` of the recording groups, chosen by a hash of the group name: the same
    groups for every seed and run, and nested (a smaller share keeps a subset of a larger one's groups)."""
    import hashlib

    def position(clip: ClipRecord) -> float:
        group = str(clip.extra.get("recording_group") or clip.path)
        return int(hashlib.sha1(group.encode()).hexdigest()[:8], 16) / 16 ** 8

    return [c for c in clips if position(c) < share]


def with_caption_pool(clips: list[ClipRecord], config: RunConfig) -> list[ClipRecord]:
    """``clips`` with each labelled clip of a captioned dataset also drawing its text query from the caption
    pool of its class (``query.captions``; seeded by ``train.seed``, so a resumed run draws the same pool)."""
    from dataclasses import replace

    pool = config.query.captions
    sources = (("paraphrase",) if pool.paraphrases > 0 else ()) + (("audiocaps",) if pool.audiocaps else ())
    if not sources:
        return clips
    from tqse.query.caption_data import training_pools
    from tqse.query.paraphrase import load_lexicon

    skip = set(config.data.class_caption_datasets)
    known = load_lexicon()
    classes = sorted({c.label for c in clips if c.label in known and c.dataset not in skip})
    pools = training_pools(classes, sources, pool.paraphrases, pool.typo_rate, config.train.seed)
    log.info("caption pool (%s): %d captions for %d classes", "+".join(sources),
             sum(len(v) for v in pools.values()), len(classes))
    return [replace(c, captions=list(dict.fromkeys(c.captions + pools[c.label])))
            if c.label in pools and c.dataset not in skip else c for c in clips]


def class_half(clips: list[ClipRecord], half: str, source: str = "manifest") -> list[ClipRecord]:
    """The clips whose class sits at an even (``half="even"``) or odd position of the sorted class list."""
    if any(c.label is None for c in clips):
        raise ConfigError(f"{source}: data.class_subset needs a class on every clip")
    keep = classes_at((c.label for c in clips), half)
    return [c for c in clips if c.label in keep]


def pca_captions(clips: list[ClipRecord], config: RunConfig) -> list[str]:
    """Captions for fitting PCA: the first ``fit_on`` distinct training captions (class templates for
    datasets without captions), as the paper fits on 1000 AudioCaps text embeddings."""
    captions: dict[str, None] = {}
    for clip in clips:
        if clip.dataset in config.data.class_caption_datasets or not clip.captions:
            candidates = [class_caption(clip.label)] if clip.label else []
        else:
            candidates = clip.captions
        captions.update(dict.fromkeys(candidates))
        if len(captions) >= config.query.manipulation.pca.fit_on:
            break
    return list(captions)[: config.query.manipulation.pca.fit_on]


def fit_pca(encoder, clips: list[ClipRecord], config: RunConfig) -> PCAProjection | None:
    pca_config = config.query.manipulation.pca
    if not pca_config.enabled:
        return None
    captions = pca_captions(clips, config)
    if len(captions) < pca_config.dim:
        raise ConfigError(f"PCA to {pca_config.dim} dims needs at least {pca_config.dim} distinct captions in the "
                          f"training data, found {len(captions)}")
    with torch.no_grad():
        embeddings = torch.cat([encoder.embed_text(captions[i:i + 64]).cpu() for i in range(0, len(captions), 64)])
    log.info("PCA fitted on %d text embeddings -> %d dims", len(captions), pca_config.dim)
    return PCAProjection.fit(embeddings, pca_config.dim, inverse=pca_config.inverse)


def encoder_spec(config: RunConfig) -> dict:
    """The run's query encoder as a model directory names it: ``{"name", "path", "kwargs"}``. An option set to
    null is left to the backend's default: YAML layers merge, so null is how a later layer (a test setup that
    swaps in the hash encoder) unsets an option an earlier one pinned (a built-in encoder version)."""
    encoder = config.query.encoder
    kwargs = {key: value for key, value in encoder.kwargs.items() if value is not None}
    return {"name": encoder.name, "path": encoder.path, "kwargs": kwargs}


def resumed_encoder_spec(checkpoints: Path, spec: dict) -> dict:
    """The encoder a resumed run keeps: a run that names the shipped built-in encoder without a version
    continues with the version its checkpoints were trained with (a run started before version 2 became the
    default must not switch text sides halfway); any other spec is the run config's own."""
    from tqse.models.model_dir import read_model_config
    from tqse.train.checkpoint import CHECKPOINT_NAMES

    if spec["name"] != "builtin" or spec["path"] is not None or "version" in spec["kwargs"]:
        return spec
    for name in CHECKPOINT_NAMES:
        try:
            recorded = read_model_config(checkpoints / name)["encoder"]
        except (CheckpointError, OSError):
            continue  # absent or damaged: resume_point decides what to do about it
        version = (recorded.get("kwargs") or {}).get("version") if recorded.get("name") == "builtin" else None
        if version is not None:
            return {**spec, "kwargs": {**spec["kwargs"], "version": version}}
    return spec


def model_spec(config: RunConfig, query_dim: int) -> tuple[str, dict]:
    """(model name, kwargs) to build and to store in checkpoints."""
    return resolve_preset(config.model.name, **{"query_dim": query_dim, "sample_rate": config.data.sample_rate,
                                                **config.model.kwargs})


def build_training_model(config: RunConfig, encoder_dim: int, pca: PCAProjection | None = None) -> Separator:
    """The run's separator, behind the fitted PCA projection when the run uses one."""
    name, kwargs = model_spec(config, pca.out_dim if pca is not None else encoder_dim)
    try:
        return Separator.around(name, kwargs, pca)
    except (TypeError, ValueError, RuntimeError, AssertionError, ArithmeticError) as err:  # bad model.kwargs
        raise ConfigError(f"model '{config.model.name}' (model.kwargs {config.model.kwargs}): "
                          f"{str(err).splitlines()[0] if str(err) else type(err).__name__}") from None


def build_loader(config: RunConfig, clips: list[ClipRecord], rank: int, world_size: int,
                 start_step: int) -> torch.utils.data.DataLoader:
    """Map-style mixing over manifest clips, or stream mixing when the sources are shard indexes.

    Examples carry a mixup partner when the mixup query augmentation is on, and their cache key when queries
    are read from an embedding cache.
    """
    data = config.data
    carry = dict(mixup_partner=config.query.manipulation.mixup.enabled, cache_keys=bool(config.query.cache_dir))
    loader_args = dict(num_workers=data.workers, collate_fn=collate, prefetch_factor=4 if data.workers else None)
    if config.train.batch_size % world_size:
        raise ConfigError(f"train.batch_size={config.train.batch_size} is the global batch: it must be divisible "
                          f"by the {world_size} processes")
    shards = {k: v for k, v in training_sources(config).items() if is_shard_index(v)}
    if shards:
        return _stream_loader(config, shards, carry, rank, world_size, start_step, len(clips), loader_args)
    source = ", ".join(v for v in training_sources(config).values())
    preload_cache = str(tqse_home() / "preload") if data.preload else None
    dataset = MixtureDataset(clips, data, seed=config.train.seed, preload_cache=preload_cache, source=source,
                             interferer_clips=interferer_clips(config), **carry)
    sampler = IndexSampler(config.train.batch_size, rank, world_size, start_step, config.train.steps)
    return torch.utils.data.DataLoader(dataset, batch_size=sampler.local_batch, sampler=sampler, **loader_args)


def _stream_loader(config: RunConfig, shards: dict[str, str], carry: dict, rank: int, world_size: int,
                   start_step: int, n_manifest_clips: int, loader_args: dict) -> torch.utils.data.DataLoader:
    from tqse.data.shards import ShardStream
    from tqse.data.stream_mixing import StreamMixtureDataset

    if config.data.interferers:
        raise ConfigError("data.interferers works with clip manifests, not shard sets")
    if n_manifest_clips or len(shards) > 1:
        raise ConfigError("train from one shard set at a time, not mixed with manifests "
                          "(write all sources into one set with `tqse shards write`)")
    local_batch = config.train.batch_size // world_size
    index = next(iter(shards.values()))
    stream = ShardStream(index, seed=config.train.seed, sample_rate=config.data.sample_rate,
                         shuffle_buffer=256, infinite=True, rank=rank, world_size=world_size)
    # The manifest path's check, from the index's counts: a set that cannot make a mixture would
    # otherwise spin in the loader (no clip) or mix a clip with itself (one clip, or one class).
    check_mixable(len(stream), stream.classes(), config.data.different_class, index)
    stream.set_start(start_step, local_batch)
    dataset = StreamMixtureDataset(stream, config.data, seed=config.train.seed, source=index, **carry)
    return torch.utils.data.DataLoader(dataset, batch_size=local_batch, **loader_args)


def run_dir_for(config: RunConfig) -> Path:
    from tqse.config import config_hash

    return Path(config.output_dir) / f"{config.name}-{config_hash(config)}"
