import numpy as np
import pytest
import soundfile as sf

from tqse import Extractor
from tqse.audio.io import AudioError
from tqse.errors import CheckpointError, QueryError
from tqse.extract.stream import ChunkedSeparator
from helpers import tone


@pytest.mark.parametrize("length", [1, 50, 100, 101, 999, 2500])
@pytest.mark.parametrize("chunk,overlap", [(100, 20), (100, 0), (64, 50), (0, 0)])
def test_chunked_streaming_of_a_pointwise_separator_is_exact(rng, length, chunk, overlap):
    x = rng.standard_normal((2, length)).astype(np.float32)
    chunker = ChunkedSeparator(lambda seg: 3 * seg, chunk, overlap, channels=2)
    pieces, start = [], 0
    while start < length:
        step = int(rng.integers(1, 400))
        pieces.append(chunker.push(x[:, start:start + step]))
        start += step
    pieces.append(chunker.finish())
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), 3 * x, atol=1e-5)


def test_chunks_cross_fade_instead_of_cutting():
    calls = []
    chunker = ChunkedSeparator(lambda seg: calls.append(seg.shape[1]) or np.full_like(seg, len(calls)), 100, 20)
    out = np.concatenate([chunker.push(np.ones((1, 250), np.float32)), chunker.finish()], axis=1)[0]
    assert calls == [100, 100, 100]  # no chunk shorter than the chunk length; the last is end-aligned
    assert np.all(np.diff(out[70:110]) >= 0) and 1 < out[90] < 2  # a ramp, not a step, between chunks


@pytest.fixture(scope="module")
def extractor(tiny_model):
    return Extractor.from_pretrained(tiny_model, device="cpu")


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_output_keeps_the_input_rate_length_and_channels(extractor, rate):
    mono = tone(300, 1.3, rate)
    out = extractor.extract(mono, rate, text="a bell rings", chunk_seconds=0.5, overlap_seconds=0.1)
    assert out.shape == mono.shape and out.dtype == np.float32
    stereo = np.stack([mono, tone(500, 1.3, rate)], 1)
    assert extractor.extract(stereo, rate, text="a bell").shape == stereo.shape


def test_short_input_is_separated_not_zeroed(extractor):
    short = tone(440, 0.02, 16000)  # shorter than one STFT window at the model rate
    out = extractor.extract(short, 16000, text="a tone")
    assert out.shape == short.shape and np.abs(out).max() > 0


def test_chunking_changes_little_inside_chunks(extractor):
    wav = tone(220, 3.0, 32000) + 0.1 * np.random.default_rng(0).standard_normal(96000).astype(np.float32)
    whole = extractor.extract(wav, 32000, text="hum", chunk_seconds=0)
    chunked = extractor.extract(wav, 32000, text="hum", chunk_seconds=1.0, overlap_seconds=0.25)
    assert whole.shape == chunked.shape
    assert np.corrcoef(whole, chunked)[0, 1] > 0.95


def test_file_streaming_equals_in_memory_extraction(extractor, tmp_path):
    wav = np.stack([tone(330, 2.2, 22050), tone(660, 2.2, 22050)], 1)
    sf.write(tmp_path / "in.flac", wav, 22050)
    extractor.extract_file(tmp_path / "in.flac", tmp_path / "out.flac", text="tone", chunk_seconds=0.8,
                           overlap_seconds=0.2, block_seconds=0.3)
    streamed, rate = sf.read(tmp_path / "out.flac", dtype="float32")
    in_memory = extractor.extract(wav, 22050, text="tone", chunk_seconds=0.8, overlap_seconds=0.2)
    assert rate == 22050 and streamed.shape == wav.shape
    assert np.abs(streamed - in_memory).max() < 1e-3


def test_queries_by_text_audio_or_embedding(extractor, tmp_path):
    wav = tone(440, 1.0, 16000)
    by_text = extractor.extract(wav, 16000, text="a tone")
    embedding = extractor.encoder.embed_text(["a tone"])[0].numpy()
    np.testing.assert_allclose(extractor.extract(wav, 16000, embedding=embedding), by_text, atol=1e-6)
    sf.write(tmp_path / "q.wav", tone(440, 1.0, 16000), 16000)
    assert extractor.extract(wav, 16000, audio_query=str(tmp_path / "q.wav")).shape == wav.shape


def test_bad_queries_and_inputs_are_clear_errors(extractor, tmp_path):
    wav = tone(440, 0.5, 16000)
    with pytest.raises(QueryError, match="empty"):
        extractor.extract(wav, 16000, text="   ")
    with pytest.raises(QueryError, match="exactly one"):
        extractor.extract(wav, 16000)
    with pytest.raises(QueryError, match="dimensions"):
        extractor.extract(wav, 16000, embedding=np.ones(5))
    with pytest.raises(AudioError, match="NaN"):
        extractor.extract(np.full(1000, np.nan, np.float32), 16000, text="x")
    with pytest.raises(AudioError, match="zero length"):
        extractor.extract(np.zeros(0, np.float32), 16000, text="x")
    with pytest.raises(CheckpointError, match="not found"):
        Extractor.from_pretrained(tmp_path / "missing")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        Extractor.from_pretrained(tmp_path / "broken")
