"""Build the corpus of a tier in resumable stages recorded in ``OUT/state.json``.

Stages: fetch (apt-get download + dpkg-deb, cached per package version) -> scan (decode, trim, fingerprint
every labelled file) -> sound-effect clips (per chunk of recording groups) -> rendered clips (per soundfont
and voice) -> splits and class roles -> fixed mixtures -> manifests. Every stage writes its output
atomically and is skipped when present, so a killed build resumes where it stopped, and a finished build
with the same tier, seed, clip length and package versions returns at once.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import os
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from tqse.audio.io import save_audio
from tqse.data.corpus import captions as cap
from tqse.data.corpus import clips as cl
from tqse.data.corpus.dedup import duplicate_clusters, fingerprint
from tqse.data.corpus.fetch import PackageFiles, fetch_package, prefetch
from tqse.data.corpus.mixtures import plan_mixtures, write_mixtures
from tqse.data.corpus.sources import (AUDIO_EXTENSIONS, SOUNDFONT_FAMILY, SOUNDFONTS, SPEECH_RUNTIME, TierSpec,
                                      file_credit, parse_copyright, tier_spec)
from tqse.data.corpus.splits import GroupInfo, assign_splits
from tqse.data.corpus import pool
from tqse.data.corpus.taxonomy import UNLABELLED, class_info, classify, family_key, rules_digest
from tqse.data.manifest import iter_jsonl, write_json, write_jsonl
from tqse.errors import CorpusError
from tqse.files import file_sha256

log = logging.getLogger(__name__)
BUILD_VERSION = 2
# Bump when captions / licences / manifest fields change: a finished build then rewrites its manifests
# from the cached parts (seconds) instead of returning at once.
MANIFEST_VERSION = 5
CHUNK = 40
# Bump when the pool's grouping or clip rules change (the older tiers' builds are not touched by it).
POOL_VERSION = 2
Fetcher = Callable[..., "PackageFiles | None"]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")


def _read_json(path: Path, default=None):
    return json.loads(path.read_text()) if path.exists() else default


def _rows(path: Path) -> list[dict]:
    return [obj for _, obj in iter_jsonl(path)] if path.exists() else []


class Builder:
    """One build of one tier into ``out`` (see module docstring)."""

    def __init__(self, tier: str, out: Path, cache: Path, clip_seconds: float, seed: int, fetcher: Fetcher,
                 spec_overrides: dict | None = None):
        self.spec: TierSpec = dataclasses.replace(tier_spec(tier), **(spec_overrides or {}))
        self.out, self.cache, self.seed, self.fetcher = out, cache, seed, fetcher
        self.length = int(round(clip_seconds * cl.SAMPLE_RATE))
        self.params = {"tier": tier, "seed": seed, "clip_seconds": clip_seconds, "build_version": BUILD_VERSION,
                       "rules": rules_digest(self.spec.sfx_packages, self.spec.unlabelled),
                       **{k: repr(v) for k, v in (spec_overrides or {}).items()}}
        if self.spec.unlabelled:
            self.params["pool_version"] = POOL_VERSION
        self.work = out / "work"
        self.packages: dict[str, PackageFiles] = {}

    # -- stage 1: fetch ---------------------------------------------------------------------------------
    def fetch(self) -> dict[str, str]:
        if self.fetcher is fetch_package:
            prefetch([*self.spec.sfx_packages, *self.spec.soundfonts, *SPEECH_RUNTIME], self.cache)
        wide = self.spec.unlabelled
        for pkg in self.spec.sfx_packages:
            sel = self._selector(pkg)
            # archives are opened in every pool package, and in 0ad's for the older tiers
            opens = sel if wide or pkg == "0ad-data" else None
            got = self.fetcher(pkg, self.cache, sel, archive_select=opens, wide=wide)
            if got is not None:
                self.packages[pkg] = got
        for pkg in self.spec.soundfonts:
            target = SOUNDFONTS[pkg][0]
            got = self.fetcher(pkg, self.cache, lambda rel, t=target: rel == t)
            if got is not None:
                self.packages[pkg] = got
        for pkg in SPEECH_RUNTIME:
            got = self.fetcher(pkg, self.cache, lambda rel: rel.startswith(("usr/bin/", "usr/lib/")))
            if got is not None:
                self.packages[pkg] = got
        return {p: f.version for p, f in sorted(self.packages.items())}

    def _selector(self, package: str) -> Callable[[str], bool]:
        """Which files of ``package`` the tier keeps: labelled audio (and, in the pool, usable unlabelled audio)."""
        unlabelled = self.spec.unlabelled
        return lambda rel: rel.lower().endswith(AUDIO_EXTENSIONS) and classify(package, rel, unlabelled) is not None

    def runtime(self) -> Path | None:
        """One folder merging the extracted speech binaries/libraries (copied once per version set)."""
        if not all(p in self.packages for p in SPEECH_RUNTIME[:7]):
            log.warning("speech runtime incomplete; speech voices skipped")
            return None
        # short folder name: espeak-ng truncates its data path at ~160 characters
        key = hashlib.sha1(repr([(p, self.packages[p].version) for p in SPEECH_RUNTIME
                                 if p in self.packages]).encode()).hexdigest()[:10]
        root = self.cache / "speech-runtime" / key
        if not (root / "READY").exists():
            shutil.rmtree(root, ignore_errors=True)
            for p in SPEECH_RUNTIME:
                if p in self.packages:
                    shutil.copytree(self.packages[p].root / "files", root, dirs_exist_ok=True, symlinks=True)
            (root / "READY").write_text("ok")
        return root

    # -- stage 2: scan ----------------------------------------------------------------------------------
    def scan(self) -> list[dict]:
        """Decode + trim + fingerprint every labelled file (cached per package version)."""
        recs: list[dict] = []
        for pkg in self.spec.sfx_packages:
            if pkg not in self.packages:
                continue
            entry = self.packages[pkg]
            wide = "_wide" if self.spec.unlabelled else ""
            digest = rules_digest([pkg], self.spec.unlabelled)
            part = self.work / "scan" / f"{pkg}_{_slug(entry.version)}_{digest}{wide}.json"
            if not part.exists():
                rows, prints = [], {}
                for item in sorted(entry.files, key=lambda f: f["path"]):
                    label = classify(pkg, item["path"], self.spec.unlabelled)
                    if label is None:
                        continue
                    try:
                        wav, sr = cl.load_source(entry.path(item["path"]))
                    except Exception as err:     # a file soundfile cannot decode: skip, say which
                        log.warning("%s: %s: cannot decode (%s); skipped", pkg, item["path"], err)
                        continue
                    wav = cl.trim_silence(wav)
                    if len(wav) < cl.SAMPLE_RATE // 20 or (label is UNLABELLED and not (
                            pool.MIN_UNLABELLED_SECONDS <= len(wav) / cl.SAMPLE_RATE <= pool.MAX_UNLABELLED_SECONDS)):
                        continue
                    key = f"{pkg}:{item['path']}"
                    prints[key] = fingerprint(wav).tolist()
                    rows.append({"key": key, "package": pkg, "version": entry.version, "original": item["path"],
                                 "sha256": item["sha256"], "class": label.label, "detail": label.detail,
                                 "family": family_key(pkg, item["path"]), "seconds": len(wav) / cl.SAMPLE_RATE,
                                 "orig_sample_rate": sr, "fingerprint": prints[key]})
                write_json(part, rows)
            recs += _read_json(part)
        return recs

    # -- stage 3: groups + sound-effect clips -------------------------------------------------------------
    def group(self, recs: list[dict]) -> None:
        """Merge file families with duplicate clusters; mark duplicates (they do not count twice)."""
        clusters = duplicate_clusters([np.asarray(r["fingerprint"], dtype=np.float32) for r in recs],
                                      [r["seconds"] for r in recs])
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x

        # the copy that stands for a cluster: its first labelled member (a labelled copy of a sound the pool
        # also found unlabelled keeps its class), else its first member
        keeper: dict[int, int] = {}
        for i, c in enumerate(clusters):
            if c not in keeper or (not recs[keeper[c]]["class"] and recs[i]["class"]):
                keeper[c] = i
        for i, (r, c) in enumerate(zip(recs, clusters)):
            kept = recs[keeper[c]]
            # only copies of a labelled sound tie their families together: the same beep or joke prompt in
            # every Asterisk language must not make one speaker of all five (an unlabelled copy is dropped
            # as a duplicate anyway, so it never becomes a clip of another split)
            a, b = find(r["family"]), find(kept["family"])
            if a != b and r["class"] and kept["class"]:
                parent[max(a, b)] = min(a, b)
            r["duplicate_of"] = kept["key"] if keeper[c] != i else None
        for r in recs:
            r["group"] = find(r["family"])

    def sfx_clips(self, recs: list[dict]) -> list[dict]:
        by_group: dict[tuple, list[dict]] = defaultdict(list)
        for r in recs:
            if r["duplicate_of"] is None:
                by_group[(r["group"], r["class"])].append(r)
        keys = sorted(by_group)
        rows: list[dict] = []
        for start in range(0, len(keys), CHUNK):
            part = self.work / "parts" / f"sfx_{start // CHUNK:04d}.jsonl"
            if not part.exists():
                chunk_rows = []
                for key in keys[start: start + CHUNK]:
                    chunk_rows += self._group_clips(key, by_group[key], recs)
                write_jsonl(part, chunk_rows)
                log.info("sound-effect clips: %d/%d recording groups", min(start + CHUNK, len(keys)), len(keys))
            rows += _rows(part)
        return rows

    def _group_clips(self, key: tuple, members: list[dict], recs: list[dict]) -> list[dict]:
        group, label = key
        rng = np.random.default_rng([self.seed, *map(ord, f"{group}|{label}"[:96])])
        cap_n = 8 if self.spec.name == "tiny" else 24
        audio = {}
        for r in members:
            entry = self.packages[r["package"]]
            audio[r["key"]] = cl.trim_silence(cl.load_source(entry.path(r["original"]))[0])
        dups = defaultdict(list)
        for r in recs:
            if r["duplicate_of"]:
                dups[r["duplicate_of"]].append(r["key"])
        order = [members[i] for i in rng.permutation(len(members))]
        rows = []
        for r in order[:cap_n]:
            others = [audio[o["key"]] for o in members if o["key"] != r["key"]][:12]
            for k, wav in enumerate(cl.make_clips(audio[r["key"]], others, self.length,
                                                  self.spec.max_segments_per_recording, rng)):
                # same file name in several folders (tilesets, voice packs): a path hash keeps names unique
                tag = hashlib.sha1(r["original"].encode()).hexdigest()[:6]
                stem = _slug(f"{r['package']}__{Path(r['original']).stem}")[:80] + f"_{tag}"
                rows.append(self._write_clip(wav, label, f"{stem}_{k}", {
                    "source": f"{r['package']} {r['version']}", "source_id": r["package"],
                    "sources": sorted({r["package"], *(d.split(':', 1)[0] for d in dups[r['key']])}),
                    "recording_group": group, "original": r["original"], "sha256": r["sha256"],
                    "orig_sample_rate": r["orig_sample_rate"], "detail": r["detail"],
                    "duplicates": dups[r["key"]], "takes": len(members) if len(audio[r["key"]]) < self.length else 1,
                    "recordings_in_group": len(members)}))
        return rows

    def _write_clip(self, wav: np.ndarray, label: str, name: str, meta: dict) -> dict:
        rel = f"clips/{_slug(label) or 'unlabelled'}/{name}.flac"
        wav = cl.peak_normalise(wav)
        save_audio(self.out / rel, wav, cl.SAMPLE_RATE)
        # sha256 names the source file (shared by the segments of a long one); clip_sha256 names this clip,
        # so each segment gets its own row in an embedding cache
        return {"path": rel, "class": label, "frames": len(wav), "sample_rate": cl.SAMPLE_RATE,
                "bandwidth_hz": round(cl.effective_bandwidth(wav)), "clip_sha256": file_sha256(self.out / rel), **meta}

    # -- stage 4: rendered clips ------------------------------------------------------------------------
    def rendered(self) -> list[dict]:
        from tqse.data.corpus import render

        rows = []
        for pkg in self.spec.soundfonts:
            if pkg not in self.packages:
                continue
            rel_sf, name = SOUNDFONTS[pkg]
            part = self.work / "parts" / f"sf_{name}.jsonl"
            if not part.exists():
                log.info("rendering instruments from %s", name)
                held_out = f"sf:{name}" in self.spec.ood_sources
                n = self.spec.ood_instrument_clips if held_out else self.spec.instrument_clips_per_soundfont
                sf_path, seconds = str(self.packages[pkg].path(rel_sf)), self.length / cl.SAMPLE_RATE
                family = SOUNDFONT_FAMILY.get(name, name)
                items = render.render_instruments(sf_path, name, n, seconds, self.seed, family=family)
                if self.spec.rendered_extras:
                    items += render.render_extras(sf_path, name, family, seconds, self.seed, held_out)
                write_jsonl(part, [self._write_clip(it.wav, it.label, f"{name}_{i:04d}", {
                    "source": f"{pkg} {self.packages[pkg].version}", "source_id": it.source,
                    "sources": [it.source], "recording_group": it.group, "original": it.description,
                    "orig_sample_rate": cl.SAMPLE_RATE, "detail": it.detail,
                    "soundfont_sha256": self.packages[pkg].files[0]["sha256"], **it.extra})
                    for i, it in enumerate(items)])
            rows += _rows(part)
        runtime = self.runtime()
        for voice in self.spec.voices if runtime else ():
            part = self.work / "parts" / f"voice_{_slug(voice)}.jsonl"
            if not part.exists():
                log.info("speech: %s", voice)
                write_jsonl(part, self._speech(voice, runtime))
            rows += _rows(part)
        return rows

    def _speech(self, voice: str, runtime: Path) -> list[dict]:
        from tqse.data.corpus import render

        engine = voice.split(":")[0]
        pkg = "flite" if engine == "flite" else "espeak-ng"
        rows = []
        # the pool's extra voices (beyond the older tiers' 14) speak fewer clips each: more voices, not more
        # of one voice
        extra = self.spec.extra_voice_clips and self.spec.voices.index(voice) >= 14
        for i in range(self.spec.extra_voice_clips if extra else self.spec.speech_clips_per_voice):
            rng = np.random.default_rng([self.seed, i, *map(ord, voice)])
            texts = render.texts_for(voice, rng, 6)
            takes = [cl.trim_silence(render.speak(voice, t, runtime, rng)) for t in texts]
            wav = cl.loop_takes(takes, self.length, rng, max_gap_s=0.5)
            label = render.voice_gender(voice)
            rows.append(self._write_clip(wav, label, f"{_slug(voice)}_{i:03d}", {
                "source": f"{pkg} {self.packages[pkg].version}", "source_id": f"voice:{voice}",
                "sources": [f"voice:{voice}"], "recording_group": f"voice:{voice}",
                "original": " | ".join(texts), "orig_sample_rate": 16000 if engine == "flite" else 22050,
                "detail": render.speech_detail(voice)}))
        return rows

    # -- stage 5: splits, roles, captions -------------------------------------------------------------
    def finalise(self, rows: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
        """Splits, class roles, captions, licences: ``(targets, interferer-only, unlabelled)`` rows."""
        infos: dict[tuple, GroupInfo] = {}
        for r in rows:
            k = (r["recording_group"], r["class"])
            old = infos.get(k)
            n_clips = (old.clips if old else 0) + 1
            # a sound-effect group holds all its files (used as clips or as takes)
            recordings = r.get("recordings_in_group") or n_clips
            infos[k] = GroupInfo(k[0], k[1], recordings,
                                 frozenset(r["sources"]) | (old.sources if old else frozenset()), n_clips)
        heldout = self.spec.heldout_split
        split = assign_splits(list(infos.values()), self.spec.ood_sources, self.seed, self.pins(rows), heldout)
        # distinct recordings and groups per class outside the held-out split: a sound-effect group counts
        # all its (deduplicated) member files, used as clips or as takes; a rendered clip is one recording
        seen_groups: set[tuple] = set()
        recordings: dict[str, int] = defaultdict(int)
        groups: dict[str, set] = defaultdict(set)
        for r in rows:
            r["split"] = split[r["recording_group"]]
            if r["split"] == heldout or not r["class"]:
                continue
            k = (r["recording_group"], r["class"])
            groups[r["class"]].add(r["recording_group"])
            if "recordings_in_group" not in r:
                recordings[r["class"]] += 1
            elif k not in seen_groups:
                seen_groups.add(k)
                recordings[r["class"]] += r["recordings_in_group"]
        self.class_counts = {c: {"recordings": recordings[c], "groups": len(groups[c])} for c in groups}
        targets, interferers, unlabelled = [], [], []
        for r in rows:
            r["licence"], r["credit"] = self.licence(r)
            r["dataset"] = f"tqse-corpus-{self.spec.name}"
            label = r["class"]
            if not label:          # audio-query training only: no class, no caption
                r.update({"class": None, "category": "unlabelled", "captions": []})
                unlabelled.append(r)
                continue
            category, role = class_info(label)
            ok = (role == "target" and recordings[label] >= self.spec.min_recordings
                  and len(groups[label]) >= self.spec.min_groups)
            r["category"] = category
            rng = np.random.default_rng([self.seed, *map(ord, r["path"][-64:])])
            r["captions"], unseen = cap.captions_for(label, r.get("detail", ""), r["split"], rng)
            if unseen:
                r["captions_unseen"] = unseen
            (targets if ok else interferers).append(r)
        return targets, interferers, unlabelled

    def pins(self, rows: list[dict]) -> dict[str, str]:
        """Groups whose split is decided before dealing: recordings the older tier holds out keep their
        split there, and a group of unlabelled clips only trains (it cannot be scored)."""
        if not self.spec.pin_splits_from:
            return {}
        older = self.out.parent / self.spec.pin_splits_from
        build_corpus(self.spec.pin_splits_from, older, clip_seconds=self.length / cl.SAMPLE_RATE, seed=self.seed,
                     cache=self.cache, fetcher=self.fetcher)
        pinned = pool.group_pins(rows, pool.pinned_splits(older, self.spec.heldout_split))
        labelled = {r["recording_group"] for r in rows if r["class"]}
        pinned.update({r["recording_group"]: "train" for r in rows
                       if r["recording_group"] not in labelled and r["recording_group"] not in pinned})
        return pinned

    def licence(self, row: dict) -> tuple[str, str]:
        pkg = row["source"].split(" ")[0]
        entry = self.packages.get(pkg)
        if entry is None:
            return "unknown", ""
        if row.get("sha256"):          # a file from the package: its own stanza when there is one
            licence, credit = file_credit(entry.copyright, row["original"])
            if credit:
                return licence, credit
        else:
            licence = parse_copyright(entry.copyright)[0]
        return licence, f"{pkg} (Debian): " + "; ".join(parse_copyright(entry.copyright)[1][:3])

    # -- driver -----------------------------------------------------------------------------------------
    def run(self) -> Path:
        t0 = time.time()
        state_path = self.out / "state.json"
        state = _read_json(state_path, {})
        versions = self.fetch()
        if state.get("params") != self.params or state.get("versions") != versions:
            if state:
                log.info("parameters or package versions changed: rebuilding clips")
                shutil.rmtree(self.out / "work" / "parts", ignore_errors=True)
                shutil.rmtree(self.out / "mixtures", ignore_errors=True)
            state = {"params": self.params, "versions": versions, "stages": {}}
            write_json(state_path, state)
        elif state.get("stages", {}).get("done") and state.get("manifest_version") == MANIFEST_VERSION:
            log.info("corpus %s is up to date (%s)", self.spec.name, self.out)
            return self.out / "clips.jsonl"
        stages, timings = state["stages"], state.setdefault("timings", {})

        def mark(name: str, start: float) -> None:
            stages[name] = True
            timings[name] = round(time.time() - start + timings.get(name, 0.0), 1)
            write_json(state_path, state)

        t = time.time(); recs = self.scan(); self.group(recs); mark("scan", t)
        t = time.time(); rows = self.sfx_clips(recs); mark("sfx_clips", t)
        t = time.time(); rows += self.rendered(); mark("rendered", t)
        targets, interferers, unlabelled = self.finalise(rows)
        t = time.time()
        counts = self.mixtures(targets, interferers)
        mark("mixtures", t)
        write_jsonl(self.out / "clips.jsonl", targets)
        write_jsonl(self.out / "interferers.jsonl", interferers)
        if self.spec.unlabelled:
            write_jsonl(self.out / "unlabelled.jsonl", unlabelled)
        write_json(self.out / "credits.json", self.credits())
        from tqse.data.corpus.audit import corpus_stats

        stats = corpus_stats(targets, interferers, counts, self.out)
        if self.spec.unlabelled:
            stats["unlabelled_clips"] = {s: sum(r["split"] == s for r in unlabelled) for s in ("train", "unseen")}
            stats["pool"] = pool.diversity(targets + interferers + unlabelled)
        stats["build_seconds"] = {k: v for k, v in timings.items() if k != "total_this_run"}
        write_json(self.out / "stats.json", stats)
        stages["done"] = True
        state["manifest_version"] = MANIFEST_VERSION
        timings["total_this_run"] = round(time.time() - t0, 1)
        write_json(state_path, state)
        return self.out / "clips.jsonl"

    def mixtures(self, targets: list[dict], interferers: list[dict]) -> dict[str, int]:
        """Fixed mixtures of val, test and the held-out split (whose interferers may also come from test)."""
        heldout = self.spec.heldout_split
        splits = ("val", "test", heldout)
        pools = {s: [r for r in targets + interferers if r["split"] == s] for s in splits}
        pools[heldout] = pools[heldout] + pools["test"]
        plan = plan_mixtures(targets, pools, self.spec.max_mixtures_per_class, self.seed, splits)
        if self.spec.unlabelled:     # the pool's sets are class-balanced in any prefix (see interleave_by_class)
            plan = {split: pool.interleave_by_class(items) for split, items in plan.items()}
        return write_mixtures(plan, self.out, lambda r: (r.get("captions_unseen") or r["captions"])[0])

    def credits(self) -> list[dict]:
        out = []
        for pkg, entry in sorted(self.packages.items()):
            licence, holders = parse_copyright(entry.copyright)
            out.append({"package": pkg, "version": entry.version, "licence": licence, "copyright": holders,
                        "role": "tool" if pkg in SPEECH_RUNTIME else "audio"})
        return out


def build_corpus(tier: str = "tiny", out: str | os.PathLike | None = None, *, clip_seconds: float = 10.0,
                 seed: int = 0, cache: str | os.PathLike | None = None, fetcher: Fetcher | None = None,
                 spec_overrides: dict | None = None) -> Path:
    """Build (or resume, or confirm) the corpus of ``tier``; returns the path of ``clips.jsonl``.

    Args:
        tier: tiny | default | full.
        out: output folder (default :func:`tqse.data.corpus.default_corpus_dir`).
        clip_seconds: clip length (10 s like the paper).
        seed: seed of every random choice (segments, takes, splits, captions, mixtures).
        cache: package cache (default ``OUT/../_cache``, shared by tiers).
        fetcher: replaces :func:`fetch_package` (tests use a fake one; no network).
        spec_overrides: fields of :class:`TierSpec` to replace (tests shrink thresholds).
    """
    from tqse.data.corpus import default_corpus_dir

    out = Path(out) if out else default_corpus_dir(tier)
    cache = Path(cache) if cache else out.parent / "_cache"
    out.mkdir(parents=True, exist_ok=True)
    try:
        return Builder(tier, out, cache, clip_seconds, seed, fetcher or fetch_package, spec_overrides).run()
    except (OSError, RuntimeError) as err:     # soundfile reports a failed write as a RuntimeError
        if _disk_full(err, out, cache):
            raise CorpusError(f"{out}: no space left on the disk ({_free_mb(out)} MB free in the corpus folder, "
                              f"{_free_mb(cache)} MB in the package cache {cache}); free some and run the same "
                              "command again: the build resumes where it stopped") from None
        raise


LOW_DISK_MB = 64


def _free_mb(path: Path) -> int:
    return int(shutil.disk_usage(path if path.exists() else path.parent).free / 2**20)


def _disk_full(err: BaseException, *folders: Path) -> bool:
    return getattr(err, "errno", None) == errno.ENOSPC or any(_free_mb(f) < LOW_DISK_MB for f in folders)
