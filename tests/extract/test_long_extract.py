"""A one-hour file extracts with bounded memory, streamed from and to disk (slow: about a minute or two)."""

from pathlib import Path

import pytest

from helpers import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "long_extract.py"


@pytest.mark.slow
def test_one_hour_file_extracts_under_2_gb():
    module = load_script(SCRIPT)
    result = module.measure(minutes=60, model="tiny", rate=16000)
    assert result["same_length"] and result["same_rate"]
    assert result["peak_rss_gb"] < 2.0, result


def test_streaming_memory_does_not_grow_with_length(tmp_path):
    """One minute vs four minutes of input: peak memory of the streaming path stays flat."""
    import tracemalloc

    import numpy as np
    import soundfile as sf

    from tqse import Extractor
    from tqse.workflows.bench import random_model_dir

    extractor = Extractor.from_pretrained(random_model_dir(tmp_path / "m"), device="cpu")
    peaks = []
    for minutes in (1, 4):
        path = tmp_path / f"{minutes}.wav"
        sf.write(path, (0.1 * np.random.default_rng(0).standard_normal(minutes * 60 * 8000)).astype(np.float32), 8000)
        tracemalloc.start()
        extractor.extract_file(path, tmp_path / f"{minutes}_out.wav", text="x", chunk_seconds=10, block_seconds=20)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.3 * peaks[0], peaks
