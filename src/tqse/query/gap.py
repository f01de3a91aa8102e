"""Modality-gap report (``tqse gap``): how far apart an encoder's audio and caption embeddings are.

The paper (Sec. II-B) found paired audio-caption cosine of only about 0.4 for LAION-CLAP and MS-CLAP on
AudioCaps; that gap is why a separator trained on audio queries fails on text queries. This module measures
it (Liang et al., 2022: centroid distance, cosine after removing each modality's centroid) and how each
training-time manipulation of the *audio* embeddings moves them relative to the clean *text* embeddings the
model sees at inference.

Dimensions: N clips (one caption each), D embedding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from tqse.audio.io import load_audio
from tqse.config import ManipulationConfig
from tqse.data.manifest import ClipRecord
from tqse.query.base import QueryEncoder, fit_length
from tqse.query.cache import crop_clip

FIGURES = [("paired_cos", "paired cos"), ("unpaired_cos", "unpaired cos"), ("audio_audio_cos", "audio-audio cos"),
           ("text_text_cos", "text-text cos"), ("centroid_distance", "centroid dist."),
           ("paired_cos_centred", "paired cos (centred)"), ("modality_accuracy", "modality clf. acc."),
           ("t2a_R@1", "t2a R@1"), ("t2a_R@10", "t2a R@10")]


def recall_at(sim: torch.Tensor, ks: tuple[int, ...] = (1, 10), labels: list | None = None) -> dict[str, float]:
    """Text-to-audio recall from ``sim`` ``[N text, N audio]`` where text ``i`` belongs to audio ``i``.

    Without ``labels`` only audio ``i`` is relevant (ties count against it). With ``labels`` (e.g. classes,
    when captions are per class, as in the built-in corpus) any audio with text ``i``'s label is relevant.
    """
    n = sim.shape[0]
    if labels is None:
        ranks = (sim >= sim.diagonal()[:, None]).sum(1) - 1
    else:
        codes = {lab: j for j, lab in enumerate(dict.fromkeys(labels))}
        lab = torch.tensor([codes[x] for x in labels])
        relevant = lab[:, None] == lab[None, :]
        best = torch.where(relevant, sim, torch.full_like(sim, -torch.inf)).amax(1)
        ranks = (torch.where(relevant, torch.full_like(sim, -torch.inf), sim) >= best[:, None]).sum(1)
    return {f"t2a_R@{k}": float((ranks < k).double().mean()) for k in ks} | {"n": float(n)}


def modality_gap(audio_emb: torch.Tensor, text_emb: torch.Tensor, labels: list | None = None) -> dict[str, float]:
    """Gap statistics of paired embeddings: row ``i`` of both is the same clip.

    Shape:
        audio_emb, text_emb: ``[N, D]`` (normalised here; manipulated embeddings need not be unit norm).

    Args:
        labels: optional class per row: "unpaired" then means different-class pairs and retrieval counts
            any same-class clip as a hit (captions per class cannot tell clips of one class apart).

    Returns:
        paired / unpaired audio-text cosine, mean within-modality cosine, distance between the two
        modality centroids, paired cosine after subtracting each centroid, accuracy of a nearest-centroid
        audio-vs-text classifier (1.0 = the modalities are linearly separable by their mean), and
        text-to-audio recall at 1 and 10.
    """
    a = F.normalize(audio_emb.double(), dim=-1)
    t = F.normalize(text_emb.double(), dim=-1)
    n = a.shape[0]
    off = ~torch.eye(n, dtype=torch.bool)
    if labels is not None:
        codes = {lab: j for j, lab in enumerate(dict.fromkeys(labels))}
        lab = torch.tensor([codes[x] for x in labels])
        off = lab[:, None] != lab[None, :]
    sim = t @ a.T  # [N text, N audio]
    ca, ct = a.mean(0), t.mean(0)
    a_c, t_c = F.normalize(a - ca, dim=-1), F.normalize(t - ct, dim=-1)
    w, b = ca - ct, 0.5 * (ca.dot(ca) - ct.dot(ct))  # nearest-centroid rule: x.w > b -> audio
    accuracy = 0.5 * ((a @ w > b).double().mean() + (t @ w <= b).double().mean())
    eye = ~torch.eye(n, dtype=torch.bool)
    out = {
        "paired_cos": sim.diagonal().mean(), "unpaired_cos": sim[off].mean() if off.any() else torch.tensor(0.0),
        "audio_audio_cos": (a @ a.T)[eye].mean(), "text_text_cos": (t @ t.T)[eye].mean(),
        "centroid_distance": (ca - ct).norm(), "paired_cos_centred": (a_c * t_c).sum(-1).mean(),
        "modality_accuracy": accuracy,
    }
    return {k: float(v) for k, v in out.items()} | {k: v for k, v in recall_at(sim, labels=labels).items() if k != "n"}


def _load_crops(encoder: QueryEncoder, clips: list[ClipRecord], crop_seconds: float | None) -> list[np.ndarray]:
    return [crop_clip(load_audio(c.path, encoder.sample_rate)[0], encoder.sample_rate, crop_seconds) for c in clips]


def embed_clips(encoder: QueryEncoder, clips: list[ClipRecord], crop_seconds: float | None = None,
                caption_index: int = 0, batch_size: int = 16,
                wave_fn: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
                feature_fn: Callable[[torch.Tensor], torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Audio embeddings of each clip's deterministic crop and text embeddings of caption ``caption_index``.

    Args:
        wave_fn: ``f(wav [1, T], index) -> [1, T]`` applied before the tower (e.g. mixup with another clip).
        feature_fn: ``f(features [1, N, M]) -> [1, N, M]`` applied to the tower's input (e.g. SpecAugment).
    """
    clips = [c for c in clips if c.captions]
    wavs = _load_crops(encoder, clips, crop_seconds)
    audio = []
    for i, w in enumerate(wavs):
        wav = torch.from_numpy(w)[None]
        if wave_fn is not None:
            wav = wave_fn(wav, i)
        features = encoder.audio_features(wav, encoder.sample_rate)
        if feature_fn is not None:
            features = feature_fn(features)
        audio.append(encoder.embed_features(features).cpu())
    captions = [c.captions[min(caption_index, len(c.captions) - 1)] for c in clips]
    text = [encoder.embed_text(captions[i:i + 64]).cpu() for i in range(0, len(captions), 64)]
    return torch.cat(audio), torch.cat(text)


def default_manipulations(text_emb: torch.Tensor) -> dict[str, tuple]:
    """The paper's embedding manipulations at their training strengths, as ``name -> (fn, also_text)``.

    Dropout and noise act on the audio queries only (training-time augmentations); PCA and PCA-inv are
    fitted on (up to ``fit_on``) text embeddings and, being part of the model, apply to text too. Strengths
    are the config defaults (:class:`~tqse.config.ManipulationConfig`).
    """
    from tqse.models.separator import PCAProjection
    from tqse.query.manipulations import EmbeddingDropout, GaussianNoise

    def audio_only(fn):
        return lambda q: fn(q, torch.ones(q.shape[0], dtype=torch.bool))

    config = ManipulationConfig()
    out: dict[str, tuple] = {"dropout": (audio_only(EmbeddingDropout(config.dropout)), False),
                             "noise": (audio_only(GaussianNoise(config.noise)), False)}
    fit = text_emb[:config.pca.fit_on]
    if fit.shape[0] >= config.pca.dim:
        out["pca"] = (PCAProjection.fit(fit, config.pca.dim), True)
        out["pca-inv"] = (PCAProjection.fit(fit, config.pca.dim, inverse=True), True)
    return out


def waveform_manipulations(encoder: QueryEncoder, clips: list[ClipRecord], crop_seconds: float | None,
                           seed: int = 0) -> dict[str, tuple]:
    """Mixup (another clip of the set at SNR U[-5, 5] dB) and SpecAugment, which re-run the audio tower."""
    from tqse.query.manipulations import mixup_waveforms, spec_augment

    config = ManipulationConfig()
    generator = torch.Generator().manual_seed(seed)
    wavs = [torch.from_numpy(w) for w in _load_crops(encoder, [c for c in clips if c.captions], crop_seconds)]
    partner = torch.randperm(len(wavs), generator=generator).tolist()

    def mixup(wav: torch.Tensor, i: int) -> torch.Tensor:
        other = wavs[partner[i] if partner[i] != i else (i + 1) % len(wavs)]
        other = fit_length(other, wav.shape[-1])[None]
        return mixup_waveforms(wav, other, tuple(config.mixup.snr_db), generator)

    return {"mixup": {"wave_fn": mixup},
            "specaugment": {"feature_fn": lambda f: spec_augment(f, config.specaugment, generator)}}


def gap_report(encoder: QueryEncoder, clips: list[ClipRecord], manipulations: dict[str, object] | None = None,
               crop_seconds: float | None = None, caption_index: int = 0, seed: int = 0,
               embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
               audio_level: bool = False, by_class: bool = False) -> dict:
    """Gap figures for the clean embeddings and after each manipulation of the audio embeddings.

    Args:
        manipulations: name -> ``f(q [B, D]) -> [B, D']`` applied to the audio embeddings, or
            ``(f, also_text)`` to apply it to the text embeddings as well (PCA). ``None``: the paper's set
            from :func:`default_manipulations`. Random ones are seeded with ``seed`` before each call.
        embeddings: precomputed ``(audio, text)`` to skip the encoder.
        audio_level: also evaluate mixup and SpecAugment (re-embeds every clip twice).
        by_class: clips carry per-class captions: use their ``class`` as labels (see :func:`modality_gap`).
    """
    labels = [c.label for c in clips if c.captions] if by_class else None
    audio, text = embeddings if embeddings is not None else embed_clips(encoder, clips, crop_seconds, caption_index)
    if manipulations is None:
        manipulations = default_manipulations(text)
    rows = {"none": modality_gap(audio, text, labels)}
    for name, entry in manipulations.items():
        fn, also_text = entry if isinstance(entry, tuple) else (entry, False)
        torch.manual_seed(seed)
        with torch.no_grad():
            rows[name] = modality_gap(fn(audio.clone()), fn(text.clone()) if also_text else text, labels)
    if audio_level:
        for name, hooks in waveform_manipulations(encoder, clips, crop_seconds, seed).items():
            torch.manual_seed(seed)
            audio_after = embed_clips(encoder, clips, crop_seconds, caption_index, **hooks)[0]
            rows[name] = modality_gap(audio_after, text, labels)
    sim = (F.normalize(text, dim=-1) @ F.normalize(audio, dim=-1).T).numpy()
    off = ~np.eye(len(sim), dtype=bool)
    if labels is not None:
        off = np.array(labels, dtype=object)[:, None] != np.array(labels, dtype=object)[None, :]
    return {"encoder": encoder.name, "clips": int(len(audio)), "caption_index": caption_index,
            "by_class": by_class, "rows": rows,
            "paired": sim.diagonal().tolist(), "unpaired_sample": sim[off][:: max(1, off.sum() // 5000)].tolist()}


def format_table(report: dict) -> str:
    """Markdown table: one row per manipulation, one column per figure."""
    head = "| manipulation | " + " | ".join(label for _, label in FIGURES) + " |"
    lines = [head, "|" + "---|" * (len(FIGURES) + 1)]
    for name, row in report["rows"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:.3f}" for k, _ in FIGURES) + " |")
    return "\n".join(lines)


def plot_report(report: dict, path: str | Path) -> Path:
    """PNG: histogram of paired vs unpaired cosine (clean) and the key figures per manipulation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=110)
    bins = np.linspace(-0.5, 1.0, 61)
    left.hist(report["unpaired_sample"], bins=bins, alpha=0.6, density=True, label="unpaired")
    left.hist(report["paired"], bins=bins, alpha=0.6, density=True, label="paired")
    left.set(xlabel="audio-caption cosine", ylabel="density", title=f"{report['encoder']} ({report['clips']} clips)")
    left.legend()
    names, keys = list(report["rows"]), ["paired_cos", "unpaired_cos", "paired_cos_centred", "t2a_R@10"]
    x = np.arange(len(names))
    for i, key in enumerate(keys):
        right.bar(x + (i - 1.5) * 0.2, [report["rows"][n][key] for n in names], 0.2, label=key)
    right.set_xticks(x, names, rotation=20)
    right.set(title="after each manipulation of the audio embeddings")
    right.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def report_json(report: dict) -> str:
    """The figures (not the per-pair cosines) as one JSON object."""
    return json.dumps({k: v for k, v in report.items() if k not in ("paired", "unpaired_sample")})
