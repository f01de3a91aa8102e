"""benchmarks/efficiency_curves.py: learning curves against CPU minutes, and one model's runs joined into one
curve with --offset (a run continued from another model's weights starts where that model's training ended)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir()
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 9', encoding="utf-8")
    return folder


def _table(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "efficiency_curves.py"), *args],
                          capture_output=True, text=True, timeout=120)


def test_a_continued_run_is_drawn_after_its_parents_minutes(tmp_path):
    first = _run(tmp_path / "v0", [{"step": 100, "train_seconds": 60.0}, {"step": 100, "val_si_sdri": 1.5}])
    cont = _run(tmp_path / "v1", [{"step": 200, "train_seconds": 120.0},
                                  {"step": 200, "val_si_sdri": 2.5, "val_caption_si_sdri": 0.5}])
    out = tmp_path / "curve.png"
    result = _table(str(first), str(cont), "--offset", "0", "30", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith("v")}
    # v0: 1 CPU minute, template +1.50, no caption logged, 100 steps/min; v1: 30 + 2 minutes.
    assert rows["v0"] == ["100", "1.0", "1.50", "-", "1.67"]
    assert rows["v1"] == ["200", "32.0", "2.50", "0.50", "1.67"]
    assert out.stat().st_size > 1000 and out.read_bytes()[:4] == b"\x89PNG"


def test_offsets_must_match_the_runs(tmp_path):
    run = _run(tmp_path / "v0", [{"step": 100, "train_seconds": 60.0}, {"step": 100, "val_si_sdri": 1.5}])
    result = _table(str(run), "--offset", "0", "30")
    assert result.returncode == 2 and "one per run" in result.stderr
