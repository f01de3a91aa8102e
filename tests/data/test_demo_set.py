"""The committed demo set (src/tqse/assets/demo, issue 25): complete, credited, redistributable, reproducible by
scripts/make_demo_set.py from a built pool tier, and chosen by a rule that never looks at a model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import load_script
from tqse.data.locations import default_corpus_dir, is_complete

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "src" / "tqse" / "assets" / "demo"
make = load_script(ROOT / "scripts" / "make_demo_set.py")


def manifest() -> list[dict]:
    return json.loads((DEMO / "mixtures.json").read_text())["mixtures"]


def test_the_committed_set_is_complete_credited_and_small():
    items = manifest()
    assert 6 <= len(items) <= 10 and len({m["id"] for m in items}) == len(items)
    assert [m["id"] for m in items] == [s.id for s in make.SCENARIOS]
    credits = (DEMO / "CREDITS.md").read_text()
    total = 0
    for item in items:
        assert item["right_query"] != item["wrong_query"] and item["snr_db"] == pytest.approx(0.0, abs=0.05)
        lengths = set()
        for role in ("target", "interferer"):
            source = item[role]
            info = sf.info(str(DEMO / source["file"]))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            lengths.add(info.frames)
            total += (DEMO / source["file"]).stat().st_size
            assert make.redistributable(source["licence_of_file"]), source
            assert source["credit_of_file"] and f"`{source['file']}`" in credits
            assert source["source_id"] in {"heroes-sound-effects", "lincity-ng-data", "supertuxkart-data",
                                           "gcompris-qt-data", "hydrogen-drumkits", "asterisk-core-sounds-it-wav",
                                           "sf:musescore", "sf:musescorefull", "voice:flite:kal16",
                                           "voice:espeak:en+f4"} or source["source_id"].startswith("voice:espeak:it")
        assert lengths == {8 * 16000}
        mixture = sum(sf.read(str(DEMO / item[r]["file"]), dtype="float32")[0] for r in ("target", "interferer"))
        assert 0.85 <= np.abs(mixture).max() <= 0.91
    assert total < 4e6


def test_licences_that_forbid_redistribution_are_refused():
    assert make.redistributable("CC0") and make.redistributable("GPL-2+") and make.redistributable("free-art")
    for bad in ("CC-sampling-plus-1.0", "CC-BY-NC-3.0", "CC-BY-ND-4.0", "unknown", "see copyright file", ""):
        assert not make.redistributable(bad)


def test_the_excerpt_is_the_most_active_window():
    rate, hop = make.RATE, int(make.FRAME_S * make.RATE)
    wav = np.zeros(12 * rate, np.float32)
    wav[3 * rate:11 * rate] = 0.5 * np.sin(np.arange(8 * rate) * 0.1)  # 8 s of sound from 3 s to 11 s
    share, start = make.most_active_window(wav)
    assert share == 1.0 and start == 3 * rate and start % hop == 0


DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2000 Someone
License: GPL-2+

Files: data/sfx/birds.ogg data/sfx/other.ogg
Copyright: 2011 A Bird Recordist
License: CC0

Files: it-*
Copyright: 2012 An Italian Speaker
License: CC-BY-3.0

License: CC0
 The CC0 text.

License: GPL-2+
 The GPL text.
"""


def test_the_covering_copyright_stanza_is_found_and_cut_to_the_file():
    licence, holders, excerpt = make.copyright_excerpt(DEP5, "usr/share/games/x/data/sfx/birds.ogg")
    assert (licence, holders) == ("CC0", "2011 A Bird Recordist")
    assert "Files: data/sfx/birds.ogg\n" in excerpt and "other.ogg" not in excerpt and "The CC0 text." in excerpt
    assert "The GPL text." not in excerpt
    licence, holders, excerpt = make.copyright_excerpt(DEP5, "usr/share/games/x/sounds/traffic.wav")
    assert (licence, holders) == ("GPL-2+", None) and "The GPL text." in excerpt  # the catch-all: package holders
    # an installed path that does not show the source-tree name: the stanza is named in STANZA_FOR
    licence, holders, _ = make.copyright_excerpt(DEP5, "usr/share/asterisk/sounds/it_IT_m_Carlo/a.wav",
                                                 "asterisk-core-sounds-it-wav")
    assert (licence, holders) == ("CC-BY-3.0", "2012 An Italian Speaker")
    assert make.copyright_excerpt("free-form text, GPL-3", "x") == (None, None, "free-form text, GPL-3")


@pytest.mark.skipif(not is_complete(default_corpus_dir("pool")), reason="the pool tier is not built here")
def test_the_script_rebuilds_the_committed_set_byte_for_byte(tmp_path):
    assert make.main(["--out", str(tmp_path)]) == 0
    for path in sorted(DEMO.glob("*.flac")) + [DEMO / "mixtures.json", DEMO / "CREDITS.md"]:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("tier", ["default", "pool"])
def test_no_demo_source_family_or_file_is_in_a_training_split_of_a_built_tier(tier):
    """The demo's promise ("sources the shipped model never trained on"), checked against the data itself where
    the tier is built: the shipped model's `default` tier and the `pool` tier issue 22's models train on."""
    folder = default_corpus_dir(tier)
    if not is_complete(folder):
        pytest.skip(f"the {tier} tier is not built here")
    train = [row for name in ("clips", "interferers", "unlabelled") if (folder / f"{name}.jsonl").is_file()
             for row in map(json.loads, (folder / f"{name}.jsonl").read_text().splitlines())
             if row.get("split", "train") == "train"]
    families, files = {r.get("source_id") for r in train}, {r.get("original") for r in train}
    for item in manifest():
        for role in ("target", "interferer"):
            assert item[role]["source_id"] not in families, (tier, item["id"], role)
            assert item[role]["original"] not in files, (tier, item["id"], role)
