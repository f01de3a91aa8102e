"""The GPU bundle and script (scripts/gpu_pack.py, benchmarks/gpu_train.sh) end to end on the CPU: pack a fake
corpus made of the CC0 fixture, check its size limit and contents, train from it with DEVICE=cpu and a tiny
model, and load what comes back."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tqse.extract import Extractor
from tqse.data.fixed_mixtures import write_fixed_mixtures
from tqse.data.manifest import read_clips, write_jsonl
from tqse.query.cache import EmbeddingCache, build_cache
from tqse.query.hash_encoder import HashEncoder
from tqse.files import read_metrics
from helpers import load_script

ROOT = Path(__file__).resolve().parents[2]
gpu_pack = load_script(ROOT / "scripts" / "gpu_pack.py")


def fake_corpus(root: Path, fixture_manifest) -> tuple[Path, Path]:
    """Corpus layout of `tqse corpus build` (clips.jsonl with splits, mixtures/val.jsonl) and a partial cache."""
    clips = read_clips(fixture_manifest)
    write_jsonl(root / "corpus" / "clips.jsonl", [c.to_json() for c in clips])
    write_fixed_mixtures(clips, root / "corpus" / "mixtures", count=3, sample_rate=16000, segment_seconds=2.0, name="val")
    train = [c for c in clips if c.extra.get("split") == "train"]
    build_cache(HashEncoder(), train[:1], root / "cache", 16000, 4.0)  # the pack embeds the rest
    wheels = root / "wheels"
    wheels.mkdir()
    (wheels / "placeholder-0.1-py3-none-any.whl").write_bytes(b"PK")
    return root / "corpus", root / "cache"


def pack(corpus, cache, out, *extra) -> int:
    return gpu_pack.main(["pack", "--corpus", str(corpus), "--cache", str(cache), "--encoder", "hash", "--out", str(out),
                          "--wheels", str(Path(cache).parent / "wheels"), *extra])


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, fixture_manifest):
    root = tmp_path_factory.mktemp("gpu")
    corpus, cache = fake_corpus(root, fixture_manifest)
    assert pack(corpus, cache, root / "too_big", "--max-mib", "0.05") == 1  # fails clearly, with the reason
    assert pack(corpus, cache, root / "gpu_pack", "--max-mib", "5") == 0
    return root / "gpu_pack"


def test_max_clips_takes_every_class_in_turn_and_the_error_names_a_count_that_fits():
    from tqse.data.manifest import ClipRecord

    clips = [ClipRecord(path=f"{label}{i}.flac", label=label) for label, n in (("dog", 5), ("cat", 2), ("bell", 4))
             for i in range(n)]
    subset = gpu_pack.balanced_subset(clips, 7)
    assert [c.path for c in subset] == ["dog0.flac", "dog1.flac", "dog2.flac", "cat0.flac", "cat1.flac",
                                        "bell0.flac", "bell1.flac"]
    assert gpu_pack.balanced_subset(clips, None) == clips == gpu_pack.balanced_subset(clips, 99)
    # 100 clips of 0.3 MiB (+ 0.01 MiB of embeddings each) next to 4 MiB of mixtures and wheels, limit 20 MiB:
    summary = {"clips": 100, "mib": {"clips": 30.0, "embeddings": 1.0, "bundle": 35.0, "limit": 20.0}}
    fits = gpu_pack.fitting_clip_count(summary)
    assert 40 <= fits <= 51 and fits * 0.31 + 4.0 <= 20.0


def test_bundle_holds_the_train_clips_val_mixtures_cache_rows_and_wheels(bundle):
    summary = json.loads((bundle / "pack.json").read_text())
    train = read_clips(bundle / "clips.jsonl")
    assert summary["clips"] == len(train) == 9 and summary["mixtures"] == {"val": 3}
    assert {Path(c.path).suffix for c in train} == {".ogg"} and all(len(c.extra["sha256"]) == 64 for c in train)
    assert summary["embeddings"]["embedded_here"]["audio"] == len(train) - 1
    packed = EmbeddingCache.open(bundle / "embeddings", "hash-d32")
    assert len(packed) == len(train) and packed.has_text("this is the sound of drums")
    assert (bundle / "wheels" / "placeholder-0.1-py3-none-any.whl").exists()
    assert not (bundle / "mixtures" / "val" / "00000_mixture.ogg").exists()  # rebuilt on unpack


def gpu_train(bundle: Path, tmp_path: Path, *args, **env) -> Path:
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PACK": str(bundle), "DEVICE": "cpu", "BATCH": "2", "WORKERS": "0",
           "MINUTES": "1", "VAL_EVERY": "3", "CHECKPOINT_EVERY": "3", "UNPACK_WORKERS": "1", "DEADLINE_S": "3000", "WORK": str(tmp_path / "work"),
           "PYTHON": sys.executable, "PYTHONPATH": str(ROOT / "src"), **env}
    result = subprocess.run(["bash", "benchmarks/gpu_train.sh", "model.name=tiny", "query.encoder.name=hash",
                             "train.steps=3", "train.log_every=1", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    logs = "".join(p.read_text() for p in (out / "logs").glob("*.log")) if (out / "logs").exists() else ""
    assert result.returncode == 0, result.stderr + logs
    return out


def test_gpu_script_trains_on_cpu_and_brings_back_a_loadable_checkpoint(bundle, tmp_path):
    out = gpu_train(bundle, tmp_path)
    run = out / "runs" / "conformer_small_s2"
    metrics = read_metrics(run / "metrics.jsonl")
    assert metrics[-1]["step"] == 3 and any("val_si_sdri" in m for m in metrics)
    assert (run / "checkpoints" / "last" / "model.safetensors").exists()
    assert json.loads((out / "summary.json").read_text())["runs"]["conformer_small_s2"]["steps"] == 3
    mixture = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    extractor = Extractor.from_pretrained(run / "checkpoints" / "best", device="cpu")
    assert extractor.extract(mixture, 16000, text="a dog barks").shape == mixture.shape


@pytest.mark.slow
def test_gpu_grid_runs_rows_by_seeds(bundle, tmp_path):
    out = gpu_train(bundle, tmp_path, MODE="grid", ROWS="A0 A3", SEEDS="0", PARALLEL="2", WORKERS="0")
    summary = json.loads((out / "summary.json").read_text())["runs"]
    assert set(summary) == {"A0-s0", "A3-s0"} and all(r["steps"] == 3 for r in summary.values())
