"""Running the ``leadscore`` command in-process and reading what it prints: summaries, tables, exports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typer.testing import CliRunner, Result

from leadscore.cli.main import app

#: The moment the CLI tests score at (the input files are written around it).
AS_OF = "2026-03-01T00:00:00Z"

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
X_EDUCATION_CSV = ROOT.parent / "shared" / "datasets" / "x_education" / "Leads.csv"

_runner = CliRunner()


def invoke(*args: str | Path) -> Result:
    """Runs ``leadscore ARGS``; any exception other than a clean exit is a bug in the CLI, so it fails here."""
    result = _runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"leadscore {' '.join(map(str, args))} raised {result.exception!r}") from result.exception
    return result


def ok(*args: str | Path) -> str:
    """``leadscore ARGS`` must succeed with nothing on stderr; returns stdout."""
    result = invoke(*args)
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stderr == "", result.stderr
    return result.stdout


def user_error(*args: str | Path) -> str:
    """``leadscore ARGS`` must fail as a user mistake: exit 2, nothing on stdout, one ``error:`` message on
    stderr and no traceback. Returns the message without the ``error: `` prefix."""
    result = invoke(*args)
    assert result.exit_code == 2, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.stdout == "", result.stdout
    return check_error_message(result.stderr)


def check_error_message(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert stderr.startswith("error: "), stderr
    assert stderr.count("error:") == 1, stderr
    lines = stderr.rstrip("\n").splitlines()
    header = lines[0]
    if len(lines) > 1:  # a list of problems: "N problems in ...", then one "file:line:column: ..." per line
        count = re.match(r"error: (\d+) problems? in ", header)
        assert count is not None, stderr
        assert len(lines) == 1 + int(count.group(1)), stderr
        assert all(re.match(r"  \S+:\d+:\d+: ", line) for line in lines[1:]), stderr
    assert len(header) < 500, header  # one line; the longest lists the CRM presets a header may match
    return stderr.removeprefix("error: ").rstrip("\n")


# -- summaries -------------------------------------------------------------------------------------------

SUMMARY = re.compile(
    r"^(?P<kind>leads|events) from (?P<source>.+?): read (?P<read>\d+), loaded (?P<loaded>\d+), "
    r"(?:updated (?P<updated>\d+), )?(?:accounts (?P<accounts>\d+), )?duplicates (?P<duplicates>\d+), "
    r"rejected (?P<rejected>\d+); (?:scores changed (?P<changed>\d+)|not scored yet)$",
    re.MULTILINE,
)
RESCORED = re.compile(
    r"^rescored (?P<leads>\d+) leads \((?P<events>\d+) events\) and (?P<accounts>\d+) accounts in .+?; "
    r"(?P<changed>\d+) scores changed, (?P<stage_changes>\d+) stage changes$",
    re.MULTILINE,
)


def summaries(stdout: str) -> list[dict[str, str | int]]:
    """Every ``leads|events from SOURCE: read N, ...`` line, its counts as ints."""
    out: list[dict[str, str | int]] = []
    for match in SUMMARY.finditer(stdout):
        row: dict[str, str | int] = {k: v for k, v in match.groupdict().items() if v is not None}
        out.append({k: int(v) if isinstance(v, str) and v.isdigit() else v for k, v in row.items()})
    return out


def summary(stdout: str) -> dict[str, str | int]:
    found = summaries(stdout)
    assert len(found) == 1, stdout
    return found[0]


def rescored(stdout: str) -> dict[str, int]:
    match = RESCORED.search(stdout)
    assert match is not None, stdout
    return {k: int(v) for k, v in match.groupdict().items()}


# -- rich tables -----------------------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def column(self, name: str) -> list[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def row(self, first: str) -> list[str]:
        found = [row for row in self.rows if row[0] == first]
        assert len(found) == 1, (first, self.rows)
        return found[0]


def _cells(line: str, bar: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip(bar).split(bar)]


def tables(stdout: str) -> list[Table]:
    """The tables rich printed, in order; a cell wrapped over several lines is joined with a space."""
    lines = stdout.splitlines()
    found: list[Table] = []
    current: Table | None = None
    for index, line in enumerate(lines):
        text = line.strip()
        if text.startswith("┏"):
            title = lines[index - 1].strip() if index > 0 else ""
            current = Table(title, [])
            found.append(current)
        elif current is None:
            continue
        elif text.startswith("┃"):
            current.header = _cells(text, "┃")
        elif text.startswith("│"):
            cells = _cells(text, "│")
            if cells[0] == "" and current.rows and any(cells):
                previous = current.rows[-1]
                current.rows[-1] = [f"{p} {c}".strip() for p, c in zip(previous, cells, strict=True)]
            else:
                current.rows.append(cells)
        elif text.startswith("└"):
            current = None
    return found


def table(stdout: str, title_prefix: str) -> Table:
    found = [t for t in tables(stdout) if t.title.startswith(title_prefix)]
    assert len(found) == 1, (title_prefix, [t.title for t in tables(stdout)])
    return found[0]


# -- exports ---------------------------------------------------------------------------------------------


def export_csv(project: Path, *extra: str) -> list[dict[str, str]]:
    """``leadscore export`` to stdout, parsed: one dict per row."""
    text = ok("-p", project, "export", "--format", "csv", *extra)
    return list(csv.DictReader(io.StringIO(text)))


def by_id(rows: Sequence[dict[str, str]]) -> dict[str, dict[str, str]]:
    out = {row["id"]: row for row in rows}
    assert len(out) == len(rows), "an id appears twice in the export"
    return out
