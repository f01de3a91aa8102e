"""Speed measurements behind every figure the README quotes (``tqse bench ...``, ``benchmarks/``).

Models are randomly initialised: speed does not depend on the weights. :func:`random_model_dir` writes such a
model as a model folder, queried through the weight-free ``hash`` encoder, so the whole extraction path (and
the installed wheel, ``scripts/check_wheel.sh``) can be run and timed without any trained weights.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tqse.models import build_model, count_parameters

HASH_ENCODER = {"name": "hash", "path": None, "kwargs": {"dim": 32}}  # weight-free: no files needed


def random_model_dir(path: str | os.PathLike, encoder: dict | None = None, sample_rate: int = 32000, seed: int = 0,
                     preset: str = "tiny", query_dim: int | None = None) -> Path:
    """Write a randomly initialised separator of ``preset`` as a model folder, queried through ``encoder``
    (default: the weight-free ``hash`` encoder; another encoder's embedding size is ``query_dim``, e.g. 512 for
    the built-in one)."""
    from tqse.models import resolve_preset
    from tqse.models.model_dir import model_config, save_model_dir
    from tqse.models.separator import Separator

    encoder = encoder or HASH_ENCODER
    query_dim = query_dim or encoder.get("kwargs", {}).get("dim", 32)
    name, kwargs = resolve_preset(preset, query_dim=query_dim, sample_rate=sample_rate)
    torch.manual_seed(seed)
    model = Separator(name, kwargs)
    config = model_config(model.model_args(), sample_rate, encoder, trained_with={"note": "random weights (tests)"})
    return save_model_dir(path, config, model.state_dict())


def _timed(fn, repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_extract(model: str = "small", seconds: float = 10.0, repeats: int = 3, device: str = "cpu",
                  threads: int | None = 2, sample_rate: int = 32000) -> dict:
    """Median wall time of separating ``seconds`` of audio in one forward pass (batch 1, no grad)."""
    if threads and device == "cpu":
        torch.set_num_threads(threads)
    dev = torch.device(device)
    net = build_model(model, sample_rate=sample_rate).to(dev).eval()
    mixture = torch.randn(1, int(seconds * sample_rate), device=dev) * 0.1
    query = torch.nn.functional.normalize(torch.randn(1, net.query_dim if hasattr(net, "query_dim") else 512,
                                                      device=dev), dim=-1)

    def run():
        with torch.inference_mode():
            net(mixture, query)
        _sync(dev)

    median = statistics.median(_timed(run, repeats))
    return {"model": model, "seconds": round(median, 4), "audio_seconds": seconds, "rtf": round(median / seconds, 4),
            "device": str(dev), "threads": torch.get_num_threads(), "parameters": count_parameters(net)}


def bench_train(model: str = "tiny", batch_size: int = 8, seconds: float = 4.0, steps: int = 5, device: str = "cpu",
                threads: int | None = 2, precision: str = "fp32", sample_rate: int = 32000) -> dict:
    """Optimiser steps per second (forward, -SI-SDR, backward, clip, AdamW) on random batches."""
    from tqse.losses import neg_si_sdr

    if threads and device == "cpu":
        torch.set_num_threads(threads)
    dev = torch.device(device)
    net = build_model(model, sample_rate=sample_rate).to(dev).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=1e-2)
    mixture = torch.randn(batch_size, int(seconds * sample_rate), device=dev) * 0.1
    target = mixture * 0.5
    query = torch.randn(batch_size, 512, device=dev)
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)

    def step():
        with autocast:
            estimate = net(mixture, query)
        loss = neg_si_sdr(estimate, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
        _sync(dev)

    median = statistics.median(_timed(step, steps))
    result = {"model": model, "batch_size": batch_size, "segment_seconds": seconds, "precision": precision,
              "seconds_per_step": round(median, 4), "steps_per_s": round(1 / median, 3), "device": str(dev)}
    if dev.type == "cuda":
        result["peak_memory_gb"] = round(torch.cuda.max_memory_allocated(dev) / 2**30, 2)
    return result


def bench_data(clip_seconds: float = 10.0, sample_rate: int = 32000, n_clips: int = 16, mixtures: int = 40) -> dict:
    """Mixtures per second on one core: two random crops decoded from FLAC, mixed at a random SNR."""
    import soundfile as sf

    from tqse.config import DataConfig
    from tqse.data.dataset import MixtureDataset
    from tqse.data.manifest import ClipRecord

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for i in range(n_clips):
            path = Path(tmp) / f"clip{i}.flac"
            sf.write(path, (0.1 * rng.standard_normal(int(clip_seconds * sample_rate))).astype(np.float32), sample_rate)
            clips.append(ClipRecord(str(path), label=f"class{i % 4}"))
        dataset = MixtureDataset(clips, DataConfig(sample_rate=sample_rate, segment_seconds=clip_seconds))
        start = time.perf_counter()
        for index in range(mixtures):
            dataset[index]
        elapsed = time.perf_counter() - start
    return {"clip_seconds": clip_seconds, "sample_rate": sample_rate, "format": "flac",
            "mixtures_per_s_per_core": round(mixtures / elapsed, 2)}


def measure_shard_read(tmpdir: str | os.PathLike, n_clips: int = 64, seconds: float = 3.0,
                       clip_seconds: float = 10.0, sample_rate: int = 32000) -> dict[str, float]:
    """Throughput of the data path on one core, on synthetic 10-s FLAC clips written under ``tmpdir``.

    Returns clips/s for (a) the manifest build (header read, 1 thread), (b) shard writing (byte copy),
    (c) shard reading with full-clip FLAC decoding and (d) random-crop reads straight from the files (what
    a map-style dataset does), each in one process with one torch thread, i.e. clips/s/core.
    """
    from tqse.audio.io import load_audio, save_audio
    from tqse.data.manifest import read_clips
    from tqse.data.readers.common import build_manifest
    from tqse.data.readers.folder import folder_candidates
    from tqse.data.shards import INDEX_NAME, ShardStream, write_shards

    tmpdir = Path(tmpdir)
    rng = np.random.default_rng(0)
    t = np.arange(int(clip_seconds * sample_rate)) / sample_rate
    for i in range(n_clips):  # tone + noise: FLAC compresses it like real audio, not like silence
        wav = 0.3 * np.sin(2 * np.pi * (110 + 10 * i) * t) + 0.05 * rng.standard_normal(t.shape)
        save_audio(tmpdir / "audio" / f"clip{i:05d}.flac", wav.astype(np.float32), sample_rate)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        report = build_manifest(folder_candidates(tmpdir / "audio"), tmpdir / "clips.jsonl", dataset="bench",
                                workers=1, resume=False)
        build = report.kept / (time.perf_counter() - start)
        start = time.perf_counter()
        write_shards(read_clips(tmpdir / "clips.jsonl"), tmpdir / "shards",
                     clips_per_shard=max(1, n_clips // 4), resume=False)
        write = n_clips / (time.perf_counter() - start)
        clips = read_clips(tmpdir / "clips.jsonl")
        crop = int(clip_seconds * sample_rate)  # a training segment (10 s in the paper)
        start, files = time.perf_counter(), 0
        for k in range(2 * n_clips):  # random crops straight from the files, as a map-style dataset reads
            clip = clips[k % len(clips)]
            load_audio(clip.path, offset=int(rng.integers(0, clip.frames - crop + 1)), frames=crop)
            files += 1
        file_read = files / (time.perf_counter() - start)
        read, elapsed, epoch = 0, 0.0, 0
        start = time.perf_counter()
        while elapsed < seconds:
            stream = ShardStream(tmpdir / "shards" / INDEX_NAME, seed=0, rank=0, world_size=1)
            stream.set_epoch(epoch)
            for _ in stream:
                read += 1
            epoch, elapsed = epoch + 1, time.perf_counter() - start
    finally:
        torch.set_num_threads(torch_threads)
    return {"manifest_build_clips_per_s_per_core": build, "shard_write_clips_per_s": write,
            "file_crop_read_clips_per_s_per_core": file_read, "crop_seconds": crop / sample_rate,
            "shard_read_clips_per_s_per_core": read / elapsed, "clip_seconds": clip_seconds,
            "sample_rate": sample_rate, "n_clips": n_clips}
