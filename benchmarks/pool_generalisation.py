"""Issue 22's figures: how well a model separates sounds it has never heard, and how that moves with the
size of the audio-only pool.

    python benchmarks/pool_generalisation.py score [MODEL_OR_RUN ...] [--sets ...] [--json OUT.json]
    python benchmarks/pool_generalisation.py curve RUN ... [--plot docs/pool_scaling.png] [--json OUT.json]

``score`` rates each model (a model folder, a run folder -> its ``checkpoints/best``; default: the shipped
model) on up to five fixed-mixture sets (``--sets``; train, val and unseen by default), each with
class-template and natural-caption queries and the wrong query (the interferer's class template):

- ``train``: mixtures of the pool's own labelled training clips (written once under ``--mixtures``; the
  first ``--limit``);
- ``val``: the pool's validation mixtures (the set runs are selected on; the first ``--limit``);
- ``unseen``: the pool's unseen-source split: whole source families no tier ever trains on;
- ``test`` / ``ood``: the `default` tier's fixed mixtures every shipped model is scored on.

and prints SI-SDRi per set and the train-to-unseen gap, the figure the issue drives down. Scores are cached
under ``~/.cache/tqse/pool-scores`` (keyed by the weights' hash and the sets), so each model is scored once.

``curve`` reads runs that differ in ``data.fraction.unl`` (the share of the unlabelled pool; a run without
``unl`` in ``data.use`` has none) and seed, scores each run's last checkpoint (``--checkpoint best`` for the
one val chose), prints unseen-source SI-SDRi
against the number of unlabelled training clips, and draws it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
from collections import defaultdict
from pathlib import Path

import torch

FIELDS = ("class_caption", "caption", "interferer_class_caption")
SETS = ("train", "val", "unseen", "test", "ood")
LIMITED = ("train", "val")      # scored on their first N mixtures, which cover every class evenly
# scores are kept here, keyed by the weights' hash and the sets, so a model is scored once (never in its folder)
SCORE_CACHE = Path("~/.cache/tqse/pool-scores").expanduser()
SET_MANIFESTS = {"val": "corpus:pool:val", "unseen": "corpus:pool:unseen", "test": "corpus:default:test",
                 "ood": "corpus:default:ood"}


def model_folder(path: str | None, checkpoint: str = "best") -> Path:
    """A model folder: the path itself, a run's ``best`` (or ``last``) checkpoint, or the shipped default model."""
    from tqse.models.pretrained import default_model_dir

    if path is None:
        return Path(default_model_dir())
    folder = Path(path)
    return folder / "checkpoints" / checkpoint if (folder / "checkpoints" / checkpoint).is_dir() else folder


def train_mixtures(out_dir: Path, count: int) -> Path:
    """``count`` fixed 10 s mixtures of the pool's labelled *training* clips (written once)."""
    from tqse.data.locations import resolve_manifest
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips, read_mixtures

    manifest = out_dir / f"pool-train-{count}.jsonl"
    if manifest.exists() and len(read_mixtures(manifest)) == count:
        return manifest
    clips = read_clips(resolve_manifest("corpus:pool"), split="train")
    return write_fixed_mixtures(clips, out_dir, count, seed=0, sample_rate=16000, segment_seconds=10.0,
                                name=f"pool-train-{count}")


def _weights_hash(folder: Path) -> str:
    from tqse.files import file_sha256

    return file_sha256(folder / "model.safetensors")[:16]


def score_model(folder: Path, manifests: dict[str, Path], limit: int) -> dict:
    """``{set: {field: si_sdri, ...}}`` for one model, read from its cache when the weights are unchanged."""
    from tqse.extract import Extractor
    from tqse.data.manifest import read_mixtures
    from tqse.eval.quick import score_mixtures

    key = hashlib.sha1(json.dumps([_weights_hash(folder), limit, "whole default sets",
                                   sorted(map(str, manifests.values()))])
                       .encode()).hexdigest()[:16]
    cache_path = SCORE_CACHE / f"{key}.json"
    if cache_path.exists():
        return json.loads(cache_path.read_text())["scores"]
    extractor = Extractor.from_pretrained(folder, device="cpu")
    scores = {}
    for name, manifest in manifests.items():
        fields = FIELDS if name != "train" else FIELDS[:2]      # training-clip mixtures name no interferer
        # train and val: the first N (class-balanced); unseen, test and ood: whole (the figures that decide)
        count = limit if name in LIMITED else None
        result = score_mixtures(extractor.model, extractor.encoder, str(manifest), extractor.sample_rate,
                                extractor.device, query_fields=fields, limit=count)
        snrs = [row.snr_db for row in read_mixtures(manifest)[:count]]
        scores[name] = {f: round(result[f]["si_sdri"], 2) for f in fields} | {
            "count": result[fields[0]]["count"], "snr_db": [round(min(snrs), 1), round(max(snrs), 1)]}
    if "train" in scores and "unseen" in scores:
        scores["gap"] = {f: round(scores["train"][f] - scores["unseen"][f], 2) for f in FIELDS[:2]}
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps({"model": str(folder), "scores": scores}, indent=1) + "\n")
    return scores


def set_manifests(mixtures_dir: Path, limit: int, sets: list[str]) -> dict[str, Path]:
    from tqse.data.locations import resolve_manifest

    found = {"train": train_mixtures(mixtures_dir, limit)} if "train" in sets else {}
    return found | {name: Path(resolve_manifest(SET_MANIFESTS[name])) for name in sets if name != "train"}


def print_scores(rows: dict[str, dict]) -> None:
    sets = [s for s in SETS if s in next(iter(rows.values()))]
    print("SI-SDRi (dB), class template / natural caption / wrong query; gap = train - unseen")
    print(f"{'model':44} " + " ".join(f"{s:>20}" for s in sets) + f" {'gap':>12}")
    for name, scores in rows.items():
        cells = ["/".join(f"{scores[s][f]:+.2f}" for f in FIELDS if f in scores[s]) for s in sets]
        gap = "/".join(f"{scores['gap'][f]:.2f}" for f in FIELDS[:2]) if "gap" in scores else "-"
        print(f"{name[-44:]:44} " + " ".join(f"{c:>20}" for c in cells) + f" {gap:>12}")
    some = next(iter(rows.values()))
    print("mixtures per set: " + ", ".join(f"{s} {some[s]['count']} (SNR {some[s]['snr_db'][0]:+.0f}.."
                                           f"{some[s]['snr_db'][1]:+.0f} dB)" for s in sets))


def run_pool_size(run_dir: Path) -> tuple[float, int]:
    """(share of the unlabelled pool, seed) a run trained with, from its resolved config."""
    import yaml

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    data = config["data"]
    share = 0.0 if "unl" not in data.get("use", []) else float(data.get("fraction", {}).get("unl", 1.0))
    return share, int(config["train"]["seed"])


def unlabelled_train_clips() -> int:
    from tqse.data.locations import resolve_manifest
    from tqse.data.manifest import read_clips

    return len(read_clips(resolve_manifest("corpus:pool:unlabelled"), split="train"))


def curve(runs: list[Path], manifests: dict[str, Path], limit: int, checkpoint: str = "last") -> list[dict]:
    total = unlabelled_train_clips()
    points = []
    for run in runs:
        share, seed = run_pool_size(run)
        scores = score_model(model_folder(str(run), checkpoint), manifests, limit)
        points.append({"run": str(run), "share": share, "unlabelled_clips": round(share * total), "seed": seed,
                       **{f"{s}_{f}": scores[s][f] for s in ("unseen", "val", "test") if s in scores
                          for f in FIELDS[:2]},
                       "gap_class_caption": scores["gap"]["class_caption"]})
    return sorted(points, key=lambda p: (p["share"], p["seed"]))


def plot_curve(points: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_share: dict[float, list[dict]] = defaultdict(list)
    for p in points:
        by_share[p["share"]].append(p)
    shares = sorted(by_share)
    xs = [statistics.mean(p["unlabelled_clips"] for p in by_share[s]) for s in shares]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for key, label in (("unseen_class_caption", "unseen sources, class template"),
                       ("unseen_caption", "unseen sources, natural caption"),
                       ("val_class_caption", "pool val, class template")):
        means = [statistics.mean(p[key] for p in by_share[s]) for s in shares]
        line, = ax.plot(xs, means, marker="o", label=label)
        for s, x in zip(shares, xs):
            ax.scatter([x] * len(by_share[s]), [p[key] for p in by_share[s]], color=line.get_color(), s=10, alpha=0.5)
    ax.set_xlabel("unlabelled training clips added (audio queries)")
    ax.set_ylabel("SI-SDRi (dB)")
    ax.set_title("Does audio-only data help text queries? (equal training steps)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score models on every set")
    score.add_argument("models", nargs="*", help="model or run folders (default: the shipped model)")
    draw = sub.add_parser("curve", help="unseen-source SI-SDRi against pool size")
    draw.add_argument("runs", nargs="+", type=Path)
    draw.add_argument("--plot", type=Path, help="write the plot here")
    # runs of equal steps compare best at their final weights: picking by 120 val mixtures adds +-0.35 dB noise
    draw.add_argument("--checkpoint", choices=("last", "best"), default="last",
                      help="which checkpoint of each run (default: last, the equal-compute point)")
    for p in (score, draw):
        p.add_argument("--limit", type=int, default=120,
                       help="mixtures of train and val (the first N: class-balanced); unseen, test, ood: all")
        p.add_argument("--sets", nargs="+", default=["train", "val", "unseen"], choices=SETS,
                       help="which sets to score (test and ood: the default tier's, for a model to ship)")
        p.add_argument("--mixtures", type=Path, default=Path("~/.cache/tqse/gap-mixtures").expanduser(),
                       help="where the training-clip mixtures are written once")
        p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    torch.set_num_threads(2)
    manifests = set_manifests(args.mixtures, args.limit, args.sets)
    if args.command == "score":
        rows = {str(model_folder(m)): score_model(model_folder(m), manifests, args.limit)
                for m in (args.models or [None])}
        print_scores(rows)
        figures: object = rows
    else:
        figures = points = curve(args.runs, manifests, args.limit, args.checkpoint)
        print(f"{'unlabelled clips':>16} {'seed':>4}  unseen: template / caption   val: template / caption   gap")
        for p in points:
            print(f"{p['unlabelled_clips']:16d} {p['seed']:4d}  {p['unseen_class_caption']:+15.2f} / "
                  f"{p['unseen_caption']:+.2f}   {p['val_class_caption']:+12.2f} / {p['val_caption']:+.2f}   "
                  f"{p['gap_class_caption']:.2f}")
        if args.plot:
            plot_curve(points, args.plot)
            print(f"plot: {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
