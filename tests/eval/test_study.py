"""The comparison rule docs/RESULTS.md declares (tqse.workflows.study.compare): a difference between two rows is real
only when it exceeds the sample sd over seeds of both rows, and a row needs two seeds to have a spread."""

from tqse.workflows.study import compare, comparison_table


def runs(**rows: list[float]) -> dict:
    return {f"{row}-s{i}": {"test-caption": {"metrics": {"si_sdri": v}}} for row, values in rows.items()
            for i, v in enumerate(values)}


def test_a_difference_is_real_only_beyond_the_spread_of_both_rows():
    result = compare(runs(A0=[3.0, 3.2, 3.4], A3=[2.0, 2.1, 2.2]), "A0", "A3", "test-caption")
    assert result["real"] and round(result["diff"], 2) == -1.1
    # 0.10 dB apart with spreads 0.31 and 0.17 (issue 24's A7 vs A8): not an ordering
    close = compare(runs(A7=[2.69, 3.11], A8=[3.12, 2.88]), "A7", "A8", "test-caption")
    assert not close["real"]
    assert not compare(runs(A0=[3.0], A3=[1.0]), "A0", "A3", "test-caption")["real"]  # one seed: no spread
    assert compare(runs(A0=[3.0]), "A0", "A9", "test-caption") is None


def test_the_comparison_table_marks_each_cell():
    table = comparison_table(runs(A0=[3.0, 3.2], A3=[2.0, 2.1]), [("A0", "A3"), ("A0", "A9")], ["test-caption"])
    assert "| A3 - A0 | -1.05 (real) |" in table and "A9" not in table
    close = comparison_table(runs(A7=[2.69, 3.11], A8=[3.12, 2.88]), [("A7", "A8")], ["test-caption"])
    assert "| A8 - A7 | +0.10 (within spread) |" in close
    # one seed has no sample sd: the cell says so instead of calling a 2 dB gap "within spread"
    single = comparison_table(runs(A0=[3.0, 3.2], A3=[1.0]), [("A0", "A3")], ["test-caption"])
    assert "| A3 - A0 | -2.10 (one seed) |" in single
