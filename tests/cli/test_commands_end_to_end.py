"""The CLI end to end, in-process: every command is a thin layer, errors are one line and exit 2."""

import numpy as np
import soundfile as sf

from tqse.cli import main
from tqse.data.locations import fixture_dir


def test_extract_writes_the_input_rate_and_length(tiny_model, tmp_path):
    mix = fixture_dir() / "loop_amen.flac"
    out = tmp_path / "dog.wav"
    assert main(["extract", str(mix), "--query", "a dog barking", "-o", str(out), "--checkpoint", str(tiny_model)]) == 0
    info, ref = sf.info(str(out)), sf.info(str(mix))
    assert (info.samplerate, info.frames) == (ref.samplerate, ref.frames)


def test_extract_whole_file_mode_and_resampled_input(tiny_model, tmp_path):
    wav = np.random.default_rng(0).standard_normal(22050).astype(np.float32) * 0.1
    sf.write(tmp_path / "in.wav", wav, 22050)
    assert main(["extract", str(tmp_path / "in.wav"), "-q", "noise", "-o", str(tmp_path / "o.flac"),
                 "--checkpoint", str(tiny_model), "--chunk-seconds", "0"]) == 0
    out, rate = sf.read(tmp_path / "o.flac")
    assert rate == 22050 and out.shape == wav.shape


def test_user_errors_are_one_line_with_exit_code_2(tiny_model, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF1234WAVEfmt garbage")
    assert main(["extract", str(corrupt), "-q", "x", "-o", str(tmp_path / "o.wav"), "--checkpoint", str(tiny_model)]) == 2
    err = capsys.readouterr().err
    assert "corrupt.wav" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["extract", str(fixture_dir() / "loop_amen.flac"), "-q", "", "-o", str(tmp_path / "o.wav"),
                 "--checkpoint", str(tiny_model)]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["extract", str(fixture_dir() / "loop_amen.flac"), "-q", "x", "-o", str(tmp_path / "o.wav"),
                 "--checkpoint", str(tmp_path / "nothing")]) == 2
    assert "model directory not found" in capsys.readouterr().err
    assert not (tmp_path / "o.wav").exists()


def test_train_command_runs_and_rejects_unknown_keys(tmp_path, capsys):
    from pathlib import Path

    setup = Path(__file__).resolve().parents[2] / "configs" / "setups" / "fixture.yaml"
    assert main(["train", str(setup), "data.use=[ac]", "data.segment_seconds=0.5", "--run-dir", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "checkpoints" / "last" / "config.json").exists()
    assert main(["train", str(setup), "train.stepz=3"]) == 2
    assert "stepz" in capsys.readouterr().err


def test_grid_trains_rows_scores_them_and_writes_the_table(tmp_path, capsys):
    from pathlib import Path

    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips
    from tqse.data.locations import fixture_manifest

    configs = Path(__file__).resolve().parents[2] / "configs"
    mixtures = write_fixed_mixtures(read_clips(fixture_manifest(), split="test"), tmp_path / "mix", 3,
                                    segment_seconds=1.0)
    argv = ["grid", str(configs / "setups" / "fixture.yaml"), str(configs / "table1" / "A0.yaml"),
            str(configs / "table1" / "A3.yaml"), "data.segment_seconds=0.5", "--eval", f"test={mixtures}",
            "--query-field", "class_caption", "--out", str(tmp_path / "grid")]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "| A0 |" in table and "| A3 |" in table and "test-class_caption" in table
    assert (tmp_path / "grid" / "grid_sdri.md").exists()
    runs = sorted(p.name.split("-")[0] for p in (tmp_path / "grid").iterdir() if p.is_dir() and p.name != "mix")
    assert runs == ["A0", "A3"]


def test_grid_runs_each_row_once_per_seed_and_reports_the_spread(tmp_path, capsys):
    from pathlib import Path

    import yaml

    from tqse.data.fixed_mixtures import write_fixed_mixtures
    from tqse.data.manifest import read_clips
    from tqse.data.locations import fixture_manifest

    configs = Path(__file__).resolve().parents[2] / "configs"
    mixtures = write_fixed_mixtures(read_clips(fixture_manifest(), split="test"), tmp_path / "mix", 2,
                                    segment_seconds=1.0)
    argv = ["grid", str(configs / "setups" / "fixture.yaml"), str(configs / "table1" / "A9.yaml"),
            "data.segment_seconds=0.5", "--eval", f"test={mixtures}", "--query-field", "class_caption",
            "--seeds", "3", "4", "--out", str(tmp_path / "grid")]
    assert main(argv) == 0
    assert "| A9 |" in capsys.readouterr().out and "(2) |" in (tmp_path / "grid" / "grid_sdri.md").read_text()
    seeds = {}
    for run in (tmp_path / "grid").glob("A9-s*"):
        config = yaml.safe_load((run / "config.yaml").read_text())
        seeds[config["name"]] = config["train"]["seed"]
    assert seeds == {"A9-s3": 3, "A9-s4": 4}


