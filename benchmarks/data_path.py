"""Training examples per second from the built-in corpus: decoding each crop from FLAC vs preloaded clips.

    python benchmarks/data_path.py [--items 200] [--sample-rate 16000] [--segment 4]

One process, one thread (the data path runs beside the model step on a 2-core machine). Prints examples/s
for ``data.preload=false`` (FLAC decode + resample per crop) and ``data.preload=true`` (int16 slices of
clips decoded once; the store's build time is printed separately).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch


def examples_per_second(dataset, items: int) -> float:
    dataset[0]
    start = time.perf_counter()
    for index in range(1, items + 1):
        dataset[index]
    return items / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--segment", type=float, default=4.0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from tqse.config import DataConfig
    from tqse.data.dataset import MixtureDataset
    from tqse.data.locations import default_training_manifest
    from tqse.data.manifest import read_clips

    clips = read_clips(default_training_manifest(), split="train")
    print(f"{len(clips)} training clips from {default_training_manifest()}")
    for preload in (False, True):
        with tempfile.TemporaryDirectory() as cache:
            config = DataConfig(sample_rate=args.sample_rate, segment_seconds=args.segment, random_lowpass=0.5,
                                preload=preload)
            start = time.perf_counter()
            dataset = MixtureDataset(clips, config, seed=0, preload_cache=cache)
            built = time.perf_counter() - start
            rate = examples_per_second(dataset, args.items)
        extra = f" (store built in {built:.1f} s)" if preload else ""
        print(f"preload={str(preload).lower():5}  {rate:7.1f} examples/s{extra}")


if __name__ == "__main__":
    main()
