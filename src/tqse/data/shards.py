"""Sharded tar archives (WebDataset layout) for large collections, written and read with stdlib tarfile.

Layout: ``shard-000000.tar, shard-000001.tar, ...`` plus ``shards.json`` (shard names and clip counts).
Each clip is two consecutive tar members sharing a key, as WebDataset expects::

    000000042.flac   the clip's audio bytes (copied as-is, or re-encoded to FLAC at one rate)
    000000042.json   its manifest line (caption(s), class, dataset, frames, sample_rate, source path, ...)

so the shards also load with the ``webdataset`` package; tqse itself needs no extra dependency.

Reading order is a pure function of ``(seed, epoch, rank, world_size, worker, num_workers)``: every epoch
permutes the shards, global worker ``g = rank * num_workers + worker`` reads shards ``perm[g::W]``, and an
optional shuffle buffer (seeded the same way) mixes clips within them. A stream resumes exactly from the
number of batches the training loop consumed (:meth:`ShardStream.set_start`), skipping whole epochs and
shards from the index without reading them. Shards stream from local disk, ``http(s)://`` URLs or any
``pipe:COMMAND`` that writes the tar to stdout (``pipe:aws s3 cp s3://bucket/{name} -``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import tarfile
import urllib.request
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import soundfile as sf
import torch

from tqse.audio.io import load_audio
from tqse.audio.resample import resample
from tqse.data.manifest import ClipRecord, ManifestError, write_json
from tqse.files import atomic_write

log = logging.getLogger(__name__)
INDEX_NAME = "shards.json"
FORMAT = "tqse-shards/1"


# ----------------------------------------------------------------------------------------------- writing
def _clip_bytes(clip: ClipRecord, sample_rate: int | None) -> tuple[bytes, str, int, int]:
    """Audio bytes, extension, frames and rate of one clip: the file as-is, or FLAC at ``sample_rate``."""
    if sample_rate is None:
        info = sf.info(clip.path)
        return Path(clip.path).read_bytes(), Path(clip.path).suffix.lstrip(".").lower(), info.frames, \
            info.samplerate
    wav, sr = load_audio(clip.path, sample_rate, allow_silent=True)
    buf = io.BytesIO()
    sf.write(buf, wav, sr, format="FLAC", subtype="PCM_16")
    return buf.getvalue(), "flac", int(wav.shape[0]), sr


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644  # fixed mtime: identical input, identical shard
    tar.addfile(info, io.BytesIO(data))


def _write_one_shard(path: Path, clips: list[ClipRecord], first_key: int, sample_rate: int | None,
                     skipped: Counter, classes: Counter) -> tuple[int, float]:
    count, shortest = 0, float("inf")
    with atomic_write(path) as tmp, tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for i, clip in enumerate(clips):
            try:
                data, ext, frames, sr = _clip_bytes(clip, sample_rate)
            except (OSError, RuntimeError, ValueError) as err:  # unreadable/missing: skip, never crash
                skipped["unreadable"] += 1
                log.debug("shards: skipping %s: %s", clip.path, err)
                continue
            key = f"{first_key + i:09d}"
            meta = clip.to_json()
            meta.update(source=meta.pop("path"), frames=frames, sample_rate=sr)
            _add_member(tar, f"{key}.{ext}", data)
            _add_member(tar, f"{key}.json", json.dumps(meta, ensure_ascii=False).encode())
            count += 1
            shortest = min(shortest, frames / sr)
            classes[clip.label or ""] += 1
    return count, shortest


def write_shards(clips: list[ClipRecord], out_dir: str | os.PathLike, *, clips_per_shard: int = 1000,
                 sample_rate: int | None = None, prefix: str = "shard", resume: bool = True,
                 progress: bool = False) -> dict[str, Any]:
    """Write ``clips`` into tar shards of ``clips_per_shard`` clips each, plus ``shards.json``.

    Shard ``n`` always holds clips ``[n*k, (n+1)*k)`` of the list, so an interrupted run resumes by
    skipping the shards already listed in the index. Unreadable clips are skipped and counted.

    Args:
        sample_rate: re-encode every clip to 16-bit FLAC at this rate (resample once, here, instead of
            in every training step); ``None`` copies the original file bytes.
    Returns:
        The index dict (also written to ``out_dir/shards.json``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    index_path = out_dir / INDEX_NAME
    index = {"format": FORMAT, "clips_per_shard": clips_per_shard, "sample_rate": sample_rate, "shards": [],
             "skipped": {}}
    if resume and index_path.exists():
        old = json.loads(index_path.read_text())
        if old.get("clips_per_shard") == clips_per_shard and old.get("sample_rate") == sample_rate:
            index = old
    index["shards"] = [s for s in index["shards"] if (out_dir / s["name"]).exists()]  # deleted: redo
    done = {s["name"] for s in index["shards"]}
    skipped = Counter(index.get("skipped", {}))
    starts = range(0, len(clips), clips_per_shard)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="shards", unit="shard")
    for n, start in enumerate(starts):
        name = f"{prefix}-{n:06d}.tar"
        if name in done:
            continue
        classes: Counter = Counter()
        count, shortest = _write_one_shard(out_dir / name, clips[start:start + clips_per_shard], start,
                                           sample_rate, skipped, classes)
        # The shortest clip lets a reader with a minimum length trust the count without opening the shard;
        # the class counts ("" = unlabelled) let a trainer refuse a one-class set before streaming it.
        index["shards"].append({"name": name, "clips": count, "shortest_seconds": round(shortest, 3) if count else 0.0,
                                "bytes": (out_dir / name).stat().st_size, "classes": dict(classes)})
        index["skipped"] = dict(skipped)
        write_json(index_path, index)
    index["shards"].sort(key=lambda s: s["name"])
    index["total"] = sum(s["clips"] for s in index["shards"])
    write_json(index_path, index)
    log.info("shards: %d clips in %d shards under %s (%d unreadable skipped)", index["total"],
             len(index["shards"]), out_dir, skipped["unreadable"])
    return index


# ----------------------------------------------------------------------------------------------- order
def shard_order(n_shards: int, *, seed: int, epoch: int, rank: int = 0, world_size: int = 1,
                worker: int = 0, num_workers: int = 1, shuffle: bool = True) -> list[int]:
    """Shard indices that global worker ``(rank, worker)`` reads in ``epoch``: disjoint across workers,
    together covering every shard once, identical on every call with the same arguments."""
    total = world_size * num_workers
    if n_shards < total:
        raise ManifestError(f"{n_shards} shards cannot feed {world_size} ranks x {num_workers} workers: "
                            f"write at least {total} shards (smaller --clips-per-shard)")
    order = np.random.default_rng([seed, epoch]).permutation(n_shards) if shuffle else np.arange(n_shards)
    return [int(i) for i in order[rank * num_workers + worker::total]]


# ----------------------------------------------------------------------------------------------- reading
@contextmanager
def open_url(url: str) -> Iterator[io.RawIOBase]:
    """A readable byte stream for a local path, ``file:``/``http(s)://`` URL or ``pipe:COMMAND``."""
    if url.startswith("pipe:"):
        proc = subprocess.Popen(url[5:], shell=True, stdout=subprocess.PIPE)
        try:
            yield proc.stdout
        finally:
            proc.stdout.close()
            if proc.wait() != 0:
                raise ManifestError(f"{url}: command exited with status {proc.returncode}")
    elif url.startswith(("http://", "https://")):
        with urllib.request.urlopen(url) as response:
            yield response
    else:
        path = url[5:] if url.startswith("file:") else url
        if not os.path.exists(path):
            raise ManifestError(f"{path}: shard not found")
        with open(path, "rb") as f:
            yield f


def iter_shard_samples(url: str) -> Iterator[tuple[str, dict[str, bytes]]]:
    """``(key, {extension: bytes})`` for each clip of one tar shard, read as a stream."""
    with open_url(url) as stream, tarfile.open(fileobj=stream, mode="r|*") as tar:
        key, group = None, {}
        for member in tar:
            if not member.isfile():
                continue
            base = os.path.basename(member.name)
            member_key, _, ext = base.partition(".")
            if member_key != key and group:
                yield key, group
                group = {}
            key = member_key
            group[ext] = tar.extractfile(member).read()
        if group:
            yield key, group


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class ShardStream(torch.utils.data.IterableDataset):
    """Clips from shards as ``(ClipRecord, float32 wav [T], sample_rate)``, in a deterministic order.

    Args:
        index: path or URL of ``shards.json``.
        url_template: where shards live, e.g. ``"pipe:aws s3 cp s3://b/set/{name} -"``; default: next to
            the index.
        sample_rate: resample decoded audio to this rate (no-op for shards written at that rate).
        min_seconds: clips shorter than this are skipped (counted in ``self.skipped``).
        shuffle_buffer: clips mixed within the worker's stream (0 = shard order only).
        infinite: loop over epochs forever (step-based training; ranks never run dry at different times).
        rank, world_size: default from ``torch.distributed`` or ``RANK``/``WORLD_SIZE``.
    """

    def __init__(self, index: str | os.PathLike, *, url_template: str | None = None, seed: int = 0,
                 sample_rate: int | None = None, min_seconds: float = 0.0, shuffle: bool = True,
                 shuffle_buffer: int = 0, infinite: bool = False, rank: int | None = None,
                 world_size: int | None = None):
        super().__init__()
        index = self.index_url = str(index)
        with open_url(index) as f:
            try:
                self.index = json.loads(f.read())
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise ManifestError(f"{index}: not a tqse shard index ({err})") from None
        if not isinstance(self.index, dict) or self.index.get("format") != FORMAT:
            found = self.index.get("format") if isinstance(self.index, dict) else type(self.index).__name__
            raise ManifestError(f"{index}: not a tqse shard index (format {found!r})")
        base = index.rsplit("/", 1)[0] if "/" in index else "."
        try:
            self.urls = [(url_template or base + "/{name}").format(name=s["name"]) for s in self.index["shards"]]
            self.counts = [int(s["clips"]) for s in self.index["shards"]]
        except (KeyError, TypeError, ValueError) as err:
            raise ManifestError(f"{index}: damaged shard list ({type(err).__name__}: {err})") from None
        self.seed, self.sample_rate, self.min_seconds = seed, sample_rate, min_seconds
        self.shuffle, self.shuffle_buffer, self.infinite = shuffle, shuffle_buffer, infinite
        dist_rank, dist_world = _distributed()
        self.rank = dist_rank if rank is None else rank
        self.world_size = dist_world if world_size is None else world_size
        self.epoch, self.start_batches, self.batch_size = 0, 0, 1
        self.skipped: Counter = Counter()
        self._counts: dict[int, int] = {}

    def __len__(self) -> int:
        return sum(self.counts)

    def classes(self) -> set[str] | None:
        """The distinct classes of the set's clips, from the index; None when some clip has none or the
        index predates class counts (then nothing is known without reading every shard)."""
        entries = self.index["shards"]
        if not all(isinstance(s.get("classes"), dict) for s in entries):
            return None
        found = {label for entry in entries for label, n in entry["classes"].items() if n}
        return None if "" in found else found

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_start(self, batches_done: int, batch_size: int) -> None:
        """Resume after ``batches_done`` batches of this rank's DataLoader (any number of workers, same
        as before; ``in_order=True``, PyTorch's default). Exact when no clip failed to decode since."""
        self.start_batches, self.batch_size = batches_done, batch_size

    def _worker(self) -> tuple[int, int]:
        info = torch.utils.data.get_worker_info()
        return (info.id, info.num_workers) if info is not None else (0, 1)

    def _shards(self, epoch: int, worker: int, num_workers: int) -> list[int]:
        return shard_order(len(self.urls), seed=self.seed, epoch=epoch, rank=self.rank,
                           world_size=self.world_size, worker=worker, num_workers=num_workers,
                           shuffle=self.shuffle)

    def _too_short(self, sample: dict[str, Any]) -> bool:
        """Length check from the clip's JSON (no decoding), so skipped clips never shift positions."""
        if self.min_seconds <= 0:
            return False
        meta = json.loads(sample.get("json", b"{}"))
        frames, sr = meta.get("frames"), meta.get("sample_rate")
        return bool(frames is not None and sr and frames < self.min_seconds * sr)

    def _count(self, shard: int) -> int:
        """Usable clips of a shard: the index count, unless some clips are below ``min_seconds``."""
        entry = self.index["shards"][shard]
        if self.min_seconds <= entry.get("shortest_seconds", 0.0):
            return self.counts[shard]
        if shard not in self._counts:
            self._counts[shard] = sum(not self._too_short(s) for _, s in iter_shard_samples(self.urls[shard]))
        return self._counts[shard]

    def _raw(self, epoch: int, worker: int, num_workers: int, skip: int) -> Iterator[tuple[str, dict]]:
        """Raw samples of one epoch for this worker, after dropping ``skip`` of them; whole shards are
        skipped by count when no shuffle buffer makes the order depend on their content."""
        rng = np.random.default_rng([self.seed, epoch, self.rank, worker])
        buffer: list[tuple[str, dict]] = []
        for shard in self._shards(epoch, worker, num_workers):
            if not self.shuffle_buffer and skip >= self._count(shard):
                skip -= self._count(shard)
                continue
            for key, sample in iter_shard_samples(self.urls[shard]):
                if self._too_short(sample):
                    self.skipped["too_short"] += 1
                    continue
                sample["__url__"] = self.urls[shard]
                buffer.append((key, sample))
                if len(buffer) > self.shuffle_buffer:
                    item = buffer.pop(int(rng.integers(len(buffer))) if self.shuffle_buffer else 0)
                    if skip:
                        skip -= 1
                    else:
                        yield item
        while buffer:
            item = buffer.pop(int(rng.integers(len(buffer))))
            if skip:
                skip -= 1
            else:
                yield item

    def _epoch_clips(self, epoch: int, worker: int, num_workers: int) -> int:
        return sum(self._count(s) for s in self._shards(epoch, worker, num_workers))

    def _decode(self, key: str, sample: dict[str, Any]) -> tuple[ClipRecord, np.ndarray, int] | None:
        meta = json.loads(sample.get("json", b"{}"))
        audio_ext = next((e for e in sample if e not in ("json", "__url__")), None)
        where = f"{sample['__url__']}#{key}"
        try:
            wav, sr = sf.read(io.BytesIO(sample[audio_ext]), dtype="float32", always_2d=True)
        except (TypeError, KeyError, sf.LibsndfileError, RuntimeError) as err:
            self.skipped["unreadable"] += 1
            log.debug("skipping %s: %s", where, err)
            return None
        wav = wav.mean(axis=1)
        if wav.shape[0] == 0:
            self.skipped["unreadable"] += 1
            return None
        if self.sample_rate is not None and sr != self.sample_rate:
            wav, sr = resample(wav, sr, self.sample_rate), self.sample_rate
        captions = meta.get("captions") or ([meta["caption"]] if meta.get("caption") else [])
        record = ClipRecord(path=where, captions=captions, label=meta.get("class"),
                            dataset=meta.get("dataset", "default"),
                            embedding_key=meta.get("embedding_key") or key, frames=int(wav.shape[0]),
                            sample_rate=sr, extra={k: v for k, v in meta.items() if k in ("source", "split")})
        return record, wav, sr

    def __iter__(self) -> Iterator[tuple[ClipRecord, np.ndarray, int]]:
        real, num_workers = self._worker()
        # A DataLoader takes batches from its workers round-robin, starting at worker 0 on every restart.
        # After B batches the next one belongs to stream (B mod n), so real worker w continues stream
        # (w + B) mod n, which had produced ceil((B - stream) / n) batches: the order continues exactly.
        worker = (real + self.start_batches) % num_workers
        done = max(0, -(-(self.start_batches - worker) // num_workers)) * self.batch_size
        epoch = self.epoch
        while True:
            per_epoch = self._epoch_clips(epoch, worker, num_workers)
            if self.infinite and done >= per_epoch > 0:
                done -= per_epoch
                epoch += 1
                continue
            produced = 0
            for key, sample in self._raw(epoch, worker, num_workers, done):
                item = self._decode(key, sample)
                if item is not None:
                    produced += 1
                    yield item
            if self.infinite and not produced and not done:  # looping again would spin forever
                raise ManifestError(f"{self.index_url}: no readable clip in the shards of epoch {epoch} (worker "
                                    f"{worker}); skipped: {dict(self.skipped) or 'none'}")
            done, epoch = 0, epoch + 1
            if not self.infinite:
                return


def iter_clips(index: str | os.PathLike, **kwargs: Any) -> Iterable[tuple[ClipRecord, np.ndarray, int]]:
    """Convenience: iterate one epoch of a shard set in this process (no DataLoader)."""
    return iter(ShardStream(index, **kwargs))
