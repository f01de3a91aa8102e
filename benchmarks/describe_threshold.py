"""The "unfamiliar query" threshold of `tqse.query.describe`, set on the evaluation-only captions.

For each caption the best cosine to a class prototype is computed (all lexicon classes known). Known: the
AudioCaps test captions naming one class and the written Clotho-style captions; unfamiliar: AudioCaps test
captions whose only source is one no class covers (babies, cats, toilets, coughs...) and written queries about
such sounds or no sound at all. The threshold is the 5th percentile of the known captions' best similarity
(1 in 20 known captions warned about); the script prints how many unfamiliar ones it catches, the threshold
that would maximise balanced accuracy instead, and the same for a 48-class model (the corpus' classes, where
captions of the other 20 classes count as unfamiliar too). `--write` stores the threshold per encoder in
`tqse/assets/captions/describe_calibration.json`.

    python benchmarks/describe_threshold.py [--encoder builtin-v1 builtin] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

QUANTILE = 0.05


def best_similarities(table, classes, embeddings):
    """Best cosine of each embedded caption to the prototypes of ``classes``."""
    rows = [table.classes.index(c) for c in classes]
    return (embeddings @ table.prototypes[rows].T).max(1).values


def balanced_best(known, unknown):
    import torch

    best = (0.0, 0.0)
    for t in torch.cat([known, unknown]).unique():
        score = 0.5 * ((known >= t).float().mean() + (unknown < t).float().mean()).item()
        best = max(best, (score, float(t)))
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--encoder", nargs="+", default=["builtin-v1", "builtin"])
    p.add_argument("--write", action="store_true", help="store the thresholds in describe_calibration.json")
    args = p.parse_args(argv)

    import torch

    from tqse.query.caption_data import evaluation_sets
    from tqse.query.describe import CALIBRATION, class_table
    from tqse.query.paraphrase import load_lexicon
    from tqse.query.registry import load_encoder
    from tqse.query.text_eval import embed_texts

    torch.set_num_threads(2)
    sets = evaluation_sets()
    known = [c for name in ("audiocaps_test", "written") for c in sets[name]]
    unknown = sets["unfamiliar"]
    every = sorted(load_lexicon())
    corpus = None
    try:
        from tqse.query.text_eval import class_list

        corpus = class_list("corpus")
    except Exception as err:  # no built corpus: the 48-class figures are skipped
        print(f"(corpus classes unavailable: {err})", file=sys.stderr)
    calibration = json.loads(CALIBRATION.read_text()) if CALIBRATION.exists() else {"encoders": {}}
    print("| encoder | known classes | threshold (5th pct of known) | known warned | unfamiliar warned | "
          "balanced-accuracy threshold (score) |")
    print("|---|---|---|---|---|---|")
    for name in args.encoder:
        encoder = load_encoder(name)
        table = class_table(encoder, every)
        known_x = embed_texts(encoder, [c.text for c in known])  # each caption embedded once per encoder
        unknown_x = embed_texts(encoder, [c.text for c in unknown])
        k = best_similarities(table, every, known_x)
        u = best_similarities(table, every, unknown_x)
        threshold = float(torch.quantile(k, QUANTILE))
        score, t_bal = balanced_best(k, u)
        print(f"| {name} (`{encoder.name}`) | all {len(every)} | {threshold:.3f} | {(k < threshold).float().mean():.1%} "
              f"({len(k)}) | {(u < threshold).float().mean():.1%} ({len(u)}) | {t_bal:.3f} ({score:.1%}) |")
        if corpus:
            inside = torch.tensor([c.label in corpus for c in known])
            ki = best_similarities(table, corpus, known_x[inside])
            ko = best_similarities(table, corpus, torch.cat([known_x[~inside], unknown_x]))
            print(f"| {name} | corpus {len(corpus)} (same threshold) | {threshold:.3f} | "
                  f"{(ki < threshold).float().mean():.1%} ({len(ki)}) | {(ko < threshold).float().mean():.1%} "
                  f"({len(ko)}, incl. the other classes) | - |")
        calibration["encoders"][encoder.name] = {
            "threshold": round(threshold, 4), "alias": name, "rule": f"{QUANTILE:.0%} quantile of the best prototype "
            f"similarity of {len(k)} evaluation captions of known classes", "unfamiliar_caught": round(
                (u < threshold).float().mean().item(), 4), "known_warned": round((k < threshold).float().mean().item(), 4)}
    if args.write:
        calibration["note"] = "written by benchmarks/describe_threshold.py --write; see tqse.query.describe"
        CALIBRATION.write_text(json.dumps(calibration, indent=1) + "\n")
        print(f"wrote {CALIBRATION}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
