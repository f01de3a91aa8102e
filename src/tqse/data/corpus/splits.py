"""Train / validation / test / out-of-domain splits by recording group, never by segment.

A recording group is a file family, a duplicate cluster, a speaker or a soundfont preset register. Every
group lands in exactly one split. Groups that contain anything from an out-of-domain source (a whole
package, a soundfont, a voice) go to ``ood``, so those sources never appear in training. Within each class
the remaining groups are shuffled with the seed and dealt greedily to the split furthest below its target
share of recordings (70/15/15); a group holding more than 40 % of a class's recordings always trains.

A tier built beside an older one (the pool beside ``default``) passes ``pinned`` splits: groups the older
tier put in val/test/ood keep that split, so a model trained on the new tier is still scored fairly on the
older tier's fixed mixtures; the held-out split may be renamed (the pool's ``unseen``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "val", "test", "ood", "unseen")
FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}


@dataclass(frozen=True)
class GroupInfo:
    group: str
    label: str
    recordings: int                 # distinct source recordings (decides pinning to train)
    sources: frozenset[str]
    clips: int = 0                  # clips it contributes (decides the 70/15/15 shares); 0 = recordings

    @property
    def weight(self) -> int:
        return self.clips or self.recordings


def _stable_seed(seed: int, text: str) -> list[int]:
    return [seed] + [ord(c) for c in text[:64]]


def assign_splits(groups: list[GroupInfo], ood_sources: frozenset[str] | set[str], seed: int,
                  pinned: dict[str, str] | None = None, heldout: str = "ood") -> dict[str, str]:
    """Split of every group.

    Args:
        groups: one entry per (group, class); a group may appear under several classes (a voice pack
            that gives both laughter and grunts) and still gets one split.
        ood_sources: source ids held out of training (``pkg``, ``sf:<name>``, ``voice:<engine>:<name>``).
        seed: deterministic shuffle seed.
        pinned: group -> split decided beforehand (held-out sources still win).
        heldout: the name of the split held-out groups go to.
    Returns:
        ``{group: split}``.
    """
    split: dict[str, str] = {}
    for info in groups:
        if info.sources & set(ood_sources):
            split[info.group] = heldout
    for group, where in (pinned or {}).items():
        split.setdefault(group, where)
    by_label: dict[str, list[GroupInfo]] = defaultdict(list)
    for info in groups:
        by_label[info.label].append(info)
    for label in sorted(by_label):
        infos = sorted(by_label[label], key=lambda g: g.group)
        rng = np.random.default_rng(_stable_seed(seed, label))
        infos = [infos[i] for i in rng.permutation(len(infos))]
        total_rec = sum(g.recordings for g in infos if split.get(g.group) != heldout) or 1
        total = sum(g.weight for g in infos if split.get(g.group) != heldout) or 1
        counts = {s: 0.0 for s in FRACTIONS}
        for g in infos:                                  # groups already placed by another class count
            if g.group in split and split[g.group] in counts:
                counts[split[g.group]] += g.weight
        pending = [g for g in infos if g.group not in split]
        for g in pending:
            if g.recordings > 0.4 * total_rec:
                split[g.group] = "train"
                counts["train"] += g.weight
        for g in [g for g in pending if g.group not in split]:
            # val and test first get one group each, then whoever is furthest below its share
            empty = [s for s in ("val", "test") if counts[s] == 0]
            choice = empty[0] if empty and len(pending) >= 3 else max(
                FRACTIONS, key=lambda s: FRACTIONS[s] * total - counts[s])
            split[g.group] = choice
            counts[choice] += g.weight
    return split
