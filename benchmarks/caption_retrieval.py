"""How well does a query encoder's text side put captions it never saw on their own class?

Each caption is embedded and matched (cosine) to one target per class; the figure is the share matched to
its own class (top-1), within the top 5, and the mean of the per-class top-1 ("macro"). Targets
(`tqse.query.text_eval`): `template` = the class template "this is the sound of {class}" (the definition
this script has always used), `prototype` = the mean of many prompts around the class name, `audio` = the
mean audio embedding of the class's training clips (from `--audio-cache`, a `tqse embed` cache of the
corpus, else the vendored `tqse/assets/captions/class_audio.safetensors`).

Caption sets, none of them seen by any training path of the built-in encoder:
  audiocaps_test  AudioCaps 2.0 test captions naming one class (keyword table)
  written         captions written in Clotho's style for classes AudioCaps lacks
  corpus_<split>  the corpus' held-out caption of each fixed mixture of `val` / `test` / `ood`
`--encoder minilm` scores MiniLM's own sentence vectors (no projection; text targets only), the reference
for what the projection keeps of the language model.
Classes: `--classes corpus` (the built-in corpus' target classes, 48 in `default`; the default) or `all`
(every class of the lexicon, 68).

    python benchmarks/caption_retrieval.py [--encoder builtin-v1 builtin] [--targets template prototype audio]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def caption_sets(with_corpus: bool = True) -> dict[str, list[tuple[str, str]]]:
    from tqse.query.caption_data import evaluation_sets

    sets = {name: [(c.text, c.label) for c in captions]
            for name, captions in evaluation_sets().items() if name != "unfamiliar"}
    sets["evaluation_only"] = sets["audiocaps_test"] + sets["written"]
    if with_corpus:
        from tqse.data.locations import resolve_manifest
        from tqse.data.manifest import read_mixtures
        from tqse.errors import ConfigError

        for split in ("val", "test", "ood"):
            try:
                mixtures = read_mixtures(resolve_manifest(f"builtin:{split}"))
            except (ConfigError, OSError):
                continue
            sets[f"corpus_{split}"] = [(m.query("caption"), m.label) for m in mixtures]
    return sets


def audio_targets(encoder, cache: str | None):
    """Class audio centroids: from a `tqse embed` cache of the corpus, else those shipped with the encoder."""
    if cache:
        from tqse.data.locations import resolve_manifest
        from tqse.query.text_eval import audio_centroids

        clips = Path(resolve_manifest("builtin"))
        return audio_centroids(cache, getattr(encoder, "audio_name", encoder.name),
                               [clips, clips.with_name("interferers.jsonl")])
    from tqse.query.text_eval import CENTROIDS, load_centroids

    return load_centroids(CENTROIDS) if CENTROIDS.exists() else None


class RawMiniLM:
    """all-MiniLM-L6-v2 alone (mean pooling, unit norm): what every built-in version projects from."""

    name = "minilm"

    def __init__(self):
        from tqse.query.builtin import MiniLM

        self.model = MiniLM()
        self.dim = 384

    def embed_text(self, texts):
        import torch

        with torch.no_grad():
            return self.model(list(texts))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--encoder", nargs="+", default=["builtin-v1", "builtin"],
                   help="encoders to compare (names or folders; default: built-in version 1 and the latest)")
    p.add_argument("--targets", nargs="+", default=["template", "prototype", "audio"])
    p.add_argument("--classes", choices=["corpus", "all"], default="corpus")
    p.add_argument("--audio-cache", help="`tqse embed` cache of the corpus clips (for --targets audio)")
    p.add_argument("--no-corpus", action="store_true", help="skip the corpus' fixed-mixture captions")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    import torch

    from tqse.query.registry import load_encoder
    from tqse.query.text_eval import class_list, evaluate_sets

    torch.set_num_threads(2)
    classes = class_list(args.classes)
    sets = caption_sets(not args.no_corpus)
    rows = []
    for name in args.encoder:
        encoder = RawMiniLM() if name == "minilm" else load_encoder(name)
        kinds = [k for k in args.targets if not (name == "minilm" and k == "audio")]
        audio = audio_targets(encoder, args.audio_cache) if "audio" in kinds else None
        if audio is None and "audio" in kinds:
            kinds.remove("audio")
            print(f"{name}: no class audio centroids (give --audio-cache), audio targets skipped", file=sys.stderr)
        for set_name, by_kind in evaluate_sets(encoder, classes, sets, kinds, audio).items():
            for kind, s in by_kind.items():
                rows.append({"encoder": name, "id": encoder.name, "target": kind, "set": set_name, **s})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{len(classes)} classes ({args.classes})\n")
    print("| encoder | target | set | captions (classes) | top-1 | top-5 | macro top-1 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['encoder']} (`{r['id']}`) | {r['target']} | {r['set']} | {r['n']} ({r['classes']}) | "
              f"{r['top1']:.1%} | {r['top5']:.1%} | {r['macro_top1']:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
