"""Chunked separation with overlap and cross-fade, usable on a stream so memory stays bounded.

Chunks of ``chunk`` samples start every ``chunk - overlap`` samples; the last chunk is aligned to the end of
the signal, so no chunk is shorter than ``chunk`` (unless the whole signal is). Each chunk's output is
weighted by a window that ramps linearly over ``overlap`` samples at interior edges, and the overlap-added
result is divided by the summed weights. A signal shorter than one chunk is processed whole (AudioSep's
chunked path returned zeros there).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

SeparateFn = Callable[[np.ndarray], np.ndarray]  # [C, n] -> [C, n] at the model rate


def _ramp(n: int) -> np.ndarray:
    return ((np.arange(n) + 0.5) / n).astype(np.float32)


class ChunkedSeparator:
    """Push model-rate samples in, get finished output samples out (see module docstring).

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
