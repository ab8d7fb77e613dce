"""Reading leadforge bundles: counts against the Parquet tables, stable ids, UTC days, no leaks, rejects."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from leadscore.engine.compiled import free_mail_domains
from leadscore.ingest import leadforge
from leadscore.ingest.errors import IngestError
from leadscore.ingest.leadforge import generate_bundle, read_bundle, read_labels
from leadscore.ingest.leadforge_convert import band_value, synthetic_email
from leadscore.ingest.outcomes import read_leadforge_outcomes
from leadscore.ingest.records import EventRecord, LeadRecord


def generate_small(out: Path, exposure_mode: str = "student_public") -> Path:
    """300 leads over 120 accounts and 400 contacts: about 0.5 s (the recipe's default 1,500 accounts
    and 4,200 contacts would take about 2 s whatever the number of leads)."""
    return generate_bundle(out, 300, 7, n_accounts=120, n_contacts=400, exposure_mode=exposure_mode)


#: Columns that carry the outcome; none may reach a lead field or an event property.
LEAKS = frozenset(
    {
        "stage",
        "total_touches_all",
        "converted_within_90_days",
        "conversion_timestamp",
        "current_stage",
        "is_sql",
        "close_outcome",
        "closed_at",
        "customer_id",
        "plan_name",
    }
)


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_small(tmp_path_factory.mktemp("leadforge") / "public")


@pytest.fixture(scope="session")
def instructor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same world in research_instructor mode: full 90-day tables with the outcome columns."""
    return generate_small(tmp_path_factory.mktemp("leadforge") / "instructor", "research_instructor")


def table(root: Path, name: str) -> pa.Table:
    return pq.read_table(root / "tables" / f"{name}.parquet")


def all_events(root: Path, **options: Any) -> list[EventRecord]:
    return list(read_bundle(root, **options).events())


def test_counts_match_the_tables(bundle_dir: Path) -> None:
    bundle = read_bundle(bundle_dir)
    leads = list(bundle.leads())
    events = list(bundle.events())

    assert bundle.rejects == []
    assert len(bundle.accounts) == table(bundle_dir, "accounts").num_rows
    assert len(leads) == table(bundle_dir, "leads").num_rows == 300
    sessions = table(bundle_dir, "sessions").to_pydict()
    by_kind = Counter(event.id.split(":")[1] for event in events)
    assert by_kind["touch"] == table(bundle_dir, "touches").num_rows
    assert by_kind["activity"] == table(bundle_dir, "sales_activities").num_rows
    counted = sum(sessions["pricing_page_views"]) + sum(sessions["demo_page_views"])
    assert by_kind["session"] == len(sessions["session_id"]) + counted
    assert sum(1 for event in events if event.id.count(":") == 2 and event.id.startswith("lf:session:")) == len(
        sessions["session_id"]
    )


def test_ids_are_stable_and_unique(bundle_dir: Path) -> None:
    first = [event.id for event in all_events(bundle_dir)]
    again = [event.id for event in all_events(bundle_dir, batch_size=7)]
    assert first == again
    assert len(set(first)) == len(first)
    touch_ids = table(bundle_dir, "touches").column("touch_id").to_pylist()
    assert [i for i in first if i.startswith("lf:touch:")] == [f"lf:touch:{t}" for t in touch_ids]
    leads = [lead.id for lead in read_bundle(bundle_dir).leads()]
    assert leads == table(bundle_dir, "leads").column("lead_id").to_pylist()


def test_small_batches_give_the_same_records(bundle_dir: Path) -> None:
    whole, chunked = read_bundle(bundle_dir), read_bundle(bundle_dir, batch_size=7)
    assert list(whole.leads()) == list(chunked.leads())
    assert list(whole.events()) == list(chunked.events())
    assert whole.accounts == chunked.accounts


def test_times_are_utc_midnights(bundle_dir: Path) -> None:
    bundle = read_bundle(bundle_dir)
    moments = [lead.created_at for lead in bundle.leads()] + [event.occurred_at for event in bundle.events()]
    for moment in moments:
        assert moment is not None
        assert moment.tzinfo is UTC
        assert moment.timetz() == time(0, tzinfo=UTC)
    created = table(bundle_dir, "leads").column("lead_created_at").to_pylist()
    assert [lead.created_at for lead in bundle.leads()] == [
        datetime.fromisoformat(day).replace(tzinfo=UTC) for day in created
    ]


def test_lead_fields_come_from_contact_and_account(bundle_dir: Path) -> None:
    contacts = {row["contact_id"]: row for row in table(bundle_dir, "contacts").to_pylist()}
    accounts = {row["account_id"]: row for row in table(bundle_dir, "accounts").to_pylist()}
    free_mail = free_mail_domains()
    domain_types: Counter[str] = Counter()
    for lead in read_bundle(bundle_dir).leads():
        contact = contacts[lead.fields["contact_id"]]
        account = accounts[lead.account_id or ""]
        assert lead.fields["title"] == contact["job_title"]
        assert lead.fields["industry"] == account["industry"].replace("_", " ")
        assert lead.fields["country"] == {"US": "United States", "UK": "United Kingdom"}[account["region"]]
        assert lead.fields["employee_band"] == account["employee_band"]
        assert lead.fields["company_size"] == band_value(account["employee_band"])
        assert lead.email == lead.fields["email"]
        domain = (lead.email or "").rsplit("@", 1)[1]
        personal = contact["email_domain_type"] == "personal"
        assert (domain in free_mail) is personal
        assert (
            personal or domain == lead.fields["company_domain"] == f"{account['account_id'].replace('_', '-')}.example"
        )
        domain_types[contact["email_domain_type"]] += 1
    assert domain_types["personal"] > 0 and domain_types["corporate"] > 0


def test_event_types_follow_the_mapping(bundle_dir: Path) -> None:
    expected = {"email": "email_open", "webinar": "webinar_signup", "content_download": "content_download"}
    expected |= {"linkedin_message": "social", "call": "call"}
    urls = {"website": "/", "pricing_page": "/pricing", "demo_page": "/demo"}
    for event in all_events(bundle_dir):
        if event.id.startswith("lf:touch:"):
            assert event.type == expected[event.properties["touch_type"]]
            assert event.properties["touch_channel"]
        elif event.id.startswith("lf:activity:"):
            assert event.type == "sales_activity"
            assert {"activity_type", "activity_outcome", "rep_id"} <= event.properties.keys()
        elif event.id.count(":") == 2:
            assert event.type == "page_view"
            assert event.properties["url"] == urls[event.properties["session_type"]]
        else:
            assert event.type == "page_view"
            assert (
                event.properties["url"]
                == {"pricing_page_views": "/pricing", "demo_page_views": "/demo"}[event.properties["counted_in"]]
            )


def test_no_outcome_column_is_read(instructor_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requested: list[str] = []
    original = leadforge.iter_rows

    def spy(file: Path, required: Any, optional: Any = (), **options: Any) -> Iterator[tuple[int, dict[str, Any]]]:
        requested.extend([*required, *optional])
        return original(file, required, optional, **options)

    monkeypatch.setattr(leadforge, "iter_rows", spy)
    bundle = read_bundle(instructor_dir, include_opportunities=True, full_horizon=True)
    leads, events = list(bundle.leads()), list(bundle.events())

    assert not LEAKS & set(requested)
    for lead in leads:
        assert not LEAKS & lead.fields.keys()
    for event in events:
        assert not LEAKS & event.properties.keys()


def test_instructor_bundle_is_cut_at_the_snapshot(bundle_dir: Path, instructor_dir: Path) -> None:
    public = [event.id for event in all_events(bundle_dir)]
    bundle = read_bundle(instructor_dir)
    cut = [event.id for event in bundle.events()]
    assert cut == public
    assert bundle.held_back > 0
    full = all_events(instructor_dir, full_horizon=True)
    assert len(full) == len(cut) + bundle.held_back
    created = {lead.id: lead.created_at for lead in bundle.leads()}
    kept = set(cut)
    for event in full:
        after_snapshot = (event.occurred_at - created[event.lead_id]).days > 30  # type: ignore[operator]
        assert after_snapshot is (event.id not in kept)


def test_opportunities_are_opt_in(bundle_dir: Path) -> None:
    default = all_events(bundle_dir)
    with_opportunities = all_events(bundle_dir, include_opportunities=True)
    created = [event for event in with_opportunities if event.type == "opportunity_created"]
    assert not any(event.type == "opportunity_created" for event in default)
    assert len(created) == table(bundle_dir, "opportunities").num_rows
    assert all(event.properties.keys() <= {"estimated_acv"} for event in created)


def test_labels_are_separate_from_features(bundle_dir: Path) -> None:
    labels = read_labels(bundle_dir)
    lead_ids = {lead.id for lead in read_bundle(bundle_dir).leads()}
    assert labels.keys() == lead_ids
    assert all(isinstance(value, bool) for value in labels.values())
    assert 0 < sum(labels.values()) < len(labels)
    test_only = read_labels(bundle_dir, ["test"])
    assert len(test_only) == pq.read_metadata(bundle_dir / "tasks/converted_within_90_days/test.parquet").num_rows
    assert test_only.items() <= labels.items()


def _rewrite(root: Path, name: str, changes: dict[int, dict[str, Any]], extra: Sequence[dict[str, Any]] = ()) -> None:
    path = root / "tables" / f"{name}.parquet"
    original = pq.read_table(path)
    rows = original.to_pylist()
    for index, change in changes.items():
        rows[index].update(change)
    pq.write_table(pa.Table.from_pylist([*rows, *extra], schema=original.schema), path)


@pytest.fixture
def corrupted(bundle_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "corrupted"
    shutil.copytree(bundle_dir, root)
    leads = table(root, "leads").to_pylist()
    _rewrite(root, "accounts", {0: {"employee_band": "lots"}})
    _rewrite(root, "leads", {1: {"contact_id": "cnt_missing"}, 2: {"lead_created_at": "someday"}}, [leads[3]])
    _rewrite(
        root,
        "touches",
        {0: {"lead_id": None}, 1: {"lead_id": "lead_999999"}, 2: {"touch_timestamp": "31/01/2024"}},
    )
    _rewrite(root, "sessions", {0: {"pricing_page_views": -1}})
    return root


def test_bad_rows_become_rejects(corrupted: Path, bundle_dir: Path) -> None:
    bundle = read_bundle(corrupted)
    leads, events = list(bundle.leads()), list(bundle.events())
    found = {(Path(r.source).name, r.line, r.field) for r in bundle.rejects if r.field != "account_id"}
    # Leads of the rejected account are rejected too, naming it.
    orphaned = [r for r in bundle.rejects if r.field == "account_id"]

    assert found == {
        ("accounts.parquet", 1, "employee_band"),
        ("leads.parquet", 2, "contact_id"),
        ("leads.parquet", 3, "lead_created_at"),
        ("leads.parquet", 301, "lead_id"),
        ("touches.parquet", 1, "lead_id"),
        ("touches.parquet", 2, "lead_id"),
        ("touches.parquet", 3, "touch_timestamp"),
        ("sessions.parquet", 1, "pricing_page_views"),
    }
    reasons = {str(reject) for reject in bundle.rejects}
    assert any("lead 'lead_999999' is not in leads.parquet" in reason for reason in reasons)
    assert any("appears more than once" in reason for reason in reasons)
    assert all(reject.raw for reject in bundle.rejects)
    assert orphaned and all("accounts.parquet" in r.reason and r.raw["account_id"] == "acct_000001" for r in orphaned)
    # Every row is either a record or a reject.
    assert len(leads) + 3 + len(orphaned) == 301
    assert len(events) < len(all_events(bundle_dir))
    # Reading again replaces the rejects instead of adding to them.
    list(bundle.events())
    assert len(bundle.rejects) == len(found) + len(orphaned)


def test_unreadable_bundles_raise(bundle_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"manifest\.json is missing"):
        read_bundle(tmp_path)
    root = tmp_path / "broken"
    shutil.copytree(bundle_dir, root)
    table_without_type = table(root, "touches").drop_columns(["touch_type"])
    pq.write_table(table_without_type, root / "tables" / "touches.parquet")
    with pytest.raises(IngestError, match=r"missing column.*touch_type"):
        list(read_bundle(root).events())
    (root / "tables" / "leads.parquet").write_bytes(b"not parquet")
    with pytest.raises(IngestError, match="cannot read the Parquet file"):
        read_bundle(root)


@pytest.mark.parametrize(
    ("band", "value"),
    [("200-499", 350), ("1000-1999", 1500), ("2000+", 3000), ("$10M-$50M", 30_000_000), ("$200M+", 300_000_000)],
)
def test_band_values(band: str, value: int) -> None:
    assert band_value(band) == value


def test_band_value_refuses_text() -> None:
    with pytest.raises(ValueError, match="expected a band"):
        band_value("lots")


def test_synthetic_emails_are_deterministic() -> None:
    personal = synthetic_email("cnt_000003", "acct_000293", "personal")
    assert personal == synthetic_email("cnt_000003", "acct_000293", "personal")
    assert personal.rsplit("@", 1)[1] in free_mail_domains()
    assert synthetic_email("cnt_000003", "acct_000293", "corporate") == "cnt_000003@acct-000293.example"
    assert synthetic_email("cnt_000003", "acct_000293", "unknown") == "cnt_000003@acct-000293.example"


def test_records_are_leadscore_records(bundle_dir: Path) -> None:
    bundle = read_bundle(bundle_dir)
    lead = next(bundle.leads())
    assert isinstance(lead, LeadRecord)
    assert lead.source.endswith("leads.parquet") and lead.line == 1
    assert {"title", "seniority", "department", "company", "industry", "company_size", "country"} <= lead.fields.keys()
    assert lead.fields["lead_source"] in {"inbound_marketing", "sdr_outbound", "partner_referral"}


def test_outcomes_come_from_labels_and_closed_opportunities(bundle_dir: Path, instructor_dir: Path) -> None:
    labels = read_labels(bundle_dir)
    public = read_leadforge_outcomes(bundle_dir)
    assert {(o.lead_id, o.outcome) for o in public if o.occurred_at is None} >= {
        (lead, "converted" if won else "lost") for lead, won in labels.items()
    }
    stages = dict(zip(*(table(bundle_dir, "opportunities").column(c).to_pylist() for c in ("lead_id", "stage")),
                      strict=True))  # fmt: skip
    from_opportunities = [o for o in public if o.source.endswith("opportunities.parquet")]
    closed = {lead for lead, stage in stages.items() if stage in ("closed_won", "closed_lost")}
    assert {o.lead_id for o in from_opportunities} == closed
    for o in from_opportunities:
        assert o.lead_id is not None
        assert o.outcome == ("converted" if stages[o.lead_id] == "closed_won" else "lost")
        assert o.outcome == ("converted" if labels[o.lead_id] else "lost")  # the stage is the label, untimed
        assert o.id in {x.id for x in public if not x.source.endswith("opportunities.parquet")}
    timed = [o for o in read_leadforge_outcomes(instructor_dir) if o.occurred_at is not None]
    assert timed and all(o.occurred_at.tzinfo is not None for o in timed if o.occurred_at)
