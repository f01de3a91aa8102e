"""Named regressions of issue 10 (hostile input), training side: one test per fault class it lists."""

from __future__ import annotations

import ast
import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

from tqse.cli import main
from tqse.config import load_config
from tqse.errors import CheckpointError, ConfigError, TqseError
from tqse.train.loop import train
from train_faults import FIXTURE_SETUP, TINY, assert_clean_error, leftovers, make_finished_run, tiny_config


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return make_finished_run(tmp_path_factory.mktemp("finished") / "run")


@pytest.fixture
def run(finished_run, tmp_path):
    """A private copy of the finished run to damage."""
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def step_of(folder: Path) -> int:
    return torch.load(folder / "training_state.pt", weights_only=True)["step"]


# -- error hierarchy ---------------------------------------------------------------------------------------------

def test_audio_and_manifest_errors_are_tqse_errors_and_still_value_errors():
    from tqse.audio.io import AudioError
    from tqse.data.manifest import ManifestError

    for cls in (AudioError, ManifestError):
        assert issubclass(cls, TqseError) and issubclass(cls, ValueError)


def test_errors_module_imports_nothing_else_of_tqse():
    import tqse.errors

    tree = ast.parse(Path(tqse.errors.__file__).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.startswith("tqse")]


# -- training options: every one the issue names ------------------------------------------------------------------

BAD_OPTIONS = ["train.batch_size=0", "train.batch_size=-3", "train.lr=nan", "train.lr=-1e-3",
               "data.segment_seconds=-1", "data.sample_rate=0", "data.snr_db=[5,-5]", "data.snr_db=[nan,1]",
               "data.snr_db=[1]", "train.checkpoint_every=0", "train.log_every=0", "data.workers=-1",
               "train.device=bogus", "train.device=cuda:99", "train.seed=-1", "train.grad_clip=inf",
               "query.manipulation.dropout.p_audio=[0.9,0.1]", "train.decay_factor=0"]


@pytest.mark.parametrize("override", BAD_OPTIONS)
def test_a_bad_training_option_is_refused_naming_its_key(override):
    with pytest.raises(ConfigError) as caught:
        load_config([FIXTURE_SETUP], [override])
    assert_clean_error(caught.value, override.split("=")[0])


@pytest.mark.parametrize("override, example", [("data.snr_db=5", "data.snr_db=[-5.0,5.0]"),
                                               ("query.manipulation.dropout.p_audio=0.5",
                                                "query.manipulation.dropout.p_audio=[0.75,0.95]")])
def test_a_number_where_a_range_belongs_says_it_takes_a_list(override, example):
    """It was OmegaConf's "AnyNode is not a ListConfig, TupleConfig, list, or tuple"."""
    with pytest.raises(ConfigError) as caught:
        load_config([FIXTURE_SETUP], [override])
    assert_clean_error(caught.value, override)
    assert f"takes a list, e.g. {example}" in str(caught.value) and "AnyNode" not in str(caught.value)


@pytest.mark.parametrize("option, value, expected", [
    ("--max-minutes", "nan", "--max-minutes nan: must be a positive finite number of minutes"),
    ("--max-minutes", "-5", "--max-minutes -5: must be a positive finite number of minutes"),
    ("--run-dir", "a_file", "is a file, not a folder"), ("--run-dir", "a_file/run", "a folder above it is a file"),
])
def test_bad_train_command_options_are_refused_before_training(tmp_path, capsys, option, value, expected):
    """--max-minutes nan or -5 trained anyway (exit 0); a file as --run-dir gave a raw [Errno 17]."""
    (tmp_path / "a_file").write_text("x")
    run_dir = ["--run-dir", str(tmp_path / "run")] if option != "--run-dir" else []
    value = str(tmp_path / value) if option == "--run-dir" else value
    assert main(["train", str(FIXTURE_SETUP), *TINY, *run_dir, option, value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "run").exists()


def test_every_numeric_option_of_the_schema_has_bounds():
    """A new numeric option must get its bounds in the one table, or it escapes validation."""
    from tqse.config import NUMBER_BOUNDS, RANGE_BOUNDS, flatten, to_dict

    numeric = [key for key, value in flatten(to_dict(load_config())).items()
               if (isinstance(value, (int, float)) and not isinstance(value, bool))
               or (isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value))]
    assert sorted(k for k in numeric if k not in NUMBER_BOUNDS and k not in RANGE_BOUNDS) == []


def test_a_bogus_device_says_what_is_wrong_with_it():
    with pytest.raises(ConfigError, match="not a device name"):
        load_config([], ["train.device=gpu0"])
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            load_config([], ["train.device=cuda"])


def test_a_config_built_in_code_is_validated_by_train(tmp_path):
    config = tiny_config()
    config.train.log_every = 0  # would be a ZeroDivisionError at the first step
    with pytest.raises(ConfigError, match="train.log_every"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_cli_exits_2_with_one_line_for_a_bad_option(capsys):
    assert main(["train", str(FIXTURE_SETUP), "train.batch_size=0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "train.batch_size" in err and len(err.splitlines()) == 1


# -- YAML ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, expected", [
    (b"train: {steps: 3\nmodel: [\n", ":2: invalid YAML"),
    (b"include: 5\n", "'include' must be"),
    (b"include: [base.yaml, 7]\n", "'include' must be"),
    (bytes(range(256)), "not a text"),
    (b"- a list\n", "must be a mapping"),
    (b"train: {lr: \x01}\n", "invalid YAML"),
])
def test_a_broken_yaml_file_is_one_line_naming_the_file(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_config([path])
    assert_clean_error(caught.value, str(path))


def test_a_directory_as_config_is_a_clean_error(tmp_path, capsys):
    assert main(["train", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


# -- manifests -------------------------------------------------------------------------------------------------------

def fixture_lines() -> list[dict]:
    from tqse.data.locations import fixture_manifest

    base = fixture_manifest().parent
    rows = [json.loads(line) for line in fixture_manifest().read_text().splitlines() if line.strip()]
    return [{**row, "path": str(base / row["path"])} for row in rows]


# Clip sets no mixture can come from (one clip; one class with different-class mixing), and the error's words.
UNMIXABLE = [
    (lambda lines: lines[:1], "at least two clips"),
    (lambda lines: [{**row, "class": "dog"} for row in lines[:3]], "at least two classes"),
]


def write_manifest(path, rows) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows(fixture_lines())))


@pytest.mark.parametrize("rows, expected", UNMIXABLE)
def test_a_manifest_with_one_clip_or_one_class_is_a_manifest_error(tmp_path, capsys, rows, expected):
    manifest = tmp_path / "one.jsonl"
    write_manifest(manifest, rows)
    argv = ["train", str(FIXTURE_SETUP), *TINY, f"data.manifests.ac={manifest}", "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert expected in err and str(manifest) in err


@pytest.mark.parametrize("rows, expected", UNMIXABLE)
def test_a_shard_set_with_one_clip_or_one_class_is_a_manifest_error(tmp_path, capsys, rows, expected):
    """The shard-stream loader applies the manifest path's check (it used to spin or mix a clip with itself)."""
    from tqse.data.manifest import read_clips
    from tqse.data.shards import write_shards

    manifest = tmp_path / "one.jsonl"
    write_manifest(manifest, rows)
    write_shards(read_clips(manifest), tmp_path / "shards", clips_per_shard=2)
    index = tmp_path / "shards" / "shards.json"
    argv = ["train", str(FIXTURE_SETUP), *TINY, f"data.manifests.ac={index}", "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert expected in err and str(index) in err


def test_a_shard_stream_without_a_mixable_pair_is_an_error_not_a_spin():
    """Silent clips, or one readable clip streamed over and over: a ManifestError naming the source, after a
    bounded number of clips (it used to loop forever, or mix the clip with itself)."""
    import numpy as np

    from tqse.config import DataConfig
    from tqse.data.manifest import ClipRecord, ManifestError
    from tqse.data.stream_mixing import StreamMixtureDataset

    tone = np.sin(np.arange(8000) / 5).astype(np.float32)
    one = ClipRecord(path="a.flac", label="dog", embedding_key="a")
    streams = {"silent": lambda: ((ClipRecord(path=f"{i}.flac", embedding_key=str(i)), np.zeros(8000, np.float32), 16000)
                                  for i in range(10**6)),
               "one clip": lambda: ((one, tone, 16000) for _ in range(10**6))}
    for name, stream in streams.items():
        dataset = StreamMixtureDataset(stream(), DataConfig(sample_rate=16000, segment_seconds=0.25),
                                       source=f"{name}.json")
        with pytest.raises(ManifestError, match=f"{name}.json: 1000 streamed clips in a row gave no mixture"):
            next(iter(dataset))
    two = [(one, tone, 16000), (ClipRecord(path="b.flac", label="cat", embedding_key="b"), tone[::-1].copy(), 16000)]
    example = next(iter(StreamMixtureDataset(iter(two * 2), DataConfig(sample_rate=16000, segment_seconds=0.25))))
    assert example.clip.embedding_key == "b"  # mixed with the other clip, the first one that can be


def test_a_shard_set_of_undecodable_clips_is_an_error_not_a_spin(tmp_path):
    import io
    import tarfile

    from tqse.data.manifest import ManifestError, read_clips
    from tqse.data.shards import ShardStream, write_shards
    from tqse.data.locations import fixture_manifest

    write_shards(read_clips(fixture_manifest())[:3], tmp_path / "shards", clips_per_shard=3)
    shard = next((tmp_path / "shards").glob("*.tar"))
    with tarfile.open(shard) as tar:  # keep the names and JSON, garble every audio member
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(shard, "w", format=tarfile.USTAR_FORMAT) as tar:
        for member, data in members:
            data = data if member.name.endswith(".json") else b"garbage" * 20
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    stream = ShardStream(tmp_path / "shards" / "shards.json", infinite=True)
    with pytest.raises(ManifestError, match="shards.json: no readable clip"):
        next(iter(stream))


def test_a_caption_with_a_lone_surrogate_is_refused_naming_the_line(tmp_path):
    from tqse.data.manifest import ManifestError, read_clips, read_mixtures

    rows = fixture_lines()[:2]
    rows[1].pop("captions", None)
    rows[1]["caption"] = "a dog \ud800 barking"
    manifest = tmp_path / "clips.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))  # json escapes it as \ud800
    with pytest.raises(ManifestError, match=r"clips.jsonl:2: 'caption' contains an invalid character"):
        read_clips(manifest)
    mixtures = tmp_path / "mixtures.jsonl"
    mixtures.write_text(json.dumps({"mixture": "m.wav", "target": "t.wav", "class_caption": "x\udfff"}) + "\n")
    with pytest.raises(ManifestError, match="mixtures.jsonl:1: 'class_caption'"):
        read_mixtures(mixtures)


@pytest.mark.parametrize("label", [[], ["dog"], {"name": "dog"}, True])
def test_a_class_that_is_not_a_text_or_number_is_refused_naming_the_line(tmp_path, label):
    from tqse.data.manifest import ManifestError, read_clips

    rows = fixture_lines()[:2]
    rows[1]["class"] = label
    manifest = tmp_path / "clips.jsonl"
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(ManifestError, match=r"clips.jsonl:2: 'class' must be a text"):
        read_clips(manifest)


def test_a_binary_manifest_is_a_manifest_error(tmp_path):
    from tqse.data.manifest import ManifestError, read_clips

    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(ManifestError, match="bin.jsonl:1: not UTF-8"):
        read_clips(tmp_path / "bin.jsonl")


def _edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if key == "kwargs":
            config["kwargs"].update(value)
        else:
            config[key] = value
    (folder / "config.json").write_text(json.dumps(config))


MODEL_FAULTS = {
    "non-UTF-8 config.json": (lambda d: (d / "config.json").write_bytes(b'{"model": "\xff\xfe"}'), "not UTF-8"),
    "directory config.json": (lambda d: ((d / "config.json").unlink(), (d / "config.json").mkdir()), "directory"),
    "truncated config.json": (lambda d: (d / "config.json").write_text('{"model": "conf'), "corrupt model config"),
    "unknown model name": (lambda d: _edit_config(d, model="transformer9000"), "unknown model"),
    "bad kwargs": (lambda d: _edit_config(d, kwargs={"n_layerz": 3}), "cannot build model"),
    "impossible kwargs": (lambda d: _edit_config(d, kwargs={"d_model": -8}), "cannot build model"),
    "wrong-shaped weights": (lambda d: _edit_config(d, kwargs={"d_model": 48}), "has shape"),
    "truncated weights": (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:999]),
                          "unreadable weights"),
    "NaN weights": (lambda d: _nan_weights(d), "NaN/Inf"),
}


def _nan_weights(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    state = load_file(str(folder / "model.safetensors"))
    first = next(iter(state))
    state[first] = torch.full_like(state[first], float("nan"))
    save_file(state, str(folder / "model.safetensors"))


@pytest.mark.parametrize("fault", list(MODEL_FAULTS))
def test_a_broken_model_folder_is_a_checkpoint_error_naming_it(tiny_model, tmp_path, fault):
    from tqse.models.model_dir import load_model_dir

    folder = Path(shutil.copytree(tiny_model, tmp_path / "model"))
    damage, expected = MODEL_FAULTS[fault]
    damage(folder)
    with pytest.raises(CheckpointError, match=expected) as caught:
        load_model_dir(folder)
    assert_clean_error(caught.value, str(folder))


# -- run folders and resume ----------------------------------------------------------------------------------------

def test_a_truncated_last_checkpoint_falls_back_to_best_with_a_warning(run, caplog):
    last = run / "checkpoints" / "last"
    weights = last / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        train(tiny_config("train.steps=3"), run)
    assert "resuming from" in caplog.text and "best" in caplog.text
    assert step_of(last) == 3  # step 1 (best) + the two steps since, not a fresh start
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]


def test_a_truncated_training_state_without_best_says_what_to_delete(run):
    shutil.rmtree(run / "checkpoints" / "best")
    state = run / "checkpoints" / "last" / "training_state.pt"
    state.write_bytes(state.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="delete") as caught:
        train(tiny_config(), run)
    assert_clean_error(caught.value, str(run / "checkpoints" / "last"))


def test_a_half_written_metrics_line_is_dropped_with_a_warning(run, caplog):
    metrics = run / "metrics.jsonl"
    metrics.write_text(metrics.read_text() + '{"step": 3, "loss": -1.')
    with caplog.at_level(logging.WARNING):
        train(tiny_config("train.steps=3"), run)
    assert "damaged metrics line" in caplog.text
    assert [json.loads(line)["step"] for line in metrics.read_text().splitlines()] == [1, 2, 3]


def test_stale_save_leftovers_are_removed_on_start(run, caplog):
    checkpoints = run / "checkpoints"
    shutil.copytree(checkpoints / "last", checkpoints / ".last.old4242")  # killed after both renames
    shutil.copytree(checkpoints / "last", checkpoints / ".best.tmp77")  # killed while writing best
    (checkpoints / ".best.json.tmp77").write_text('{"st')
    shutil.copytree(checkpoints / "last", checkpoints / ".step-2.tmp77")  # a kept validation checkpoint
    with caplog.at_level(logging.WARNING):
        train(tiny_config(), run)
    assert "leftover" in caplog.text
    assert leftovers(run) == []
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best", "best.json", "last"]


def test_a_kill_between_the_two_renames_restores_the_previous_checkpoint(run):
    checkpoints = run / "checkpoints"
    (checkpoints / "last").rename(checkpoints / ".last.old999")
    train(tiny_config(), run)  # finished: the restored step-2 checkpoint is found, nothing retrained
    assert step_of(checkpoints / "last") == 2 and leftovers(run) == []


def test_a_changed_preset_on_resume_is_refused_naming_the_keys(run):
    before = (run / "config.yaml").read_text()
    with pytest.raises(ConfigError, match=r"model\.name: 'tiny' -> 'small'") as caught:
        train(tiny_config("model.name=small"), run)
    assert_clean_error(caught.value, str(run))
    assert (run / "config.yaml").read_text() == before  # the refused config did not overwrite the run's


def test_more_steps_and_other_logging_may_change_on_resume(run):
    train(tiny_config("train.steps=3", "train.log_every=5", "data.workers=0"), run)
    assert step_of(run / "checkpoints" / "last") == 3


def test_an_error_from_a_data_loader_worker_is_printed_as_its_original_line():
    from tqse.audio.io import AudioError
    from tqse.cli import one_line

    wrapped = AudioError("Caught AudioError in DataLoader worker process 0.\nOriginal Traceback (most recent "
                         "call last):\n  File \"x.py\", line 1\ntqse.errors.AudioError: /data/a.flac: file is empty")
    assert one_line(wrapped) == "/data/a.flac: file is empty"
