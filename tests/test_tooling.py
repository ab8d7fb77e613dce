"""Lint, format and strict typing are part of the suite, so CI enforces them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    result = _run("ruff", "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_tests_and_bench() -> None:
    # Each test folder has its own conftest, so each is checked on its own (mypy wants unique module names).
    folders = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name[0] != ".")
    for target in [*folders, "bench"]:
        result = _run("mypy", "--strict", target)
        assert result.returncode == 0, target + "\n" + result.stdout + result.stderr
    result = _run("mypy", "--strict", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("*.py")))
    assert result.returncode == 0, result.stdout + result.stderr
