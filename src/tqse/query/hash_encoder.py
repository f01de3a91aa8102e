"""A deterministic, weight-free query encoder for tests and for the fixture demo.

Text: the normalised sum of seeded random vectors, one per lower-cased word (so captions that share words
are similar). Audio: a fixed random projection of log-mel statistics (mean and standard deviation over
time). The two spaces are *not* aligned: use it to exercise code paths, never to judge quality.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import torch

from tqse.audio.stft import MelSpectrogram
from tqse.query.base import FrozenModule, as_batch, fit_length, l2_normalise


def _word_vector(word: str, dim: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


class HashEncoder(FrozenModule):
    """Deterministic test encoder (see module docstring)."""

    def __init__(self, dim: int = 32, sample_rate: int = 16000, clip_seconds: float = 4.0, n_mels: int = 32):
        super().__init__()
        self.name = f"hash-d{dim}"
        self.dim = dim
        self.sample_rate = sample_rate
        self.clip_samples = int(clip_seconds * sample_rate)
        self.mel = MelSpectrogram(sample_rate, n_fft=512, hop=256, n_mels=n_mels)
        rng = np.random.default_rng(0)
        self.register_buffer("projection", torch.from_numpy(rng.standard_normal((2 * n_mels, dim)).astype(np.float32)))
        self.freeze()

    @torch.no_grad()
    def embed_text(self, texts: list[str]) -> torch.Tensor:
        rows = []
        for text in texts:
            words = re.findall(r"[a-z0-9]+", text.lower()) or ["<empty>"]
            rows.append(np.sum([_word_vector(w, self.dim) for w in words], axis=0))
        return l2_normalise(torch.from_numpy(np.stack(rows)).to(self.projection.device))

    @torch.no_grad()
    def audio_features(self, wav, sample_rate: int) -> torch.Tensor:
        wav = fit_length(as_batch(wav, sample_rate, self.sample_rate).to(self.projection.device), self.clip_samples)
        return torch.log(self.mel(wav) + 1e-5)  # [B, frames, mels]

    @torch.no_grad()
    def embed_features(self, features: torch.Tensor) -> torch.Tensor:
        stats = torch.cat([features.mean(1), features.std(1)], dim=-1)
        stats = stats - stats.mean(-1, keepdim=True)
        return l2_normalise(stats @ self.projection)

    def embed_audio(self, wav, sample_rate: int) -> torch.Tensor:
        return self.embed_features(self.audio_features(wav, sample_rate))
