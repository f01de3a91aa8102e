"""The built wheel installs into a fresh venv and `tqse extract` works from it (issue 11; slow: minutes)."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_wheel.sh"


@pytest.mark.slow
def test_wheel_installs_and_extracts_in_a_fresh_venv():
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=1500,
                            env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "wheel OK" in result.stdout
