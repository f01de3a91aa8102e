"""The built-in encoder: real MiniLM text tower + shipped audio tower, no user files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tqse.audio.io import load_audio
from tqse.audio.resample import resample
from tqse.data.manifest import read_clips
from tqse.query import load_encoder
from tqse.query.base import QueryEncoder
from tqse.query.builtin import ASSET_DIR

FIXTURE = ASSET_DIR.parent / "fixture" / "clips.jsonl"


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("builtin")


def test_loads_without_files_and_names_its_weights(encoder):
    assert isinstance(encoder, QueryEncoder)
    assert encoder.name.startswith("builtin:") and len(encoder.name) > len("builtin:") + 8
    config = json.loads((ASSET_DIR / "config.json").read_text())
    assert encoder.dim == config["dim"] and encoder.sample_rate == config["sample_rate"]
    assert (ASSET_DIR / "LICENSE.md").exists()


def test_the_encoder_weights_state_what_they_trained_on_and_their_licence_situation(tmp_path):
    """Issue 25.3 for the committed encoder: its LICENSE.md counts the clips it trained on (the `train` split,
    not every clip credited) and states the licence situation of weights trained on GPL and CC-BY-SA audio as
    the model cards do (was: "a statistical summary of these recordings, not a copy of them")."""
    from tqse.data.manifest import ClipRecord
    from tqse.query.builtin_train import WEIGHTS_LICENCE, write_credits

    config = json.loads((ASSET_DIR / "config.json").read_text())
    committed = (ASSET_DIR / "LICENSE.md").read_text()
    clips = config["training"]["clips"]
    assert f"({clips['train']} of its {sum(clips.values())} captioned clips" in committed
    assert committed.endswith(WEIGHTS_LICENCE + "\n") and "not a copy" not in committed
    for phrase in ("What tqse grants", "What is unsettled", "What that means in practice", "tqse encoder train"):
        assert phrase in WEIGHTS_LICENCE
    records = [ClipRecord(f"{i}.flac", ["a dog"], extra={"split": split, "source": "pkg 1.0", "licence": "GPL-2+"})
               for i, split in enumerate(["train", "train", "val"])]
    write_credits(tmp_path / "clips.jsonl", records, tmp_path / "LICENSE.md")
    written = (tmp_path / "LICENSE.md").read_text()
    assert "(2 of its 3 captioned clips" in written and "| pkg 1.0 | 3 | GPL-2+ |" in written
    assert written.endswith(WEIGHTS_LICENCE + "\n")


def test_text_tower_is_the_real_minilm(encoder):
    t = encoder.embed_text(["a dog barks loudly", "a dog is barking", "a train rings at night"])
    assert torch.allclose(t.norm(dim=-1), torch.ones(3), atol=1e-5)
    raw = encoder.text(["a dog barks loudly", "a dog is barking", "a train rings at night"])
    assert raw.shape[-1] == 384
    assert raw[0] @ raw[1] > raw[0] @ raw[2] + 0.2  # paraphrase closer than an unrelated caption


def test_audio_is_deterministic_batched_and_resampled(encoder):
    wav, sr = load_audio(FIXTURE.parent / "loop_amen.flac")
    long = np.tile(wav, 5)[: 13 * sr]  # longer than the 10 s window: centre crop, never random
    a1, a2 = encoder.embed_audio(long, sr), encoder.embed_audio(long, sr)
    assert torch.equal(a1, a2)
    other = load_audio(FIXTURE.parent / "perc_bell.flac", sr)[0][: len(wav)]
    other = np.pad(other, (0, len(wav) - len(other)))
    batch = encoder.embed_audio(np.stack([wav, other]), sr)
    single = encoder.embed_audio(other, sr)
    assert torch.allclose(batch[1], single[0], atol=1e-5)
    at_48k = encoder.embed_audio(resample(wav, sr, 48000), 48000)  # same content at another rate
    assert float(at_48k[0] @ batch[0]) > 0.98
    assert not batch.requires_grad


def test_stays_in_eval_mode_inside_a_training_loop(encoder):
    wav = load_audio(FIXTURE.parent / "guit_em9.flac")[0]
    before = encoder.embed_audio(wav, 32000)
    encoder.train()
    assert not any(m.training for m in encoder.modules())
    assert torch.equal(encoder.embed_audio(wav, 32000), before)


def test_features_path_equals_embed_audio_and_masks_matter(encoder):
    wav = load_audio(FIXTURE.parent / "ambi_choir.flac")[0]
    features = encoder.audio_features(wav, 32000)
    assert features.shape[-1] == encoder.config["n_mels"]
    assert torch.allclose(encoder.embed_features(features), encoder.embed_audio(wav, 32000), atol=1e-6)
    masked = features.clone()
    masked[:, 100:300] = features.min()
    assert not torch.allclose(encoder.embed_features(masked), encoder.embed_features(features), atol=1e-3)


def test_shipped_weights_align_audio_and_captions(encoder):
    from tqse.query.gap import embed_clips, modality_gap

    # The fixture's one-shots and loops are unlike the corpus (short, tiled to 10 s), so this only checks
    # that matching captions are closer than other classes' captions; corpus figures are in config.json.
    clips = read_clips(FIXTURE)
    audio, text = embed_clips(encoder, clips, caption_index=1)  # "this is the sound of X", the corpus style
    gap = modality_gap(audio, text, labels=[c.label for c in clips])
    assert gap["paired_cos"] > gap["unpaired_cos"] + 0.05
    assert gap["modality_accuracy"] > 0.9  # and, as with real CLAPs, a modality gap remains
    record = load_encoder("builtin-v1").config["training"]  # the audio side's training (version 2 keeps it)
    assert record["metrics"]["test"]["R@1"] > 0.5 and record["clips"]["train"] > 100


def test_train_command_writes_a_loadable_encoder(tmp_path):
    from tqse.query.builtin_train import TrainSettings, train_builtin

    record = train_builtin(FIXTURE, tmp_path, TrainSettings(steps=3, batch_size=6, eval_every=3),
                           config={"channels": [4, 8], "dim": 32})
    assert set(record["training"]["metrics"]) == {"test"}
    trained = load_encoder(str(tmp_path))
    assert trained.dim == 32 and trained.name != load_encoder("builtin").name
    assert torch.allclose(trained.embed_text(["a bell"]).norm(dim=-1), torch.ones(1), atol=1e-5)


def test_missing_weights_fail_clearly(tmp_path):
    from tqse.errors import CheckpointError

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="weights.safetensors"):
        load_encoder("builtin", path=str(tmp_path))


@pytest.mark.slow
def test_aisfx_tower_trains_from_the_wheel(tmp_path):
    pytest.importorskip("aisfx")
    from tqse.query.builtin import AISFX_CONFIG
    from tqse.query.builtin_train import train_builtin, TrainSettings

    cache = tmp_path / "features.pt"
    train_builtin(FIXTURE, tmp_path / "a", TrainSettings(steps=2, batch_size=6, eval_every=2),
                  config=AISFX_CONFIG, feature_cache=cache)
    assert "CC BY 4.0" in (tmp_path / "a" / "LICENSE.md").read_text()
    encoder = load_encoder(str(tmp_path / "a"))
    wav = load_audio(FIXTURE.parent / "perc_bell.flac")[0]
    # The encoder's own path equals the features the projections were trained on.
    memo = torch.load(cache)
    key = next(k for k in memo if "perc_bell" in k)
    trunk = encoder.heads.cnn
    ours = trunk.pooled(encoder.audio_features(wav, 32000))[0]
    assert torch.nn.functional.cosine_similarity(ours, memo[key], dim=0) > 0.999  # float16 weights on disk
