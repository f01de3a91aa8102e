"""On-the-fly mixing over a clip *stream* (sharded tar archives, :mod:`tqse.data.shards`).

Large collections are read sequentially, so the interferer is drawn from a pool of recently streamed
crops (a different class when the pool has one) instead of by random access. Shard order per rank and
worker, and the resume position, come from :class:`~tqse.data.shards.ShardStream`; the mixing draws are
seeded by ``(seed, rank, worker, resume position)``, so a resumed run is reproducible, though not
identical to the uninterrupted one (the pool restarts empty).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from tqse.config import DataConfig
from tqse.data.dataset import SILENT_PEAK, ExampleBuilder, fit_segment
from tqse.data.manifest import ManifestError

MIN_BARREN_RUN = 1000  # streamed clips in a row that may give no mixture before the stream is called unusable


class StreamMixtureDataset(torch.utils.data.IterableDataset):
    """Mixtures from a stream of ``(ClipRecord, wav, sample_rate)`` at ``config.sample_rate``.

    Yields :class:`~tqse.data.dataset.Example` s; ``config``, ``mixup_partner`` and ``cache_keys`` as for
    :class:`~tqse.data.dataset.MixtureDataset`; ``source`` (the shard index) is named in errors.
    """

    def __init__(self, stream, config: DataConfig, seed: int = 0, mixup_partner: bool = False,
                 cache_keys: bool = False, pool_size: int = 64, source: str = "the shard stream"):
        super().__init__()
        self.stream, self.config, self.seed, self.source = stream, config, seed, source
        self.build = ExampleBuilder(config, mixup_partner, cache_keys)
        self.segment = int(round(config.segment_seconds * config.sample_rate))
        self.pool_size = pool_size

    def _pick(self, pool: deque, record, rng: np.random.Generator) -> np.ndarray | None:
        """An interferer from the pool: never a crop of the target's own clip (the target would be inside
        its interferer), a different class when the pool has one; None when only the clip itself is there."""
        own = record.embedding_key
        others = [wav for key, _, wav in pool if key != own]
        different = [wav for key, label, wav in pool if key != own and not (
            self.config.different_class and record.label and label == record.label)]
        candidates = different or others
        return candidates[int(rng.integers(len(candidates)))] if candidates else None

    def _barren_limit(self) -> int:
        try:
            return max(MIN_BARREN_RUN, 2 * len(self.stream))
        except TypeError:  # a stream without a length
            return MIN_BARREN_RUN

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, getattr(self.stream, "rank", 0), worker,
                                     getattr(self.stream, "start_batches", 0)])
        pool: deque = deque(maxlen=self.pool_size)
        barren, limit = 0, self._barren_limit()
        for record, wav, _ in self.stream:
            crop = fit_segment(np.asarray(wav, np.float32), self.segment, rng)
            audible = np.abs(crop).max() >= SILENT_PEAK
            interferer = self._pick(pool, record, rng) if audible else None
            if interferer is None:
                # Silent crops and a pool holding only this clip give no mixture; endlessly so when every
                # clip is silent or only one is readable: say so instead of spinning.
                barren += 1
                if barren >= limit:
                    raise ManifestError(f"{self.source}: {barren} streamed clips in a row gave no mixture (silent "
                                        "audio, or fewer than two readable clips)")
            else:
                barren = 0
                snr = float(rng.uniform(*self.config.snr_db))
                # The pool holds another clip here (the interferer), so the partner draw finds one too.
                yield self.build(record, crop, interferer, snr, rng, lambda: self._pick(pool, record, rng))
            if audible:
                pool.append((record.embedding_key, record.label, crop))
