"""Turn source recordings into fixed-length clips: trim silence, loop one-shots, measure bandwidth.

Shape legend: ``T`` samples at the corpus rate (32 kHz), mono float32.

Long recordings give up to N non-overlapping segments. Short one-shots are not zero-padded to 10 s (a
model would learn that "mostly silence" means a class); instead takes of the same recording group are
placed one after another at random gaps, starting with the clip's own recording, and the result is
peak-normalised. Every clip records its effective bandwidth, because some sources are 8-22 kHz originals:
a model must not learn a class from an empty top band (training can low-pass randomly; see CORPUS.md).
"""

from __future__ import annotations

import numpy as np
import soundfile as sf

from tqse.audio.resample import resample

SAMPLE_RATE = 32000
PEAK = 10 ** (-1.0 / 20)        # -1 dBFS: peak-safe after FLAC quantisation
SILENCE_DB = 45.0               # frames this far below the loudest frame count as silence


def load_source(path: str, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, int]:
    """Decode any soundfile-readable file to mono float32 at ``sample_rate``.

    Returns:
        ``(wav [T], original_sample_rate)``.
    """
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    wav = data.mean(axis=1)
    if sr != sample_rate:
        wav = resample(wav, sr, sample_rate)
    return np.ascontiguousarray(wav, dtype=np.float32), int(sr)


def frame_db(wav: np.ndarray, frame: int) -> np.ndarray:
    """RMS level in dB of non-overlapping frames (the last partial frame included)."""
    n = max(1, int(np.ceil(len(wav) / frame)))
    padded = np.zeros(n * frame, dtype=np.float32)
    padded[: len(wav)] = wav
    rms = np.sqrt(np.mean(padded.reshape(n, frame) ** 2, axis=1) + 1e-12)
    return 20 * np.log10(rms + 1e-10)


def trim_silence(wav: np.ndarray, sample_rate: int = SAMPLE_RATE, threshold_db: float = SILENCE_DB) -> np.ndarray:
    """Cut leading and trailing frames (10 ms) quieter than the loudest frame minus ``threshold_db``."""
    frame = max(1, sample_rate // 100)
    levels = frame_db(wav, frame)
    if levels.max() < -90:
        return wav[:0]
    active = np.flatnonzero(levels > levels.max() - threshold_db)
    return wav[active[0] * frame: min(len(wav), (active[-1] + 1) * frame)]


def effective_bandwidth(wav: np.ndarray, sample_rate: int = SAMPLE_RATE, floor_db: float = 50.0) -> float:
    """Highest frequency (Hz) whose long-term power is within ``floor_db`` of the strongest band.

    A 22.05 kHz original resampled to 32 kHz reads about 11 kHz, an 8 kHz telephone prompt about 4 kHz.
    """
    n_fft = 1024
    if len(wav) < n_fft:
        wav = np.pad(wav, (0, n_fft - len(wav)))
    frames = np.lib.stride_tricks.sliding_window_view(wav, n_fft)[:: n_fft // 2]
    power = (np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2).mean(axis=0)
    # smooth over ~250 Hz so a single spurious bin does not decide
    power = np.convolve(power, np.ones(9) / 9, mode="same")
    db = 10 * np.log10(power + 1e-20)
    above = np.flatnonzero(db > db.max() - floor_db)
    return float(above[-1] * sample_rate / n_fft) if len(above) else 0.0


def peak_normalise(wav: np.ndarray, peak: float = PEAK) -> np.ndarray:
    """Scale so the absolute peak is ``peak`` (silence stays silence)."""
    top = float(np.abs(wav).max()) if len(wav) else 0.0
    return wav if top < 1e-8 else (wav * (peak / top)).astype(np.float32)


def segments(wav: np.ndarray, length: int, max_segments: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Up to ``max_segments`` non-overlapping ``length``-sample windows of a long recording.

    Windows are spread over the recording (leftover space distributed at random) and windows that are
    mostly silent (an ambience with a pause) are dropped.
    """
    n = min(max_segments, len(wav) // length)
    if n == 0:
        return []
    slack = len(wav) - n * length
    cuts = np.sort(rng.integers(0, slack + 1, size=n)) if slack else np.zeros(n, dtype=int)
    out = []
    for i in range(n):
        start = int(cuts[i]) + i * length
        seg = wav[start: start + length]
        levels = frame_db(seg, SAMPLE_RATE // 10)
        if np.mean(levels > levels.max() - 30) >= 0.3:
            out.append(seg)
    return out or [wav[:length]]


def loop_takes(takes: list[np.ndarray], length: int, rng: np.random.Generator,
               max_gap_s: float = 0.6) -> np.ndarray:
    """Fill ``length`` samples with takes placed one after another at random gaps.

    ``takes[0]`` (the clip's own recording) comes first, then the others in random order, repeating when
    they run out. Each take is faded in/out over 5 ms so cuts at the clip end do not click.

    Shape:
        takes: list of [T_i]; returns [length].
    """
    out = np.zeros(length, dtype=np.float32)
    pos = int(rng.integers(0, max(1, int(0.3 * SAMPLE_RATE))))
    order = [0] + list(rng.permutation(np.arange(1, len(takes)))) if len(takes) > 1 else [0]
    i = 0
    while pos < length:
        take = takes[order[i % len(order)]]
        i += 1
        if len(take) == 0:
            continue
        piece = take[: length - pos].copy()
        fade = min(len(piece) // 4, SAMPLE_RATE // 200)
        if fade > 1:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            piece[:fade] *= ramp
            piece[-fade:] *= ramp[::-1]
        # slightly vary the level of repeated takes, like a natural sequence of events
        out[pos: pos + len(piece)] += piece * np.float32(10 ** (rng.uniform(-4, 0) / 20))
        pos += len(piece) + int(rng.uniform(0.05, max_gap_s) * SAMPLE_RATE)
        if i > 400:         # pathological 1-sample takes: stop rather than loop forever
            break
    return out


def make_clips(own: np.ndarray, others: list[np.ndarray], length: int, max_segments: int,
               rng: np.random.Generator) -> list[np.ndarray]:
    """Clips of ``length`` samples from one trimmed recording (plus other takes of its group for one-shots)."""
    if len(own) >= length:
        return [peak_normalise(seg) for seg in segments(own, length, max_segments, rng)]
    return [peak_normalise(loop_takes([own] + others, length, rng))]
