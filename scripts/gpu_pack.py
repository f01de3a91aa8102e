"""A self-contained training bundle for a lent GPU machine (no package registry, <= 64 MiB brought along).

Here (CPU machine, with the corpus and the embedding cache)::

    PYTHONPATH=src python scripts/gpu_pack.py pack --max-mixtures 50   # -> data/gpu_pack/ (ignored)

(the working tree travels too, ~18 MiB; a bundle over what is left is refused, naming a ``--max-clips`` that fits)

There (``benchmarks/gpu_train.sh`` calls it after installing the carried wheels)::

    python scripts/gpu_pack.py unpack --bundle data/gpu_pack --out /tmp/tqse-gpu/corpus

The bundle holds the ``train`` clips at 16 kHz mono in Ogg/Vorbis (lossy: about 27 kb/s at the default
quality, waveform SNR ~18 dB; the training mixes these decoded clips, so mixture = target + interferer
stays exact), the fixed ``val`` mixtures as Vorbis target + interferer (the mixture file is rebuilt as
their sum on unpack, so SI-SDRi is measured on an exact mixture of the decoded sources), the embedding-cache
rows of every packed clip and query text (training and validation never load the encoder, whose text tower
does not fit), and the wheels a bare machine may lack. Clip records keep their ``sha256``, so cache keys match.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from tqse.data.manifest import iter_jsonl, read_clips, read_mixtures, write_jsonl

log = logging.getLogger("gpu_pack")
ROOT = Path(__file__).resolve().parents[1]
MIB = 2 ** 20
TRAVEL_LIMIT_MIB = 64  # everything a device call brings along: working tree + carried paths
# Packages the training imports that a machine with only torch + transformers may lack; soundfile needs
# cffi (+ pycparser). Pure-python or py3-none wheels where they exist; cffi and soxr per CPython version.
WHEELS = ("soundfile", "cffi", "pycparser", "soxr", "omegaconf")  # omegaconf 2.4 vendors antlr4
WHEEL_PYTHONS = ("3.11", "3.12", "3.13", "3.14")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def encode_clip(job: tuple) -> int:
    """Write ``source`` (a file, decoded at ``rate`` mono, or an array at ``rate``) as Ogg/Vorbis; returns frames."""
    from tqse.audio.io import load_audio

    source, dest, rate, quality = job
    wav = source if isinstance(source, np.ndarray) else load_audio(source, rate, allow_silent=True)[0]
    sf.write(dest, np.clip(wav, -1.0, 1.0), rate, format="OGG", subtype="VORBIS", compression_level=quality)
    return len(wav)


def decoded_store(clips, rate: int):
    """The training's preload store of these clips if one exists (``data.preload``: the built-in setup reads the
    same manifest as two datasets, so its store holds the clips twice): saves decoding and resampling here."""
    from tqse.data.preload import ClipStore, store_file
    from tqse.files import tqse_home

    for candidate in (clips, list(clips) + list(clips)):
        if store_file(candidate, rate, tqse_home() / "preload").exists():
            return ClipStore.build(candidate, rate, tqse_home() / "preload")
    return None


def pack_clips(clips, out: Path, rate: int, quality: float, workers: int) -> list[dict]:
    from tqse.files import file_sha256

    (out / "clips").mkdir(parents=True)
    store = decoded_store(clips, rate)
    sources = [store.audio(i) if store is not None else c.path for i, c in enumerate(clips)]
    jobs = [(src, str(out / "clips" / f"{i:05d}.ogg"), rate, quality) for i, src in enumerate(sources)]
    frames = _map(encode_clip, jobs, workers)
    rows = []
    for i, (clip, n) in enumerate(zip(clips, frames)):
        row = {"path": f"clips/{i:05d}.ogg", "class": clip.label, "captions": clip.captions, "split": "train",
               "frames": n, "sample_rate": rate, "sha256": clip.extra.get("sha256") or file_sha256(clip.path)}
        if clip.embedding_key:
            row["embedding_key"] = clip.embedding_key
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows


def pack_mixtures(manifest: Path, out: Path, name: str, rate: int, quality: float, limit: int, workers: int) -> list[dict]:
    """Target and interferer of the first ``limit`` mixtures, as Vorbis; the manifest without ``mixture``."""
    rows = read_mixtures(manifest)[:limit]
    if any(r.interferer is None for r in rows):
        raise SystemExit(f"{manifest}: mixtures without an 'interferer' file cannot be packed")
    (out / "mixtures" / name).mkdir(parents=True)
    jobs, packed = [], []
    for i, row in enumerate(rows):
        stem = f"{name}/{i:05d}"
        jobs += [(row.target, str(out / "mixtures" / f"{stem}_target.ogg"), rate, quality),
                 (row.interferer, str(out / "mixtures" / f"{stem}_interferer.ogg"), rate, quality)]
        packed.append({"target": f"{stem}_target.ogg", "interferer": f"{stem}_interferer.ogg", "snr_db": row.snr_db,
                       "class": row.label, "caption": row.caption, "class_caption": row.class_caption,
                       **{k: v for k, v in row.extra.items() if k == "interferer_class"}})
    _map(encode_clip, jobs, workers)
    return packed


def query_texts(clips, mixtures: list[dict]) -> list[str]:
    """Every text a run may query with: captions and class templates of the clips, the mixtures' queries
    (caption, class template and the interferer's class template, the wrong-query control)."""
    from tqse.data.dataset import class_caption

    texts = [c for clip in clips for c in clip.captions] + [class_caption(c.label) for c in clips if c.label]
    for row in mixtures:
        texts += [row.get("caption"), row.get("class_caption")]
        texts.append(class_caption(row["interferer_class"]) if row.get("interferer_class") else None)
    return [t for t in dict.fromkeys(texts) if t]


def pack_embeddings(clips, texts: list[str], cache_dir: Path | None, out: Path, encoder_name: str, crop: float) -> dict:
    """Copy the needed rows of the source cache; embed what it lacks with the encoder (loaded only then)."""
    from tqse.errors import QueryError
    from tqse.query.cache import EmbeddingCache, audio_cache_key, build_cache
    from tqse.query.registry import load_encoder

    encoder = load_encoder(encoder_name)
    keys = {audio_cache_key(c, crop): c for c in clips}
    try:
        source = EmbeddingCache.open(cache_dir, encoder.name) if cache_dir else None
    except QueryError:  # no cache of this encoder there: embed everything
        source = None
    lost_keys, lost_texts = source.subset(out, keys, texts) if source is not None else (list(keys), texts)
    log.info("embedding %d clips and %d texts missing from the cache", len(lost_keys), len(lost_texts))
    build_cache(encoder, [keys[k] for k in lost_keys], out, encoder.sample_rate, crop, captions=lost_texts)
    return {"encoder": encoder.name, "dim": encoder.dim, "crop_seconds": crop, "audio_rows": len(keys),
            "text_rows": len(texts), "embedded_here": {"audio": len(lost_keys), "text": len(lost_texts)}}


def fetch_wheels(out: Path, source: str) -> list[str]:
    """Copy wheels from a folder, or download the installed versions of :data:`WHEELS` (``auto``)."""
    out.mkdir(parents=True)
    if source == "none":
        return []
    if source == "auto":
        from tqse.files import tqse_home

        folder = tqse_home() / "gpu_wheels"
        pins = [f"{name}=={importlib.metadata.version(name)}" for name in WHEELS]
        for python in WHEEL_PYTHONS:
            platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            *platforms, "--python-version", python, "-d", str(folder), *pins], check=True)
    else:
        folder = Path(source)
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"{folder}: no wheels to pack")
    for wheel in wheels:
        shutil.copy2(wheel, out / wheel.name)
    return [w.name for w in wheels]


def travelling_tree_bytes(root: Path) -> int:
    """Bytes of the working tree a device call copies anyway (tracked + untracked, not ignored)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, check=True,
                                capture_output=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        return 0
    return sum((root / p).stat().st_size for p in listed if p and (root / p).is_file())


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def pack(args: argparse.Namespace) -> dict:
    corpus, out = Path(args.corpus).expanduser(), Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    clips = balanced_subset(read_clips(corpus / "clips.jsonl", split=args.split), args.max_clips)
    write_jsonl(out / "clips.jsonl", pack_clips(clips, out, args.sample_rate, args.quality, args.workers))
    mixtures: dict[str, list[dict]] = {}
    for name in [m for m in args.mixtures.split(",") if m]:
        mixtures[name] = pack_mixtures(corpus / "mixtures" / f"{name}.jsonl", out, name, args.sample_rate,
                                       args.quality, args.max_mixtures, args.workers)
        write_jsonl(out / "mixtures" / f"{name}.jsonl", mixtures[name])
    texts = query_texts(clips, [row for rows in mixtures.values() for row in rows])
    embeddings = pack_embeddings(clips, texts, args.cache, out / "embeddings", args.encoder, args.crop_seconds)
    wheels = fetch_wheels(out / "wheels", args.wheels)
    return summarise(args, out, clips, mixtures, embeddings, wheels)


def balanced_subset(clips: list, count: int | None) -> list:
    """``count`` clips taken in turn from every class (the manifest lists clips class by class, so its first
    ``count`` rows would drop whole classes), in manifest order; all of them when ``count`` is None."""
    if count is None or count >= len(clips):
        return clips
    by_class: dict[str, list[int]] = {}
    for index, clip in enumerate(clips):
        by_class.setdefault(clip.label, []).append(index)
    chosen, depth = [], 0
    while len(chosen) < count:
        chosen += [rows[depth] for rows in by_class.values() if depth < len(rows)][: count - len(chosen)]
        depth += 1
    return [clips[i] for i in sorted(chosen)]


def fitting_clip_count(summary: dict) -> int:
    """How many clips would fit the limit, at this bundle's average size per clip."""
    mib = summary["mib"]
    room = mib["limit"] - (mib["bundle"] - mib["clips"] - mib["embeddings"])
    per_clip = (mib["clips"] + mib["embeddings"]) / max(summary["clips"], 1)
    return max(int(room / per_clip * 0.95), 0)


def summarise(args, out: Path, clips, mixtures: dict, embeddings: dict, wheels: list[str]) -> dict:
    parts = {name: folder_bytes(out / name) for name in ("clips", "mixtures", "embeddings", "wheels")}
    tree = travelling_tree_bytes(ROOT)
    summary = {"corpus": str(Path(args.corpus).expanduser()), "split": args.split, "clips": len(clips),
               "sample_rate": args.sample_rate, "codec": "ogg/vorbis", "quality": args.quality,
               "seconds": round(sum(c["frames"] for c in read_rows(out / "clips.jsonl")) / args.sample_rate, 1),
               "mixtures": {name: len(rows) for name, rows in mixtures.items()}, "embeddings": embeddings,
               "wheels": wheels, "python": sys.version.split()[0], "mib": {k: round(v / MIB, 2) for k, v in parts.items()}}
    (out / "pack.json").write_text(json.dumps(summary, indent=1) + "\n")
    total = folder_bytes(out)
    summary["mib"]["bundle"] = round(total / MIB, 2)
    summary["mib"]["tree"] = round(tree / MIB, 2)
    limit = args.max_mib if args.max_mib is not None else min(60.0, TRAVEL_LIMIT_MIB - 1 - tree / MIB)
    summary["mib"]["limit"] = round(limit, 2)
    return summary


def read_rows(path: Path) -> list[dict]:
    return [row for _, row in iter_jsonl(path)]


def _map(function, jobs: list, workers: int) -> list:
    if workers <= 1:
        return [function(job) for job in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(function, jobs, chunksize=8))


def decode_clip(job: tuple[str, str]) -> None:
    wav, rate = sf.read(job[0], dtype="float32")
    sf.write(job[1], wav, rate, subtype="PCM_16")


def write_mixture(job: tuple[str, str, str]) -> None:
    """Mixture = decoded target + decoded interferer, float WAV (exact sum, no clipping)."""
    (target, rate), (interferer, _) = sf.read(job[0], dtype="float32"), sf.read(job[1], dtype="float32")
    n = min(len(target), len(interferer))
    stem = job[2]
    sf.write(f"{stem}_target.wav", target[:n], rate, subtype="FLOAT")
    sf.write(f"{stem}_interferer.wav", interferer[:n], rate, subtype="FLOAT")
    sf.write(f"{stem}_mixture.wav", target[:n] + interferer[:n], rate, subtype="FLOAT")


def unpack(args: argparse.Namespace) -> dict:
    """Bundle -> a working corpus on local disk: clips as 16-bit WAV (fast to preload), mixtures as float WAV."""
    bundle, out = Path(args.bundle), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "clips").mkdir(exist_ok=True)
    rows = read_rows(bundle / "clips.jsonl")
    _map(decode_clip, [(str(bundle / r["path"]), str(out / "clips" / Path(r["path"]).with_suffix(".wav").name))
                       for r in rows], args.workers)
    write_jsonl(out / "clips.jsonl", [r | {"path": "clips/" + Path(r["path"]).with_suffix(".wav").name} for r in rows])
    counts = {"clips": len(rows)}
    for manifest in sorted((bundle / "mixtures").glob("*.jsonl")):
        counts[manifest.stem] = unpack_mixtures(bundle, manifest, out, args.workers)
    log.info("unpacked %s into %s", counts, out)
    return counts


def unpack_mixtures(bundle: Path, manifest: Path, out: Path, workers: int) -> int:
    rows = read_rows(manifest)
    (out / "mixtures" / manifest.stem).mkdir(parents=True, exist_ok=True)
    stems = [row["target"].removesuffix("_target.ogg") for row in rows]
    _map(write_mixture, [(str(bundle / "mixtures" / r["target"]), str(bundle / "mixtures" / r["interferer"]),
                          str(out / "mixtures" / s)) for r, s in zip(rows, stems)], workers)
    write_jsonl(out / "mixtures" / manifest.name,
                 [r | {"mixture": f"{s}_mixture.wav", "target": f"{s}_target.wav", "interferer": f"{s}_interferer.wav"}
                  for r, s in zip(rows, stems)])
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="write the bundle (here)")
    p.add_argument("--corpus", default="~/.cache/tqse/corpus/default", help="folder with clips.jsonl and mixtures/")
    p.add_argument("--cache", default="~/.cache/tqse/embeddings", help="embedding cache root (`tqse embed --out`)")
    p.add_argument("--encoder", default="builtin", help="query encoder of the cache (embeds rows the cache lacks)")
    p.add_argument("--out", default=str(ROOT / "data" / "gpu_pack"))
    p.add_argument("--split", default="train")
    p.add_argument("--max-clips", type=int, default=None, help="pack this many clips, taken from every class in turn")
    p.add_argument("--mixtures", default="val", help="comma-separated fixed-mixture sets (val,test,ood)")
    p.add_argument("--max-mixtures", type=int, default=100, help="first N mixtures of each set")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--quality", type=float, default=0.8, help="Vorbis compression level, 0 (best) .. 1 (smallest)")
    p.add_argument("--crop-seconds", type=float, default=4.0, help="crop of the cached audio embeddings "
                   "(= the recipe's data.segment_seconds)")
    p.add_argument("--wheels", default="auto", help="auto (pip download the installed versions), none, or a folder")
    p.add_argument("--max-mib", type=float, default=None,
                   help=f"bundle size limit (default: 60, or less so tree + bundle stay under {TRAVEL_LIMIT_MIB} MiB)")
    p.add_argument("--workers", type=int, default=1)
    u = sub.add_parser("unpack", help="decode the bundle into a working corpus (on the GPU machine)")
    u.add_argument("--bundle", default=str(ROOT / "data" / "gpu_pack"))
    u.add_argument("--out", required=True)
    u.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if args.command == "unpack":
        print(json.dumps(unpack(args)))
        return 0
    summary = pack(args)
    print(json.dumps(summary, indent=1))
    mib = summary["mib"]
    if mib["bundle"] > mib["limit"]:
        print(f"error: bundle is {mib['bundle']:.1f} MiB, over the limit of {mib['limit']:.1f} MiB (the working tree "
              f"adds {mib['tree']:.1f} MiB); about --max-clips {fitting_clip_count(summary)} would fit (taken from "
              "every class in turn), or lower --max-mixtures", file=sys.stderr)
        return 1
    print(f"bundle {args.out}: {mib['bundle']:.1f} MiB (limit {mib['limit']:.1f}; with the working tree "
          f"{mib['bundle'] + mib['tree']:.1f} of {TRAVEL_LIMIT_MIB} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
