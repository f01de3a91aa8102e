"""Speed measurements behind every figure the README quotes (``tqse bench ...``, ``benchmarks/``).

Models are randomly initialised: speed does not depend on the weights.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tqse.models import build_model, count_parameters


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

    from tqse.data.dataset import MixingConfig, MixtureDataset
    from tqse.data.manifest import ClipRecord

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for i in range(n_clips):
            path = Path(tmp) / f"clip{i}.flac"
            sf.write(path, (0.1 * rng.standard_normal(int(clip_seconds * sample_rate))).astype(np.float32), sample_rate)
            clips.append(ClipRecord(str(path), label=f"class{i % 4}"))
        dataset = MixtureDataset(clips, MixingConfig(sample_rate, clip_seconds))
        start = time.perf_counter()
        for index in range(mixtures):
            dataset[index]
        elapsed = time.perf_counter() - start
    return {"clip_seconds": clip_seconds, "sample_rate": sample_rate, "format": "flac",
            "mixtures_per_s_per_core": round(mixtures / elapsed, 2)}
