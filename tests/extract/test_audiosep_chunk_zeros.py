"""AudioSep's chunk_inference returned all zeros for inputs no longer than its 5 s window (anchors §1.6).

Our chunked path must separate such inputs like any other.
"""

import numpy as np

from tqse import Extractor
from helpers import tone


def test_inputs_shorter_than_one_chunk_are_not_returned_as_zeros(tiny_model):
    extractor = Extractor.from_pretrained(tiny_model, device="cpu")
    for seconds in (0.5, 4.9, 5.0):
        wav = tone(440, seconds, 32000)
        out = extractor.extract(wav, 32000, text="a tone", chunk_seconds=5.0, overlap_seconds=1.0)
        assert out.shape == wav.shape and np.abs(out).max() > 1e-4
