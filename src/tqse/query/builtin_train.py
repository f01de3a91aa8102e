"""Train the built-in encoder's audio tower and projections (``tqse encoder train``).

CLAP-style contrastive training (Elizalde et al., 2023; Wu et al., 2023): symmetric InfoNCE between the
audio embedding of a random crop and the embedding of one of the clip's captions, with a learned
temperature initialised at 0.07. MiniLM is frozen, so each caption is embedded once before training; the
log-mels of every clip are computed once and kept in memory. Clips with the same drawn caption in a batch
count as positives of each other (the corpus repeats class captions such as "this is the sound of dog").
The checkpoint with the best validation text-to-audio R@10 is kept.

Dimensions: B batch, N mel frames, M mel bins, K captions, D embedding.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tqse.audio.io import load_audio
from tqse.data.manifest import ClipRecord, read_clips
from tqse.query.base import fit_length
from tqse.query.builtin import DEFAULT_CONFIG, BuiltinHeads, LogMel, MiniLM

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    steps: int = 1500
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    crop_seconds: float = 5.0
    eval_every: int = 100
    seed: int = 0
    threads: int = 2


def load_mels(clips: list[ClipRecord], logmel: LogMel, clip_samples: int, batch: int = 32) -> torch.Tensor:
    """Every clip's full-length log-mel ``[K, N, M]`` (float16 to halve memory)."""
    rows = []
    for start in range(0, len(clips), batch):
        wavs = [torch.from_numpy(load_audio(c.path, logmel.sample_rate)[0]) for c in clips[start:start + batch]]
        wav = torch.stack([fit_length(w, clip_samples) for w in wavs])
        with torch.no_grad():
            rows.append(logmel(wav).half())
    return torch.cat(rows)


def embed_captions(text: MiniLM, captions: list[str], batch: int = 128) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([text(captions[i:i + batch]) for i in range(0, len(captions), batch)])


def retrieval(audio: torch.Tensor, text: torch.Tensor) -> dict[str, float]:
    """Text-to-audio recall: row ``i`` of ``text`` should retrieve row ``i`` of ``audio``."""
    sim = text @ audio.T
    ranks = (sim > sim.diagonal()[:, None]).sum(1)
    return {"R@1": (ranks < 1).float().mean().item(), "R@10": (ranks < 10).float().mean().item(),
            "n": int(len(ranks))}


class _Split:
    """Mels, caption indices and evaluation pairs of one split."""

    def __init__(self, clips: list[ClipRecord], mels: torch.Tensor, caption_index: dict[str, int]):
        self.clips, self.mels = clips, mels
        self.captions = [[caption_index[c] for c in clip.captions] for clip in clips]
        self.first = torch.tensor([ids[0] for ids in self.captions])


def evaluate(heads: BuiltinHeads, split: _Split, sentences: torch.Tensor, batch: int = 64) -> dict[str, float]:
    heads.eval()
    with torch.no_grad():
        audio = torch.cat([heads.embed_mel(split.mels[i:i + batch].float()) for i in range(0, len(split.mels), batch)])
        text = heads.embed_sentence(sentences[split.first])
    heads.train()
    return retrieval(audio, text)


def contrastive_loss(audio: torch.Tensor, text: torch.Tensor, caption_ids: torch.Tensor,
                     logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE; ``caption_ids`` equal -> both pairs are positives (soft targets)."""
    logits = logit_scale.exp() * audio @ text.T
    same = (caption_ids[:, None] == caption_ids[None, :]).float()
    targets = same / same.sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


def _batch(split: _Split, rng: np.random.Generator, size: int, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    idx = rng.choice(len(split.clips), size=min(size, len(split.clips)), replace=False)
    n = split.mels.shape[1]
    starts = rng.integers(0, max(n - crop, 0) + 1, size=len(idx))
    mel = torch.stack([split.mels[i, s:s + crop] for i, s in zip(idx, starts)]).float()
    mel = mel + torch.from_numpy(rng.uniform(-1.0, 1.0, (len(idx), 1, 1)).astype(np.float32))  # +-4 dB gain
    ids = torch.tensor([split.captions[i][rng.integers(len(split.captions[i]))] for i in idx])
    return mel, ids


def train_builtin(manifest: str | Path, out_dir: str | Path, settings: TrainSettings | None = None,
                  config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train and write ``config.json`` + ``weights.safetensors`` to ``out_dir``; returns the metrics.

    Args:
        manifest: clip manifest with ``split`` in {train, val, test, ood} and captions on every clip.
    """
    from safetensors.torch import save_file

    s = settings or TrainSettings()
    cfg = {**DEFAULT_CONFIG, **(config or {})}
    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    rng = np.random.default_rng(s.seed)
    t0 = time.time()
    all_clips = [c for c in read_clips(manifest) if c.captions]
    by_split = {name: [c for c in all_clips if c.extra.get("split", "train") == name]
                for name in ("train", "val", "test", "ood")}
    if not by_split["train"]:
        raise ValueError(f"{manifest}: no training clips with captions")
    text = MiniLM()
    captions = sorted({c for clip in all_clips for c in clip.captions})
    sentences = embed_captions(text, captions)
    caption_index = {c: i for i, c in enumerate(captions)}
    logmel = LogMel(cfg)
    clip_samples = int(round(cfg["clip_seconds"] * cfg["sample_rate"]))
    splits = {name: _Split(clips, load_mels(clips, logmel, clip_samples), caption_index)
              for name, clips in by_split.items() if clips}
    log.info("prepared %d clips, %d captions in %.0f s", len(all_clips), len(captions), time.time() - t0)
    heads = BuiltinHeads(cfg)
    heads, history = _fit(heads, splits, sentences, s, rng, cfg)
    metrics = {name: evaluate(heads, split, sentences) for name, split in splits.items() if name != "train"}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in heads.state_dict().items()}, str(out / "weights.safetensors"))
    record = {**cfg, "training": {"manifest": str(manifest), "settings": asdict(s), "clips": {
        k: len(v) for k, v in by_split.items()}, "captions": len(captions), "seconds": round(time.time() - t0),
        "temperature": round(1 / heads.logit_scale.exp().item(), 5), "metrics": metrics, "history": history}}
    (out / "config.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def _fit(heads: BuiltinHeads, splits: dict[str, _Split], sentences: torch.Tensor, s: TrainSettings,
         rng: np.random.Generator, cfg: dict[str, Any]) -> tuple[BuiltinHeads, list[dict[str, Any]]]:
    crop = max(1, int(s.crop_seconds * cfg["sample_rate"] / cfg["hop"]))
    opt = torch.optim.AdamW(heads.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(k, s.steps) / s.steps)))
    select = splits.get("val") or splits["train"]
    best, best_state, history = -1.0, None, []
    heads.train()
    for step in range(1, s.steps + 1):
        mel, ids = _batch(splits["train"], rng, s.batch_size, crop)
        loss = contrastive_loss(heads.embed_mel(mel), heads.embed_sentence(sentences[ids]), ids, heads.logit_scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            heads.logit_scale.clamp_(0, math.log(100))
        if step % s.eval_every == 0 or step == s.steps:
            score = evaluate(heads, select, sentences)
            history.append({"step": step, "loss": round(loss.item(), 4), **score})
            log.info("step %d loss %.3f val R@1 %.3f R@10 %.3f", step, loss.item(), score["R@1"], score["R@10"])
            if score["R@10"] + score["R@1"] > best:
                best = score["R@10"] + score["R@1"]
                best_state = {k: v.detach().clone() for k, v in heads.state_dict().items()}
    if best_state is not None:
        heads.load_state_dict(best_state)
    return heads.eval(), history
