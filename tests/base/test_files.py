"""The shared file helpers: an atomic write that never leaves a half file, a streamed content hash, and the
tolerant metrics reader training, reports and benchmarks share."""

import hashlib
import json
import logging

import pytest

from tqse.files import atomic_write, file_sha256, read_metrics


def test_atomic_write_replaces_the_target_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "rows.jsonl"
    with atomic_write(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".rows.jsonl.tmp")
        tmp.write_text("new\n")
        assert not target.exists()  # nothing visible until the rename
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["rows.jsonl"]


def test_a_failed_atomic_write_keeps_the_old_target_and_removes_the_temporary_file(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(ZeroDivisionError):
        with atomic_write(target) as tmp:
            tmp.write_text("half")
            1 / 0
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_atomic_write_suffix_ends_the_temporary_name(tmp_path):
    import numpy as np

    target = tmp_path / "rows.npy"
    with atomic_write(target, suffix=".npy") as tmp:
        assert tmp.suffix == ".npy"
        np.save(tmp, np.arange(3))  # numpy would append .npy to a name without it
    assert np.load(target).tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["rows.npy"]


def test_atomic_write_of_a_folder_replaces_the_old_folder_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic_write(target, folder=True) as tmp:
        assert tmp.is_dir() and not list(tmp.iterdir()) and tmp.name.startswith(".model.tmp")
        (tmp / "new.txt").write_text("new")
        assert (target / "old.txt").exists()  # nothing visible until the rename
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_failed_folder_write_keeps_the_old_folder_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(ZeroDivisionError):
        with atomic_write(target, folder=True) as tmp:
            (tmp / "half.txt").write_text("half")
            1 / 0
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_temporary_files_get_the_permissions_of_ordinary_files(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
        with atomic_write(tmp_path / "folder", folder=True) as tmp:
            pass
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "folder").stat().st_mode & 0o777 == 0o755


def test_file_sha256_equals_hashlib_on_the_whole_content_across_chunks(tmp_path):
    data = bytes(range(256)) * 1000
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert file_sha256(path, chunk=4096) == hashlib.sha256(data).hexdigest()


def test_read_metrics_keeps_whole_step_rows_and_names_each_damaged_line(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    rows = [{"step": 25, "loss": -3.5}, {"step": 50, "val_si_sdri": 2.25}]
    # A kill mid-write leaves a cut last line; a row without an integer step is not a metrics row.
    path.write_text(json.dumps(rows[0]) + "\n\n" + json.dumps({"step": "x"}) + "\n" + json.dumps(rows[1])
                    + "\n" + json.dumps(rows[1])[:9], encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="tqse.files"):
        assert read_metrics(path) == rows
    assert [r.getMessage().split(": ")[0] for r in caplog.records] == [f"{path}:3", f"{path}:5"]


def test_read_metrics_of_a_run_that_has_not_logged_yet_is_empty(tmp_path):
    assert read_metrics(tmp_path / "metrics.jsonl") == []
