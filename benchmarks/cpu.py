"""The CPU figures quoted in the README and the issue notes (2 threads, random weights).

    python benchmarks/cpu.py            # one JSON object per line

Extraction: median seconds to separate 10 s at 32 kHz (batch 1) for `paper`, `resunet30`, `small`, `tiny`.
Training: optimiser steps per second of `tiny` at batch 8 x 4 s. Data: mixtures per second per core from FLAC.
"""

from __future__ import annotations

import json

from tqse.bench import bench_data, bench_extract, bench_train


def main() -> None:
    for model in ("paper", "resunet30", "small", "tiny"):
        print(json.dumps(bench_extract(model, seconds=10.0, repeats=3)), flush=True)
    print(json.dumps(bench_train("tiny", batch_size=8, seconds=4.0, steps=5)), flush=True)
    print(json.dumps(bench_data(clip_seconds=10.0, mixtures=60)), flush=True)


if __name__ == "__main__":
    main()
