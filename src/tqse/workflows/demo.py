"""``tqse demo``: the shipped model at work on real mixtures, in seconds, with nothing to download; or, with
``--train``, a small separator trained, scored and installed on the built-in data.

Showing (:func:`run_showcase`): mixtures come from the built-in corpus' ``tiny`` tier when it is built (its fixed
test mixtures), else from the committed CC0 fixture clips (Sonic Pi samples, ``tqse/assets/fixture/CREDITS.md``)
mixed in pairs at fixed SNRs. Each target is extracted with a text query; the demo prints SI-SDRi per mixture
and writes the mixture, the estimate, the reference and a labelled spectrogram PNG of the three per mixture.

Training (:func:`run_demo`) needs no downloads of models or datasets: it trains on the built-in data with the
built-in query encoder, evaluates on fixed test mixtures with text queries, writes an extracted example and
installs the model as the default for ``tqse extract``.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tqse.config import load_config
from tqse.data.manifest import read_clips, read_mixtures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoTraining:
    """``tqse demo --train``: what is trained, on which data (every default of the command lives here).

    Args:
        tier: built-in corpus tier to build (if needed) and train on; ``None`` = the default data as found
            (a built corpus, else the committed 12-clip fixture).
        install: make the trained model the default of ``tqse extract``.
    """

    steps: int = 1200
    preset: str = "small"
    encoder: str = "builtin"
    sample_rate: int = 16000
    tier: str | None = "default"
    install: bool = True


# -- showing the shipped model ------------------------------------------------------------------------------
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
    from tqse.data.locations import fixture_dir
    from tqse.data.mixing import mix_at_snr

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
    from tqse.audio.io import save_audio
    from tqse.eval.metrics import si_sdr_improvement
    from tqse.extract import Extractor
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


# -- training your own ----------------------------------------------------------------------------------------
def demo_overrides(manifest: str, settings: DemoTraining, output_dir: Path) -> list[str]:
    """The demo's settings as dotted overrides of the paper defaults: 2 s segments at 16 kHz and the small
    Conformer, so a CPU trains it in minutes. Caption queries (the paper's A0 row): their embeddings are
    computed once per caption, whereas audio queries run the encoder's audio tower every step, about 6x
    slower here, and converge more slowly with dropout (the audio-only rows are `tqse grid` work)."""
    return ["name=demo", f"output_dir={output_dir}", f"data.manifests.builtin={manifest}", "data.use=[builtin]",
            f"data.sample_rate={settings.sample_rate}", "data.segment_seconds=2.0", "data.workers=1",
            f"query.encoder.name={settings.encoder}", "query.mode=text",
            f"model.name={settings.preset}", f"train.steps={settings.steps}", "train.batch_size=8", "train.lr=1e-3",
            f"train.warmup_steps={max(settings.steps // 20, 1)}", "train.log_every=25", "train.checkpoint_every=100"]


def held_out_mixtures(clips_manifest: Path, out_dir: Path, sample_rate: int) -> Path:
    """The data's fixed test mixtures if it has them (``mixtures/test.jsonl``), else write 24 from its test split."""
    shipped = clips_manifest.parent / "mixtures" / "test.jsonl"
    if shipped.exists():
        return shipped
    from tqse.data.fixed_mixtures import write_fixed_mixtures

    target = out_dir / "mixtures" / "test.jsonl"
    if target.exists():
        return target
    return write_fixed_mixtures(read_clips(clips_manifest, split="test"), out_dir / "mixtures", 24, seed=1234,
                                sample_rate=sample_rate, segment_seconds=4.0, name="test")


def run_demo(out_dir: str | Path, settings: DemoTraining = DemoTraining()) -> dict:
    """Train, score and install the demo model (see :class:`DemoTraining`)."""
    from tqse.audio.io import load_audio, save_audio
    from tqse.data.locations import default_training_manifest
    from tqse.eval.quick import score_mixtures
    from tqse.extract import Extractor
    from tqse.models.pretrained import demo_model_dir
    from tqse.train.loop import train

    out_dir = Path(out_dir)
    if settings.tier is not None:
        from tqse.data.corpus import ensure_corpus

        manifest = Path(ensure_corpus(settings.tier))
    else:
        manifest = Path(default_training_manifest())
    config = load_config([], demo_overrides(str(manifest), settings, out_dir))
    run_dir = train(config, run_dir=out_dir / "run")
    model_dir = run_dir / "checkpoints" / "last"
    extractor = Extractor.from_pretrained(model_dir)
    mixtures = held_out_mixtures(manifest, out_dir, settings.sample_rate)
    summary = {"run_dir": str(run_dir), "model_dir": str(model_dir), "steps": settings.steps,
               "test_mixtures": str(mixtures)}
    scores = score_mixtures(extractor.model, extractor.encoder, str(mixtures), extractor.sample_rate,
                            extractor.device, query_fields=("class_caption", "caption"))
    for field, values in scores.items():
        summary[f"test_{field}"] = {k: round(v, 2) for k, v in values.items()}
    first = read_mixtures(mixtures)[0]
    mixture, rate = load_audio(first.mixture)
    save_audio(out_dir / "example_mixture.wav", mixture, rate)
    save_audio(out_dir / "example_extracted.wav", extractor.extract(mixture, rate, text=first.class_caption), rate)
    summary["example"] = {"query": first.class_caption, "mixture": str(out_dir / "example_mixture.wav"),
                          "extracted": str(out_dir / "example_extracted.wav")}
    if settings.install:
        shutil.rmtree(demo_model_dir(), ignore_errors=True)
        shutil.copytree(model_dir, demo_model_dir(), ignore=shutil.ignore_patterns("training_state.pt"))
        summary["installed_as_default"] = str(demo_model_dir())
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
