"""The streaming engine shared by the API, the CLI and the server: a source in, aligned output blocks out.

Sources (a file streamed block by block, an in-memory array, standard input) know their rate, channel count
and length before any processing, reject empty audio on every path (a header-only WAV used to "succeed" on
the streamed path), and measure the input's peak so very loud float input (values up to 3e38) can be scaled
into the model's range and back.

:func:`run` reads a source block by block, scales it into the model's range, resamples it to the model rate,
separates it in overlapping chunks for ``Q`` queries at once (queries x channels form one batch), resamples
back and cuts to exactly the input's length. The residual (mixture minus estimate) is formed from the input
blocks held until the matching output arrives, so both come out aligned. Values stay in the model domain
(input times ``gain``); writers divide by ``gain``. Memory is bounded by a chunk plus a block.

:class:`ChunkedSeparator` does the chunking: chunks of ``chunk`` samples start every ``chunk - overlap``
samples; the last chunk is aligned to the end of the signal, so no chunk is shorter than ``chunk`` (unless the
whole signal is). Each chunk's output is weighted by a window that ramps linearly over ``overlap`` samples at
interior edges, and the overlap-added result is divided by the summed weights. A signal shorter than one chunk
is processed whole (AudioSep's chunked path returned zeros there).
"""

from __future__ import annotations

import io
import os
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soundfile as sf
import torch

from tqse.audio.io import AudioError, audio_info, iter_blocks
from tqse.audio.resample import StreamResampler
from tqse.extract.options import MAX_RATE, MIN_RATE, ExtractOptions

STDIN = "-"
LOUD_PEAK = 1.0  # above full scale the input is scaled to peak 1 for the model and the output scaled back
Progress = Callable[[float], None]  # seconds of input audio just consumed
SeparateFn = Callable[[np.ndarray], np.ndarray]  # [C, n] -> [C, n] at the model rate


# -- sources ---------------------------------------------------------------------------------------------
@dataclass
class Source:
    """Audio to extract from: ``blocks(n)`` yields float32 ``[m, C]`` blocks of at most ``n`` frames."""

    name: str
    sample_rate: int
    channels: int
    frames: int
    blocks: Callable[[int], Iterator[np.ndarray]]
    path: Path | None = None  # the file, when there is one (an output must never overwrite it)
    peak_fn: Callable[[], float] = field(default=lambda: 1.0)

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    def input_gain(self) -> float:
        """Factor that brings the input's peak to at most 1 (1.0 for ordinary input)."""
        peak = self.peak_fn()
        if not np.isfinite(peak):
            raise AudioError(f"{self.name}: audio contains NaN/Inf samples")
        return 1.0 / peak if peak > LOUD_PEAK else 1.0


def _check_length(name: str, frames: int) -> None:
    if frames <= 0:
        raise AudioError(f"{name}: audio has zero length (no samples after the header)")


def _check_rate(name: str, rate: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:  # a corrupt header can claim 1 Hz or 2 GHz: soxr would hang or zero it
        raise AudioError(f"{name}: sample rate {rate} Hz is outside what tqse handles ({MIN_RATE}-{MAX_RATE} Hz)")


def file_source(path: str | os.PathLike) -> Source:
    """A file streamed from disk; float files get a peak pre-pass (integer PCM cannot exceed full scale)."""
    if str(path) == STDIN:
        return stdin_source()
    info = audio_info(path)
    _check_length(info.path, info.frames)
    _check_rate(info.path, info.sample_rate)
    is_float = sf.info(info.path).subtype in ("FLOAT", "DOUBLE")

    def peak() -> float:
        if not is_float:
            return 1.0
        return max((float(np.abs(b).max()) for b in iter_blocks(info.path, 1 << 18, mono=False)), default=0.0)

    return Source(info.path, info.sample_rate, info.channels, info.frames,
                  lambda n: iter_blocks(info.path, n, mono=False), Path(info.path), peak)


def array_source(data: np.ndarray, sample_rate: int, name: str = "input audio") -> Source:
    """``data``: ``[C, T]`` (any float dtype; kept as is until each block is scaled)."""
    _check_length(name, data.shape[-1])
    data = np.asarray(data)

    def blocks(n: int) -> Iterator[np.ndarray]:
        for start in range(0, data.shape[1], n):
            yield data[:, start:start + n].T

    def peak() -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.abs(data).max())

    return Source(name, int(sample_rate), data.shape[0], data.shape[1], blocks, None, peak)


def stdin_source() -> Source:
    """Standard input, read whole (a pipe cannot be read twice); any format soundfile can decode."""
    raw = sys.stdin.buffer.read()
    if not raw:
        raise AudioError("standard input: empty (pipe audio into tqse, e.g. `cat mix.wav | tqse extract - ...`)")
    try:
        data, rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"standard input: not a readable audio stream ({err})") from None
    _check_rate("standard input", rate)
    return array_source(data.T, rate, "standard input")


# -- the engine ----------------------------------------------------------------------------------------------
@dataclass
class Blocks:
    """Aligned output blocks ``[n, Q, C]`` at the source rate, in the model domain (input x ``gain``)."""

    estimate: np.ndarray
    residual: np.ndarray


def run(extractor, source: Source, queries: torch.Tensor, options: ExtractOptions, gain: float,
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


# -- chunking ------------------------------------------------------------------------------------------------
def _ramp(n: int) -> np.ndarray:
    return ((np.arange(n) + 0.5) / n).astype(np.float32)


class ChunkedSeparator:
    """Push model-rate samples in, get finished output samples out (see the module docstring).

    Args:
        separate: runs the model on ``[C, n]`` float32 and returns ``[C, n]``.
        chunk: chunk length in samples; ``0`` disables chunking (everything is separated at ``finish``).
        overlap: cross-fade length in samples (clamped to half a chunk).
        channels: number of channels ``C`` pushed at once (processed as one batch).
        out_channels: rows ``separate`` returns (default ``C``; ``Q * C`` when ``Q`` queries run as one batch).
    """

    def __init__(self, separate: SeparateFn, chunk: int, overlap: int, channels: int = 1,
                 out_channels: int | None = None):
        self.separate, self.chunk, self.in_channels = separate, chunk, channels
        self.channels = out_channels or channels  # rows of the output accumulator
        self.overlap = min(overlap, chunk // 2) if chunk else 0
        self.hop = chunk - self.overlap
        self._in = np.zeros((self.in_channels, 0), np.float32)  # input samples from absolute position `_in_start`
        self._in_start = 0
        self._acc = np.zeros((self.channels, 0), np.float32)  # weighted output from absolute position `_out_start`
        self._weight = np.zeros(0, np.float32)
        self._out_start = 0
        self._next_chunk = 0  # absolute start of the next regular chunk

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Add ``[C, n]`` samples; returns ``[C, m]`` output samples that no later chunk can change."""
        self._in = np.concatenate([self._in, np.asarray(samples, np.float32).reshape(self.in_channels, -1)], axis=1)
        if not self.chunk:
            return self._empty()
        # Strictly more than a chunk buffered: only then is this chunk certainly not the stream's last one.
        while self._in_start + self._in.shape[1] > self._next_chunk + self.chunk:
            self._process(self._next_chunk, is_first=self._next_chunk == 0, is_last=False)
            self._next_chunk += self.hop
            self._drop_input_before(self._next_chunk)
        return self._emit(upto=self._next_chunk - self.hop)

    def finish(self) -> np.ndarray:
        """Separate what is left and return every remaining output sample."""
        total = self._in_start + self._in.shape[1]
        if total == 0:
            return self._empty()
        if not self.chunk or self._next_chunk == 0:
            # Nothing separated yet, so the stream is at most one chunk long: separate it whole.
            self._process(self._in_start, is_first=True, is_last=True, length=total - self._in_start)
        else:
            self._process(total - self.chunk, is_first=False, is_last=True)
        return self._emit(upto=total)

    # -- internals ---------------------------------------------------------------------------------------
    def _empty(self) -> np.ndarray:
        return np.zeros((self.channels, 0), np.float32)

    def _process(self, start: int, is_first: bool, is_last: bool, length: int | None = None) -> None:
        length = self.chunk if length is None else length
        offset = start - self._in_start
        segment = self._in[:, offset:offset + length]
        estimate = np.asarray(self.separate(segment), np.float32)
        window = np.ones(length, np.float32)
        if self.overlap and not is_first:
            window[: self.overlap] = _ramp(self.overlap)
        if self.overlap and not is_last:
            window[-self.overlap:] = np.minimum(window[-self.overlap:], _ramp(self.overlap)[::-1])
        self._accumulate(start, estimate * window, window)

    def _accumulate(self, start: int, weighted: np.ndarray, window: np.ndarray) -> None:
        end = start + window.shape[0]
        grow = end - (self._out_start + self._weight.shape[0])
        if grow > 0:
            self._acc = np.concatenate([self._acc, np.zeros((self.channels, grow), np.float32)], axis=1)
            self._weight = np.concatenate([self._weight, np.zeros(grow, np.float32)])
        a, b = start - self._out_start, end - self._out_start
        self._acc[:, a:b] += weighted
        self._weight[a:b] += window

    def _emit(self, upto: int) -> np.ndarray:
        n = max(0, min(upto, self._out_start + self._weight.shape[0]) - self._out_start)
        out = self._acc[:, :n] / np.maximum(self._weight[:n], 1e-8)
        self._acc, self._weight = self._acc[:, n:], self._weight[n:]
        self._out_start += n
        return out

    def _drop_input_before(self, position: int) -> None:
        # The end-aligned last chunk may start up to one hop before `position`; keep that much history.
        keep_from = max(self._in_start, position - self.hop)
        self._in = self._in[:, keep_from - self._in_start:]
        self._in_start = keep_from
