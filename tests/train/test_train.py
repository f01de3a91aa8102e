"""Training end to end on the CC0 fixture with the tiny preset: runs, resumes exactly, survives a kill."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tqse.config import load_config
from tqse.errors import ConfigError
from tqse.files import read_metrics
from tqse.train.loop import train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FIXTURE_SETUP = CONFIGS / "setups" / "fixture.yaml"


def tiny_config(*overrides):
    return load_config([FIXTURE_SETUP], ["data.use=[ac]", "train.batch_size=2", "data.segment_seconds=0.5",
                                         "train.warmup_steps=2", "train.lr=1e-3", *overrides])


def weights(run_dir):
    return load_file(str(Path(run_dir) / "checkpoints" / "last" / "model.safetensors"))


def test_training_writes_a_complete_run_directory(tmp_path):
    run = train(tiny_config("train.steps=4", "train.checkpoint_every=2"), tmp_path / "run")
    assert {p.name for p in run.iterdir()} >= {"config.yaml", "env.json", "metrics.jsonl", "checkpoints"}
    env = json.loads((run / "env.json").read_text())  # what a retrain elsewhere would differ by
    assert env["cpu"] and env["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    metrics = read_metrics(run / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [1, 2, 3, 4]
    assert all(k in metrics[0] for k in ("loss", "lr", "grad_norm", "steps_per_s"))
    state = torch.load(run / "checkpoints" / "last" / "training_state.pt", weights_only=True)
    assert state["step"] == 4
    config = json.loads((run / "checkpoints" / "last" / "config.json").read_text())
    assert config["model"] == "conformer" and config["encoder"]["name"] == "hash"


def test_resumed_run_equals_an_uninterrupted_run(tmp_path):
    straight = train(tiny_config("train.steps=6"), tmp_path / "straight")
    config = tiny_config("train.steps=6", "train.checkpoint_every=3")
    train(config, tmp_path / "resumed", stop_after=3)
    assert torch.load(tmp_path / "resumed" / "checkpoints" / "last" / "training_state.pt", weights_only=True)["step"] == 3
    train(config, tmp_path / "resumed")
    a, b = weights(straight), weights(tmp_path / "resumed")
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=1e-5)
    assert [m["step"] for m in read_metrics(tmp_path / "resumed" / "metrics.jsonl")] == [1, 2, 3, 4, 5, 6]
    train(config, tmp_path / "resumed")  # finds the run finished: trains nothing, so records no call
    history = (tmp_path / "resumed" / "environments.jsonl").read_text().splitlines()
    calls = [json.loads(line) for line in history]  # env.json holds only the last call's
    assert [c["from_step"] for c in calls] == [0, 3] and all(c["cpu"] and c["torch"] for c in calls)


def test_an_opened_run_holds_the_step_weights_and_optimiser_a_resume_continues_from(tmp_path):
    from tqse.train.run import open_run

    config = tiny_config("train.steps=4", "train.checkpoint_every=2")
    run_dir = train(config, tmp_path / "run", stop_after=2)
    run = open_run(config, run_dir)
    assert run.start_step == 2 and not run.finished
    saved = weights(run_dir)
    assert all(torch.equal(tensor, saved[name]) for name, tensor in run.model.state_dict().items())
    assert run.optimizer.state_dict()["state"], "the optimiser's moments come back with the weights"
    assert run.metrics is None, "a finished or opened run leaves metrics.jsonl alone until it trains"
    train(config, run_dir)
    assert open_run(config, run_dir).finished


def test_loss_decreases_on_real_audio(tmp_path):
    run = train(tiny_config("train.steps=40", "train.batch_size=4", "train.log_every=10", "model.kwargs.dropout=0.0",
                            "train.lr=3e-3"), tmp_path / "learn")
    losses = [m["loss"] for m in read_metrics(run / "metrics.jsonl")]
    assert losses[-1] < losses[0] - 1.0


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    run_dir = tmp_path / "killed"
    code = (f"from tqse.cli import main; import sys; sys.exit(main(['train', {str(FIXTURE_SETUP)!r}, 'data.use=[ac]', "
            f"'train.steps=400', 'train.batch_size=2', 'data.segment_seconds=0.5', 'train.checkpoint_every=2', "
            f"'train.warmup_steps=2', 'train.lr=1e-3', "
            f"'--run-dir', {str(run_dir)!r}]))")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = run_dir / "checkpoints" / "last" / "training_state.pt"
    deadline = time.time() + 120
    while time.time() < deadline and not (state.exists() and torch.load(state, weights_only=True)["step"] >= 4):
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    saved = torch.load(state, weights_only=True)["step"]
    assert 4 <= saved < 400
    config = tiny_config("train.steps=400", "train.checkpoint_every=2")
    train(config, run_dir, stop_after=2)
    assert torch.load(state, weights_only=True)["step"] == saved + 2
    assert not list((run_dir / "checkpoints").glob(".last.*"))


def test_diverging_loss_stops_with_a_clear_error(tmp_path):
    with pytest.raises(FloatingPointError, match="loss"):
        train(tiny_config("train.steps=30", "train.lr=1e6", "train.warmup_steps=1", "train.grad_clip=1e9"),
              tmp_path / "nan")


def test_training_streams_from_tar_shards_and_resumes(tmp_path):
    from tqse.data.manifest import read_clips
    from tqse.data.shards import write_shards
    from tqse.data.locations import fixture_manifest

    write_shards(read_clips(fixture_manifest()), tmp_path / "shards", clips_per_shard=4)
    index = next((tmp_path / "shards").glob("*.json"))
    config = tiny_config(f"data.manifests.sh={index}", "data.use=[sh]", "train.steps=4", "data.workers=2")
    run = train(config, tmp_path / "run", stop_after=2)
    train(config, run)
    assert [m["step"] for m in read_metrics(run / "metrics.jsonl")] == [1, 2, 3, 4]


def test_tensorboard_logging_is_optional_and_writes_events(tmp_path):
    pytest.importorskip("tensorboard")
    run = train(tiny_config("train.steps=2", "train.tensorboard=true"), tmp_path / "tb")
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def test_a_save_killed_half_way_leaves_nothing_behind(tmp_path):
    from tqse.files import recover_interrupted

    last = tmp_path / "checkpoints" / "last"
    (tmp_path / "checkpoints" / ".last.tmp123").mkdir(parents=True)  # killed while writing
    (tmp_path / "checkpoints" / ".last.old456").mkdir()  # killed between the two renames
    (tmp_path / "checkpoints" / ".last.old456" / "config.json").write_text("{}")
    assert recover_interrupted(last) == last
    assert (last / "config.json").exists()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["last"]


def test_a_run_can_start_from_another_runs_weights_and_refuses_a_foreign_model(tmp_path):
    from tqse.errors import CheckpointError

    first = train(tiny_config("train.steps=3"), tmp_path / "first")
    start = first / "checkpoints" / "last"
    # A learning rate of 1e-9 moves no weight by more than ~1e-9 in one Adam step: what the run holds after
    # it is what it started from.
    second = train(tiny_config("train.steps=1", "train.lr=1e-9", f"train.init_from={start}"), tmp_path / "second")
    fresh = train(tiny_config("train.steps=1", "train.lr=1e-9"), tmp_path / "fresh")
    for key, tensor in weights(first).items():
        assert torch.allclose(weights(second)[key], tensor, atol=1e-6), key
    assert any(not torch.allclose(weights(fresh)[k], t, atol=1e-6) for k, t in weights(first).items())
    with pytest.raises(CheckpointError, match="model.safetensors: .*(shape|do not match)"):
        train(tiny_config("train.steps=1", f"train.init_from={start}", "model.name=small"), tmp_path / "other")


def test_a_warm_start_can_reset_the_query_pathway_only(tmp_path):
    first = train(tiny_config("train.steps=2"), tmp_path / "first")
    start = first / "checkpoints" / "last"
    second = train(tiny_config("train.steps=1", "train.lr=1e-9", f"train.init_from={start}",
                               "train.init_reset=['*.film*']"), tmp_path / "second")
    film = [k for k in weights(first) if ".film." in k]
    assert film
    for key, tensor in weights(first).items():
        same = torch.allclose(weights(second)[key], tensor, atol=1e-6)
        assert same != (key in film), key
    with pytest.raises(ConfigError, match="init_reset: 'nothing' matches no module"):
        train(tiny_config("train.steps=1", f"train.init_from={start}", "train.init_reset=[nothing]"),
              tmp_path / "third")


def _fixture_mixtures(folder):
    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips
    from tqse.data.locations import fixture_manifest

    return write_fixed_mixtures(read_clips(fixture_manifest(), split="test"), folder, 3, segment_seconds=1.0,
                                sample_rate=16000)


def test_every_validation_keeps_its_checkpoint_and_best_is_the_mean_of_both_query_kinds(tmp_path):
    mixtures = _fixture_mixtures(tmp_path / "mix")
    config = tiny_config("train.steps=6", "train.val_every=2", "train.checkpoint_every=2", "train.lr=3e-3",
                         f"eval.manifest={mixtures}", "eval.query_field=class_caption",
                         "eval.also_query_fields=[caption]", "eval.select_by=mean",
                         "train.keep_val_checkpoints=true")
    run = train(config, tmp_path / "run")
    validations = [m for m in read_metrics(run / "metrics.jsonl") if "val_si_sdri" in m]
    assert [m["step"] for m in validations] == [2, 4, 6]
    for m in validations:  # each kept checkpoint is the model that was scored at that step, and resumable
        kept = run / "checkpoints" / f"step-{m['step']}"
        assert torch.load(kept / "training_state.pt", weights_only=True)["step"] == m["step"]
    kept, last = load_file(str(run / "checkpoints" / "step-6" / "model.safetensors")), weights(run)
    assert all(torch.equal(kept[name], last[name]) for name in last)
    means = {m["step"]: (m["val_si_sdri"] + m["val_caption_si_sdri"]) / 2 for m in validations}
    best = json.loads((run / "checkpoints" / "best.json").read_text())
    assert best["select_by"] == "mean" and best["step"] == max(means, key=means.get)
    assert best["score"] == pytest.approx(means[best["step"]])


def test_a_warm_started_run_records_the_model_it_started_from(tmp_path):
    from tqse.files import file_sha256

    parent = train(tiny_config("train.steps=2"), tmp_path / "parent") / "checkpoints" / "last"
    run = train(tiny_config("train.steps=2", f"train.init_from={parent}"), tmp_path / "child")
    record = json.loads((run / "init_from.json").read_text())
    assert record["path"] == str(parent) and record["config"] == json.loads((parent / "config.json").read_text())
    assert record["weights_sha256"] == file_sha256(parent / "model.safetensors")
