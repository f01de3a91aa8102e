"""Caption retrieval: does a caption land on its own class? The figures of ``benchmarks/caption_retrieval.py``.

A caption's text embedding is compared (cosine) with one target per class, and the class of the nearest
target is its answer. Three kinds of class target:

- ``template``: the text embedding of the paper's class template ``"this is the sound of {class}"``, the
  definition ``benchmarks/caption_retrieval.py`` has always used (and what a model trained with class
  templates is queried with);
- ``prototype``: the mean text embedding of many prompts around the class name
  (:func:`tqse.query.paraphrase.prompt_ensemble`), CLIP's prompt ensembling, no training;
- ``audio``: the mean *audio* embedding of the class's training clips, i.e. where the queries of a separator
  trained on audio embeddings lie (the audio side is the same in every built-in version, so these targets
  are the same for all of them).

Reported per set: top-1 and top-5 over captions, and ``macro`` top-1 (the mean of the per-class top-1, so
the many speech and water captions of AudioCaps do not decide it). Dimensions: N captions, K classes, D embedding.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from tqse.data.corpus.captions import class_caption
from tqse.query.paraphrase import prompt_ensemble


def class_list(which: str) -> list[str]:
    """The classes captions are matched against: ``corpus`` (the built corpus' labels) or ``all`` (every class
    of the lexicon)."""
    if which == "all":
        from tqse.query.paraphrase import load_lexicon

        return sorted(load_lexicon())
    from tqse.data.locations import resolve_manifest
    from tqse.data.manifest import read_clips

    return sorted({c.label for c in read_clips(resolve_manifest("builtin"))})


def embed_texts(encoder, texts: list[str], batch: int = 128) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([encoder.embed_text(texts[i:i + batch]).float().cpu() for i in range(0, len(texts), batch)])


def class_targets(encoder, classes: list[str], kind: str,
                  audio_centroids: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
    """``[K, D]`` unit-norm targets of ``kind`` (``template``, ``prototype`` or ``audio``), rows in ``classes`` order."""
    if kind == "template":
        return embed_texts(encoder, [class_caption(c) for c in classes])
    if kind == "prototype":
        return torch.stack([F.normalize(embed_texts(encoder, prompt_ensemble(c)).mean(0), dim=0) for c in classes])
    if kind == "audio":
        if audio_centroids is None:
            raise ValueError("audio targets need the class audio centroids")
        return torch.stack([F.normalize(audio_centroids[c].float(), dim=0) for c in classes])
    raise ValueError(f"unknown class target {kind!r} (template, prototype, audio)")


def retrieval(queries: torch.Tensor, labels: list[str], classes: list[str], targets: torch.Tensor) -> dict[str, float]:
    """Top-1, top-5 and macro top-1 of ``queries [N, D]`` against ``targets [K, D]``."""
    truth = torch.tensor([classes.index(label) for label in labels])
    ranked = (queries @ targets.T).argsort(dim=1, descending=True)
    hit1 = (ranked[:, 0] == truth).float()
    hit5 = (ranked[:, :5] == truth[:, None]).any(1).float()
    per_class = defaultdict(list)
    for label, hit in zip(labels, hit1.tolist()):
        per_class[label].append(hit)
    return {"n": len(labels), "classes": len(per_class), "top1": hit1.mean().item(), "top5": hit5.mean().item(),
            "macro_top1": sum(sum(v) / len(v) for v in per_class.values()) / len(per_class)}


def audio_centroids(cache_dir: str | Path, audio_name: str, manifests: list[str | Path],
                    split: str = "train", crop_seconds: float = 10.0) -> dict[str, torch.Tensor]:
    """Class -> mean audio embedding of the ``split`` clips of ``manifests`` (unnormalised), read from the
    embedding cache of the encoder named ``audio_name`` (``tqse embed``). A class with no clip in ``split``
    (an interferer-only class heard only in ``ood``) takes all its clips."""
    from tqse.data.manifest import audio_cache_key, read_clips
    from tqse.query.cache import EmbeddingCache

    cache = EmbeddingCache.open(cache_dir, audio_name)
    in_split: dict[str, list[str]] = defaultdict(list)
    anywhere: dict[str, list[str]] = defaultdict(list)
    for manifest in manifests:
        for clip in read_clips(manifest):
            if clip.label is None:
                continue
            key = audio_cache_key(clip, crop_seconds)
            anywhere[clip.label].append(key)
            if clip.extra.get("split", split) == split:
                in_split[clip.label].append(key)
    return {label: cache.audio(in_split.get(label) or keys).mean(0) for label, keys in sorted(anywhere.items())}


CENTROIDS = Path(__file__).resolve().parents[1] / "assets" / "captions" / "class_audio.safetensors"


def save_centroids(path: str | Path, audio: dict[str, torch.Tensor], provenance: dict[str, Any]) -> None:
    """Class audio centroids as float32 ``[K, D]`` with the class names and where they came from."""
    from safetensors.torch import save_file

    classes = sorted(audio)
    save_file({"audio": torch.stack([audio[c].float() for c in classes]).contiguous()}, str(path),
              metadata={"classes": json.dumps(classes), "provenance": json.dumps(provenance)})
    Path(path).chmod(0o644)


def load_centroids(path: str | Path = CENTROIDS) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        classes = json.loads(f.metadata()["classes"])
        audio = f.get_tensor("audio")
    return dict(zip(classes, audio))


def evaluate_sets(encoder, classes: list[str], sets: dict[str, list[tuple[str, str]]], kinds: list[str],
                  audio: dict[str, torch.Tensor] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """``{set: {kind: scores}}`` for caption sets ``{name: [(caption, class)]}``; captions of classes outside
    ``classes`` are left out of a set."""
    targets = {kind: class_targets(encoder, classes, kind, audio) for kind in kinds}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, pairs in sets.items():
        pairs = [(text, label) for text, label in pairs if label in classes]
        if not pairs:
            continue
        queries = embed_texts(encoder, [text for text, _ in pairs])
        out[name] = {kind: retrieval(queries, [label for _, label in pairs], classes, t) for kind, t in targets.items()}
    return out
