"""GPU figures: training step time and peak memory at the paper's batch (32 x 10 s, bf16), extraction time.

    python benchmarks/gpu.py > gpu.jsonl      # on a machine with one CUDA GPU; one JSON object per line

Reference from the engine issue (H200): paper Conformer 75 ms/step, ResUNet30 949 ms/step.
"""

from __future__ import annotations

import json

import torch

from tqse.workflows.bench import bench_extract, bench_train


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/gpu.py needs a CUDA GPU")
    print(json.dumps({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}), flush=True)
    for model in ("paper", "resunet30"):
        print(json.dumps(bench_train(model, batch_size=32, seconds=10.0, steps=10, device="cuda", threads=None,
                                     precision="bf16")), flush=True)
        torch.cuda.empty_cache()
    for model in ("paper", "resunet30", "small"):
        print(json.dumps(bench_extract(model, seconds=10.0, repeats=5, device="cuda", threads=None)), flush=True)


if __name__ == "__main__":
    main()
