"""The code base stays ruff-clean (rules in pyproject.toml)."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_ruff_clean():
    pytest.importorskip("ruff", reason="ruff is not installed (pip install -e '.[test]')")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_python_version():
    assert sys.version_info >= (3, 10)
