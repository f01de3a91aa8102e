"""On-the-fly mixing dataset over clip manifests (seed paper Sec. IV-A), and what it yields: an
:class:`Example` per index, a :class:`Batch` per step (:func:`collate`).

Every training example is a pure function of ``(seed, index)``: the target clip, its crop, the interferer,
its crop, the SNR and the caption are drawn from ``numpy.random.default_rng([seed, index])``. So any
worker, rank or resumed run that asks for index ``i`` gets the same mixture, and "data position" is just
the next index (see :class:`IndexSampler`). Stream mixing (:mod:`tqse.data.stream_mixing`) draws targets
and interferers differently but finishes each example with the same :class:`ExampleBuilder`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from tqse.audio.io import AudioError, audio_info, load_audio
from tqse.config import DataConfig
from tqse.data.augment import SourceAugment
from tqse.data.manifest import CLASS_TEMPLATE, ClipRecord, ManifestError, audio_cache_key
from tqse.data.mixing import mix_at_snr, random_lowpass

log = logging.getLogger(__name__)

SILENT_PEAK = 1e-4  # a crop quieter than this is re-drawn: SI-SDR of a silent target is undefined
MAX_REDRAWS = 8


def class_caption(label: str) -> str:
    """The paper's class template for data with labels but no captions."""
    return CLASS_TEMPLATE.format(label)


def caption_for(clip: ClipRecord, rng: np.random.Generator, class_caption_datasets: set[str]) -> str:
    """The text query of a training example: the class template for label-only datasets, else one of the
    clip's captions at random ("" for audio-only clips)."""
    if clip.dataset in class_caption_datasets:
        return class_caption(clip.label) if clip.label else ""
    return clip.captions[rng.integers(len(clip.captions))] if clip.captions else ""


def fit_segment(wav: np.ndarray, segment: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``segment``-long crop; a shorter clip is placed at a random offset in zeros."""
    if wav.shape[0] >= segment:
        start = int(rng.integers(0, wav.shape[0] - segment + 1))
        return wav[start:start + segment]
    pad = segment - wav.shape[0]
    left = int(rng.integers(0, pad + 1))
    return np.pad(wav, (left, pad - left))


@dataclass
class Example:
    """One training example: float32 ``[T]`` arrays at the model rate, and what its query is made from."""

    mixture: np.ndarray
    target: np.ndarray
    caption: str  # the text query ("" for a clip without captions)
    clip: ClipRecord  # the target's clip
    snr_db: float
    cache_key: str | None = None  # the target's row in the embedding cache, when the run reads one
    partner: np.ndarray | None = None  # another clip, for the mixup query augmentation


@dataclass
class Batch:
    """The examples of one step, stacked (:func:`collate`). Shape: ``B`` examples of ``T`` samples."""

    mixture: torch.Tensor  # [B, T]
    target: torch.Tensor  # [B, T]
    captions: list[str]
    datasets: list[str]  # each target clip's dataset: the query modality can depend on it
    clips: list[ClipRecord]
    snr_db: list[float]
    cache_keys: list[str] | None = None
    partner: torch.Tensor | None = None  # [B, T]


def collate(examples: list[Example]) -> Batch:
    def stack(arrays: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(arrays))

    first = examples[0]
    return Batch(mixture=stack([e.mixture for e in examples]), target=stack([e.target for e in examples]),
                 captions=[e.caption for e in examples], datasets=[e.clip.dataset for e in examples],
                 clips=[e.clip for e in examples], snr_db=[e.snr_db for e in examples],
                 cache_keys=None if first.cache_key is None else [e.cache_key for e in examples],
                 partner=None if first.partner is None else stack([e.partner for e in examples]))


class ExampleBuilder:
    """The last draws of every training example, shared by map-style and stream mixing: the mixture at the
    drawn SNR, then the caption, then (when asked) the mixup partner; plus the cache key (when asked).

    Args:
        config: the ``data`` section (segment length, class_caption_datasets).
        mixup_partner: draw a partner clip (the paper's mixup query augmentation mixes it into the target).
        cache_keys: give each example its target's embedding-cache key (runs that read an embedding cache).
    """

    def __init__(self, config: DataConfig, mixup_partner: bool = False, cache_keys: bool = False):
        self.class_caption_datasets = set(config.class_caption_datasets)
        self.segment_seconds = config.segment_seconds
        self.mixup_partner, self.cache_keys = mixup_partner, cache_keys
        self.augment = SourceAugment(config.augment, config.sample_rate)

    def __call__(self, clip: ClipRecord, target: np.ndarray, interferer: np.ndarray, snr_db: float,
                 rng: np.random.Generator, draw_partner: Callable[[], np.ndarray]) -> Example:
        mixture, target, _ = mix_at_snr(target, interferer, snr_db)
        mixture, target = self.augment.level(mixture, target, rng)
        caption = caption_for(clip, rng, self.class_caption_datasets)
        partner = draw_partner() if self.mixup_partner else None
        key = audio_cache_key(clip, self.segment_seconds) if self.cache_keys else None
        return Example(mixture, target, caption, clip, snr_db, key, partner)


def check_mixable(n_clips: int, classes: set[str] | None, different_class: bool, source: str) -> None:
    """Refuse training data that cannot make a mixture, for clip manifests and shard sets alike.

    Args:
        n_clips: clips in the source.
        classes: the distinct classes, or None when some clip has none (then any two clips may be mixed).
        source: the manifest(s) or shard index, named in the error.
    Raises:
        ManifestError: fewer than two clips, or one class while ``different_class`` is on.
    """
    if n_clips < 2:
        raise ManifestError(f"{source}: {n_clips} clip(s); mixing needs at least two clips")
    if different_class and classes is not None and len(classes) < 2:
        raise ManifestError(f"{source}: every clip has class {next(iter(classes))!r}; mixing clips of different "
                            "classes needs at least two classes (or set data.different_class=false)")


class MixtureDataset(torch.utils.data.Dataset):
    """Map-style dataset with an unbounded index space: ``dataset[i]`` is training mixture number ``i``.

    The interferer of a labelled target is any clip of another class or without one; the interferer of a
    class-less (audio-only) target is any clip from another recording group.

    Args:
        clips: single-source clips (from one or several manifests): the targets.
        interferer_clips: clips drawn only as interferers (``data.interferers``), besides ``clips``.
        config: the run config's ``data`` section: sample rate, segment length, SNR range, different_class,
            random_lowpass, preload, and class_caption_datasets (text query "this is the sound of {class}").
        seed: base seed; example ``i`` depends only on ``(seed, i)``.
        mixup_partner, cache_keys: what each example carries besides the mixture (see :class:`ExampleBuilder`).
        preload_cache: folder for the decoded store of ``config.preload``, so a resumed run skips decoding.
        source: where the clips came from (manifest paths), named in errors.
    Returns (per item) an :class:`Example`.
    """

    def __init__(self, clips: Sequence[ClipRecord], config: DataConfig, seed: int = 0, mixup_partner: bool = False,
                 cache_keys: bool = False, preload_cache: str | None = None, source: str = "the training clips",
                 interferer_clips: Sequence[ClipRecord] = ()):
        labels = [c.label for c in clips]
        every = labels + [c.label for c in interferer_clips]
        check_mixable(len(every), set(every) if all(every) else None, config.different_class, source)
        self.clips, self.config, self.seed = list(clips), config, seed
        # targets first, so a target's index is the same in both lists
        self.sources = self.clips + list(interferer_clips)
        self.build = ExampleBuilder(config, mixup_partner, cache_keys)
        self.augment = self.build.augment
        self.segment = int(round(config.segment_seconds * config.sample_rate))
        self._warned: set[str] = set()
        self._fill_headers()
        self.store = None
        if config.preload:
            from tqse.data.preload import ClipStore

            self.store = ClipStore.build(self.sources, config.sample_rate, preload_cache)
        self._by_label: dict[str, np.ndarray] = {}
        self._groups = [c.extra.get("recording_group") or c.path for c in self.sources]
        if config.different_class and any(labels):
            others = [c.label for c in self.sources]
            for label in set(labels) - {None}:
                self._by_label[label] = np.flatnonzero([lab != label for lab in others])

    def _fill_headers(self) -> None:
        for clip in self.sources:
            if clip.frames is None or clip.sample_rate is None:
                info = audio_info(clip.path)
                clip.frames, clip.sample_rate = info.frames, info.sample_rate

    def __len__(self) -> int:  # nominal: the index space is unbounded, samplers never rely on this
        return 2**62

    def _crop(self, index: int, rng: np.random.Generator) -> np.ndarray:
        """A random ``segment``-long crop at the model rate; shorter clips are placed at a random offset
        in zeros (the paper's 10 s AudioCaps/VGGSound clips need no padding)."""
        if self.store is not None:
            start = int(rng.integers(0, max(self.store.frames(index) - self.segment, 0) + 1))
            return fit_segment(self.store.audio(index, start, self.segment), self.segment, rng)
        clip, rate = self.sources[index], self.config.sample_rate
        need = int(np.ceil(self.segment * clip.sample_rate / rate))
        start = int(rng.integers(0, max(clip.frames - need, 0) + 1))
        wav, _ = load_audio(clip.path, rate, offset=start, frames=need, allow_silent=True)
        return fit_segment(wav[: self.segment], self.segment, rng)

    def _audible_crop(self, index: int, rng: np.random.Generator) -> np.ndarray | None:
        """A crop with signal in it, or None after ``MAX_REDRAWS`` silent tries (the caller draws another
        clip: one mostly silent file must not stop a long run)."""
        for _ in range(MAX_REDRAWS):
            wav = self._crop(index, rng)
            if self.config.random_lowpass:
                wav = random_lowpass(wav, rng, self.config.random_lowpass, self.config.sample_rate)
            wav = self.augment.source(wav, rng)
            if np.abs(wav).max() >= SILENT_PEAK:
                return wav
        clip = self.sources[index]
        if clip.path not in self._warned:
            self._warned.add(clip.path)
            log.warning("%s: no audible %g s crop in %d tries; drawing another clip", clip.path,
                        self.config.segment_seconds, MAX_REDRAWS)
        return None

    def _draw_audible(self, rng: np.random.Generator, other_than: int | None = None) -> tuple[int, np.ndarray]:
        """(clip index, audible crop) of a random clip (of another class than ``other_than``, if set)."""
        for _ in range(MAX_REDRAWS):
            index = int(rng.integers(len(self.clips))) if other_than is None else self._draw_other(other_than, rng)
            wav = self._audible_crop(index, rng)
            if wav is not None:
                return index, wav
        raise AudioError(f"{MAX_REDRAWS} clips in a row had no audible {self.config.segment_seconds:g} s crop "
                         f"(last: {self.sources[index].path}): check the manifest")

    def _draw_other(self, target_index: int, rng: np.random.Generator) -> int:
        label = self.clips[target_index].label
        if label in self._by_label:
            pool = self._by_label[label]
            return int(pool[rng.integers(len(pool))])
        for _ in range(MAX_REDRAWS):
            other = int(rng.integers(len(self.sources) - 1))
            other += other >= target_index  # any clip but the target itself ...
            if label is not None or self._groups[other] != self._groups[target_index]:
                return other  # ... and for a class-less target, not a take of the same recording
        return other

    def __getitem__(self, index: int) -> Example:
        rng = np.random.default_rng([self.seed, int(index)])
        target_index, target = self._draw_audible(rng)
        interferer = self._draw_audible(rng, other_than=target_index)[1]
        snr = float(rng.uniform(*self.config.snr_db))
        return self.build(self.clips[target_index], target, interferer, snr, rng,
                          lambda: self._draw_audible(rng, other_than=target_index)[1])


class IndexSampler(torch.utils.data.Sampler):
    """Yields the global example indices of one rank, from a resumable position.

    Step ``s`` of a run with global batch ``G`` uses indices ``[s*G, (s+1)*G)``; rank ``r`` of ``W`` takes
    the ``r``-th contiguous slice of ``G / W``. A one-process run with batch ``G`` therefore sees exactly
    the examples a ``W``-process run sees, which is what makes DDP runs comparable and resumable.
    """

    def __init__(self, global_batch: int, rank: int = 0, world_size: int = 1, start_step: int = 0,
                 steps: int | None = None):
        if global_batch % world_size:
            raise ValueError(f"global batch {global_batch} is not divisible by world size {world_size}")
        self.global_batch, self.rank, self.world_size = global_batch, rank, world_size
        self.start_step, self.steps = start_step, steps
        self.local_batch = global_batch // world_size

    def __iter__(self) -> Iterator[int]:
        step = self.start_step
        while self.steps is None or step < self.steps:
            first = step * self.global_batch + self.rank * self.local_batch
            yield from range(first, first + self.local_batch)
            step += 1

    def __len__(self) -> int:
        if self.steps is None:
            raise TypeError("an open-ended sampler has no length")
        return max(self.steps - self.start_step, 0) * self.local_batch
