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


class StreamMixtureDataset(torch.utils.data.IterableDataset):
    """Mixtures from a stream of ``(ClipRecord, wav, sample_rate)`` at ``config.sample_rate``.

    Yields :class:`~tqse.data.dataset.Example` s; ``config``, ``mixup_partner`` and ``cache_keys`` as for
    :class:`~tqse.data.dataset.MixtureDataset`.
    """

    def __init__(self, stream, config: DataConfig, seed: int = 0, mixup_partner: bool = False,
                 cache_keys: bool = False, pool_size: int = 64):
        super().__init__()
        self.stream, self.config, self.seed = stream, config, seed
        self.build = ExampleBuilder(config, mixup_partner, cache_keys)
        self.segment = int(round(config.segment_seconds * config.sample_rate))
        self.pool_size = pool_size

    def _pick(self, pool: deque, label, rng: np.random.Generator) -> np.ndarray:
        others = [wav for other_label, wav in pool if not (self.config.different_class and label and other_label == label)]
        candidates = others or [wav for _, wav in pool]
        return candidates[int(rng.integers(len(candidates)))]

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, getattr(self.stream, "rank", 0), worker,
                                     getattr(self.stream, "start_batches", 0)])
        pool: deque = deque(maxlen=self.pool_size)
        for record, wav, _ in self.stream:
            crop = fit_segment(np.asarray(wav, np.float32), self.segment, rng)
            if np.abs(crop).max() < SILENT_PEAK:
                continue
            if pool:
                snr = float(rng.uniform(*self.config.snr_db))
                interferer = self._pick(pool, record.label, rng)
                yield self.build(record, crop, interferer, snr, rng, lambda: self._pick(pool, record.label, rng))
            pool.append((record.label, crop))
