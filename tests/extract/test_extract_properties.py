"""Property-based tests of the extraction API and CLI (issue 10): generated arrays, audio files (lengths,
rates, channels, dtypes, extreme values, truncated and mutated bytes) and option values. Contract: a clean
user error (one line, naming the problem) or a sane output (finite; same length, rate, channels, layout and
type as the input), and never a temporary file left behind. Bounded: a tiny model, few examples, no deadline.
"""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from tqse import Extractor  # noqa: E402
from tqse.cli import main  # noqa: E402
from tqse.errors import USER_ERRORS  # noqa: E402

SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
RATES = [1, 999, 8000, 11025, 16000, 22050, 44100, 48000, 96000, 384000]


@pytest.fixture(scope="module")
def extractor(tiny_model):
    return Extractor.from_pretrained(tiny_model, device="cpu")


def assert_clean(err: BaseException) -> None:
    event(f"clean error: {type(err).__name__}")
    message = str(err)
    assert isinstance(err, USER_ERRORS), repr(err)
    assert message.strip() and "\n" not in message.strip(), message


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*")]


def elements(dtype: np.dtype):
    if dtype.kind == "f":
        return st.one_of(st.floats(-1, 1, width=32), st.floats(allow_nan=True, allow_infinity=True, width=32),
                         st.sampled_from([3e38, -3e38, 1e-38, 0.0]))
    return None  # the full integer range


arrays = st.sampled_from([np.float32, np.float64, np.int16, np.int32, np.uint8]).flatmap(
    lambda dtype: hnp.arrays(np.dtype(dtype), st.one_of(
        st.tuples(st.integers(0, 3000)),
        st.tuples(st.integers(1, 3), st.integers(0, 3000)),
        st.tuples(st.integers(0, 3000), st.integers(1, 3))), elements=elements(np.dtype(dtype))))


@settings(max_examples=40, **SETTINGS)
@given(audio=arrays, rate=st.sampled_from(RATES), as_torch=st.booleans(), chunk=st.sampled_from([0.0, 0.05, 0.3]))
def test_arrays_give_a_clean_error_or_the_same_shape_and_type(extractor, audio, rate, as_torch, chunk):
    x = torch.from_numpy(audio) if as_torch else audio
    try:
        out = extractor.extract(x, rate, text="a bell", chunk_seconds=chunk, overlap_seconds=0.01)
    except Exception as err:  # noqa: BLE001 - the property is about what escapes
        assert_clean(err)
        return
    event("sane output")
    assert type(out) is type(x) and tuple(out.shape) == tuple(audio.shape)
    assert np.isfinite(np.asarray(out.numpy() if as_torch else out, np.float64)).all()


def write_case(folder: Path, data: np.ndarray, rate: int, container: str, damage: tuple[str, int, int]) -> Path:
    path = folder / f"in.{container}"
    subtype = {"wav": "FLOAT", "flac": "PCM_16", "ogg": "VORBIS"}[container]
    try:
        sf.write(path, data, rate, subtype=subtype)
    except Exception:  # noqa: BLE001 - the generator asked for something libsndfile cannot write: raw bytes
        path.write_bytes(data.tobytes()[:4096])
        return path
    kind, at, value = damage
    raw = bytearray(path.read_bytes())
    if kind == "truncate" and raw:
        raw = raw[: at % len(raw)]
    elif kind == "mutate" and raw:
        raw[at % len(raw)] = value
    path.write_bytes(bytes(raw))
    return path


@settings(max_examples=30, **SETTINGS)
@given(frames=st.integers(0, 4000), channels=st.integers(1, 3), rate=st.sampled_from([8000, 16000, 44100, 96000]),
       level=st.sampled_from([0.5, 1.5, 1e6, 3e38]), container=st.sampled_from(["wav", "flac", "ogg"]),
       damage=st.tuples(st.sampled_from(["none", "none", "truncate", "mutate"]), st.integers(0, 10**6),
                        st.integers(0, 255)),
       target=st.sampled_from(["o.wav", "o.flac", "o.ogg", "o.mp3", "o.raw", "sub/o.wav", "dir/"]),
       depth=st.sampled_from([[], ["--int24"], ["--float32"]]), clip=st.sampled_from(["rescale", "clamp", "none"]))
def test_files_through_the_cli_give_exit_2_or_a_sane_file(tiny_model, capsys, frames, channels, rate, level,
                                                          container, damage, target, depth, clip):
    data = (level * np.sin(np.arange(frames * channels) * 0.01)).reshape(frames, channels).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = write_case(folder, data, rate, container, damage)
        code = main(["extract", str(source), "-q", "a tone", "-o", str(folder / target), "--checkpoint",
                     str(tiny_model), "--no-progress", "--chunk-seconds", "0.2", "--overlap-seconds", "0.05",
                     "--clip-mode", clip, *depth])
        err = capsys.readouterr().err
        assert code in (0, 2), err
        event("exit 2" if code == 2 else "output written")
        if code == 2:
            assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        else:
            written = [p for p in folder.rglob("o.*") if p.is_file()] + list((folder / "dir").rglob("*.wav"))
            assert written, list(folder.rglob("*"))
            reference, produced = sf.info(str(source)), sf.info(str(written[0]))
            assert (produced.samplerate, produced.channels) == (reference.samplerate, reference.channels)
            if produced.format != "OGG":  # lossy codecs may pad the last page
                assert produced.frames == reference.frames
            assert np.isfinite(sf.read(str(written[0]), dtype="float64")[0]).all()
        assert leftovers(folder) == []


def numbers(*valid):
    return st.one_of(st.sampled_from(valid), st.floats(allow_nan=True, allow_infinity=True),
                     st.integers(-10, 10**10), st.sampled_from(["10", None, True, [1.0]]))


@settings(max_examples=30, **SETTINGS)
@given(chunk=numbers(0.0, 0.5, 1), overlap=numbers(0.0, 0.1), rate=numbers(16000, 8000.0))
def test_option_values_are_validated_not_hung_on(extractor, chunk, overlap, rate):
    x = np.sin(np.arange(800) * 0.05).astype(np.float32)
    try:
        out = extractor.extract(x, rate, text="x", chunk_seconds=chunk, overlap_seconds=overlap)
    except Exception as err:  # noqa: BLE001
        assert_clean(err)
        return
    event("sane output")
    assert out.shape == x.shape and np.isfinite(out).all()
    assert isinstance(chunk, (int, float)) and math.isfinite(chunk)


def test_stdin_bytes_that_are_not_audio_are_a_clean_error(tiny_model, monkeypatch, capsys):
    class Stdin:
        buffer = io.BytesIO(b"RIFF\x00\x00\x00\x00WAVEjunk")

    monkeypatch.setattr("sys.stdin", Stdin())
    assert main(["extract", "-", "-q", "x", "-o", "-", "--checkpoint", str(tiny_model)]) == 2
    assert "standard input" in capsys.readouterr().err
