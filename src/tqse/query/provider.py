"""Training-time queries: turn a batch of targets and captions into ``[B, D]`` conditioning vectors.

Per example the provider picks a modality (``text``, ``audio``, or a fair coin for ``text+audio``; the mode
can differ per dataset), embeds it with the frozen encoder (or reads a precomputed embedding), then applies
the training manipulations of the seed paper (Sec. II-C). A PCA projection, applied at inference too, is the
separator's (:class:`tqse.models.separator.Separator`), not the provider's.

The audio query is always the embedding of the example's own ground-truth target crop, computed clip by
clip in eval mode (AudioSep embedded only the first clip of each batch and broadcast it).
"""

from __future__ import annotations

from typing import Sequence

import torch

from tqse.config import ManipulationConfig, QueryConfig
from tqse.data.dataset import Batch
from tqse.errors import QueryError
from tqse.query.manipulations import EmbeddingDropout, GaussianNoise, mixup_waveforms, spec_augment


class QueryProvider:
    """Builds training queries (see module docstring).

    Args:
        encoder: a frozen :class:`~tqse.query.base.QueryEncoder` on the training device.
        config: the ``query`` section of the run config.
        sample_rate: rate of the target waveforms passed to :meth:`__call__`.
        cache: optional embedding cache with ``audio(keys)`` / ``text(captions)`` lookups.
    """

    def __init__(self, encoder, config: QueryConfig, sample_rate: int, cache=None, device: str | torch.device = "cpu"):
        self.encoder, self.config, self.sample_rate = encoder, config, sample_rate
        self.device = torch.device(device)
        m: ManipulationConfig = config.manipulation
        self.dropout = EmbeddingDropout(m.dropout) if m.dropout.enabled else None
        self.noise = GaussianNoise(m.noise) if m.noise.enabled else None
        self.cache = cache
        self._text_memo: dict[str, torch.Tensor] = {}
        self._pooled_captions = config.captions.paraphrases > 0 or config.captions.audiocaps

    @property
    def runs_audio_tower(self) -> bool:
        """Mixup and SpecAugment change the tower's input, so a cached embedding cannot stand in."""
        m = self.config.manipulation
        return m.mixup.enabled or m.specaugment.enabled or self.cache is None

    @property
    def chain(self) -> tuple[str, ...]:
        """Names of the manipulations applied, in order: on the audio query's waveform (mixup), on the audio
        tower's features (SpecAugment), then on every embedding (dropout, noise)."""
        m = self.config.manipulation
        steps = (("mixup", m.mixup.enabled), ("specaugment", m.specaugment.enabled), ("dropout", self.dropout),
                 ("noise", self.noise))
        return tuple(name for name, used in steps if used)

    def mode_of(self, dataset: str) -> str:
        """The query modality of a dataset's examples: ``text``, ``audio`` or ``text+audio``."""
        return self.config.modes.get(dataset, self.config.mode)

    def modality(self, datasets: Sequence[str], generator: torch.Generator) -> torch.Tensor:
        """``[B]`` bool, True where the example is queried by audio."""
        coins = torch.rand(len(datasets), generator=generator) < 0.5
        modes = [self.mode_of(name) for name in datasets]
        return torch.tensor([m == "audio" or (m == "text+audio" and bool(c)) for m, c in zip(modes, coins)])

    def embed_text(self, captions: Sequence[str]) -> torch.Tensor:
        missing = [c for c in dict.fromkeys(captions) if c not in self._text_memo]
        if missing and self.cache is not None and self._pooled_captions:
            # The caption pool (query.captions) is not in a `tqse embed` cache: its captions go through the
            # text tower once each (a few ms) and are remembered like cached ones.
            uncached = [c for c in missing if not self.cache.has_text(c)]
            if uncached:
                vectors = self.encoder.embed_text(uncached)
                self._text_memo.update({c: v.detach().float().cpu() for c, v in zip(uncached, vectors)})
                missing = [c for c in missing if c not in self._text_memo]
        if missing:
            vectors = self.cache.text(missing) if self.cache is not None else self.encoder.embed_text(list(missing))
            self._text_memo.update({c: v.detach().float().cpu() for c, v in zip(missing, vectors)})
        return torch.stack([self._text_memo[c] for c in captions])

    def embed_audio(self, targets: torch.Tensor, keys: Sequence[str] | None, partners: torch.Tensor | None,
                    generator: torch.Generator) -> torch.Tensor:
        if not self.runs_audio_tower:
            return self.cache.audio(list(keys)).float().cpu()
        m = self.config.manipulation
        wav = targets.to(self.device)
        if m.mixup.enabled:
            wav = mixup_waveforms(wav, partners.to(self.device), tuple(m.mixup.snr_db), generator)
        with torch.no_grad():
            if m.specaugment.enabled:
                features = self.encoder.audio_features(wav, self.sample_rate)
                features = spec_augment(features, m.specaugment, generator)
                return self.encoder.embed_features(features).float().cpu()
            return self.encoder.embed_audio(wav, self.sample_rate).float().cpu()

    def __call__(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """A training :class:`~tqse.data.dataset.Batch` -> ``[B, D']`` queries on the CPU."""
        is_audio = self.modality(batch.datasets, generator)
        dim = self.encoder.dim
        query = torch.empty(len(is_audio), dim)
        text_rows = (~is_audio).nonzero().flatten().tolist()
        audio_rows = is_audio.nonzero().flatten().tolist()
        if text_rows:
            captions = [batch.captions[i] for i in text_rows]
            empty = [batch.datasets[i] for i, c in zip(text_rows, captions) if not c]
            if empty:
                raise QueryError(f"dataset '{empty[0]}' has clips without captions: query it by audio "
                                 f"(query.modes.{empty[0]}=audio)")
            query[text_rows] = self.embed_text(captions)
        if audio_rows:
            partners = batch.partner[audio_rows] if batch.partner is not None else None
            row_keys = [batch.cache_keys[i] for i in audio_rows] if batch.cache_keys is not None else None
            query[audio_rows] = self.embed_audio(batch.target[audio_rows], row_keys, partners, generator)
        return self.manipulate(query, is_audio, generator)

    def manipulate(self, query: torch.Tensor, is_audio: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.dropout is not None:
            query = self.dropout(query, is_audio, generator)
        if self.noise is not None:
            query = self.noise(query, is_audio, generator)
        return query
