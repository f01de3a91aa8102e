"""Hostile input on the extraction side (issue 10): every fault is a one-line error naming the file or
option, exit status 2, nothing left behind, nothing crashes; named regression tests for each reported case."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from tqse import Extractor
from tqse.cli import main
from tqse.errors import USER_ERRORS, ExtractionError, OptionError
from tqse.workflows.bench import random_model_dir
from helpers import tone


@pytest.fixture(scope="module")
def extractor(tiny_model):
    return Extractor.from_pretrained(tiny_model, device="cpu")


def leftovers(folder) -> list:
    return sorted(p.name for p in folder.rglob(".*"))


def run_cli(tiny_model, *args) -> int:
    return main(["extract", *args, "--checkpoint", str(tiny_model), "--no-progress", "--chunk-seconds", "1"])


def one_line_error(capsys, *needles) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_ogg_at_384_khz_is_refused_before_libsndfile_can_crash(tiny_model, tmp_path, capsys):
    """libsndfile 1.2 segfaults writing Vorbis above ~200 kHz: the class is "rate the format cannot hold"."""
    sf.write(tmp_path / "in_384kHz.wav", tone(1000, 0.2, 384000), 384000)
    assert run_cli(tiny_model, str(tmp_path / "in_384kHz.wav"), "-q", "x", "-o", str(tmp_path / "out.ogg")) == 2
    one_line_error(capsys, "out.ogg", "192000 Hz", ".flac")
    assert not (tmp_path / "out.ogg").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("name,rate,channels,needle", [
    ("o.mp3", 96000, 1, "MP3 holds only"), ("o.mp3", 44100, 3, "at most 2 channels"),
    ("o.flac", 16000, 9, "at most 8 channels"), ("o.raw", 16000, 1, "header-less"), ("o.xyz", 16000, 1, "xyz"),
])
def test_output_formats_that_cannot_hold_the_audio_are_refused_up_front(tiny_model, tmp_path, capsys, name, rate,
                                                                       channels, needle):
    sf.write(tmp_path / "in.wav", np.tile(tone(300, 0.2, rate)[:, None], (1, channels)), rate)
    assert run_cli(tiny_model, str(tmp_path / "in.wav"), "-q", "x", "-o", str(tmp_path / name)) == 2
    one_line_error(capsys, needle)
    assert not (tmp_path / name).exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("target,needle", [
    ("{tmp}/file.wav/out.wav", "is a file, not a folder"), ("{tmp}/" + "n" * 300 + ".wav", "too long"),
    ("/proc/tqse_out.wav", "cannot write here"), ("/dev/null/x.wav", "not a folder"),
])
def test_output_paths_that_cannot_be_written_are_clean_errors(tiny_model, tmp_path, capsys, target, needle):
    sf.write(tmp_path / "in.wav", tone(300, 0.2, 16000), 16000)
    sf.write(tmp_path / "file.wav", tone(300, 0.2, 16000), 16000)
    assert run_cli(tiny_model, str(tmp_path / "in.wav"), "-q", "x", "-o", target.format(tmp=tmp_path)) == 2
    one_line_error(capsys, needle)
    assert leftovers(tmp_path) == []


def nan_model(folder):
    extractor = Extractor.from_pretrained(random_model_dir(folder / "tiny"), device="cpu")
    with torch.no_grad():
        next(extractor.model.parameters()).fill_(float("nan"))
    return extractor.save_pretrained(folder / "nan")


def broken_model(folder):
    (folder / "broken").mkdir()
    (folder / "broken" / "config.json").write_bytes(b"\xff\xfe not json")
    return folder / "broken"


@pytest.mark.parametrize("case", ["second input's rate does not fit", "broken model folder", "NaN model output"])
def test_a_failing_run_leaves_no_output_folder_behind(tiny_model, tmp_path, capsys, case):
    """The preflight proved every output writable by creating its folders; a later fault (the next input's
    check, the model, the extraction itself) left those folders behind, empty."""
    sf.write(tmp_path / "a.wav", tone(300, 0.3, 16000), 16000)
    sf.write(tmp_path / "b.wav", tone(300, 0.2, 384000), 384000)
    inputs, model = [str(tmp_path / "a.wav")], tiny_model
    if case.startswith("second"):
        inputs.append(str(tmp_path / "b.wav"))
    elif case.startswith("broken"):
        model = broken_model(tmp_path)
    else:
        model = nan_model(tmp_path)
    out = tmp_path / "out" / "deeper"
    argv = ["extract", *inputs, "-q", "x", "-o", str(out), "--format", "ogg", "--checkpoint", str(model),
            "--no-progress"]
    assert main(argv) == 2
    one_line_error(capsys)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_api_output_checks_empty_name_directory_and_special_files(extractor, tmp_path):
    sf.write(tmp_path / "in.wav", tone(300, 0.2, 16000), 16000)
    for target, needle in (("", "empty"), (tmp_path, "is a directory"), ("/dev/null", "not a regular file")):
        with pytest.raises(USER_ERRORS, match=needle):
            extractor.extract_file(tmp_path / "in.wav", target, text="x")
    assert leftovers(tmp_path) == []


def test_a_failing_write_leaves_the_old_file_and_no_temp(extractor, tmp_path, monkeypatch):
    import tqse.extract.output

    sf.write(tmp_path / "in.wav", tone(300, 0.5, 16000), 16000)
    (tmp_path / "out.wav").write_bytes(b"old")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tqse.extract.output, "_copy", broken)
    with pytest.raises(USER_ERRORS, match="No space left"):
        extractor.extract_file(tmp_path / "in.wav", tmp_path / "out.wav", text="x")
    assert (tmp_path / "out.wav").read_bytes() == b"old" and leftovers(tmp_path) == []


@pytest.mark.parametrize("frames", [0])
def test_empty_and_header_only_input_is_rejected_on_every_path(extractor, tiny_model, tmp_path, capsys, frames):
    sf.write(tmp_path / "empty.wav", np.zeros(frames, np.float32), 16000)
    for chunk in ("1", "0"):
        assert main(["extract", str(tmp_path / "empty.wav"), "-q", "x", "-o", str(tmp_path / "o.wav"),
                     "--checkpoint", str(tiny_model), "--chunk-seconds", chunk]) == 2
        one_line_error(capsys, "empty.wav", "zero length")
    with pytest.raises(USER_ERRORS, match="zero length"):
        extractor.extract_file(tmp_path / "empty.wav", tmp_path / "o.wav", text="x")
    assert not (tmp_path / "o.wav").exists() and leftovers(tmp_path) == []


def test_float_input_near_float32_max_is_scaled_in_and_back(extractor, tmp_path):
    x = tone(300, 0.5, 16000, amplitude=1.0) * np.float32(3e38)
    sf.write(tmp_path / "loud.wav", x, 16000, subtype="FLOAT")
    extractor.extract_file(tmp_path / "loud.wav", tmp_path / "o.wav", text="x", depth="float32", clip_mode="rescale")
    out = sf.read(tmp_path / "o.wav")[0]
    assert np.isfinite(out).all() and np.abs(out).max() <= 1.0 and np.abs(out).max() > 1e-3
    y = extractor.extract(x, 16000, text="x")
    scaled = extractor.extract(x / 3e38, 16000, text="x")
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y / 3e38, scaled, atol=1e-4)


def test_nan_weights_are_an_error_naming_the_weights(tmp_path):
    model_dir = random_model_dir(tmp_path / "m")
    extractor = Extractor.from_pretrained(model_dir, device="cpu")
    with torch.no_grad():
        next(extractor.model.parameters()).fill_(float("nan"))
    with pytest.raises(ExtractionError, match="weights contain NaN"):
        extractor.extract(tone(300, 0.3, 16000), 16000, text="x")


@pytest.mark.parametrize("option,value,needle", [
    ("chunk_seconds", math.nan, "finite"), ("chunk_seconds", math.inf, "finite"), ("chunk_seconds", -1, "in ["),
    ("chunk_seconds", "10", "a number"), ("chunk_seconds", 0.001, "at least"), ("overlap_seconds", -1, "in ["),
    ("overlap_seconds", math.nan, "finite"), ("sample_rate", math.nan, "finite"), ("sample_rate", 2e9, "in ["),
    ("sample_rate", 0, "in ["), ("sample_rate", 16000.5, "whole number"), ("sample_rate", "16k", "a number"),
])
def test_numeric_options_are_validated_up_front(extractor, option, value, needle):
    kwargs = {"chunk_seconds": 1.0, "overlap_seconds": 0.1, "sample_rate": 16000, option: value}
    rate = kwargs.pop("sample_rate")
    with pytest.raises(OptionError, match=f"{option}.*{needle}" if needle != "in [" else option):
        extractor.extract(tone(300, 0.2, 16000), rate, text="x", **kwargs)


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e400"])
def test_numeric_cli_options_exit_2_with_the_option_named(tiny_model, tmp_path, capsys, value):
    sf.write(tmp_path / "in.wav", tone(300, 0.2, 16000), 16000)
    assert main(["extract", str(tmp_path / "in.wav"), "-q", "x", "-o", str(tmp_path / "o.wav"), "--checkpoint",
                 str(tiny_model), "--overlap-seconds", value]) == 2
    one_line_error(capsys, "overlap_seconds")


def test_three_d_complex_and_bool_arrays_are_rejected(extractor):
    for bad, needle in ((np.ones((2, 2, 100)), "3-D"), (np.ones(100, complex), "complex"),
                        (np.ones(100, bool), "dtype")):
        with pytest.raises(USER_ERRORS, match=needle):
            extractor.extract(bad, 16000, text="x")


def test_query_with_a_lone_surrogate_is_a_clean_cli_error(tiny_model, tmp_path, capsys):
    sf.write(tmp_path / "in.wav", tone(300, 0.2, 16000), 16000)
    assert run_cli(tiny_model, str(tmp_path / "in.wav"), "-q", "dog\ud800", "-o", str(tmp_path / "o.wav")) == 2
    one_line_error(capsys, "surrogate")


def test_the_ogg_crash_case_really_crashed_libsndfile_in_a_subprocess(tmp_path):
    """Documents why the limit exists: if libsndfile stops crashing, the limit can be relaxed."""
    code = ("import numpy as np, soundfile as sf; "
            f"sf.write({str(tmp_path / 'x.ogg')!r}, np.zeros(1000, np.float32), 384000, format='OGG')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode != 0  # -11 (SIGSEGV) with libsndfile 1.2.2


def test_huge_embedding_or_audio_query_is_an_error_not_nan_output(extractor):
    x = tone(300, 0.3, 16000)
    try:
        out = extractor.extract(x, 16000, embedding=np.full(32, 1e30, np.float32))
        assert np.isfinite(out).all()
    except USER_ERRORS as err:
        assert "embedding" in str(err)
    try:
        out = extractor.extract(x, 16000, audio_query=np.full(16000, 1e30, np.float32), audio_query_rate=16000)
        assert np.isfinite(out).all()
    except USER_ERRORS as err:
        assert "query" in str(err)


# -- issue 25: the last two tracebacks, and their neighbours --------------------------------------------------
@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000, 96000])
def test_a_one_sample_audio_query_is_a_one_line_error_at_every_rate(extractor, tiny_model, tmp_path, capsys, rate):
    """A 1-sample query file at 44.1 kHz had no sample left at the hash encoder's 16 kHz: RuntimeError from
    torch.nn.functional.pad. Every rate, as a file, an array, and through `tqse extract --audio-query`."""
    query = tmp_path / f"one_sample_{rate}.wav"
    sf.write(query, np.full(1, 0.5, np.float32), rate)
    mixture = tone(300, 0.3, 16000)
    with pytest.raises(USER_ERRORS, match=f"one_sample_{rate}.wav: 1 sample at {rate} Hz.*too short"):
        extractor.extract(mixture, 16000, audio_query=str(query))
    with pytest.raises(USER_ERRORS, match="audio query: 1 sample .*too short"):
        extractor.extract(mixture, 16000, audio_query=np.full(1, 0.5, np.float32), audio_query_rate=rate)
    sf.write(tmp_path / "in.wav", mixture, 16000)
    assert main(["extract", str(tmp_path / "in.wav"), "--audio-query", str(query), "-o", str(tmp_path / "o.wav"),
                 "--checkpoint", str(tiny_model), "--no-progress"]) == 2
    one_line_error(capsys, f"one_sample_{rate}.wav", "too short")
    assert not (tmp_path / "o.wav").exists()


def test_an_encoder_given_a_clip_with_no_samples_at_its_rate_names_the_problem(hash_encoder):
    from tqse.errors import QueryError

    with pytest.raises(QueryError, match="no samples left"):
        hash_encoder.embed_audio(np.full(1, 0.5, np.float32), 44100)


@pytest.mark.parametrize("shape", [(100, 0), (0, 100), (0, 2), (2, 0), (0, 0)])
def test_arrays_with_zero_channels_or_zero_length_are_one_line_errors(extractor, shape):
    """np.zeros((100, 0)) reached a numpy reduction: ValueError "zero-size array to reduction operation"."""
    for kind in (np.zeros, torch.zeros):
        with pytest.raises(USER_ERRORS, match=r"holds no samples \(zero channels or zero length\)"):
            extractor.extract(kind(shape), 16000, text="x")
        with pytest.raises(USER_ERRORS, match="audio query: shape .* holds no samples"):
            extractor.extract(tone(300, 0.3, 16000), 16000, audio_query=kind(shape), audio_query_rate=16000)


def test_neighbours_already_clean_stay_clean(extractor):
    for bad, needle in ((np.zeros(0), "zero length"), (np.zeros(0, np.float32), "zero length")):
        with pytest.raises(USER_ERRORS, match=needle):
            extractor.extract(bad, 16000, text="x")
    with pytest.raises(USER_ERRORS, match="non-empty"):
        extractor.extract(tone(300, 0.3, 16000), 16000, embedding=np.zeros(0, np.float32))
    with pytest.raises(USER_ERRORS, match="non-empty"):
        extractor.extract(tone(300, 0.3, 16000), 16000, embedding=np.zeros((1, 0), np.float32))


@pytest.mark.parametrize("rate", [1000, 8000, 11025, 16000, 22050, 44100, 48000, 96000, 192000, 384000, 768000])
def test_a_one_frame_mixture_is_extracted_at_every_rate(extractor, tiny_model, tmp_path, rate):
    out = extractor.extract(np.full(1, 0.5, np.float32), rate, text="x")
    assert out.shape == (1,) and np.isfinite(out).all()
    stereo = extractor.extract(np.full((1, 2), 0.5, np.float32), rate, text="x", layout="TC")
    assert stereo.shape == (1, 2) and np.isfinite(stereo).all()
    if rate <= 192000:  # WAV headers hold any of these; 384 kHz and up is checked by the API path above
        sf.write(tmp_path / "one.wav", np.full(1, 0.5, np.float32), rate)
        assert main(["extract", str(tmp_path / "one.wav"), "-q", "x", "-o", str(tmp_path / "o.wav"),
                     "--checkpoint", str(tiny_model), "--no-progress"]) == 0
        assert sf.info(str(tmp_path / "o.wav")).frames == 1
