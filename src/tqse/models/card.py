"""Model cards: what a model folder says about itself, in plain words and from one set of records.

``tqse package`` (:mod:`tqse.workflows.package`) stores in ``config.json`` what the weights were trained on
(``training.data``), which set chose the checkpoint (``training.selection``), the scores per evaluation set
(``scores``) and the speed (``speed``), and renders ``README.md`` from exactly those records
(:func:`render_card`), so the card and the JSON cannot disagree. ``tqse models``, ``tqse serve``'s page header
and ``tqse demo`` read them back through :func:`plain_summary`: the model's name, one line on its training
data and one plain figure per evaluation set, with what kind of mixtures and which query kind it measures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tqse.models.pretrained import card_front_matter


@dataclass(frozen=True)
class EvalSet:
    label: str  # "unseen sources"
    mixtures: str  # what kind of mixtures it holds
    unseen_sources: bool  # whether no clip's source family was in training


# The built-in corpus' fixed-mixture sets by name; a model's config may describe its own (``evaluation``).
EVAL_SETS = {
    "val": EvalSet("validation", "recordings held out from training (whole recording groups)", False),
    "test": EvalSet("in-domain test", "recordings held out from training (whole recording groups)", False),
    "ood": EvalSet("unseen sources", "recordings of source families it never trained on", True),
    "unseen": EvalSet("unseen sources (wider set)", "recordings of source families no tier of the built-in corpus "
                      "trains on, as in the demo", True),  # the pool tier's `unseen` split
}
QUERY_KINDS = {"caption": "natural captions", "class_caption": "class templates (\"this is the sound of dog\")",
               "interferer_class_caption": "the wrong query (the other sound's class template)"}
SHORT = {"caption": "natural captions", "class_caption": "class templates"}
LICENCE_FILE = "TRAINING_DATA.md"


def eval_set(config: dict, name: str) -> EvalSet:
    """How ``config`` describes its evaluation set ``name`` (its own ``evaluation`` record, else the built-in's)."""
    own = (config.get("evaluation") or {}).get(name)
    if isinstance(own, dict):
        return EvalSet(str(own.get("label", name)), str(own.get("mixtures", "")), bool(own.get("unseen_sources")))
    return EVAL_SETS.get(name, EvalSet(name, "", False))


def scored_sets(config: dict) -> dict[str, dict]:
    """Evaluation set name -> its scores, for every set with at least one query kind scored."""
    scores = config.get("scores")
    if not isinstance(scores, dict):
        return {}
    return {name: s for name, s in scores.items()
            if isinstance(s, dict) and any(isinstance(s.get(q), dict) for q in QUERY_KINDS)}


def unseen_set(config: dict) -> str | None:
    """The set that measures sources the model never trained on (``unseen`` first, then any other so marked)."""
    names = sorted(scored_sets(config), key=lambda n: n != "unseen")
    return next((n for n in names if eval_set(config, n).unseen_sources), None)


def _si_sdri(scores: dict, query: str) -> float | None:
    value = (scores.get(query) or {}).get("si_sdri") if isinstance(scores.get(query), dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def figure(config: dict, name: str) -> dict:
    """One plain figure of set ``name``: natural captions (how people query) with class templates beside it."""
    scores = scored_sets(config)[name]
    info = eval_set(config, name)
    caption, template = _si_sdri(scores, "caption"), _si_sdri(scores, "class_caption")
    count = next((s.get("count") for s in scores.values() if isinstance(s, dict) and s.get("count")), None)
    snr = scores.get("snr_db")
    parts = [f"{caption:+.1f} dB SI-SDRi with natural captions" if caption is not None else None,
             f"{template:+.1f} dB with class templates" if template is not None else None]
    where = ", ".join(x for x in (f"{count} mixtures" if count else "", info.mixtures,
                                  f"SNR {snr[0]:+.0f}..{snr[1]:+.0f} dB" if snr else "") if x)
    line = f"{info.label}: {', '.join(p for p in parts if p)}" + (f" ({where})" if where else "")
    return {"set": name, "label": info.label, "unseen_sources": info.unseen_sources, "caption_si_sdri": caption,
            "template_si_sdri": template, "mixtures": count, "snr_db": snr, "line": line}


def data_line(config: dict) -> str:
    """One line on what the weights were trained on, from ``training.data`` (empty when not recorded)."""
    data = (config.get("training") or {}).get("data")
    if not isinstance(data, dict):
        return ""
    source = (f"the built-in corpus' `{data['tier']}` tier" if data.get("tier")
              else f"{data.get('manifest', 'its own clips')}")
    unlabelled = data.get("unlabelled_clips")
    split = f" ({data['clips'] - unlabelled:,} labelled, {unlabelled:,} unlabelled)" if unlabelled else ""
    counts = [f"{data['classes']} classes" if data.get("classes") else "",
              f"{data['clips']:,} clips{split}" if data.get("clips") else "",
              f"from {data['source_families']} source families" if data.get("source_families") else ""]
    counted = " ".join(x for x in counts[1:] if x)
    body = ", ".join(x for x in (counts[0], counted) if x)
    return f"{source}: {body}; {data.get('queries', 'queries not recorded')}"


def plain_summary(folder: str | Path, config: dict) -> dict:
    """What ``tqse models`` and the page header show: name, one line on the data, one figure per set, card."""
    folder = Path(folder)
    card = folder / "README.md"
    figures = [figure(config, name) for name in scored_sets(config)]
    # the card's markdown code marks (`default`) would show as literal backticks on the page and in a terminal
    return {"name": config.get("name") or folder.name, "trained_on": _plain(data_line(config)),
            "figures": [f | {"line": _plain(f["line"])} for f in figures],
            "card": str(card) if card.is_file() else None}


def _plain(text: str) -> str:
    return text.replace("`", "")


# -- the card -------------------------------------------------------------------------------------------------
def _at_a_glance(config: dict) -> list[str]:
    lines = [f"- **Trained on:** {data_line(config) or 'not recorded'}."]
    lines += [f"- **{f['label'][0].upper() + f['label'][1:]}:** {f['line'].split(': ', 1)[1]}."
              for f in (figure(config, n) for n in scored_sets(config))]
    speed = config.get("speed")
    if isinstance(speed, dict):
        lines.append(f"- **Speed** (measured when packaged): {speed['seconds_of_audio']:g} s of audio at 16 kHz on "
                     f"{speed['threads']} CPU threads, {speed['separator_s']:.3f} s in the separator (real-time factor "
                     f"{speed['separator_s'] / speed['seconds_of_audio']:.4f}), {speed['extract_call_s']:.3f} s for a "
                     "whole `extract()` call with a text query.")
    return lines


def _data_section(config: dict) -> list[str]:
    data = (config.get("training") or {}).get("data")
    if not isinstance(data, dict):
        return ["Not recorded in `config.json` (a folder packaged before tqse recorded it)."]
    line = data_line(config)
    lines = [f"{line[0].upper()}{line[1:]}."]
    if data.get("description"):
        lines.append(data["description"])
    if data.get("class_names"):
        lines.append(f"Classes: {', '.join(data['class_names'])}.")
    if data.get("snr_db"):
        lines.append(f"Each training example is a target clip mixed on the fly with a clip of another class at "
                     f"SNR U[{data['snr_db'][0]:g}, {data['snr_db'][1]:g}] dB.")
    lines.append(f"Sources, licences and copyright holders of every package: `{LICENCE_FILE}` beside this card "
                 "(the audio itself is not redistributed).")
    return [" ".join(lines)]


def _selection_section(config: dict) -> list[str]:
    sel = (config.get("training") or {}).get("selection")
    if not isinstance(sel, dict):
        return ["Not recorded in `config.json`."]
    rule = {"mean": "the mean SI-SDRi of class templates and natural captions",
            "first": f"SI-SDRi with {QUERY_KINDS.get(sel.get('query_field'), 'its query field')}"}
    if not sel.get("chosen_on"):
        text = f"No validation set chose it: {sel.get('rule', 'not recorded')}."
    else:
        named = (f" (the checkpoint `{sel['named_checkpoint']}` was named when packaging)"
                 if sel.get("named_checkpoint") else "")
        text = (f"The checkpoint was chosen on `{sel['chosen_on']}` ({sel.get('mixtures', '?')} mixtures"
                f"{_snr(sel.get('snr_db'))}) by {rule.get(sel.get('rule'), sel.get('rule'))}, among those validated "
                f"during training{named}.")
        got = sel.get("scores") or {}
        if got:
            text += " There it scored " + " and ".join(f"{v:+.2f} dB SI-SDRi with {SHORT.get(k, k)}"
                                                      for k, v in got.items()) + "."
    later = [n for n in sel.get("scored_later") or [] if n in scored_sets(config)]
    scored = [f"`{n}`" for n in scored_sets(config) if n != sel.get("set") and n not in later]
    if scored:
        text += (f" {' and '.join(scored)} were scored after that choice, when the folder was packaged; whoever "
                 "ships a model compares packaged candidates on them, so treat them as looked at before "
                 "shipping, not as untouched held-out sets.")
    if later:
        text += (f" {' and '.join(f'`{n}`' for n in later)} {'was' if len(later) == 1 else 'were'} scored later, on "
                 "the packaged folder as it is (`tqse package --card-only --sets`): no part in choosing this "
                 "checkpoint or in packaging it.")
    return [text] + (["", sel["note"]] if sel.get("note") else [])


def _snr(snr) -> str:
    return f", SNR {snr[0]:+.1f}..{snr[1]:+.1f} dB" if isinstance(snr, (list, tuple)) and len(snr) == 2 else ""


def _scores_table(config: dict) -> list[str]:
    rows = ["| set | mixtures | query | SI-SDRi (dB) | SDRi (dB) | count | mixture SNR (dB) |",
            "|---|---|---|---|---|---|---|"]
    for name, scores in scored_sets(config).items():
        low, high = scores.get("snr_db") or (float("nan"), float("nan"))
        for query, label in QUERY_KINDS.items():
            s = scores.get(query)
            if isinstance(s, dict):
                rows.append(f"| `{name}` | {eval_set(config, name).mixtures} | {label} | {s['si_sdri']:+.2f} | "
                            f"{s.get('sdri', float('nan')):+.2f} | {s.get('count', '?')} | [{low:+.1f}, {high:+.1f}] |")
    sel = (config.get("training") or {}).get("selection") or {}
    low, high = sel.get("snr_db") or (float("nan"), float("nan"))
    for query, value in (sel.get("scores") or {}).items():  # the validation that chose the checkpoint
        rows.append(f"| `{sel.get('set')}` | {eval_set(config, str(sel.get('set'))).mixtures}; chose this checkpoint "
                    f"| {QUERY_KINDS.get(query, query)} | {value:+.2f} | | {sel.get('mixtures', '?')} | "
                    f"[{low:+.1f}, {high:+.1f}] |")
    return rows


LICENCE_TEXT = """\
- **The training audio** is listed package by package in `{file}`: most of it is under the GPL (2 or 3) or
  CC-BY-SA, some under CC-BY, CC0, MIT or in the public domain.
- **What tqse grants:** tqse's code, and whatever rights its contributors hold in these weights, are under
  Apache-2.0. That grant cannot cover rights the authors of the training audio may hold.
- **What is unsettled:** whether weights trained on copyrighted audio are a derivative work of it. If they
  are, the share-alike terms of the GPL and CC-BY-SA reach anyone who redistributes the weights, and some of
  those licences cannot be combined with each other. No licence text or court decision settles this for
  model weights.
- **What that means in practice:** running the model on your recordings, studying it and retraining it do
  not redistribute the weights. Shipping the weights, or a product that contains them, is where the open
  question matters. If it matters to you, retrain on audio whose licence you have checked, captions or not
  (the paper's point: audio-only clips train text-queried models): `tqse prepare folder YOUR_AUDIO/
  --label-from-parent --out mine.jsonl`, then `tqse train configs/efficient/conformer_small_s2.yaml
  data.manifests.mine=$PWD/mine.jsonl 'data.use=[mine]' query.mode=audio` (`docs/TRAINING.md`, section 4),
  and `tqse package` the run."""


def _text_side(config: dict) -> str:
    """The end of the Limits sentence on the text tower: what the built-in encoder's version learnt from."""
    spec = config.get("encoder") or {}
    if spec.get("name") != "builtin":
        return "."
    if (spec.get("kwargs") or {}).get("version", 1) >= 2:
        return (", which for built-in version 2 was trained on AudioCaps captions and generated paraphrases that "
                "name these classes: a caption about anything else lands on the nearest class, and `tqse extract "
                "-v` (or the page's \"understood as\" line) warns when it is far from all of them.")
    return (", which for the built-in encoder was trained on this corpus' captions only: natural captions of "
            "unseen sources are where it is weakest (see the scores).")


def recipe_line(trained_with: dict) -> str:
    """How the queries were made in training, in words: the datasets, each one's query modality, the embedding
    manipulations with their settings and the config hash (``trained_with`` of ``config.json``; its classes are
    in the card's data section)."""
    modes = trained_with.get("query_modes") or {}
    parts = [f"datasets {', '.join(f'`{d}`' for d in trained_with['data'])}"] if trained_with.get("data") else []
    if "query_mode" in trained_with:
        others = "".join(f", `{name}` by {mode}" for name, mode in modes.items())
        parts.append(f"queries by {trained_with['query_mode']}{others}")
    manipulations = trained_with.get("manipulation")
    if manipulations is not None:
        parts.append("embedding manipulations: " + (", ".join(
            f"{name} ({', '.join(f'{k} {_setting(v)}' for k, v in settings.items() if k != 'enabled')})"
            for name, settings in manipulations.items()) or "none"))
    known = {"query_mode", "query_modes", "manipulation", "classes", "data", "config_hash"}
    parts += [f"{key}: {_setting(value)}" for key, value in trained_with.items() if key not in known]
    if "config_hash" in trained_with:
        parts.append(f"config hash `{trained_with['config_hash']}`")
    return "; ".join(parts) + "." if parts else "not recorded."


def _setting(value) -> str:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return f"{value[0]:g}-{value[1]:g}"
    return value if isinstance(value, str) else json.dumps(value)


def render_card(config: dict) -> str:
    """The README.md of a model folder, from its ``config.json`` records alone (front matter first, which
    :func:`~tqse.models.pretrained.read_card_scores` and hubs read; ``description``: the opening paragraph)."""
    name = config.get("name", "tqse model")
    flat = {f"{s}_{q}_si_sdri": v for s in scored_sets(config) for q in QUERY_KINDS
            if (v := _si_sdri(config["scores"][s], q)) is not None}
    training = config.get("training") or {}
    history = (f"{training.get('steps', '?')} steps, {training.get('train_minutes', '?')} minutes of training on "
               f"{training.get('hardware', '?')}, torch {training.get('torch', '?')}, tqse commit "
               f"{training.get('git_sha', '?')}.{training.get('lineage', '')}")
    encoder = (config.get("encoder") or {}).get("name")
    sections = [
        f"# {name}", "",
        config.get("description") or ("A text-queried target sound extractor: give it a mixture and a caption (\"a dog barking\"); "
                        "it returns that sound. `tqse extract mix.wav -q \"a dog barking\" -n PATH_TO_THIS_FOLDER`, "
                        "or `Extractor.from_pretrained(\"PATH_TO_THIS_FOLDER\")` in Python."), "",
        "## At a glance", "", *_at_a_glance(config), "",
        "## What the weights were trained on", "", *_data_section(config), "",
        "## How this checkpoint was chosen", "", *_selection_section(config), "",
        "## Scores", "",
        "SI-SDRi on fixed mixtures of two sounds (`tqse eval`, `python benchmarks/default_model.py --model THIS_FOLDER`). "
        "The wrong query asks for the *other* sound's class: a model that ignores its query scores the same "
        "with it as with the right one.", "", *_scores_table(config), "",
        "## Licence of the weights", "", LICENCE_TEXT.format(file=LICENCE_FILE), "",
        "## Limits", "",
        "Queries far from the classes above (other sounds, music genres, complex scenes) are outside what it "
        f"learnt. Captions reach it through the query encoder's text tower (`{encoder}`){_text_side(config)}", "",
        "## Model and training record", "",
        f"- **Architecture:** `{config.get('model')}` with `{json.dumps(config.get('kwargs', {}))}`, "
        f"{config.get('sample_rate')} Hz; query encoder `{encoder}`.",
        f"- **Weights:** {config.get('weights_dtype', 'float32')} safetensors"
        + (f" (float16 changed SI-SDRi by at most {config['fp16_change_db']:+.2f} dB on the sets above)."
           if config.get("fp16_change_db") is not None else "."),
        f"- **Trained:** {history}",
        f"- **Query recipe:** {recipe_line(config.get('trained_with') or {})}", ""]
    return card_front_matter(config, flat) + "\n" + "\n".join(sections)
