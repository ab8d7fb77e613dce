"""The installed ``leadscore`` console script, run as a user runs it: exit code, stdout and stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import check_error_message, rescored, summaries

SCRIPT = Path(sys.executable).with_name("leadscore")

pytestmark = pytest.mark.skipif(not SCRIPT.is_file(), reason=f"no console script at {SCRIPT}: pip install -e .")


def leadscore(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADSCORE_", "FORCE_COLOR"))}
    return subprocess.run(
        [str(SCRIPT), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_demo(tmp_path: Path) -> None:
    run = leadscore("demo", "--dir", "demo", "--leads", "200", cwd=tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    leads, events = summaries(run.stdout)
    assert (leads["source"], leads["read"], leads["loaded"], leads["rejected"]) == ("sample leads", 200, 200, 0)
    assert (events["source"], events["read"], events["loaded"], events["rejected"]) == ("sample events", 4000, 4000, 0)
    assert rescored(run.stdout)["leads"] == 200
    assert "hot leads · b2b_saas@1" in run.stdout
    assert "\x1b[" not in run.stdout  # no colour codes in a pipe
    assert run.stdout.splitlines()[-1].startswith("demo ready in ")
    assert (tmp_path / "demo" / "leadscore.db").is_file()

    exported = leadscore("-p", "demo", "export", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 1 + 200


def test_user_errors_exit_2_with_one_line_on_stderr(tmp_path: Path) -> None:
    run = leadscore("top", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == "error: no leadscore.yaml in .: run 'leadscore init .' or pass --project DIR\n"

    assert leadscore("init", "acme", cwd=tmp_path).returncode == 0
    (tmp_path / "events.jsonl").mkdir()
    run = leadscore("-p", "acme", "ingest", "events", "events.jsonl", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == "error: events.jsonl: cannot open: Is a directory\n"

    run = leadscore("-p", "acme", "--db", "postgresql://me@127.0.0.1:9/leads", "rescore", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    check_error_message(run.stderr)
    assert "cannot connect to postgresql://me@127.0.0.1:9/leads" in run.stderr


def test_summary_lines_stay_whole_in_a_pipe(tmp_path: Path) -> None:
    """Scripts read the summary: it is one line however long the path, with the path as written."""
    folder = tmp_path / ("a-rather-long-folder-name-for-crm-exports-" * 4) / "[2026] exports"
    folder.mkdir(parents=True)
    leads = folder / "leads.csv"
    leads.write_text("id,email,company_size\nL1,ana@acme.io,50\nL2,bob@acme.io,fifty\n", encoding="utf-8")
    assert leadscore("init", "acme", cwd=tmp_path).returncode == 0

    run = leadscore("-p", "acme", "ingest", "leads", leads, "--as-of", "2026-03-01T00:00:00Z", cwd=tmp_path)

    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.splitlines() == [
        f"leads from {leads}: read 2, loaded 1, updated 0, duplicates 0, rejected 1; scores changed 1",
        f"1 rejected row kept in {leads}.rejects.csv; first: {leads}:3: field 'company_size': expected a number, "
        "got 'fifty'",
    ]
