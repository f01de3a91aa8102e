"""Peak memory and time of `tqse extract` on a long file, streamed from and to disk.

    python benchmarks/long_extract.py --minutes 60 --model tiny     # prints one JSON object

Writes a noise+tones WAV of the given length, builds a random-weight model directory of the given preset
(speed and memory do not depend on the weights), runs `tqse extract` in a child process and reports its
peak resident memory (ru_maxrss of the child) and wall time.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def write_long_wav(path: Path, minutes: float, rate: int) -> None:
    rng = np.random.default_rng(0)
    block = rate * 60
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=1, subtype="PCM_16") as f:
        for minute in range(int(np.ceil(minutes))):
            n = min(block, int(minutes * block) - minute * block)
            t = np.arange(n) / rate
            f.write((0.05 * rng.standard_normal(n) + 0.2 * np.sin(2 * np.pi * (220 + minute) * t)).astype(np.float32))


def measure(minutes: float = 60.0, model: str = "tiny", rate: int = 16000, chunk_seconds: float = 10.0) -> dict:
    from tqse.workflows.bench import random_model_dir

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_long_wav(tmp / "long.wav", minutes, rate)
        random_model_dir(tmp / "model", preset=model)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sys; from tqse.cli import main; sys.exit(main(sys.argv[1:]))", "extract", str(tmp / "long.wav"), "-q", "a tone",
                        "-o", str(tmp / "out.wav"), "--checkpoint", str(tmp / "model"),
                        "--chunk-seconds", str(chunk_seconds), "--device", "cpu"], check=True)
        elapsed = time.perf_counter() - start
        info_in, info_out = sf.info(str(tmp / "long.wav")), sf.info(str(tmp / "out.wav"))
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"minutes": minutes, "model": model, "input_rate": rate, "peak_rss_gb": round(peak_kib / 2**20, 3),
            "seconds": round(elapsed, 1), "rtf": round(elapsed / (minutes * 60), 4),
            "same_length": info_in.frames == info_out.frames, "same_rate": info_in.samplerate == info_out.samplerate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--rate", type=int, default=16000)
    args = parser.parse_args()
    print(json.dumps(measure(args.minutes, args.model, args.rate)))


if __name__ == "__main__":
    main()
