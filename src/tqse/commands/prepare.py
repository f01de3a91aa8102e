"""``tqse prepare``: dataset folders -> clip manifests; ``tqse shards``: manifests <-> tar shards.

    tqse prepare audiocaps --csv train.csv --audio audiocaps/train --out data/audiocaps_train.jsonl
    tqse prepare clotho --csv clotho_captions_development.csv --audio clotho_audio_development --out ...
    tqse prepare vggsound --csv vggsound.csv --audio vggsound/ --exclude-audioset ids.txt --out ...
    tqse prepare folder /big/audio --out data/extra.jsonl
    tqse prepare audiosep-json datafiles/*.json --out data/audiosep.jsonl
    tqse shards write data/extra.jsonl --out shards/extra --clips-per-shard 1000 [--sample-rate 32000]
    tqse shards info shards/extra/shards.json --world-size 8 --workers 4
"""

from __future__ import annotations

import argparse
import json
import logging

from tqse.commands import defaults_of

log = logging.getLogger("tqse.prepare")


def _common(p: argparse.ArgumentParser, dataset: str) -> None:
    from tqse.data.readers import folder_candidates

    p.add_argument("--out", required=True, help="clip manifest to write (JSONL)")
    p.add_argument("--dataset", default=dataset, help=f"dataset name in every line (default: {dataset})")
    p.add_argument("--min-seconds", type=float, default=1.0, help="skip shorter clips (AudioSep: 1 s)")
    p.add_argument("--workers", type=int, default=8, help="header-reading threads")
    p.add_argument("--sha256", action="store_true", help="add content SHA-256 as embedding_key")
    p.add_argument("--verify", action="store_true", help="decode every file fully (finds truncated data)")
    p.add_argument("--no-resume", action="store_true", help="ignore a previous interrupted build")
    if dataset != "vggsound":  # VGGSound's CSV names each clip's split itself
        p.add_argument("--split", default=defaults_of(folder_candidates)["split"],  # every reader's default
                       help="split stored in every line; training keeps data.split")


def register(subparsers) -> None:
    from tqse.data.readers import vggsound_candidates
    from tqse.data.shards import ShardStream, shard_order, write_shards

    p = subparsers.add_parser("prepare", help="write a clip manifest for a dataset on disk",
                              description="Read a dataset's own metadata and write a tqse clip manifest "
                                          "(missing, unreadable and too-short clips are skipped and counted).")
    sub = p.add_subparsers(dest="reader", metavar="DATASET", required=True)
    q = sub.add_parser("audiocaps", help="AudioCaps split CSV (audiocap_id,youtube_id,start_time,caption)")
    q.add_argument("--csv", required=True)
    q.add_argument("--audio", required=True, help="folder of the split's audio files (searched recursively)")
    _common(q, "audiocaps")
    q = sub.add_parser("clotho", help="Clotho v2 captions CSV (file_name,caption_1..caption_5)")
    q.add_argument("--csv", required=True)
    q.add_argument("--audio", required=True)
    _common(q, "clotho")
    q = sub.add_parser("vggsound", help="vggsound.csv (youtube_id,start,label,split)")
    q.add_argument("--csv", required=True)
    q.add_argument("--audio", required=True)
    q.add_argument("--split", default=defaults_of(vggsound_candidates)["split"], help="train | test | all")
    q.add_argument("--exclude-audioset", help="AudioSet YouTube id list (or AudioSet segment CSV)")
    _common(q, "vggsound")
    q = sub.add_parser("folder", help="any folder of audio files, no captions (audio-only)")
    q.add_argument("root")
    q.add_argument("--label-from-parent", action="store_true", help="parent folder name as class")
    _common(q, "folder")
    q = sub.add_parser("audiosep-json", help='AudioSep datafiles ({"data": [{"wav", "caption"}]})')
    q.add_argument("json", nargs="+")
    q.add_argument("--base", help="folder relative wav paths start from (default: each JSON's folder)")
    _common(q, "audiosep")
    p.set_defaults(func=run)

    s = subparsers.add_parser("shards", help="write or inspect sharded tar archives (WebDataset layout)")
    ssub = s.add_subparsers(dest="action", metavar="ACTION", required=True)
    w = ssub.add_parser("write", help="pack clip manifests into tar shards + shards.json")
    w.add_argument("manifest", nargs="+")
    w.add_argument("--out", required=True, help="output folder")
    w.add_argument("--clips-per-shard", type=int, default=defaults_of(write_shards)["clips_per_shard"])
    w.add_argument("--sample-rate", type=int, help="re-encode to 16-bit FLAC at this rate (default: copy)")
    w.add_argument("--no-resume", action="store_true")
    i = ssub.add_parser("info", help="shard counts and the shard order of a rank/worker")
    i.add_argument("index", help="shards.json (path or URL)")
    order = defaults_of(shard_order)
    i.add_argument("--seed", type=int, default=defaults_of(ShardStream)["seed"])
    i.add_argument("--epoch", type=int, default=0)
    i.add_argument("--world-size", type=int, default=order["world_size"])
    i.add_argument("--workers", type=int, default=order["num_workers"])
    s.set_defaults(func=run_shards)


def _candidates(args: argparse.Namespace) -> list[dict]:
    from tqse.data import readers

    if args.reader == "audiocaps":
        return readers.audiocaps_candidates(args.csv, args.audio, split=args.split)
    if args.reader == "clotho":
        return readers.clotho_candidates(args.csv, args.audio, split=args.split)
    if args.reader == "vggsound":
        ids = readers.read_audioset_ids(args.exclude_audioset) if args.exclude_audioset else None
        rows, _ = readers.vggsound_candidates(args.csv, args.audio, audioset_ids=ids,
                                              split=None if args.split == "all" else args.split)
        return rows
    if args.reader == "folder":
        return readers.folder_candidates(args.root, label_from_parent=args.label_from_parent, split=args.split)
    return [row for path in args.json
            for row in readers.audiosep_json_candidates(path, base=args.base, split=args.split)]


def run(args: argparse.Namespace) -> int:
    from tqse.data.readers import build_manifest

    report = build_manifest(_candidates(args), args.out, dataset=args.dataset, min_seconds=args.min_seconds,
                            workers=args.workers, sha256=args.sha256, verify=args.verify,
                            resume=not args.no_resume, progress=True)
    print(report.summary())
    return 0


def run_shards(args: argparse.Namespace) -> int:
    from tqse.data.manifest import read_clips
    from tqse.data.shards import ShardStream, shard_order, write_shards

    if args.action == "write":
        clips = [clip for path in args.manifest for clip in read_clips(path)]
        index = write_shards(clips, args.out, clips_per_shard=args.clips_per_shard,
                             sample_rate=args.sample_rate, resume=not args.no_resume, progress=True)
        print(f"{index['total']} clips in {len(index['shards'])} shards under {args.out}")
        return 0
    stream = ShardStream(args.index, seed=args.seed, rank=0, world_size=1)
    order = {f"rank{r}/worker{w}": shard_order(len(stream.urls), seed=args.seed, epoch=args.epoch, rank=r,
                                               world_size=args.world_size, worker=w, num_workers=args.workers)
             for r in range(args.world_size) for w in range(args.workers)}
    print(json.dumps({"clips": len(stream), "shards": len(stream.urls), "epoch": args.epoch,
                      "order": order}, indent=1))
    return 0
