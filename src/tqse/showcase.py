"""``tqse demo``: the shipped model at work on real mixtures, in seconds, with nothing to download.

Mixtures come from the built-in corpus' ``tiny`` tier when it is built (its fixed test mixtures), else from
the committed CC0 fixture clips (Sonic Pi samples, ``tqse/assets/fixture/CREDITS.md``) mixed in pairs at
fixed SNRs. Each target is extracted with a text query; the demo prints SI-SDRi per mixture and writes the
mixture, the estimate, the reference and a labelled spectrogram PNG of the three per mixture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShowcaseMixture:
    name: str
    mixture: np.ndarray
    target: np.ndarray
    sample_rate: int
    query: str


# (target clip, interferer clip, SNR dB, text query): classes the built-in corpus also has as targets.
FIXTURE_PAIRS = (
    ("loop_amen.flac", "ambi_piano.flac", 0.0, "this is the sound of drums"),
    ("ambi_piano.flac", "loop_breakbeat.flac", 0.0, "this is the sound of piano"),
    ("perc_bell.flac", "guit_em9.flac", 0.0, "a bell rings"),
    ("loop_tabla.flac", "bass_woodsy_c.flac", 0.0, "this is the sound of tabla"),
)


def fixture_mixtures() -> list[ShowcaseMixture]:
    """The fixture pairs of :data:`FIXTURE_PAIRS`, each cut to the shorter clip and mixed at its SNR."""
    from tqse.audio.io import load_audio
    from tqse.data.mixing import mix_at_snr
    from tqse.data.locations import fixture_dir

    mixtures = []
    for target_name, other_name, snr, query in FIXTURE_PAIRS:
        target, rate = load_audio(fixture_dir() / target_name)
        other, _ = load_audio(fixture_dir() / other_name, rate)
        n = min(len(target), len(other))
        mixture, target, _ = mix_at_snr(target[:n], other[:n], snr)
        name = f"{Path(target_name).stem}+{Path(other_name).stem}"
        mixtures.append(ShowcaseMixture(name, mixture, target, rate, query))
    return mixtures


def corpus_mixtures(manifest: Path, count: int) -> list[ShowcaseMixture]:
    """The first ``count`` fixed test mixtures of a built corpus, one per class, queried by class template."""
    from tqse.audio.io import load_audio
    from tqse.data.manifest import read_mixtures

    mixtures, seen = [], set()
    for row in read_mixtures(manifest):
        if row.label in seen:
            continue
        seen.add(row.label)
        mixture, rate = load_audio(row.mixture)
        target, _ = load_audio(row.target, rate, allow_silent=True)
        name = f"{Path(row.mixture).stem.removesuffix('_mix')}-{row.label.replace(' ', '_')}"
        mixtures.append(ShowcaseMixture(name, mixture, target, rate, row.class_caption))
        if len(mixtures) == count:
            break
    return mixtures


def showcase_mixtures(count: int = 6) -> tuple[str, list[ShowcaseMixture]]:
    """(source description, mixtures): the ``tiny`` corpus tier's test mixtures if built, else the fixture."""
    from tqse.data.locations import default_corpus_dir

    tiny = Path(default_corpus_dir("tiny")) / "mixtures" / "test.jsonl"
    if tiny.exists():
        return f"built-in corpus tier 'tiny' ({tiny})", corpus_mixtures(tiny, count)
    return "committed CC0 fixture clips (Sonic Pi samples)", fixture_mixtures()


def run_showcase(out_dir: str | Path, model: str | Path | None = None, count: int = 6) -> dict:
    """Extract every showcase mixture's target with ``model`` (a name or folder; None = the default model);
    write audio and spectrograms; return the scores."""
    from tqse.extract import Extractor
    from tqse.audio.io import save_audio
    from tqse.eval.metrics import si_sdr_improvement
    from tqse.models.pretrained import resolve_model

    out_dir = Path(out_dir)
    model_dir = resolve_model(model)
    extractor = Extractor.from_pretrained(model_dir)
    source, mixtures = showcase_mixtures(count)
    rows = []
    for item in mixtures:
        estimate = extractor.extract(item.mixture, item.sample_rate, text=item.query)
        folder = out_dir / item.name
        for kind, wav in (("mixture", item.mixture), ("estimate", estimate), ("reference", item.target)):
            save_audio(folder / f"{kind}.wav", wav, item.sample_rate)
        improvement = float(si_sdr_improvement(item.target, estimate, item.mixture))
        write_spectrograms(folder / "spectrograms.png", item, estimate, improvement)
        rows.append({"name": item.name, "query": item.query, "si_sdri": round(improvement, 2), "folder": str(folder)})
    return {"model": str(model_dir), "mixtures_from": source, "output": str(out_dir), "results": rows,
            "mean_si_sdri": round(float(np.mean([r["si_sdri"] for r in rows])), 2)}


def write_spectrograms(path: Path, item: ShowcaseMixture, estimate: np.ndarray, si_sdri: float) -> None:
    """Mixture / estimate / reference log spectrograms on one colour scale, labelled, as one PNG."""
    try:
        import matplotlib
    except ImportError:
        log.warning("matplotlib is not installed (pip install 'tqse[plots]'): no spectrogram PNG written")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tqse.serve.spectrogram import power_db

    rate = item.sample_rate
    panels = (("mixture", item.mixture), (f"estimate ({si_sdri:+.1f} dB SI-SDRi)", estimate), ("reference", item.target))
    specs = [power_db(wav) for _, wav in panels]
    top = max(float(s.max()) for s in specs)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True, layout="constrained")
    for ax, (title, _), spec in zip(axes, panels, specs):
        image = ax.imshow(spec, origin="lower", aspect="auto", cmap="magma", vmin=top - 80, vmax=top,
                          extent=(0, len(item.mixture) / rate, 0, rate / 2000))
        ax.set_title(title)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.colorbar(image, ax=axes, label="power (dB)")
    fig.suptitle(f'query: "{item.query}"')
    fig.savefig(path, dpi=90)
    plt.close(fig)

