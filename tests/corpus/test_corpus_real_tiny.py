"""Build the real ``tiny`` tier from the Debian mirrors (network; ~2 minutes) and check its invariants."""

import json
import shutil

import pytest

from tqse.data.corpus.sources import tier_spec
from tqse.data.manifest import iter_jsonl, read_mixtures

from corpus_fakes import check_splits


@pytest.mark.slow
def test_real_tiny_tier(tmp_path):
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        pytest.skip("needs apt-get and dpkg-deb (Debian/Ubuntu)")
    from tqse.data.corpus import build_corpus

    clips = build_corpus("tiny", tmp_path / "tiny", cache=tmp_path / "cache")
    rows = [o for _, o in iter_jsonl(clips)]
    others = [o for _, o in iter_jsonl(clips.parent / "interferers.jsonl")]
    stats = json.loads((clips.parent / "stats.json").read_text())
    assert stats["n_classes"] >= 15
    assert {"speech female", "speech male", "drums", "violin", "keyboard typing"} <= set(stats["classes"])
    assert check_splits(rows + others, tier_spec("tiny").ood_sources) == []
    assert {r["split"] for r in rows} == {"train", "val", "test", "ood"}
    for split in ("val", "test", "ood"):
        assert read_mixtures(clips.parent / "mixtures" / f"{split}.jsonl")
    assert not list((tmp_path / "cache" / "debs").glob("*.deb"))      # .debs deleted after extraction
    state = json.loads((clips.parent / "state.json").read_text())
    assert state["stages"]["done"]
    assert build_corpus("tiny", tmp_path / "tiny", cache=tmp_path / "cache") == clips     # no-op
