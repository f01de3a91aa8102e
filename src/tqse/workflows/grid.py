"""Run several experiment rows on one setup, score each on fixed mixture sets, tabulate (``tqse grid``).

This is how a table of the paper is reproduced: ``setup`` chooses data and encoder, each row is a small
diff (``configs/table1/A9.yaml``), every run resumes on its own, every score is resumable per clip, and the
table + plot are rebuilt from the summaries on disk.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

from tqse.config import load_config

log = logging.getLogger(__name__)


def _encoder_for(config, cache: dict):
    from tqse.query.registry import encoder_from_config
    from tqse.train.setup import encoder_spec

    spec = encoder_spec(config)
    key = json.dumps(spec, sort_keys=True)
    if key not in cache:
        cache[key] = encoder_from_config(spec)
    return cache[key]


def score_run(model_dir: Path, encoder, eval_sets: dict[str, str], query_fields: Sequence[str], out_dir: Path,
              device: str | None = None) -> dict[str, dict]:
    """Score one model directory on each ``name -> mixture manifest`` with each query field (text fields, and
    ``TARGET_AUDIO_FIELD``: the target's own audio as the query)."""
    from tqse.data.manifest import TARGET_AUDIO_FIELD
    from tqse.extract import Extractor
    from tqse.eval.protocols import manifest_items
    from tqse.eval.runner import ModelSeparator, evaluate_sets

    extractor = Extractor.from_pretrained(model_dir, device=device, encoder=encoder)
    summaries = {}
    for audio in (False, True):  # text fields, then the audio field: one separator kind per pass
        kind_fields = [f for f in query_fields if (f == TARGET_AUDIO_FIELD) == audio]
        if not kind_fields:
            continue
        separator = ModelSeparator(extractor, extractor.sample_rate, audio_queries=audio)
        for set_name, manifest in eval_sets.items():  # a kind's fields in one pass over the set's audio
            fields = {f"{set_name}-{field}": field for field in kind_fields}
            summaries |= evaluate_sets({name: manifest_items(manifest, field) for name, field in fields.items()},
                                       separator, sample_rate=extractor.sample_rate, out_dir=out_dir,
                                       progress=False, info={"checkpoint": str(model_dir)},
                                       set_info={name: {"query_field": field} for name, field in fields.items()})
    return summaries


def run_grid(setup: str | None, rows: Sequence[str], eval_sets: dict[str, str], overrides: Sequence[str] = (),
             query_fields: Sequence[str] = ("caption", "class_caption"), out: str | Path = "runs/grid",
             stop_after: int | None = None, seeds: Sequence[int] = ()) -> dict[str, dict[str, dict]]:
    """Train (or resume) every row, score it, write ``out/grid.md`` (+ ``grid.png``); returns the scores.

    With ``seeds``, every row runs once per seed (seeds outermost, so a grid stopped early has whole seeds),
    named ``{row}-s{seed}``; ``tqse report`` shows such runs as mean and spread over seeds.
    """
    from tqse.eval.report import plot_runs, runs_table
    from tqse.train.loop import train

    out = Path(out)
    encoders: dict = {}
    results: dict[str, dict[str, dict]] = {}
    for seed in seeds or [None]:
        for row in rows:
            config = load_config([setup, row] if setup else [row], [f"output_dir={out}", *overrides])
            if seed is not None:
                config = load_config([setup, row] if setup else [row],
                                     [f"output_dir={out}", *overrides, f"train.seed={seed}",
                                      f"name={config.name}-s{seed}"])
            encoder = _encoder_for(config, encoders)
            run_dir = train(config, encoder=encoder, stop_after=stop_after)
            best = run_dir / "checkpoints" / "best"
            model_dir = best if (best / "config.json").exists() else run_dir / "checkpoints" / "last"
            results[config.name] = score_run(model_dir, encoder, eval_sets, query_fields, run_dir / "eval")
    for metric in ("si_sdri", "sdri"):
        (out / f"grid_{metric}.md").write_text(runs_table(results, metric=metric) + "\n")
    try:
        plot_runs(results, out / "grid.png", metric="si_sdri")
    except Exception as err:  # plots are optional (matplotlib extra); the tables are what matter
        log.warning("no plot: %s", err)
    return results
