"""User mistakes: exit code 2 and one short ``error:`` message on stderr, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import AS_OF, ok, user_error

BAD_MAPPING = """\
name: my_crm
id: Contact Id
fields:
  Job Title: Job Title
keep_unmaped: true
"""


def test_no_project_in_the_folder(tmp_path: Path) -> None:
    assert user_error("-p", tmp_path, "top") == (
        f"no leadscore.yaml in {tmp_path}: run 'leadscore init {tmp_path}' or pass --project DIR"
    )


def test_project_from_the_current_folder_or_the_environment(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert user_error("top") == "no leadscore.yaml in .: run 'leadscore init .' or pass --project DIR"
    monkeypatch.setenv("LEADSCORE_PROJECT", str(project))
    assert "top 0 leads · b2b_saas@1" in ok("top")
    monkeypatch.chdir(project)
    monkeypatch.delenv("LEADSCORE_PROJECT")
    assert "top 0 leads · b2b_saas@1" in ok("top")


def test_missing_input_file(project: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    assert user_error("-p", project, "ingest", "leads", missing) == f"{missing}: cannot open: No such file or directory"
    assert (
        user_error("-p", project, "ingest", "events", missing) == f"{missing}: cannot open: No such file or directory"
    )


def test_unsupported_file_type(project: Path, tmp_path: Path) -> None:
    text = tmp_path / "leads.txt"
    text.write_text("id,email\n", encoding="utf-8")
    message = user_error("-p", project, "ingest", "leads", text)
    assert message == f"{text}: unsupported file type: expected .csv, .jsonl or .ndjson, optionally gzipped (.gz)"


def test_unknown_model(loaded: Path) -> None:
    assert user_error("-p", loaded, "top", "--model", "nope") == (
        "no model 'nope' in this project: expected one of b2b_saas@1, fit_only@2"
    )


@pytest.mark.parametrize("as_of", ["yesterday", "2026-02-30", "2026-13-01T00:00:00Z", ""])
def test_bad_as_of(project: Path, leads_csv: Path, as_of: str) -> None:
    expected = f"--as-of: expected an ISO-8601 time such as 2026-11-01T09:00:00Z, got {as_of!r}"
    assert user_error("-p", project, "rescore", "--as-of", as_of) == expected
    assert user_error("-p", project, "ingest", "leads", leads_csv, "--as-of", as_of) == expected


def test_bad_mapping_names_file_line_and_field(project: Path, leads_csv: Path, tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(BAD_MAPPING, encoding="utf-8")
    assert user_error("-p", project, "ingest", "leads", leads_csv, "--mapping", mapping).splitlines() == [
        "2 problems in column mapping",
        f"  {mapping}:4:3: fields.Job Title: expected a field name in snake_case (a-z, 0-9, _), got 'Job Title'",
        f"  {mapping}:5:1: keep_unmaped: unknown field 'keep_unmaped'",
    ]
    missing = tmp_path / "nope.yaml"
    assert user_error("-p", project, "ingest", "leads", leads_csv, "--mapping", missing) == (
        f"1 problem in column mapping\n  {missing}:1:1: cannot read file: No such file or directory"
    )


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("mysql://x/y", "mysql"), ("leads.db", "leads.db")],
)
def test_unsupported_database_url(project: Path, url: str, scheme: str) -> None:
    assert user_error("-p", project, "--db", url, "top") == (
        f"unsupported database URL scheme {scheme!r}: expected sqlite:///PATH or postgresql://USER@HOST/DATABASE"
    )


def test_an_unreachable_postgresql_server_is_one_line_without_the_password(project: Path) -> None:
    # Port 9 (discard) has no PostgreSQL server on it: the connection is refused at once.
    message = user_error("-p", project, "--db", "postgresql://me:s3cret@127.0.0.1:9/leads", "top")
    assert message.startswith("cannot connect to postgresql://me:***@127.0.0.1:9/leads: ")
    assert "s3cret" not in message


def test_db_option_overrides_the_project_database(project: Path, leads_csv: Path) -> None:
    ok("-p", project, "--db", "sqlite:///other/scores.db", "ingest", "leads", leads_csv, "--as-of", AS_OF)
    assert (project / "other" / "scores.db").is_file()
    assert not (project / "leadscore.db").exists()
    assert "top 4 leads" in ok("-p", project, "--db", "sqlite:///other/scores.db", "top")
    assert "top 0 leads" in ok("-p", project, "top")


def test_explain_unknown_lead(loaded: Path) -> None:
    assert user_error("-p", loaded, "explain", "ghost@nowhere.io") == "no lead with id or email 'ghost@nowhere.io'"


def test_csv_without_header(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert user_error("-p", project, "ingest", "leads", empty) == (
        f"{empty}: the file is empty: expected a header row with column names"
    )
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n", encoding="utf-8")
    assert user_error("-p", project, "ingest", "events", blank) == (
        f"{blank}: the file is empty: expected a header row with column names"
    )
    # Data where the header should be: the first row is read as column names that mean nothing.
    headless = tmp_path / "headless.csv"
    headless.write_text("L1,ana@acme.io,VP Marketing\n", encoding="utf-8")
    assert user_error("-p", project, "ingest", "leads", headless).startswith(
        f"{headless}: no mapping given and the header matches no preset: ['L1', 'ana@acme.io', 'VP Marketing']."
    )
    events = tmp_path / "events.csv"
    events.write_text("L1,page_view,2026-01-01\n", encoding="utf-8")
    assert user_error("-p", project, "ingest", "events", events) == (
        f"{events}: expected columns lead_id or email, type (or event), occurred_at (or timestamp) for events; "
        "header: ['L1', 'page_view', '2026-01-01']"
    )


def test_events_file_that_is_a_directory(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "events.jsonl"
    folder.mkdir()
    assert user_error("-p", project, "ingest", "events", folder) == f"{folder}: cannot open: Is a directory"


def test_not_utf8(project: Path, tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,email,title\nL9,jo@x.io,Directeur général\n".encode("latin-1"))
    assert user_error("-p", project, "ingest", "leads", latin) == (
        f"{latin}: cannot read the header: not utf-8 text (invalid continuation byte); save the file as UTF-8 "
        "or pass its encoding"
    )


def test_broken_project_config_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "leadscore.yaml"
    (tmp_path / "leadscore.yaml").write_text("database: sqlite:///x.db\nmodels: []\ncolour: red\n", encoding="utf-8")
    assert user_error("-p", tmp_path, "top").splitlines() == [
        "2 problems in project config",
        f"  {config}:2:1: models: List should have at least 1 item after validation, not 0, got []",
        f"  {config}:3:1: colour: unknown field 'colour'",
    ]
    (tmp_path / "leadscore.yaml").write_text("models: [models/gone.yaml]\n", encoding="utf-8")
    assert user_error("-p", tmp_path, "top") == (
        f"1 problem in scoring model\n  {tmp_path / 'models' / 'gone.yaml'}:1:1: cannot read file: "
        "No such file or directory"
    )
    (tmp_path / "leadscore.yaml").write_bytes(b"models: [models/b2b_saas.yaml]\n# caf\xe9\n")
    assert user_error("-p", tmp_path, "top") == (
        f"{tmp_path / 'leadscore.yaml'}:2: not UTF-8 text (invalid continuation byte)"
    )


def test_paths_a_user_cannot_write(tmp_path: Path, project: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("", encoding="utf-8")
    assert user_error("init", a_file) == f"{a_file / 'models'}: Not a directory"
    assert user_error("demo", "--dir", a_file, "--leads", "50") == f"{a_file}: Not a directory"
    assert user_error("-p", project, "export", "-o", tmp_path / "no" / "such" / "dir.csv") == (
        f"{tmp_path / 'no' / 'such' / 'dir.csv'}: No such file or directory"
    )


def test_leadforge_folder_that_is_not_a_bundle(project: Path, tmp_path: Path) -> None:
    assert user_error("-p", project, "import", "leadforge", tmp_path) == (
        f"{tmp_path / 'manifest.json'}: not a leadforge bundle: manifest.json is missing"
    )


def test_brackets_in_paths_are_printed_as_written(project: Path, tmp_path: Path) -> None:
    """Paths are not rich markup: '[/x]' once crashed the CLI with a MarkupError, '[red]' vanished."""
    missing = tmp_path / "[/x]" / "leads.csv"
    assert user_error("-p", project, "ingest", "leads", missing) == f"{missing}: cannot open: No such file or directory"
    folder = tmp_path / "[red]crm"
    folder.mkdir()
    leads = folder / "leads.csv"
    leads.write_text("id,email\nL1,ana@acme.io\n", encoding="utf-8")
    assert ok("-p", project, "ingest", "leads", leads).startswith(f"leads from {leads}: read 1, loaded 1,")


def test_database_file_that_is_not_a_database(project: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n", encoding="utf-8")
    assert str(notes) in user_error("-p", project, "--db", f"sqlite:///{notes}", "top")


def test_a_database_locked_by_another_writer_is_one_line_and_reads_go_on(
    loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from leadscore.store import sqlite_common

    monkeypatch.setattr(sqlite_common, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(loaded / "leadscore.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    holder.execute("DELETE FROM scores")
    try:
        message = user_error("-p", loaded, "rescore", "--as-of", AS_OF)
        # A command that only reads takes no write lock: it reads the last committed scores meanwhile.
        assert ok("-p", loaded, "top").startswith("top 5 leads")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert message.startswith("database: database is locked: another process held the write lock"), message
