"""The CPU figures quoted in the README and the issue notes (2 threads, random weights).

    python benchmarks/cpu.py            # one JSON object per line

Extraction: median seconds to separate 10 s at 32 kHz (batch 1) for `paper`, `resunet30`, `small`, `tiny`.
Training: optimiser steps per second of `tiny` at batch 8 x 4 s. Data: mixtures per second per core from FLAC,
and clips per second per core for the manifest build, shard writing, shard reading and file reading.
"""

from __future__ import annotations

import json
import tempfile

from tqse.workflows.bench import bench_data, bench_extract, bench_train
from tqse.workflows.bench import measure_shard_read


def main() -> None:
    for model in ("paper", "resunet30", "small", "tiny"):
        print(json.dumps(bench_extract(model, seconds=10.0, repeats=3)), flush=True)
    print(json.dumps(bench_train("tiny", batch_size=8, seconds=4.0, steps=5)), flush=True)
    print(json.dumps(bench_data(clip_seconds=10.0, mixtures=60)), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps({"clips_per_s_per_core": measure_shard_read(tmp, n_clips=64, seconds=3.0)}), flush=True)


if __name__ == "__main__":
    main()
