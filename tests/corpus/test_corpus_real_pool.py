"""Build a small subset of the real ``pool`` tier from the Debian mirror (network; a few minutes): the Qt
resource bundles of gcompris (held out: the unseen-source split), four small packages whose unmatched audio
becomes unlabelled clips, the FluidR3 GS sound-effect presets and two espeak-ng voices, with splits pinned to
the real ``tiny`` tier built beside it."""

import json
import shutil

import pytest

from tqse.data.corpus.sources import tier_spec
from tqse.data.manifest import iter_jsonl, read_clips, read_mixtures

from corpus_fakes import check_splits

SUBSET = {"sfx_packages": ("gcompris-qt-data", "oxygen-sounds", "chromium-bsu-data", "minetest-data", "lbreakout2-data"),
          "soundfonts": ("fluid-soundfont-gs",), "voices": ("espeak:de+f2", "espeak:it+m5"),
          "pin_splits_from": "tiny", "min_recordings": 3, "min_groups": 2, "max_mixtures_per_class": 3}


@pytest.mark.slow
def test_real_pool_subset(tmp_path, capsys):
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        pytest.skip("needs apt-get and dpkg-deb (Debian/Ubuntu)")
    from tqse.data.corpus import build_corpus

    clips = build_corpus("pool", tmp_path / "pool", cache=tmp_path / "cache", clip_seconds=5.0,
                         spec_overrides=SUBSET)
    root = clips.parent
    rows = [o for _, o in iter_jsonl(clips)] + [o for _, o in iter_jsonl(root / "interferers.jsonl")]
    unlabelled = [o for _, o in iter_jsonl(root / "unlabelled.jsonl")]
    assert unlabelled and all(r["class"] is None and not r["captions"] for r in unlabelled)
    assert read_clips(root / "unlabelled.jsonl")
    # gcompris' sounds come out of its .rcc bundles, and the whole package is held out
    gcompris = [r for r in rows + unlabelled if r["source_id"] == "gcompris-qt-data"]
    assert gcompris and all(".rcc/" in r["original"] for r in gcompris)
    assert {r["split"] for r in gcompris} == {"unseen"}
    assert check_splits(rows + unlabelled, tier_spec("pool").ood_sources) == []
    assert any(r["source_id"] == "sf:fluidr3gs" for r in rows)                       # GS sound-effect presets
    assert {r["split"] for r in rows if r["source_id"] == "voice:espeak:it+m5"} == {"unseen"}  # held-out language
    assert read_mixtures(root / "mixtures" / "unseen.jsonl")
    stats = json.loads((root / "stats.json").read_text())
    assert stats["pool"]["train_recordings"] > 0 and stats["pool"]["per_source"]
    assert (tmp_path / "tiny" / "state.json").exists()                                 # the pinned tier
    assert not list((tmp_path / "cache" / "debs").glob("*.deb"))
    assert build_corpus("pool", root, cache=tmp_path / "cache", clip_seconds=5.0, spec_overrides=SUBSET) == clips
