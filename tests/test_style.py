"""The code reads one way: ruff's formatter has been applied to every file, and its checks pass."""

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("args", [["format", "--check"], ["check"]], ids=["format", "check"])
def test_ruff_finds_nothing(args):
    result = subprocess.run([sys.executable, "-m", "ruff", *args, "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
