"""Issue 9's Table I study (benchmarks/table1_issue9.py, docs/RESULTS.md) starts every row from the committed warm
start, which is also the text-trained start of issue 24's bias measurement (benchmarks/table1.py --bias)."""

from __future__ import annotations

from pathlib import Path

from helpers import load_script

from tqse.models.model_dir import load_model_dir


def test_the_table1_warm_start_is_the_folder_the_study_starts_from_and_loads():
    root = Path(__file__).resolve().parents[2]
    bench = load_script(root / "benchmarks" / "table1_issue9.py")
    overrides = bench.warm_start(bench.parse_args([]))
    assert overrides[0] == f"train.init_from={root / 'experiments' / 'table1' / 'warm_start'}"
    model, config = load_model_dir(bench.WARM_START)
    assert config["model"] == "tcn" and any("film" in name for name, _ in model.named_modules())
