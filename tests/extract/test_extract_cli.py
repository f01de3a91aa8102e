"""`tqse extract` as a demucs user expects it (issue 11). Each trap of the issue is pinned by a test named
after it; all run the real CLI in-process on a tiny model and the committed CC0 fixture."""

from __future__ import annotations

import io
import shutil
import sys

import numpy as np
import pytest
import soundfile as sf

from tqse.cli import main
from tqse.data.locations import fixture_dir

AMEN, BELL = fixture_dir() / "loop_amen.flac", fixture_dir() / "perc_bell.flac"


@pytest.fixture
def work(tmp_path, monkeypatch, tiny_model):
    """A scratch folder as the working directory, with the tiny model installed as `tiny` in TQSE_HOME."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TQSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TQSE_MODEL", raising=False)
    shutil.copytree(tiny_model, tmp_path / "home" / "models" / "tiny")
    return tmp_path


def extract(*args: str) -> int:
    return main(["extract", *args, "-n", "tiny", "--chunk-seconds", "1", "--overlap-seconds", "0.2"])


def hidden_leftovers(folder) -> list:
    return [p for p in folder.rglob(".*") if p.name != ".hypothesis"]


def test_trap_several_files_and_queries_in_one_call(work):
    assert extract(str(AMEN), str(BELL), "-q", "a dog", "-q", "Rain on a roof!", "-o", "out/") == 0
    for track in ("loop_amen", "perc_bell"):
        for name in ("a_dog", "rain_on_a_roof"):
            out = work / "out" / "tiny" / track / f"{name}.wav"
            assert sf.info(str(out)).frames == sf.info(str(fixture_dir() / f"{track}.flac")).frames


def test_trap_folder_and_glob_inputs_are_searched(work):
    (work / "in" / "sub").mkdir(parents=True)
    shutil.copy(AMEN, work / "in" / "sub" / "a.flac")
    shutil.copy(BELL, work / "in" / "b.flac")
    (work / "in" / "notes.txt").write_text("not audio")
    assert extract("in", "-q", "x") == 0
    assert sorted(p.name for p in (work / "separated" / "tiny").iterdir()) == ["a", "b"]
    assert extract(str(fixture_dir() / "perc_bell*.flac"), "-q", "x", "-o", "g") == 0
    assert sorted(p.name for p in (work / "g" / "tiny").iterdir()) == ["perc_bell", "perc_bell2"]


def test_trap_model_is_loaded_once_per_call(work, monkeypatch):
    import tqse.extract.api

    calls = []
    real = tqse.extract.api.load_model_dir
    monkeypatch.setattr(tqse.extract.api, "load_model_dir", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert extract(str(AMEN), str(BELL), "-q", "a", "-q", "b") == 0
    assert len(calls) == 1


def test_trap_default_layout_is_separated_model_track_query(work):
    assert extract(str(AMEN), "-q", "a dog barking") == 0
    assert (work / "separated" / "tiny" / "loop_amen" / "a_dog_barking.wav").is_file()


def test_trap_output_with_slash_is_a_folder_not_a_file(work):
    assert extract(str(AMEN), "-q", "dog", "-o", "out/") == 0
    assert (work / "out").is_dir() and (work / "out" / "tiny" / "loop_amen" / "dog.wav").is_file()


def test_trap_existing_folder_as_output_is_the_root_and_leaves_nothing_hidden(work):
    (work / "existing").mkdir()
    assert extract(str(AMEN), "-q", "dog", "-o", "existing") == 0
    assert (work / "existing" / "tiny" / "loop_amen" / "dog.wav").is_file()
    assert hidden_leftovers(work) == []


def test_trap_output_never_overwrites_an_input(work, capsys):
    shutil.copy(AMEN, work / "mix.flac")
    before = (work / "mix.flac").read_bytes()
    assert extract("mix.flac", "-q", "dog", "-o", "mix.flac") == 2
    assert "never overwrites an input" in capsys.readouterr().err
    assert (work / "mix.flac").read_bytes() == before and hidden_leftovers(work) == []


def test_trap_filename_template_and_format(work):
    assert extract(str(AMEN), "-q", "dog", "--filename", "{query}-{track}.{ext}", "--format", "flac",
                   "--int24") == 0
    info = sf.info(str(work / "separated" / "tiny" / "dog-loop_amen.flac"))
    assert info.format == "FLAC" and info.subtype == "PCM_24"


class _Stdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


def test_trap_dash_reads_stdin_and_writes_stdout(work, monkeypatch, capsysbinary):
    monkeypatch.setattr(sys, "stdin", _Stdin(AMEN.read_bytes()))
    assert extract("-", "-q", "dog", "-o", "-") == 0
    out = capsysbinary.readouterr().out
    wav, rate = sf.read(io.BytesIO(out))
    assert rate == sf.info(str(AMEN)).samplerate and wav.shape[0] == sf.info(str(AMEN)).frames
    assert not (work / "-").exists() and hidden_leftovers(work) == []


def test_trap_dash_input_that_is_empty_is_a_clean_error(work, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", _Stdin(b""))
    assert extract("-", "-q", "dog", "-o", "x.wav") == 2
    assert "standard input" in capsys.readouterr().err and hidden_leftovers(work) == []


def test_trap_models_by_name_and_tqse_models(work, capsys):
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert "tiny" in listing and "32 kHz" in listing and "hash" in listing
    assert main(["extract", str(AMEN), "-q", "x", "-n", "paper"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'paper'" in err and "tiny" in err  # names the models there are


def test_trap_residual_is_mixture_minus_estimate(work):
    assert extract(str(AMEN), "-q", "dog", "-o", "o", "--residual", "--float32", "--clip-mode", "none") == 0
    folder = work / "o" / "tiny" / "loop_amen"
    est, res = sf.read(folder / "dog.wav")[0], sf.read(folder / "dog_residual.wav")[0]
    mix = sf.read(AMEN)[0]
    assert np.abs(est + res - mix).max() < 1e-4


def test_trap_output_is_not_always_16_bit_and_clipping_is_never_silent(work, caplog):
    loud = 0.99 * np.sign(np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
    sf.write(work / "loud.wav", loud, 32000, subtype="FLOAT")
    for mode in ("rescale", "clamp"):
        caplog.clear()
        assert extract("loud.wav", "-q", "x", "-o", f"{mode}.wav", "--residual", "--clip-mode", mode) == 0
        if max(np.abs(sf.read(f"{mode}_residual.wav")[0]).max(), np.abs(sf.read(f"{mode}.wav")[0]).max()) > 0.999:
            assert any(w in caplog.text for w in ("clipped", "lowered")), caplog.text
    assert extract("loud.wav", "-q", "x", "-o", "f.wav", "--float32") == 0
    assert sf.info("f.wav").subtype == "FLOAT"


def test_trap_progress_bar_on_a_terminal_only(work, monkeypatch):
    import tqse.extract.plan

    monkeypatch.setattr(tqse.extract.plan, "PROGRESS_DELAY_SECONDS", 0.0)

    class Tty(io.StringIO):
        def isatty(self):
            return True

    for tty, flag, shown in ((True, [], True), (True, ["--no-progress"], False), (False, [], False)):
        stream = Tty() if tty else io.StringIO()
        monkeypatch.setattr(sys, "stderr", stream)
        assert extract(str(AMEN), "-q", "x", "-o", "p.wav", *flag) == 0
        assert ("s audio" in stream.getvalue()) == shown, (tty, flag, stream.getvalue())


def test_trap_version_and_verbosity_after_the_subcommand(work, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and "tqse 0.1.0" in capsys.readouterr().out
    assert extract(str(AMEN), "-q", "x", "-o", "v.wav", "-v") == 0
    assert extract(str(AMEN), "-q", "x", "-o", "w.wav", "--quiet") == 0
    assert main(["models", "-v"]) == 0


def test_trap_cuda_on_a_cpu_machine_is_a_device_error(work, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert extract(str(AMEN), "-q", "x", "--device", "cuda") == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and "weights" not in err
    assert extract(str(AMEN), "-q", "x", "--device", "toaster") == 2
    assert "not a device name" in capsys.readouterr().err


def test_same_track_names_in_two_folders_are_refused_before_any_work(work, capsys):
    for folder in ("a", "b"):
        (work / folder).mkdir()
        shutil.copy(AMEN, work / folder / "x.flac")
    assert extract("a/x.flac", "b/x.flac", "-q", "dog") == 2
    assert "{parent}" in capsys.readouterr().err and not (work / "separated" / "tiny" / "x").exists()
    assert extract("a/x.flac", "b/x.flac", "-q", "dog", "--filename", "{parent}_{track}/{query}.{ext}") == 0
