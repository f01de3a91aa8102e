"""Numbers and a listening-audit aid for a built corpus.

``corpus_stats`` counts classes, clips and recordings per split and the size on disk (written to
``OUT/stats.json`` at the end of a build). ``audit`` picks 3 clips per class (seeded), writes a log-mel
spectrogram PNG of each and an "ear proxy" table (RMS level, effective bandwidth, active fraction), and
flags clips that look wrong for review: near-silent, mostly inactive, or a bandwidth far below the class
median. Files confirmed mislabelled go to ``taxonomy.BLACKLIST``.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from tqse.data.corpus.clips import SAMPLE_RATE, frame_db
from tqse.data.corpus.splits import SPLITS


def _disk_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def corpus_stats(targets: list[dict], interferers: list[dict], mixtures: dict[str, int],
                 root: str | os.PathLike) -> dict:
    """Classes, clips and distinct recordings (sources files / rendered phrases) per split."""
    root = Path(root)
    per_split: dict[str, dict] = {}
    recordings_per_class: dict[str, Counter] = defaultdict(Counter)
    for split in SPLITS:
        rows = [r for r in targets if r["split"] == split]
        for label, n in _recordings(rows).items():
            recordings_per_class[label][split] = n
        per_split[split] = {"classes": len({r["class"] for r in rows}), "clips": len(rows),
                            "recordings": sum(_recordings(rows).values()),
                            "groups": len({r["recording_group"] for r in rows})}
    per_class: dict[str, Counter] = defaultdict(Counter)
    for r in targets:
        per_class[r["class"]][r["split"]] += 1
    return {
        "classes": sorted(per_class), "n_classes": len(per_class), "per_split": per_split,
        "clips_per_class": {c: dict(v) for c, v in sorted(per_class.items())},
        "recordings_per_class": {c: dict(v) for c, v in sorted(recordings_per_class.items())},
        "interferer_clips": len(interferers),
        "interferer_classes": sorted({r["class"] for r in interferers}),
        "mixtures": mixtures,
        "disk_bytes": {"clips": _disk_bytes(root / "clips"), "mixtures": _disk_bytes(root / "mixtures")},
    }


def _recordings(rows: list[dict]) -> Counter:
    """Distinct recordings per class: every (deduplicated) file of a sound-effect group, whether it became
    a clip or only a take inside other clips; one per rendered phrase or synthesized clip."""
    out: Counter = Counter()
    seen = set()
    for r in rows:
        if "recordings_in_group" not in r:
            out[r["class"]] += 1
        elif (r["recording_group"], r["class"]) not in seen:
            seen.add((r["recording_group"], r["class"]))
            out[r["class"]] += r["recordings_in_group"]
    return out


def ear_proxy(wav: np.ndarray) -> dict[str, float]:
    """RMS (dBFS), effective bandwidth (Hz) and the fraction of 100 ms frames within 30 dB of the loudest."""
    from tqse.data.corpus.clips import effective_bandwidth

    levels = frame_db(wav, SAMPLE_RATE // 10)
    rms = float(10 * np.log10(np.mean(wav.astype(np.float64) ** 2) + 1e-12))
    return {"rms_db": round(rms, 1), "bandwidth_hz": round(effective_bandwidth(wav)),
            "active": round(float(np.mean(levels > levels.max() - 30)), 2)}


def audit(corpus_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, per_class: int = 3,
          seed: int = 0, pngs: bool = True) -> list[dict]:
    """Spot-check ``per_class`` clips per class; returns rows with the ear proxy and any flags.

    Writes ``audit/<class>_<n>.png`` spectrograms (when matplotlib is present) and ``audit/audit.jsonl``.
    """
    from tqse.audio.io import load_audio
    from tqse.data.manifest import iter_jsonl, write_jsonl

    root = Path(corpus_dir)
    out = Path(out_dir) if out_dir else root / "audit"
    out.mkdir(parents=True, exist_ok=True)
    rows = [obj for _, obj in iter_jsonl(root / "clips.jsonl")]
    by_class: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_class[r["class"]].append(r)
    median_bw = {c: float(np.median([r.get("bandwidth_hz", 0) for r in rs])) for c, rs in by_class.items()}
    rng = np.random.default_rng(seed)
    report = []
    for label in sorted(by_class):
        picks = [by_class[label][i] for i in rng.permutation(len(by_class[label]))[:per_class]]
        for n, r in enumerate(picks):
            wav, _ = load_audio(root / r["path"], SAMPLE_RATE, allow_silent=True)
            proxy = ear_proxy(wav)
            flags = [f for f, bad in (("near-silent", proxy["rms_db"] < -45), ("sparse", proxy["active"] < 0.1),
                                      ("narrow-band", proxy["bandwidth_hz"] < 0.4 * median_bw[label]))
                     if bad]
            png = out / f"{label.replace(' ', '_')}_{n}.png"
            if pngs:
                _spectrogram_png(wav, png, f"{label}: {r.get('original', '')[-60:]}")
            report.append({"class": label, "path": r["path"], "original": r.get("original"),
                           "source": r.get("source"), **proxy, "flags": flags, "png": png.name})
    write_jsonl(out / "audit.jsonl", report)
    return report


def _spectrogram_png(wav: np.ndarray, path: Path, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:      # matplotlib is optional: the numbers are still reported
        return
    n_fft, hop = 1024, 320
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(wav, (0, n_fft)), n_fft)[::hop]
    spec = 10 * np.log10(np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2 + 1e-10)
    fig, ax = plt.subplots(figsize=(6, 2.4), dpi=80)
    ax.imshow(spec.T, origin="lower", aspect="auto", vmin=spec.max() - 80, vmax=spec.max(),
              extent=(0, len(wav) / SAMPLE_RATE, 0, SAMPLE_RATE / 2000), cmap="magma")
    ax.set_xlabel("s")
    ax.set_ylabel("kHz")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
