"""Helpers for corpus tests: a fake Debian package made of the committed CC0 fixture audio (no network)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

from tqse.data.corpus.fetch import PackageFiles

FIXTURE = Path(__file__).resolve().parents[2] / "src" / "tqse" / "assets" / "fixture"
COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2020 Example
License: MIT

Files: etc/samples/loop_amen.flac
Copyright: 2009 Dolfeus
Source: http://freesound.org/people/Dolfeus/sounds/43389/
License: CC0
"""


class FakeApt:
    """Stands in for ``fetch_package``: serves one fake ``sonic-pi-samples`` built from the fixture clips.

    Each fixture file is shipped under its own name, as a second take (``<name>_2``, a gain-changed
    copy, so the dedup stage must merge it) and under the same name in another folder (``alt/``, time-reversed: a different sound); ``version`` can be changed to simulate a package update;
    every other package is "unavailable" (returns None, like a missing package).
    """

    def __init__(self, root: Path, version: str = "1.0-1"):
        self.root, self.version, self.calls = root, version, 0

    def __call__(self, package: str, cache, select, archive_select=None, wide=False):
        self.calls += 1
        if package != "sonic-pi-samples":
            return None
        base = self.root / f"{package}_{self.version}"
        files = []
        if not (base / "done").exists():
            shutil.rmtree(base, ignore_errors=True)
        for src in sorted(FIXTURE.glob("*.flac")):
            for suffix, gain in (("", 1.0), ("_2", 0.5), ("", -1.0)):
                # a third, different sound (time-reversed) with the same file name in another folder
                folder = "samples" if gain > 0 else "samples/alt"
                rel = f"usr/share/sonic-pi/{folder}/{src.stem}{suffix}.flac"
                if not select(rel):
                    continue
                dest = base / "files" / rel
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    wav, sr = sf.read(src, dtype="float32")
                    sf.write(dest, wav * gain if gain > 0 else wav[::-1], sr)
                files.append({"path": rel, "sha256": hashlib.sha256(dest.read_bytes()).hexdigest(),
                              "size": dest.stat().st_size})
        (base / "done").write_text("ok")
        return PackageFiles(package, self.version, base, files, COPYRIGHT)


# thresholds shrunk so the 12-clip fixture yields target classes; tiny clips keep the test fast
SMALL = {"min_recordings": 2, "min_groups": 1, "max_mixtures_per_class": 2}


def tone(freq: float, seconds: float, sr: int = 32000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def check_splits(rows: list[dict], ood_sources: frozenset[str] | set[str]) -> list[str]:
    """Invariant violations in manifest rows (empty list = fine): a group in two splits, OOD in train."""
    problems = []
    seen: dict[str, str] = {}
    for row in rows:
        group, split = row["recording_group"], row["split"]
        if seen.setdefault(group, split) != split:
            problems.append(f"group {group} is in both {seen[group]} and {split}")
        if split == "train" and set(row.get("sources", [row.get("source_id")])) & set(ood_sources):
            problems.append(f"{row['path']}: out-of-domain source in train")
    return sorted(set(problems))


class PoolApt(FakeApt):
    """:class:`FakeApt` plus a held-out package of the pool tier (``hydrogen-drumkits``): three kits of
    synthetic drum hits (noise bursts, a different spectrum per kit and drum), and one 0.1 s click, which is
    too short to enter the pool."""

    HELD_OUT = "hydrogen-drumkits"

    def __call__(self, package: str, cache, select, archive_select=None, wide=False):
        if package != self.HELD_OUT:
            return super().__call__(package, cache, select, archive_select, wide)
        self.calls += 1
        base = self.root / f"{package}_{self.version}"
        files = []
        rng = np.random.default_rng(0)
        for kit in ("KitA", "KitB", "KitC"):
            for k, (drum, seconds) in enumerate((("kick", 0.6), ("snare", 0.5), ("click", 0.1))):
                rel = f"usr/share/hydrogen/data/drumkits/{kit}/{drum}.wav"
                if not select(rel):
                    continue
                dest = base / "files" / rel
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    n = int(seconds * 32000)
                    burst = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.05 * 32000 * (1 + k)))
                    burst = np.convolve(burst, np.ones(2 + 7 * k + len(kit) * ord(kit[-1]) % 5) / 4, "same")
                    sf.write(dest, (0.5 * burst / np.abs(burst).max()).astype(np.float32), 32000)
                files.append({"path": rel, "sha256": hashlib.sha256(dest.read_bytes()).hexdigest(),
                              "size": dest.stat().st_size})
        return PackageFiles(package, self.version, base, files, COPYRIGHT, wide)
