"""STFT, inverse STFT and mel filterbank as small torch modules (no torchaudio)."""

from __future__ import annotations

import math

import torch


class STFT(torch.nn.Module):
    """Complex STFT / iSTFT pair with a periodic Hann window, centred frames.

    Shape:
        forward: ``[B, T]`` -> complex ``[B, F, frames]`` with ``F = n_fft // 2 + 1``.
        inverse: complex ``[B, F, frames]`` -> ``[B, length]``.
    """

    def __init__(self, n_fft: int, hop: int, win: int | None = None):
        super().__init__()
        self.n_fft, self.hop, self.win = n_fft, hop, win or n_fft
        self.register_buffer("window", torch.hann_window(self.win, periodic=True), persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return torch.stft(wav.float(), self.n_fft, self.hop, self.win, self.window, center=True,
                          pad_mode="reflect", return_complex=True)

    def inverse(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        return torch.istft(spec, self.n_fft, self.hop, self.win, self.window, center=True, length=length)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> torch.Tensor:
    """Triangular HTK-mel filterbank ``[F, n_mels]`` (Slaney-style area normalisation)."""
    fmax = fmax or sample_rate / 2

    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    mels = torch.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    lower, centre, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (freqs[None] - lower) / (centre - lower)
    down = (upper - freqs[None]) / (upper - centre)
    bank = torch.clamp(torch.minimum(up, down), min=0.0)
    bank = bank * (2.0 / (upper - lower))
    return bank.T.contiguous()


class MelSpectrogram(torch.nn.Module):
    """Power mel spectrogram ``[B, T]`` -> ``[B, frames, n_mels]``."""

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None):
        super().__init__()
        self.stft = STFT(n_fft, hop)
        self.register_buffer("bank", mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax), persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        power = self.stft(wav).abs() ** 2  # [B, F, frames]
        return power.transpose(1, 2) @ self.bank
