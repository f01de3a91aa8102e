"""The page extracts what the API extracts: ``tqse serve`` runs :meth:`tqse.Extractor.extract` (the extract
package's streaming engine), not a separation loop of its own (issue 26), so a mixture and a query give the
same sound on the page, in Python and from ``tqse extract``."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tqse.extract import Extractor
from tqse.serve.service import DecodedRequest, ExtractService, ServeConfig


def as_pcm16(wav: np.ndarray, rate: int, path) -> np.ndarray:
    sf.write(str(path), wav, rate, subtype="PCM_16", format="WAV")
    return sf.read(str(path), dtype="int16")[0]


@pytest.mark.parametrize("level", [0.2, 3.0], ids=["ordinary", "beyond-full-scale"])  # a float WAV can peak > 1
def test_served_stems_are_the_api_extraction_bit_for_bit_with_progress_per_chunk(tiny_model, tmp_path, level):
    rate = 44100  # not the model's rate, stereo, several chunks: resampling, batching and cross-fades all run
    mixture = (level * np.random.default_rng(0).standard_normal((int(rate * 5.5), 2))).astype(np.float32)
    service = ExtractService(ServeConfig(device="cpu", chunk_seconds=2.0), model_dir=tiny_model)
    steps: list[float] = []
    try:
        service.process(DecodedRequest(mixture, rate, text="a bell", query_label="a bell"), tmp_path, steps.append)
    finally:
        service.close()

    extracted, residual = Extractor.from_pretrained(tiny_model, device="cpu").extract(
        mixture, rate, text="a bell", layout="TC", residual=True, chunk_seconds=2.0)
    stems = {"mixture": mixture, "extracted": extracted, "residual": residual}
    peak = max(float(np.abs(x).max()) for x in stems.values())
    gain = 1.0 if peak <= 1.0 else 0.99 / peak  # the page's one gain for all three stems
    for name, wav in stems.items():
        served = sf.read(str(tmp_path / f"{name}.wav"), dtype="int16")[0]
        np.testing.assert_array_equal(served, as_pcm16(wav * gain, rate, tmp_path / "expected.wav"), err_msg=name)
    assert len(steps) >= 4 and steps == sorted(steps) and steps[-1] == 1.0  # a step per 2-s block, then done


def test_api_progress_and_blocks_leave_the_result_unchanged(tiny_model):
    extractor = Extractor.from_pretrained(tiny_model, device="cpu")
    mixture = (0.1 * np.random.default_rng(1).standard_normal((2, 16000 * 3))).astype(np.float32)
    seen: list[float] = []
    whole = extractor.extract(mixture, 16000, text="a dog", chunk_seconds=1.0)
    blocked = extractor.extract(mixture, 16000, text="a dog", chunk_seconds=1.0, block_seconds=0.7,
                                progress=seen.append)
    np.testing.assert_array_equal(blocked, whole)
    assert len(seen) == 5 and abs(sum(seen) - 3.0) < 1e-9  # seconds of input per block
