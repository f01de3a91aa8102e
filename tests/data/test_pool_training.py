"""Training on labelled + unlabelled + interferer-only clips (issue 22): who can be a target, who interferes,
which query each example gets, nested pool fractions, and the audio-side augmentation."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tqse.config import AugmentConfig, DataConfig, QueryConfig, load_config
from tqse.data.augment import SourceAugment, change_speed, highpass, random_eq, reverberate, synthetic_rir
from tqse.data.dataset import MixtureDataset, collate
from tqse.data.locations import fixture_dir
from tqse.data.manifest import read_clips
from tqse.errors import QueryError
from tqse.query.provider import QueryProvider
from tqse.query.registry import load_encoder
from tqse.train.loop import train
from tqse.train.setup import group_fraction

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SR = 16000


def _manifests(tmp_path: Path) -> dict[str, Path]:
    """The fixture split three ways: guitar/drum clips labelled, the bass/ambience ones unlabelled (class and
    captions removed, as the pool writes them), the rest interferer-only."""
    rows = [json.loads(line) for line in (fixture_dir() / "clips.jsonl").read_text().splitlines()]
    out = {"lab": [], "unl": [], "itf": []}
    for row in rows:
        row = {**row, "path": str(fixture_dir() / row["path"]), "recording_group": row["path"].split("_")[0],
               "split": "train"}
        name = row["path"].rsplit("/", 1)[-1]
        if name.startswith(("guit_", "loop_")):
            out["lab"].append(row)
        elif name.startswith(("bass_", "ambi_")):
            out["unl"].append({**row, "class": None, "captions": []})
        else:
            out["itf"].append(row)
    paths = {}
    for name, lines in out.items():
        paths[name] = tmp_path / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r) + "\n" for r in lines))
    return paths


def _dataset(tmp_path, **data) -> MixtureDataset:
    paths = _manifests(tmp_path)
    targets = read_clips(paths["lab"], dataset="lab") + read_clips(paths["unl"], dataset="unl")
    config = DataConfig(sample_rate=SR, segment_seconds=1.0, **data)
    return MixtureDataset(targets, config, seed=3, interferer_clips=read_clips(paths["itf"], dataset="itf"))


def test_interferers_follow_the_targets_kind(tmp_path):
    dataset = _dataset(tmp_path)
    interferer_only = {c.path for c in dataset.sources[len(dataset.clips):]}
    seen_unlabelled = 0
    for index in range(60):
        rng = np.random.default_rng([dataset.seed, index])
        target_index, _ = dataset._draw_audible(rng)
        other = dataset._draw_other(target_index, rng)
        target, interferer = dataset.clips[target_index], dataset.sources[other]
        assert target.path not in interferer_only            # interferer-only clips are never targets
        if target.label is None:
            seen_unlabelled += 1
            assert interferer.extra["recording_group"] != target.extra["recording_group"]
        else:
            assert interferer.label != target.label           # another class, or a clip without one
    assert seen_unlabelled > 0


def test_an_unlabelled_clip_never_gets_a_caption_query_and_a_labelled_one_can(tmp_path):
    dataset = _dataset(tmp_path)
    batch = collate([dataset[i] for i in range(24)])
    assert any(c is None for c in [clip.label for clip in batch.clips])
    assert all(caption == "" for clip, caption in zip(batch.clips, batch.captions) if clip.label is None)
    assert all(caption for clip, caption in zip(batch.clips, batch.captions) if clip.label)
    encoder = load_encoder("hash", dim=16)
    provider = QueryProvider(encoder, QueryConfig(mode="text", modes={"unl": "audio"}), SR)
    is_audio = provider.modality(batch.datasets, torch.Generator().manual_seed(0))
    assert [bool(a) for a in is_audio] == [d == "unl" for d in batch.datasets]
    assert provider(batch, torch.Generator().manual_seed(0)).shape == (24, 16)
    with pytest.raises(QueryError, match="query it by audio"):
        QueryProvider(encoder, QueryConfig(mode="text"), SR)(batch, torch.Generator().manual_seed(0))


def test_pool_fractions_are_nested_and_the_same_for_every_run():
    from tqse.data.manifest import ClipRecord

    many = [ClipRecord(path=f"x{i}.flac", extra={"recording_group": f"g{i}"}) for i in range(400)]
    quarter, half = group_fraction(many, 0.25), group_fraction(many, 0.5)
    assert {c.path for c in quarter} <= {c.path for c in half}
    assert 60 < len(quarter) < 140 and 150 < len(half) < 250
    assert [c.path for c in group_fraction(many, 0.25)] == [c.path for c in quarter]
    assert len(group_fraction(many, 1.0)) == 400


def test_a_run_trains_on_labelled_unlabelled_and_interferer_only_clips(tmp_path):
    paths = _manifests(tmp_path)
    config = load_config([CONFIGS / "setups" / "fixture.yaml"], [
        f"data.manifests={{lab: {paths['lab']}, unl: {paths['unl']}, itf: {paths['itf']}}}",
        "data.use=[lab, unl]", "data.interferers=[itf]", "data.class_caption_datasets=[]",
        "query.modes={unl: audio}", "data.fraction={unl: 1.0}", "data.augment.enabled=true",
        "data.segment_seconds=0.5", "train.steps=3", "train.warmup_steps=1"])
    run = train(config, tmp_path / "run")
    assert (run / "checkpoints" / "last" / "model.safetensors").exists()


def _noise(seconds=1.0, seed=0):
    return (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * 0.1).astype(np.float32)


@pytest.mark.parametrize("step", ["eq", "highpass", "speed", "reverb"])
def test_each_augmentation_keeps_length_and_is_finite(step):
    wav = _noise()
    rng = np.random.default_rng(1)
    out = {"eq": lambda: random_eq(wav, rng, (-9, 9), SR), "highpass": lambda: highpass(wav, 300.0, SR),
           "speed": lambda: change_speed(wav, 0.9), "reverb": lambda: reverberate(wav, synthetic_rir(rng, 0.5, SR))}[step]()
    assert out.shape == wav.shape and out.dtype == np.float32 and np.isfinite(out).all()
    assert not np.allclose(out, wav)


def test_augmentation_is_seeded_and_off_means_untouched():
    wav = _noise()
    on = SourceAugment(AugmentConfig(enabled=True, p_eq=1, p_highpass=1, p_speed=1, p_reverb=1), SR)
    a = on.source(wav, np.random.default_rng(5))
    b = on.source(wav, np.random.default_rng(5))
    assert np.array_equal(a, b) and a.shape == wav.shape
    off = SourceAugment(AugmentConfig(enabled=False), SR)
    rng = np.random.default_rng(5)
    assert off.source(wav, rng) is wav and off.level(wav, wav, rng) == (wav, wav)
    assert rng.random() == np.random.default_rng(5).random()       # nothing drawn when off
    mixture, target = on.level(wav * 5, wav, np.random.default_rng(2))
    assert np.max(np.abs(mixture)) <= 0.99 + 1e-6
    assert np.allclose(mixture / (wav * 5), target / wav, atol=1e-5)  # one gain on both


def test_a_highpass_removes_the_bass_and_keeps_the_treble():
    t = np.arange(SR) / SR
    low, high = np.sin(2 * np.pi * 60 * t).astype(np.float32), np.sin(2 * np.pi * 3000 * t).astype(np.float32)
    assert np.std(highpass(low, 300.0, SR)) < 0.05 * np.std(low)
    assert np.std(highpass(high, 300.0, SR)) > 0.95 * np.std(high)


def test_equal_compute_runs_stop_at_their_total_minutes_across_a_resume(tmp_path):
    from tqse.files import read_metrics

    config = load_config([CONFIGS / "setups" / "fixture.yaml"], [
        "data.use=[ac]", "data.segment_seconds=0.5", "train.steps=100000", "train.checkpoint_every=1000000"])
    run = train(config, tmp_path / "run", total_time_s=0.4)
    first = read_metrics(run / "metrics.jsonl")[-1]
    assert first["train_seconds"] >= 0.4 and first["step"] < 100000
    train(config, tmp_path / "run", total_time_s=0.4)          # restarted: the budget is already spent
    assert read_metrics(run / "metrics.jsonl")[-1]["step"] == first["step"]
