"""``tqse demo``: a model on the committed demo set, asked for the right sound and for the wrong one.

The set (``tqse/assets/demo``, rule and credits in its README.md and CREDITS.md) is nine mixtures of sounds
people extract (a voice over traffic, a dog by a road, bells over speech ...) from source families no model of
this repository trains on. For each mixture the model is queried with a natural caption of the target (the
right query) and of the other sound (the wrong query); both outputs and the residual (mixture minus the
right-query output) are scored and written, with spectrograms and a page to listen to them
(``demo_out/index.html``). The summary line quotes what to expect from the model's own card: its score on
unseen sources when it has one (:func:`tqse.models.card.unseen_set`), read at run time.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path

import numpy as np

from tqse.data.demo_set import DemoMixture, demo_dir, demo_mixtures

log = logging.getLogger(__name__)


def meaning(item: DemoMixture, right: float, wrong: float) -> str:
    """One sentence on what the two scores mean ("the dog is 7.0 dB clearer; asked for the traffic instead,
    it removes the dog"), saying so plainly when the model does badly or ignores its query."""
    t, o = item.target_name, item.other_name
    plural = t.split()[-1].endswith("s") and not t.endswith("'s")
    is_, comes = ("are", "come") if plural else ("is", "comes")
    if right >= 3:
        first = f"{t} {is_} {right:.1f} dB clearer than in the mixture"
    elif right >= 1:
        first = f"{t} {is_} only a little clearer ({right:+.1f} dB)"
    elif right > -1:
        first = f"the model does badly here: {t} {is_} no clearer than in the mixture ({right:+.1f} dB)"
    else:
        first = f"the model does badly here: {t} {comes} out worse than in the mixture ({right:+.1f} dB)"
    if right - wrong >= 3:
        second = (f"asked for {o} instead, it removes {t}" if wrong <= -6 else
                  f"asked for {o} instead, it keeps less of {t}") + f" ({wrong:+.1f} dB)"
    elif right - wrong > -3:
        second = f"asked for {o} instead, it returns much the same ({wrong:+.1f} dB): here it does not follow the query"
    else:
        second = f"asked for {o} instead, it keeps more of {t} ({wrong:+.1f} dB): it mixes the two queries up here"
    return f"{first[0].upper()}{first[1:]}; {second}."


def expectation(config: dict) -> str:
    """What to expect, from the model's own card: its unseen-source score (natural captions, the demo's kind
    of query, and class templates), or that it has none, with what it has."""
    from tqse.models.card import eval_set, figure, scored_sets, unseen_set

    name = config.get("name", "this model")
    unseen = unseen_set(config)
    if unseen:
        f = figure(config, unseen)
        parts = [f"{f['caption_si_sdri']:+.2f} dB SI-SDRi with natural captions (this demo's kind of query)"
                 if f["caption_si_sdri"] is not None else "",
                 f"{f['template_si_sdri']:+.2f} dB with class templates (\"this is the sound of dog\")"
                 if f["template_si_sdri"] is not None else ""]
        return (f"What to expect: {name}'s card reports, on {f['mixtures']} mixtures of "
                f"{eval_set(config, unseen).mixtures} (`{unseen}`), {' and '.join(p for p in parts if p)}.")
    sets = scored_sets(config)
    if not sets:
        return f"What to expect: {name}'s card has no scores, so there is no typical figure to compare with."
    first = figure(config, next(iter(sets)))
    return (f"What to expect: {name}'s card has no score on sources it never trained on; what it has: "
            f"{first['line']}.")


def score_mixture(extractor, item: DemoMixture) -> tuple[dict, dict[str, np.ndarray]]:
    """Both queries in one batch: (scores, audio by name)."""
    from tqse.eval.metrics import si_sdr_improvement

    (right, residual), (wrong, _) = extractor.extract(item.mixture, item.sample_rate,
                                                      text=[item.right_query, item.wrong_query], residual=True)
    scores = {"right": float(si_sdr_improvement(item.target, right, item.mixture)),
              "wrong": float(si_sdr_improvement(item.target, wrong, item.mixture)),
              "residual": float(si_sdr_improvement(item.interferer, residual, item.mixture))}
    audio = {"mixture": item.mixture, "right_query": right, "wrong_query": wrong, "residual": residual,
             "target": item.target, "interferer": item.interferer}
    return scores, audio


def run_showcase(out_dir: str | Path, model: str | Path | None = None) -> dict:
    """Run ``model`` (a name or folder; None = the default model) on the demo set; write audio, spectrograms
    and ``index.html`` to ``out_dir``; return the scores and the lines ``tqse demo`` prints."""
    from tqse.audio.io import save_audio
    from tqse.extract import Extractor
    from tqse.models.pretrained import resolve_model

    out_dir = Path(out_dir)
    model_dir = resolve_model(model)
    extractor = Extractor.from_pretrained(model_dir)
    rows = []
    items = demo_mixtures()
    sheet = spectrogram_sheet(len(items[0].mixture) / items[0].sample_rate, items[0].sample_rate)
    for item in items:
        scores, audio = score_mixture(extractor, item)
        folder = out_dir / item.id
        for name, wav in audio.items():
            save_audio(folder / f"{name}.wav", wav, item.sample_rate)
        if sheet is not None:
            sheet.write(folder / "spectrograms.png", item, audio, scores)
        rows.append({"id": item.id, "description": item.description, "right_query": item.right_query,
                     "wrong_query": item.wrong_query, **{k: round(v, 2) for k, v in scores.items()},
                     "meaning": meaning(item, scores["right"], scores["wrong"]), "folder": item.id})
    if sheet is not None:
        sheet.close()
    name = extractor.config.get("name") or model_dir.name
    summary = {"model": str(model_dir), "model_name": name, "mixtures_from": str(demo_dir()), "output": str(out_dir),
               "results": rows, "right_beats_wrong": sum(r["right"] > r["wrong"] for r in rows),
               "median_right": round(float(np.median([r["right"] for r in rows])), 2),
               "expectation": expectation(extractor.config)}
    summary["page"] = str(write_page(out_dir, summary))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


PANELS = ("mixture", "right_query", "wrong_query", "target", "residual", "interferer")


class SpectrogramSheet:
    """Six log spectrograms on one colour scale per mixture, as one PNG: what went in and came out (top), the
    references (bottom). One figure serves every mixture (new images and titles each time): building the
    axes and their ticks took most of a second per figure."""

    def __init__(self, seconds: float, rate: int):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self.plt = plt
        self.fig, axes = plt.subplots(2, 3, figsize=(14, 6), sharex=True, sharey=True)
        self.fig.subplots_adjust(left=0.05, right=0.9, bottom=0.09, top=0.94, wspace=0.06, hspace=0.2)
        self.axes = list(axes.flat)
        self.images = []
        for ax in self.axes:
            self.images.append(ax.imshow(np.zeros((2, 2)), origin="lower", aspect="auto", cmap="magma",
                                         extent=(0, seconds, 0, rate / 2000), interpolation="nearest"))
            ax.set_xticks(np.arange(0, seconds + 1e-9, 2))
            ax.set_yticks(np.arange(0, rate / 2000 + 1e-9, 2))
        for ax in axes[1]:
            ax.set_xlabel("time (s)")
        for ax in axes[:, 0]:
            ax.set_ylabel("frequency (kHz)")
        self.fig.colorbar(self.images[0], cax=self.fig.add_axes((0.915, 0.09, 0.012, 0.85)), label="power (dB)")

    def write(self, path: Path, item: DemoMixture, audio: dict[str, np.ndarray], scores: dict) -> None:
        from tqse.serve.spectrogram import power_db

        titles = (f"mixture ({item.description})", f'right query "{item.right_query}": {scores["right"]:+.1f} dB',
                  f'wrong query "{item.wrong_query}": {scores["wrong"]:+.1f} dB', "target (reference)",
                  f"residual: {scores['residual']:+.1f} dB for the other sound", "other sound (reference)")
        specs = [power_db(audio[key]) for key in PANELS]
        top = max(float(spec.max()) for spec in specs)
        for ax, image, title, spec in zip(self.axes, self.images, titles, specs):
            image.set_data(spec)
            image.set_clim(top - 80, top)
            ax.set_title(title, fontsize=9)
        self.fig.savefig(path, dpi=80)

    def close(self) -> None:
        self.plt.close(self.fig)


def spectrogram_sheet(seconds: float, rate: int) -> SpectrogramSheet | None:
    try:
        return SpectrogramSheet(seconds, rate)
    except ImportError:
        log.warning("matplotlib is not installed (pip install 'tqse[plots]'): no spectrogram PNGs written")
        return None


def write_page(out_dir: Path, summary: dict) -> Path:
    """``index.html``: every mixture with its players, scores, sentence and spectrograms; local files only."""
    e = html.escape
    blocks = []
    for r in summary["results"]:
        players = "".join(f'<figure><figcaption>{e(label)}</figcaption><audio controls preload="none" '
                          f'src="{e(r["folder"])}/{key}.wav"></audio></figure>'
                          for key, label in (("mixture", "mixture"), ("right_query", f'"{r["right_query"]}"'),
                                             ("wrong_query", f'"{r["wrong_query"]}"'), ("residual", "residual"),
                                             ("target", "target (reference)"), ("interferer", "other sound")))
        blocks.append(f'<section><h2>{e(r["id"])}: {e(r["description"])}</h2><p>{e(r["meaning"])}</p>'
                      f'<p class="scores">SI-SDRi: right query {r["right"]:+.2f} dB, wrong query {r["wrong"]:+.2f} '
                      f'dB, residual {r["residual"]:+.2f} dB</p><div class="players">{players}</div>'
                      f'<img src="{e(r["folder"])}/spectrograms.png" alt="spectrograms of {e(r["id"])}"></section>')
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tqse demo: {e(summary["model_name"])}</title>
<style>body{{font-family:sans-serif;max-width:1150px;margin:1em auto;color:#222}}section{{border-top:1px solid #ccc;
padding:.5em 0}}.players{{display:flex;flex-wrap:wrap;gap:.5em}}figure{{margin:0}}figcaption{{font-size:13px}}
audio{{width:260px}}img{{max-width:100%}}.scores{{color:#555;font-size:14px}}</style></head><body>
<h1>tqse demo: {e(summary["model_name"])}</h1>
<p>Each mixture is two sounds at equal loudness from sources this model never trained on. The model is asked
for the target with a natural caption (the right query) and for the other sound (the wrong query). SI-SDRi:
how much closer to the target the output is than the mixture was, in dB (0 = no better; negative = worse);
the residual (mixture minus the right-query output) is scored against the other sound.</p>
<p><b>Right query better than the wrong one on {summary["right_beats_wrong"]} of {len(summary["results"])} mixtures;
median SI-SDRi with the right query {summary["median_right"]:+.2f} dB.</b> {e(summary["expectation"])}</p>
{"".join(blocks)}
<p>Sources, licences and credits of the mixtures: <code>{e(summary["mixtures_from"])}/CREDITS.md</code>.</p>
</body></html>
"""
    path = Path(out_dir) / "index.html"
    path.write_text(page)
    return path
