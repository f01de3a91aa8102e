"""``tqse demo --train``: a small separator trained, scored and installed on the built-in data. (Without
``--train``, ``tqse demo`` shows a model on the committed demo set: :mod:`tqse.workflows.showcase`.)

Training (:func:`run_demo`) needs no downloads of models or datasets: it trains on the built-in data with the
built-in query encoder, evaluates on fixed test mixtures with text queries, writes an extracted example and
installs the model as the default for ``tqse extract``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from tqse.config import load_config
from tqse.data.manifest import read_clips, read_mixtures


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
