"""``tqse serve``: a local web page and JSON API over one :class:`~tqse.extract.api.Extractor` (docs/SERVE.md).

    spectrogram.py  numpy-only spectrogram PNGs on one shared colour scale
    examples.py     bundled example mixtures (the demo set, CC0 fixture pairs) and audio queries
    jobs.py         one worker thread + a bounded queue; per-job temporary folders
    service.py      model loading, upload decoding and validation, extraction through Extractor.extract
    server.py       the HTTP layer (standard library), routes and error handling
"""
