"""Extraction: any recording in, the queried sound(s) out, with bounded memory. :class:`Extractor` is its face.

Modules, in the order data flows through them:

    options.py  ExtractOptions (every default of extraction) and the checks of all a caller hands in:
                numbers, sample rates, queries, array layouts
    plan.py     ``tqse extract``: inputs (files, folders, globs, stdin) -> output names -> checks -> a run
    stream.py   sources (file, array, stdin) streamed block by block through the separator in cross-faded
                chunks, resampled there and back
    api.py      Extractor: from_pretrained(name) / extract(audio, text=...) / extract_file(in, out, ...)
    output.py   output formats and paths checked before any work; float scratch -> final files, atomically
"""

from __future__ import annotations

from tqse.extract.options import ExtractOptions

__all__ = ["ExtractOptions", "Extractor"]


def __getattr__(name: str):
    # Lazy, like `tqse.Extractor`: the CLI reads ExtractOptions' defaults without importing the model code.
    if name == "Extractor":
        from tqse.extract.api import Extractor

        return Extractor
    raise AttributeError(name)
