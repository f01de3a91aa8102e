"""The extraction loop shared by the API and the CLI: blocks in, (estimate, residual) blocks out.

A :class:`~tqse.sources.Source` is read block by block, scaled into the model's range, resampled to the model
rate, separated in overlapping chunks for ``Q`` queries at once (queries x channels form one batch), resampled
back and cut to exactly the input's length. The residual (mixture minus estimate) is formed from the input
blocks held until the matching output arrives, so both come out aligned. Values stay in the model domain
(input times ``gain``); writers divide by ``gain``. Memory is bounded by a chunk plus a block.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from tqse.audio.io import AudioError
from tqse.audio.resample import StreamResampler
from tqse.options import ChunkOptions
from tqse.sources import Source
from tqse.streaming import ChunkedSeparator

Progress = Callable[[float], None]  # seconds of input audio just consumed


@dataclass
class Blocks:
    """Aligned output blocks ``[n, Q, C]`` at the source rate, in the model domain (input x ``gain``)."""

    estimate: np.ndarray
    residual: np.ndarray


def run(extractor, source: Source, queries: torch.Tensor, options: ChunkOptions, gain: float,
        progress: Progress | None = None) -> Iterator[Blocks]:
    """Yield :class:`Blocks` covering exactly ``source.frames`` frames (see module docstring)."""
    q, c, rate = queries.shape[0], source.channels, source.sample_rate
    chunk = int(round(options.chunk_seconds * extractor.sample_rate))
    overlap = int(round(options.overlap_seconds * extractor.sample_rate))
    chunker = ChunkedSeparator(lambda seg: extractor.separate(seg, queries), chunk, overlap, c, q * c)
    to_model = StreamResampler(rate, extractor.sample_rate, c)
    to_file = StreamResampler(extractor.sample_rate, rate, q * c)
    aligner = _Aligner(source.frames, q, c)
    for block in source.blocks(max(1, int(options.block_seconds * rate))):
        block = _scaled(block, gain, source.name)
        aligner.feed(block)
        out = to_file.process(chunker.push(to_model.process(block).T).T)
        yield from aligner.take(out)
        if progress:
            progress(block.shape[0] / rate)
    tail = chunker.push(to_model.process(np.zeros((0, c), np.float32), last=True).T)
    yield from aligner.take(to_file.process(np.concatenate([tail, chunker.finish()], axis=1).T, last=True))
    yield from aligner.pad()


def _scaled(block: np.ndarray, gain: float, name: str) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        block = (np.asarray(block, np.float64) * gain).astype(np.float32)
    if not np.isfinite(block).all():
        raise AudioError(f"{name}: audio contains NaN/Inf samples")
    return block


class _Aligner:
    """Cuts model output to the input's length and pairs it with the input frames it came from."""

    def __init__(self, frames: int, queries: int, channels: int):
        self.remaining, self.q, self.c = frames, queries, channels
        self.pending: deque[np.ndarray] = deque()

    def feed(self, block: np.ndarray) -> None:
        self.pending.append(block)

    def take(self, out: np.ndarray) -> Iterator[Blocks]:
        out = out[: self.remaining]
        if not out.shape[0]:
            return
        self.remaining -= out.shape[0]
        estimate = out.reshape(-1, self.q, self.c)
        yield Blocks(estimate, self._input(out.shape[0])[:, None, :] - estimate)

    def pad(self) -> Iterator[Blocks]:
        # The resampler can come up a few samples short at the very end: pad with silence, not garbage.
        if self.remaining > 0:
            yield from self.take(np.zeros((self.remaining, self.q * self.c), np.float32))

    def _input(self, n: int) -> np.ndarray:
        parts, need = [], n
        while need and self.pending:
            head = self.pending[0]
            parts.append(head[:need])
            if head.shape[0] <= need:
                self.pending.popleft()
            else:
                self.pending[0] = head[need:]
            need -= parts[-1].shape[0]
        if need:
            parts.append(np.zeros((need, self.c), np.float32))
        return np.concatenate(parts)
