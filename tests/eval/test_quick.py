"""In-process scoring (validation during training, the demo) goes through the evaluation core and gives exactly
the numbers of the plain loop it replaced: whole clip, one forward pass, the training loss's metrics."""

from __future__ import annotations

import numpy as np
import torch

from tqse.audio.io import load_audio, save_audio
from tqse.data.manifest import read_mixtures, write_jsonl
from tqse.eval.metrics import DEFAULT
from tqse.eval.quick import score_mixtures
from tqse.models.model_dir import load_model_dir
from tqse.query.registry import encoder_from_config
from tqse.workflows.bench import HASH_ENCODER, random_model_dir

RATE = 32000


def manifest(tmp_path, audiosep_root):
    rows = []
    for i in range(3):
        for kind, name in (("segment", "t"), ("mixture", "m")):
            wav, _ = load_audio(audiosep_root / f"evaluation/data/esc50/{kind}-{i}.wav")
            save_audio(tmp_path / f"{name}{i}.wav", wav, RATE)
        rows.append({"mixture": f"m{i}.wav", "target": f"t{i}.wav", "class": "dog", "caption": f"a dog, take {i}",
                     "class_caption": "the sound of dog"})
    write_jsonl(tmp_path / "val.jsonl", rows)
    return str(tmp_path / "val.jsonl")


@torch.no_grad()
def plain_loop(model, encoder, path: str, field: str) -> dict[str, float]:
    scores = []
    for row in read_mixtures(path):
        mixture, _ = load_audio(row.mixture, RATE)
        target, _ = load_audio(row.target, RATE)
        query = encoder.embed_text([row.query(field)]).float()
        estimate = model(torch.from_numpy(mixture)[None], query)[0].float().numpy()
        scores.append(DEFAULT.score(target, estimate, mixture))
    return {k: float(np.mean([s[k] for s in scores])) for k in ("sdr", "sdri", "si_sdr", "si_sdri")} | {"count": 3}


def test_every_query_field_scores_exactly_as_the_plain_loop(tmp_path, audiosep_root):
    path = manifest(tmp_path, audiosep_root)
    model, _ = load_model_dir(random_model_dir(tmp_path / "model"))
    encoder = encoder_from_config(HASH_ENCODER)
    model.train()
    scores = score_mixtures(model, encoder, path, RATE, torch.device("cpu"), query_fields=("caption", "class_caption"))
    assert model.training  # validation hands the model back in training mode
    model.eval()
    assert scores == {field: plain_loop(model, encoder, path, field) for field in ("caption", "class_caption")}
    assert scores["caption"] != scores["class_caption"]
