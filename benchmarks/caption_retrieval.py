"""How well does the query encoder's text tower tell classes apart from natural captions it never saw?

For each fixed mixture of the built-in corpus (`val`, `test`, `ood`), the natural-language caption of the
target is embedded and matched to the nearest class template ("this is the sound of {class}") of the 48
classes; the figure is the share matched to the target's own class (top-1) and within the top 5. Caption
queries of a separator conditioned on this encoder cannot do better than the text tower lets them: when the
caption lands on another class, the model extracts another sound.

    python benchmarks/caption_retrieval.py [--encoder builtin]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--encoder", default="builtin")
    args = p.parse_args(argv)

    import torch

    from tqse.data.manifest import read_clips, read_mixtures
    from tqse.query.registry import encoder_from_config
    from tqse.data.locations import resolve_manifest

    encoder = encoder_from_config({"name": args.encoder})
    classes = sorted({c.label for c in read_clips(resolve_manifest("builtin"))})
    templates = encoder.embed_text([f"this is the sound of {c}" for c in classes])
    print(f"encoder {encoder.name}, {len(classes)} classes")
    for split in ("val", "test", "ood"):
        mixtures = read_mixtures(resolve_manifest(f"builtin:{split}"))
        captions = encoder.embed_text([m.query("caption") for m in mixtures])
        ranked = (captions @ templates.T).argsort(dim=1, descending=True)
        truth = torch.tensor([classes.index(m.label) for m in mixtures])
        top1 = (ranked[:, 0] == truth).float().mean().item()
        top5 = (ranked[:, :5] == truth[:, None]).any(1).float().mean().item()
        print(f"{split}: {len(mixtures)} captions, top-1 {top1:.1%}, top-5 {top5:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
