"""The README's Python examples run, and its quickstart is what CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_python_examples_run(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code = compile(_blocks("python")[index], f"README.md python block {index}", "exec")
    namespace: dict[str, object] = {}
    exec(code, namespace)  # our own README, not user input


def test_quickstart_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    lines = [line for line in quickstart.splitlines() if line.strip()]
    assert len(lines) == 2
    assert "leadscore demo" in lines[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install, run = (part.strip() for part in lines[1].split("&&"))
    assert install.replace("pip install", "pip install -q") in ci
    assert re.search(rf"^{re.escape(run)}$", ci, flags=re.MULTILINE)
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_yaml_example_is_a_valid_model() -> None:
    from leadscore.model import loads_model

    (block,) = _blocks("yaml")
    model = loads_model(block, "README.md")
    assert model.name == "b2b_saas"


def test_the_x_education_commands_run_as_written(tmp_path: Path) -> None:
    shared = ROOT.parent / "shared" / "datasets" / "x_education" / "Leads.csv"
    if not shared.exists():
        pytest.skip(f"the X Education dataset is not at {shared}")
    block = README.split("### Real data", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "read 9240, loaded 9240, updated 0, duplicates 0, rejected 0" in run.stdout
    assert "hot" in run.stdout
