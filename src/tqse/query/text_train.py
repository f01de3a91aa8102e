"""Train a text-side version of the built-in encoder: a new text projection (and optionally a light adapter over
MiniLM) on free captions, with the audio side left exactly as it is.

What it learns from (:func:`training_texts`, all decontaminated against :func:`~tqse.query.caption_data.evaluation_texts`):
AudioCaps train captions naming one class (:mod:`tqse.query.caption_data`), generated paraphrases of every
class (:mod:`tqse.query.paraphrase`), and the corpus' own training captions (its class template and seen phrases).

Loss, per caption ``q`` of class ``c`` (MiniLM frozen, so every sentence vector is computed once):

- **audio**: cross-entropy over the classes of ``s * cos(q, A_k)``, ``A_k`` the mean audio embedding of class
  ``k``'s training clips (CLAP's InfoNCE with class-level positives; learned scale ``s``, init 1/0.07): the
  caption lands where the separator's audio queries of that class lie;
- **hard negatives**: ``relu(m + max_{n in near(c)} cos(q, A_n) - cos(q, A_c))``, the classes most easily
  confused with ``c`` (the lexicon's ``near`` lists: dog/wolf, violin/cello/erhu, speech male/female...);
- **anchor**: ``1 - corr(cos(q_i, q_j), cos(x_i, x_j))`` over a batch of other AudioCaps captions, ``x`` their
  MiniLM vectors: the projection keeps MiniLM's similarity structure, so wordings it never saw stay near their
  meaning (relational distillation, Park et al., CVPR 2019).

The projection starts from version 1's; the checkpoint with the best macro top-1 on the AudioCaps *val*
captions (templates and audio targets, all lexicon classes) is kept. Evaluation captions are never read.

    python -m tqse.query.text_train --out DIR [--audio-cache CACHE --data CLIPS.jsonl INTERFERERS.jsonl]

Dimensions: B captions in a batch, K classes, E MiniLM (384), D embedding (512).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tqse.data.corpus.captions import class_caption
from tqse.query.builtin import BuiltinHeads, MiniLM, read_folder, load_weights_file, version_folder
from tqse.query.caption_data import anchor_texts, selection_captions, training_pools
from tqse.query.paraphrase import load_lexicon, prompt_ensemble
from tqse.query.text_eval import CENTROIDS, load_centroids, save_centroids

log = logging.getLogger(__name__)


@dataclass
class TextTrainSettings:
    steps: int = 3000
    batch: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    paraphrases: int = 400  # generated captions per class
    typo_rate: float = 0.12
    adapter_hidden: int = 0  # 0: projection only
    hard_weight: float = 0.5
    hard_margin: float = 0.05
    anchor_weight: float = 1.0
    anchor_batch: int = 128
    anchor_size: int = 0  # anchor captions used (0: all); smaller only for smoke tests
    audiocaps_per_class: int = 0  # AudioCaps captions per class (0: all vendored); smaller only for smoke tests
    sources: tuple[str, ...] = ("audiocaps", "paraphrase", "corpus")
    eval_every: int = 250
    seed: int = 0
    threads: int = 2


def training_texts(classes: list[str], settings: TextTrainSettings | None = None) -> dict[str, list[str]]:
    """Class -> every caption training with ``settings`` uses (:func:`tqse.query.caption_data.training_pools`)."""
    s = settings or TextTrainSettings()
    return training_pools(classes, s.sources, s.paraphrases, s.typo_rate, s.seed, s.audiocaps_per_class)


class SentenceCache:
    """MiniLM sentence vectors by text, computed once (and kept in ``path`` between runs when given)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.vectors: dict[str, torch.Tensor] = {}
        if self.path and self.path.exists():
            self.vectors = torch.load(self.path, weights_only=True)
        self._model: MiniLM | None = None

    def __call__(self, texts: list[str], batch: int = 256) -> torch.Tensor:
        todo = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if todo:
            self._model = self._model or MiniLM()
            with torch.no_grad():
                for i in range(0, len(todo), batch):
                    chunk = todo[i:i + batch]
                    self.vectors.update(zip(chunk, self._model(chunk).float()))
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                torch.save(self.vectors, self.path)
        return torch.stack([self.vectors[t] for t in texts])


def _retrieval_macro(q: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor) -> float:
    hit = ((q @ targets.T).argmax(1) == labels).float()
    per = [hit[labels == k].mean().item() for k in labels.unique()]
    return float(sum(per) / len(per))


class _Data:
    """Sentence vectors of the training captions, the anchor texts and the selection captions."""

    def __init__(self, classes: list[str], audio: torch.Tensor, s: TextTrainSettings, sentences: SentenceCache):
        self.classes, self.audio = classes, F.normalize(audio.float(), dim=-1)
        pools = training_texts(classes, s)
        self.texts = [t for c in classes for t in pools[c]]
        self.labels = torch.tensor([k for k, c in enumerate(classes) for _ in pools[c]])
        self.x = sentences(self.texts)
        self.by_class = [torch.nonzero(self.labels == k).flatten() for k in range(len(classes))]
        anchors = anchor_texts()
        self.anchor = sentences(anchors[:s.anchor_size] if s.anchor_size else anchors)
        lexicon = load_lexicon()
        index = {c: k for k, c in enumerate(classes)}
        self.near = [[index[n] for n in lexicon.get(c, {}).get("near", []) if n in index] for c in classes]
        self.templates = sentences([class_caption(c) for c in classes])
        selection = [c for c in selection_captions() if c.label in index]
        self.val_x = sentences([c.text for c in selection])
        self.val_labels = torch.tensor([index[c.label] for c in selection])
        self.counts = {"captions": len(self.texts), "anchor": len(self.anchor), "selection": len(selection),
                       "per_class_min": min(len(pools[c]) for c in classes)}


def _losses(heads: BuiltinHeads, data: _Data, s: TextTrainSettings, scale: torch.Tensor,
            rng: np.random.Generator) -> dict[str, torch.Tensor]:
    k = len(data.classes)
    classes = rng.integers(k, size=s.batch)  # class-balanced: a class, then one of its captions
    idx = torch.tensor([int(data.by_class[c][rng.integers(len(data.by_class[c]))]) for c in classes])
    q = heads.embed_sentence(data.x[idx])  # [B, D]
    labels = data.labels[idx]
    sim = q @ data.audio.T  # [B, K]
    out = {"audio": F.cross_entropy(scale.exp() * sim, labels)}
    own = sim.gather(1, labels[:, None])[:, 0]
    near = [data.near[int(c)] for c in labels]
    rows = [i for i, n in enumerate(near) if n]
    if rows:
        hardest = torch.stack([sim[i, near[i]].max() for i in rows])
        out["hard"] = F.relu(s.hard_margin + hardest - own[rows]).mean()
    a = data.anchor[torch.from_numpy(rng.choice(len(data.anchor), size=min(s.anchor_batch, len(data.anchor)),
                                                replace=False))]
    qa = heads.embed_sentence(a)
    mask = ~torch.eye(len(a), dtype=torch.bool)
    sq, sx = (qa @ qa.T)[mask], (a @ a.T)[mask]
    sq, sx = sq - sq.mean(), sx - sx.mean()
    out["anchor"] = 1 - (sq * sx).sum() / (sq.norm() * sx.norm() + 1e-8)
    return out


def evaluate(heads: BuiltinHeads, data: _Data) -> dict[str, float]:
    """Macro top-1 of the selection captions against class templates and class audio centroids."""
    with torch.no_grad():
        q, t = heads.embed_sentence(data.val_x), heads.embed_sentence(data.templates)
        return {"val_template": _retrieval_macro(q, data.val_labels, t),
                "val_audio": _retrieval_macro(q, data.val_labels, data.audio)}


def fit(heads: BuiltinHeads, data: _Data, s: TextTrainSettings) -> tuple[BuiltinHeads, list[dict[str, Any]]]:
    rng = np.random.default_rng(s.seed)
    params = [p for n, p in heads.named_parameters() if n.startswith(("text_proj.", "text_adapter."))]
    scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    opt = torch.optim.AdamW([*params, scale], lr=s.lr, weight_decay=s.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / 100) * 0.5 * (1 + math.cos(math.pi * min(k, s.steps) / s.steps)))
    weights = {"audio": 1.0, "hard": s.hard_weight, "anchor": s.anchor_weight}
    best, best_state, history = -1.0, None, []
    for step in range(1, s.steps + 1):
        terms = _losses(heads, data, s, scale, rng)
        loss = sum(weights[name] * value for name, value in terms.items())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            scale.clamp_(0, math.log(100))
        if step % s.eval_every == 0 or step == s.steps:
            score = evaluate(heads, data)
            history.append({"step": step, **{k: round(v.item(), 4) for k, v in terms.items()},
                            **{k: round(v, 4) for k, v in score.items()}})
            log.info("step %d %s", step, history[-1])
            value = score["val_template"] + score["val_audio"]
            if value > best:
                best = value
                best_state = {k: v.detach().clone() for k, v in heads.state_dict().items()}
    heads.load_state_dict(best_state)
    return heads, history


def base_heads(base: Path, adapter_hidden: int) -> tuple[BuiltinHeads, dict[str, Any], Path]:
    """Heads of the base version (its text projection as the starting point), with a fresh adapter if asked."""
    config, weights, text = read_folder(base)
    if text is not None:
        raise ValueError(f"{base}: train a text side over a full encoder folder, not over a text-side version")
    config = {**config, "text_adapter": {"hidden": adapter_hidden} if adapter_hidden else None}
    heads = BuiltinHeads(config)
    state = {k: v.float() for k, v in load_weights_file(weights).items()}
    heads.load_state_dict(state, strict=False)
    return heads.train(), config, weights


def train_text_side(out_dir: str | Path, audio: dict[str, torch.Tensor], settings: TextTrainSettings | None = None,
                    base: str | Path | None = None, sentence_cache: str | Path | None = None) -> dict[str, Any]:
    """Train and write a text-side version (``config.json``, ``text.safetensors``, ``classes.safetensors``,
    ``LICENSE.md``) to ``out_dir``; ``audio`` maps every class to trains on to its audio centroid."""
    from safetensors.torch import save_file

    from tqse.files import file_sha256
    from tqse.query.text_card import write_card

    s = settings or TextTrainSettings()
    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    t0 = time.time()
    base = Path(base) if base is not None else version_folder(1)
    classes = sorted(c for c in audio if c in load_lexicon())
    sentences = SentenceCache(sentence_cache)
    data = _Data(classes, torch.stack([audio[c] for c in classes]), s, sentences)
    heads, config, weights = base_heads(base, s.adapter_hidden)
    before = evaluate(heads, data)
    heads, history = fit(heads, data, s)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text_state = {k: v.detach().half().contiguous() for k, v in heads.state_dict().items()
                  if k.startswith(("text_proj.", "text_adapter."))}
    save_file(text_state, str(out / "text.safetensors"))
    prompts = {c: prompt_ensemble(c) for c in classes}
    sentences([t for c in classes for t in prompts[c]])  # one pass (and one cache write) for every prompt
    with torch.no_grad():
        prototypes = torch.stack([F.normalize(heads.embed_sentence(sentences(prompts[c])).mean(0), dim=0)
                                  for c in classes])
    save_file({"prototypes": prototypes.contiguous(), "audio": data.audio.contiguous()},
              str(out / "classes.safetensors"))
    for name in ("text.safetensors", "classes.safetensors"):
        (out / name).chmod(0o644)
    record = {"version": 2, "base": {"path": os.path.relpath(base.resolve(), out.resolve()),
                                     "weights_sha256": file_sha256(weights)},
              "text_adapter": config["text_adapter"], "classes": classes,
              "training": {"settings": asdict(s), "data": data.counts, "seconds": round(time.time() - t0),
                           "metrics": max(history, key=lambda h: h["val_template"] + h["val_audio"]),
                           "selection_before": before, "history": history}}
    (out / "config.json").write_text(json.dumps(record, indent=1) + "\n")
    write_card(out / "LICENSE.md", record)
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tqse.query.text_train", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder of the new text-side version")
    p.add_argument("--centroids", default=str(CENTROIDS),
                   help="class audio centroids to train against (default: the vendored ones)")
    p.add_argument("--audio-cache", help="recompute --centroids first from this `tqse embed` cache (made with "
                                         "built-in version 1) of the clips of --data")
    p.add_argument("--data", nargs="+", default=[], help="clip manifests of the cached clips (with --audio-cache)")
    p.add_argument("--sentence-cache", help="file keeping MiniLM sentence vectors between runs")
    p.add_argument("--sources", nargs="+", default=list(TextTrainSettings.sources),
                   choices=["audiocaps", "paraphrase", "corpus"], help="caption sources to train on")
    for field, value in asdict(TextTrainSettings()).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            p.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = TextTrainSettings(**{f: getattr(args, f) for f in asdict(TextTrainSettings()) if hasattr(args, f)})
    settings.sources = tuple(args.sources)
    if args.audio_cache:
        from tqse.query.builtin import encoder_identity
        from tqse.query.text_eval import audio_centroids

        audio_name = encoder_identity(version_folder(1))[1]
        audio = audio_centroids(args.audio_cache, audio_name, args.data)
        save_centroids(args.centroids, audio, {"encoder": audio_name, "manifests": [Path(d).name for d in args.data],
                                               "clips": "split train (all splits for a class without one)"})
    record = train_text_side(args.out, load_centroids(args.centroids), settings, sentence_cache=args.sentence_cache)
    print(json.dumps({k: v for k, v in record["training"].items() if k != "history"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
