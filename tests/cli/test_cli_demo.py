"""``leadscore demo``: leadscore's own generator and the leadforge simulation, kept small."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from cli_helpers import by_id, export_csv, ok, rescored, summaries, table, user_error

from leadscore.ingest.leadforge import read_bundle


def test_demo_with_the_sample_generator(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    out = ok("demo", "--dir", folder, "--leads", "50", "--seed", "3")

    # 50 leads and 20 events per lead, all valid; one rescore at the end of the sample period.
    leads, events = summaries(out)
    assert (leads["read"], leads["loaded"], leads["rejected"]) == (50, 50, 0)
    assert (events["read"], events["loaded"], events["duplicates"], events["rejected"]) == (1000, 1000, 0, 0)
    assert rescored(out)["leads"] == 50
    assert rescored(out)["events"] == 1000
    shown = next(t for t in ("hot leads · b2b_saas@1", "top leads · b2b_saas@1") if t in out)
    first = table(out, shown).rows[0][0]
    assert "\nwhy lead-" in out
    assert out.splitlines()[-1].startswith("demo ready in ")
    assert f"leadscore -p {folder} top --tier warm" in out
    assert sorted(p.name for p in folder.iterdir()) == [".leadscore-demo", "leadscore.db", "leadscore.yaml", "models"]

    rows = export_csv(folder)
    assert len(rows) == 50
    assert first in {r["email"] for r in rows}
    assert len({r["b2b_saas_total"] for r in rows}) > 10  # real, varied scores

    # Again in the same folder: the demo is built again from scratch, to the same scores.
    ok("demo", "--dir", folder, "--leads", "50", "--seed", "3")
    assert export_csv(folder) == rows
    # A project that is not a demo's is never overwritten.
    ok("init", tmp_path / "mine")
    ok("-p", tmp_path / "mine", "rescore")
    assert user_error("demo", "--dir", tmp_path / "mine") == (
        f"{tmp_path / 'mine'} holds a database that is not a demo's: pass --dir NEW_FOLDER"
    )
    # The same seed gives the same scores; another seed other scores.
    ok("demo", "--dir", tmp_path / "again", "--leads", "50", "--seed", "3")
    assert export_csv(tmp_path / "again") == rows
    ok("demo", "--dir", tmp_path / "other", "--leads", "50", "--seed", "4")
    assert export_csv(tmp_path / "other") != rows


def test_demo_needs_at_least_50_leads(tmp_path: Path) -> None:
    from cli_helpers import invoke

    result = invoke("demo", "--dir", tmp_path / "demo", "--leads", "10")
    assert result.exit_code == 2
    assert "Invalid value for '--leads'" in result.stderr
    assert not (tmp_path / "demo").exists()


def test_demo_with_leadforge(tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    folder = tmp_path / "demo"
    started = time.perf_counter()
    out = ok("demo", "--dir", folder, "--leadforge", "--leads", "150")
    record_property("demo_leadforge_150_seconds", round(time.perf_counter() - started, 2))

    assert out.startswith(f"simulating 150 leads with leadforge (seed 42) into {folder / 'bundle'} ...\n")
    bundle = read_bundle(folder / "bundle")
    lead_ids = [lead.id for lead in bundle.leads()]
    n_events = sum(1 for _ in bundle.events())
    assert len(lead_ids) == 150
    leads, events = summaries(out)
    assert (leads["read"], leads["rejected"]) == (len(bundle.accounts) + 150, 0)
    assert (events["read"], events["loaded"], events["rejected"]) == (n_events, n_events, 0)
    assert rescored(out)["events"] == n_events
    assert "hot leads · leadforge_procurement@1" in out

    rows = by_id(export_csv(folder))
    assert list(next(iter(rows.values())))[2:4] == ["leadforge_procurement_total", "leadforge_procurement_fit"]
    assert "b2b_saas_total" in next(iter(rows.values()))
    assert all(row["leadforge_procurement_total"] and row["b2b_saas_total"] for row in rows.values())
