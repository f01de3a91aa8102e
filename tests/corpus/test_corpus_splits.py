import numpy as np

from tqse.data.corpus.splits import GroupInfo, assign_splits

from corpus_fakes import check_splits


def _groups(seed: int = 0) -> list[GroupInfo]:
    rng = np.random.default_rng(seed)
    out = []
    for label in ("dog", "bird", "violin", "speech male"):
        for g in range(int(rng.integers(3, 12))):
            src = "pkgB" if g % 5 == 4 else "pkgA"
            out.append(GroupInfo(f"{label}:{g}", label, int(rng.integers(1, 9)), frozenset({src})))
    out.append(GroupInfo("voicepack", "laughter", 3, frozenset({"pkgA"})))     # one group, two classes
    out.append(GroupInfo("voicepack", "pain grunt", 5, frozenset({"pkgA"})))
    return out


def test_every_group_gets_one_split_and_ood_sources_never_train():
    groups = _groups()
    split = assign_splits(groups, {"pkgB"}, seed=0)
    assert set(split) == {g.group for g in groups}
    for g in groups:
        assert (split[g.group] == "ood") == ("pkgB" in g.sources)
    rows = [{"path": f"{g.group}/{k}", "recording_group": g.group, "split": split[g.group],
             "sources": sorted(g.sources)} for g in groups for k in range(g.recordings)]
    assert check_splits(rows, {"pkgB"}) == []


def test_splits_are_deterministic_and_cover_val_and_test():
    groups = _groups()
    assert assign_splits(groups, set(), seed=5) == assign_splits(list(reversed(groups)), set(), seed=5)
    split = assign_splits(groups, set(), seed=5)
    for label in ("dog", "bird", "violin", "speech male"):
        mine = {split[g.group] for g in groups if g.label == label}
        assert {"train", "val", "test"} <= mine
    assert assign_splits(groups, set(), seed=5) != assign_splits(groups, set(), seed=6)


def test_a_dominant_group_trains():
    groups = [GroupInfo("big", "x", 50, frozenset()), *(GroupInfo(f"s{i}", "x", 2, frozenset()) for i in range(4))]
    assert assign_splits(groups, set(), seed=0)["big"] == "train"


def test_check_splits_reports_a_leak():
    rows = [{"path": "a", "recording_group": "g", "split": "train", "sources": ["p"]},
            {"path": "b", "recording_group": "g", "split": "test", "sources": ["p"]},
            {"path": "c", "recording_group": "h", "split": "train", "sources": ["ood-pkg"]}]
    problems = check_splits(rows, {"ood-pkg"})
    assert any("both" in p for p in problems) and any("out-of-domain" in p for p in problems)


def test_a_pinned_single_speaker_does_not_starve_training_of_other_voices():
    # 555 prompts of one speaker give 24 clips; five synthetic voices give 14 clips each
    groups = [GroupInfo("asterisk", "speech female", 555, frozenset(), clips=24),
              *(GroupInfo(f"voice:f{i}", "speech female", 14, frozenset()) for i in range(5))]
    split = assign_splits(groups, set(), seed=0)
    assert split["asterisk"] == "train"
    assert any(split[f"voice:f{i}"] == "train" for i in range(5))
    assert {"val", "test"} <= {split[f"voice:f{i}"] for i in range(5)}
