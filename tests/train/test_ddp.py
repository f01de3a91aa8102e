"""Two gloo processes on CPU train the same model as one process on the doubled batch.

Mixtures are a pure function of the global example index and rank r takes the r-th slice of each global
batch, so both runs see identical data; DDP averages gradients, which equals the mean loss over the global
batch. Queries here are deterministic (text, no manipulation) and model dropout is off, because those
random draws are per-rank streams (statistically, not bitwise, equivalent).
"""

import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from tqse.config import load_config
from tqse.train.setup import build_training_model

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ARGS = [str(CONFIGS / "setups" / "fixture.yaml"), "data.use=[ac]", "train.steps=3", "train.batch_size=4",
        "data.segment_seconds=0.5", "model.kwargs.dropout=0.0", "train.warmup_steps=1", "train.lr=1e-3"]


def run(command, run_dir):
    result = subprocess.run(command + ARGS + ["--run-dir", str(run_dir)], capture_output=True, text=True, timeout=300)
    # torchrun's --tee puts each rank's own stderr, prefixed with its rank, into this one: a rank that died in
    # native code says why here, not only its exit code
    assert result.returncode == 0, result.stderr[-6000:]
    return load_file(str(run_dir / "checkpoints" / "last" / "model.safetensors"))


def test_two_process_gloo_run_equals_single_process_on_the_global_batch(tmp_path):
    single = run([sys.executable, "-m", "tqse.train"], tmp_path / "single")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--tee=3",
                "-m", "tqse.train"]
    double = run(torchrun, tmp_path / "ddp")
    assert single.keys() == double.keys()
    # Adam turns tiny gradient differences (summation order across processes) into differences of order
    # lr * steps * 1e-2; 3 steps at lr 1e-3 move weights by ~3e-3, so 2e-4 still pins "the same training".
    for key in single:
        torch.testing.assert_close(single[key], double[key], atol=2e-4, rtol=0)
    torch.manual_seed(0)  # the run's seed: rebuild its initial weights to show training moved them far more
    initial = build_training_model(load_config([ARGS[0]], ARGS[1:]), 32).state_dict()
    assert max((single[k] - initial[k]).abs().max().item() for k in single) > 10 * 2e-4
