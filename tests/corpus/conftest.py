"""Fixtures for corpus tests (helpers live in corpus_fakes.py so no test imports a conftest by name)."""

from pathlib import Path

import pytest

from corpus_fakes import FakeApt


@pytest.fixture
def fake_apt(tmp_path: Path) -> FakeApt:
    return FakeApt(tmp_path / "apt")
