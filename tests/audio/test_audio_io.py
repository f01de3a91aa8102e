import numpy as np
import pytest
import soundfile as sf

from tqse.audio.io import AudioError, iter_blocks, load_audio, save_audio
from helpers import tone


def dominant_frequency(wav, rate):
    spectrum = np.abs(np.fft.rfft(wav))
    return np.argmax(spectrum) * rate / len(wav)


@pytest.mark.parametrize("fmt,rate,channels", [("wav", 44100, 2), ("flac", 22050, 1), ("ogg", 48000, 2), ("wav", 8000, 1)])
def test_any_format_rate_and_channels_load_mono_at_model_rate(tmp_path, fmt, rate, channels):
    wav = tone(440.0, 1.0, rate)
    data = np.stack([wav] * channels, 1) if channels > 1 else wav
    path = tmp_path / f"x.{fmt}"
    sf.write(path, data, rate)
    out, out_rate = load_audio(path, 32000)
    assert out_rate == 32000 and out.ndim == 1
    assert abs(len(out) - 32000) <= 2
    assert dominant_frequency(out, 32000) == pytest.approx(440.0, abs=3.0)


def test_stereo_kept_when_asked(tmp_path):
    sf.write(tmp_path / "s.wav", np.stack([tone(440, 0.5, 16000), tone(880, 0.5, 16000)], 1), 16000)
    wav, rate = load_audio(tmp_path / "s.wav", mono=False)
    assert wav.shape == (8000, 2) and rate == 16000


@pytest.mark.parametrize("content,problem", [
    (b"", "empty"),
    (b"RIFF\x00\x00garbage-not-audio" * 10, "not a readable audio file"),
])
def test_unreadable_files_name_the_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=problem) as err:
        load_audio(path)
    assert str(path) in str(err.value)


def test_missing_zero_length_nan_and_silent_inputs_are_rejected(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="zero length"):
        load_audio(tmp_path / "zero.wav")
    nan = tone(440, 0.1, 16000)
    nan[10] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")
    sf.write(tmp_path / "silent.wav", np.zeros(1600, np.float32), 16000)
    with pytest.raises(AudioError, match="silent"):
        load_audio(tmp_path / "silent.wav")
    assert load_audio(tmp_path / "silent.wav", allow_silent=True)[0].shape == (1600,)


def test_truncated_flac_is_reported_as_corrupt(tmp_path):
    sf.write(tmp_path / "ok.flac", tone(300, 2.0, 16000), 16000)
    data = (tmp_path / "ok.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[:200])
    with pytest.raises(AudioError) as err:
        load_audio(tmp_path / "cut.flac")
    assert "cut.flac" in str(err.value)


def test_save_is_atomic_and_round_trips(tmp_path):
    wav = tone(440, 0.25, 16000)
    save_audio(tmp_path / "sub" / "o.flac", wav, 16000)
    back, rate = load_audio(tmp_path / "sub" / "o.flac")
    assert rate == 16000 and np.abs(back - wav).max() < 1e-4
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["o.flac"]
    with pytest.raises(AudioError, match="cannot write"):
        save_audio(tmp_path / "o.xyz", wav, 16000)


def test_blocks_cover_the_file_exactly(tmp_path):
    wav = tone(440, 1.0, 8000)
    sf.write(tmp_path / "b.wav", wav, 8000, subtype="FLOAT")
    blocks = list(iter_blocks(tmp_path / "b.wav", 3000))
    assert [len(b) for b in blocks] == [3000, 3000, 2000]
    np.testing.assert_allclose(np.concatenate(blocks), wav, atol=1e-7)
