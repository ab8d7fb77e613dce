"""One contract, every backend: the same calls give the same results on SQLite and on PostgreSQL.

PostgreSQL runs against the real server named by LEADSCORE_TEST_POSTGRES_URL, each test in a schema of
its own; without that variable those cases skip, saying why (``.ci/run`` always sets it).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from backends import fresh_url
from leadscore.engine.account import AccountScore
from leadscore.engine.types import Contribution
from leadscore.ingest.records import AccountRecord, EventRecord, LeadRecord, Reject
from leadscore.store.codec import ScoreRow
from leadscore.store.protocol import RunSummary, Store, WriteResult
from leadscore.store.url import open_store

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = 1_800_000_000_000_000


def _event(event_id: str, seq: int, hours: int, kind: str = "page_view", **props: object) -> tuple[int, EventRecord]:
    return seq, EventRecord(event_id, kind, T0 + timedelta(hours=hours), properties=props)


def _row(seq: int, total: int, tier: str = "cold", stage: str = "lead", model: str = "m") -> ScoreRow:
    return (model, seq, NOW, total, 0, total, tier, "A", "1", stage, f"{stage}: reason", "[]", None)


def test_migrations_are_recorded_and_run_once(store_url: str) -> None:
    first = open_store(store_url)
    first.close()
    again = open_store(store_url)
    try:
        assert again.migrate() == []
        assert again.count("leads") == 0
    finally:
        again.close()


def test_leads_upsert_by_id_then_email_and_merge_fields(store: Store) -> None:
    seqs, created, updated = store.upsert_leads(
        [LeadRecord("L1", "ann@acme.io", {"title": "VP Sales"}), LeadRecord("L2", "bob@gmail.com", {})], NOW
    )
    assert (created, updated) == (2, 0)
    again, created, updated = store.upsert_leads([LeadRecord("L1", None, {"country": "US"})], NOW)
    assert (again, created, updated) == ([seqs[0]], 0, 1)
    lead = store.load_leads([seqs[0]])[seqs[0]]
    assert lead.fields == {"title": "VP Sales", "country": "US", "email": "ann@acme.io"}
    assert lead.account is not None and lead.account.id == "domain:acme.io"
    assert store.load_leads([seqs[1]])[seqs[1]].account is None  # a free-mail address makes no account


def test_a_lead_an_event_created_takes_the_crm_id(store: Store) -> None:
    [(seq, lead_id)] = store.resolve_leads([(None, "new@acme.io")], NOW)
    assert lead_id == "new@acme.io"
    seqs, created, updated = store.upsert_leads([LeadRecord("CRM-7", "new@acme.io", {"title": "CTO"})], NOW)
    assert (seqs, created, updated) == ([seq], 0, 1)
    assert store.find_lead("CRM-7") == seq
    assert store.find_lead("NEW@acme.io") == seq
    assert store.find_lead("nobody") is None


def test_two_crm_leads_sharing_an_email_stay_two(store: Store) -> None:
    seqs, created, _ = store.upsert_leads(
        [LeadRecord("A", "shared@acme.io", {}), LeadRecord("B", "shared@acme.io", {})], NOW
    )
    assert created == 2 and seqs[0] != seqs[1]
    assert store.resolve_leads([(None, "shared@acme.io")], NOW) == [(seqs[0], "A")]


def test_resolving_creates_each_unknown_lead_once(store: Store) -> None:
    resolved = store.resolve_leads([("X", None), ("X", None), (None, "y@acme.io"), (None, "y@acme.io")], NOW)
    assert resolved[0] == resolved[1] and resolved[2] == resolved[3]
    assert store.count("leads") == 2


def test_accounts_upsert_and_merge(store: Store) -> None:
    store.upsert_accounts([AccountRecord("ACC", {"industry": "software"}, domain="acme.io")], NOW)
    store.upsert_accounts([AccountRecord("ACC", {"company_size": 40})], NOW)
    assert store.load_accounts(["ACC"])["ACC"].fields == {"industry": "software", "company_size": 40}
    # A lead naming the account fills only what the account lacks.
    store.upsert_leads([LeadRecord("L", "l@acme.io", {"industry": "retail", "company": "Acme"}, account_id="ACC")], NOW)
    assert store.load_accounts(["ACC"])["ACC"].fields == {"industry": "software", "company_size": 40, "company": "Acme"}
    assert store.all_account_ids() == ["ACC"]


def test_events_are_stored_once_by_id(store: Store) -> None:
    [(seq, _)] = store.resolve_leads([("L", None)], NOW)
    first = store.insert_events([_event("e1", seq, 1), _event("e2", seq, 2), _event("e1", seq, 3)], NOW)
    assert first == [True, True, False]
    assert store.insert_events([_event("e2", seq, 9), _event("e3", seq, 0, "form_submit", form="demo")], NOW) == [
        False,
        True,
    ]
    events = store.load_events([seq])[seq]
    assert [(e.id, e.occurred_at) for e in events] == [
        ("e3", T0),
        ("e1", T0 + timedelta(hours=1)),
        ("e2", T0 + timedelta(hours=2)),
    ]
    assert events[0].properties == {"form": "demo"}
    assert store.count("events") == 3
    assert store.latest_event_us() is not None


def test_lead_versions_count_each_stored_event_once(store: Store) -> None:
    # A server process trusts its cached lead state only while the stored count is what it has seen.
    seqs, _, _ = store.upsert_leads([LeadRecord("A", None, {}), LeadRecord("B", None, {})], NOW)
    a, b = seqs
    assert store.lead_versions([a, b]) == {a: (0, NOW), b: (0, NOW)}
    with store.transaction():  # two batches in one transaction, as a request group may write
        store.insert_events([_event("e1", a, 1), _event("e2", a, 2), _event("e1", a, 3)], NOW)
        store.insert_events([_event("e2", a, 4), _event("e3", b, 1)], NOW)
    assert store.lead_versions([a, b]) == {a: (2, NOW), b: (1, NOW)}
    store.upsert_leads([LeadRecord("B", None, {"title": "CTO"})], NOW + 7)
    assert store.lead_versions([b]) == {b: (1, NOW + 7)}


def test_large_batches_are_written_whole(store: Store) -> None:
    # PostgreSQL sends a few rows as one JSON parameter and many by COPY (postgres_bulk.COPY_FROM = 100).
    resolved = store.resolve_leads([(f"L{n}", None) for n in range(250)], NOW)
    seqs = [seq for seq, _ in resolved]
    events = [_event(f"e{n}", seqs[n % 250], n % 7, url=f"/p/{n}") for n in range(600)]
    with store.transaction():
        assert store.insert_events(events + events[:5], NOW) == [True] * 600 + [False] * 5
        assert store.insert_events(events[:200], NOW) == [False] * 200
    assert store.count("events") == 600
    assert set(store.lead_versions(seqs).values()) == {(2, NOW), (3, NOW)}
    assert store.load_events([seqs[7]])[seqs[7]][0].properties == {"url": "/p/7"}
    with store.transaction():
        result = store.write_score_rows([(_row(seq, 100 * n), "x") for n, seq in enumerate(seqs)], NOW)
        again = store.write_score_rows([(_row(seq, 100 * n + 1), "y") for n, seq in enumerate(seqs)], NOW + 1)
    assert (result, again) == (WriteResult(250, 250), WriteResult(250, 0))
    assert [s.total_cents for s in store.top("m", limit=2)] == [24901, 24801]
    assert len(store.score_history(seqs[3])) == 2


def test_score_writes_of_two_models_in_one_transaction_keep_apart(store: Store) -> None:
    [(one, _), (two, _)] = store.resolve_leads([("A", None), ("B", None)], NOW)
    with store.transaction():
        assert store.write_score_rows([(_row(one, 100, model="m"), "x"), (_row(two, 200, model="m"), "x")], NOW) == (
            WriteResult(2, 2)
        )
        assert store.write_score_rows([(_row(one, 900, "hot", model="n"), "x")], NOW) == WriteResult(1, 1)
    assert [(s.lead_id, s.total_cents) for s in store.top("m")] == [("B", 200), ("A", 100)]
    assert [(s.lead_id, s.total_cents, s.tier) for s in store.top("n")] == [("A", 900, "hot")]
    assert len(store.score_history(one)) == 2 and len(store.stage_transitions(one)) == 2


def test_scan_streams_leads_in_order_with_their_events(store: Store) -> None:
    resolved = store.resolve_leads([("A", None), ("B", None), ("C", None)], NOW)
    a, b, c = (seq for seq, _ in resolved)
    store.insert_events([_event("a2", a, 2), _event("a1", a, 1, "form_submit", form="demo"), _event("c1", c, 5)], NOW)
    scanned = list(store.scan(batch_size=1))
    assert [(seq, lead.id, [r[0] for r in rows]) for seq, lead, rows in scanned] == [
        (a, "A", ["a1", "a2"]),
        (b, "B", []),
        (c, "C", ["c1"]),
    ]
    lean = list(store.scan(seqs=(a, b), ids=False, properties_for=frozenset({"page_view"})))
    assert [rows for _, _, rows in lean] == [[("", "form_submit", _us(1), "{}"), ("", "page_view", _us(2), "{}")]]
    assert store.seq_bounds() == (a, c)


def test_a_keyed_scan_reads_each_event_as_its_type_or_its_properties(store: Store) -> None:
    resolved = store.resolve_leads([("A", None), ("B", None), ("C", None)], NOW)
    a, b, c = (seq for seq, _ in resolved)
    events = [_event("a2", a, 2), _event("a1", a, 1, "form_submit", form="demo"), _event("c1", c, 5, "email_open")]
    store.insert_events(events, NOW)
    scanned = list(store.scan_keyed((a, c + 1), ("form_submit", "page_view"), frozenset({"form_submit"})))
    assert [(seq, lead.id) for seq, lead, _ in scanned] == [(a, "A"), (b, "B"), (c, "C")]
    # A bare type index may come back as a number or as text, depending on the backend.
    a_rows, b_rows, c_rows = ([(seq, at, str(key)) for seq, at, key in rows] for _, _, rows in scanned)
    demo, view = a_rows
    assert demo[:2] == (a, _us(1)) and demo[2].startswith("0 ") and json.loads(demo[2][2:]) == {"form": "demo"}
    assert view == (a, _us(2), "1")
    assert (b_rows, c_rows) == ([], [(c, _us(5), "-1")])


def _us(hours: int) -> int:
    return int((T0 + timedelta(hours=hours)).timestamp()) * 1_000_000


def test_scores_keep_history_and_stage_transitions(store: Store) -> None:
    [(seq, _)] = store.resolve_leads([("L", None)], NOW)
    assert store.write_score_rows([(_row(seq, 1000), "ingest")], NOW) == WriteResult(1, 1)
    assert store.write_score_rows([(_row(seq, 1000), "ingest")], NOW) == WriteResult(0, 0)  # nothing changed
    assert store.write_score_rows([(_row(seq, 8000, "hot", "sql"), "event e9")], NOW) == WriteResult(1, 1)
    [current] = store.scores_for_lead(seq)
    assert (current.total_cents, current.tier, current.stage, current.lead_id) == (8000, "hot", "sql", "L")
    assert [h["total_cents"] for h in store.score_history(seq)] == [8000, 1000]
    assert [(t["from_stage"], t["to_stage"], t["cause"]) for t in store.stage_transitions(seq)] == [
        (None, "lead", "ingest"),
        ("lead", "sql", "event e9"),
    ]


def test_a_next_check_lands_only_on_the_score_it_was_worked_out_for(store: Store) -> None:
    [(seq, _)] = store.resolve_leads([("L", None)], NOW)
    store.write_score_rows([(_row(seq, 1000), "tick")], NOW)
    store.set_next_checks("m", [(seq, NOW + 10)], written_at=NOW - 1)  # the score was written again since
    assert store.due_leads("m", NOW, 10) == [seq]  # still unknown, so due
    store.set_next_checks("m", [(seq, NOW + 10)], written_at=NOW)
    assert store.due_leads("m", NOW, 10) == [] and store.due_leads("m", NOW + 10, 10) == [seq]


def test_a_rewritten_score_is_whole_and_its_next_check_unknown_again(store: Store) -> None:
    # Writes update a stored score in place and leave its indexed total and next check alone when they do
    # not change: the row must still end as the new score, with its next check unknown.
    [(seq, _)] = store.resolve_leads([("L", None)], NOW)
    store.write_score_rows([(_row(seq, 1000), "x")], NOW)
    lines = '[["r", "engagement", "6.00", "6.00", 1, 1]]'
    same_total: ScoreRow = ("m", seq, NOW + 5, 400, 600, 1000, "warm", "B", "2", "mql", "mql: reason", lines, 7)
    assert store.write_score_rows([(same_total, "y")], NOW + 1) == WriteResult(1, 1)
    [score] = store.scores_for_lead(seq)
    assert (score.as_of, score.fit_cents, score.engagement_cents, score.total_cents) == (NOW + 5, 400, 600, 1000)
    assert (score.tier, score.grade, score.level, score.stage) == ("warm", "B", "2", "mql")
    assert (score.stage_reason, score.contributions[0]["rule"], score.last_engagement_at) == ("mql: reason", "r", 7)
    store.set_next_checks("m", [(seq, NOW + 10)], written_at=NOW + 1)
    assert store.due_leads("m", NOW, 10) == []
    store.write_score_rows([(_row(seq, 1000), "z")], NOW + 2)
    assert store.due_leads("m", NOW, 10) == [seq]  # known before, unknown again
    store.write_score_rows([(_row(seq, 2500, "warm", "mql"), "z")], NOW + 3)
    assert [s.total_cents for s in store.top("m")] == [2500]


def test_top_filters_and_sorts(store: Store) -> None:
    resolved = store.resolve_leads([("A", None), ("B", None), ("C", None)], NOW)
    rows = [_row(resolved[0][0], 500), _row(resolved[1][0], 9000, "hot"), _row(resolved[2][0], 9000, "hot")]
    store.write_score_rows([(row, "x") for row in rows], NOW)
    assert [s.lead_id for s in store.top("m")] == ["B", "C", "A"]
    assert [s.lead_id for s in store.top("m", tier="hot", limit=1)] == ["B"]
    assert store.top("m", stage="sql") == []
    assert [s.lead_id for s in store.iter_scores(["m"])] == ["A", "B", "C"]


def test_account_rollups_read_lead_totals(store: Store) -> None:
    seqs, _, _ = store.upsert_leads([LeadRecord("A", "a@acme.io", {}), LeadRecord("B", "b@acme.io", {})], NOW)
    store.write_score_rows([(_row(seqs[0], 700), "x"), (_row(seqs[1], 300), "x")], NOW)
    assert sorted(store.account_lead_totals("m", ["domain:acme.io"])["domain:acme.io"]) == [300, 700]
    score = AccountScore(
        "m", "domain:acme.io", D("10"), D("5"), D("15"), "cold", 2, (Contribution("r", "fit", D(5), D(5)),)
    )
    store.write_account_scores([score], NOW)
    store.write_account_scores([score], NOW)  # an upsert, not a second row


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.resolve_leads([("L", None)], NOW)
        with store.transaction():  # nested: joins the outer one
            store.upsert_accounts([AccountRecord("ACC", {})], NOW)
        raise RuntimeError("boom")
    assert store.count("leads") == 0
    assert store.all_account_ids() == []


def test_runs_and_rejects_are_kept(store: Store) -> None:
    summary = RunSummary("events", "e.csv", 3, 1, 0, 1, 1, NOW, NOW)
    run_id = store.record_run(summary, [Reject("e.csv", 4, "not a time", "occurred_at", {"occurred_at": "soon"})])
    assert run_id > 0
    assert store.count("rejects") == 1


def test_one_transaction_can_lock_more_leads_and_accounts_than_the_lock_table_holds(store: Store) -> None:
    # PostgreSQL's lock table holds 64 locks a connection by default (6,400 here): one lock per lead of a
    # 20,000-lead batch overflowed it ("out of shared memory"); locks by stripe never do.
    with store.transaction():
        store.lock_leads(range(1, 20_001))
        store.lock_accounts([f"domain:{n}.example" for n in range(20_000)])
        store.lock_models()


def test_count_refuses_unknown_tables(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown table"):
        store.count("sqlite_master")


def test_the_event_queue_keeps_events_as_validated_in_order_and_never_reuses_an_id(store: Store) -> None:
    many = [EventRecord(f"q{n}", "email_click", T0 + timedelta(minutes=n), lead_id=f"L{n % 3}") for n in range(150)]
    one = EventRecord("x", "page_view", T0, email="a@b.io", properties={"url": "/pricing", "n": 2, "ok": True})
    with store.queue_transaction():
        store.queue_events([one], NOW)  # a few go as one parameter on PostgreSQL, many by COPY
        store.queue_events(many, NOW)
    queued = store.queued_events(1000)
    assert [q.record.id for q in queued] == ["x"] + [f"q{n}" for n in range(150)]
    assert {q.queued_at for q in queued} == {NOW}
    ids = [q.id for q in queued]
    assert ids == sorted(ids) and store.queue_bounds() == (ids[0], ids[-1])
    first = queued[0].record
    assert (first.type, first.occurred_at, first.email, first.lead_id) == ("page_view", T0, "a@b.io", None)
    assert first.properties == {"url": "/pricing", "n": 2, "ok": True}
    assert queued[5].record.lead_id == "L1" and queued[5].record.occurred_at == T0 + timedelta(minutes=4)
    with store.transaction():
        store.unqueue(ids[:-1])  # scoring always takes the oldest
    assert store.queue_bounds() == (ids[-1], ids[-1])
    assert [q.id for q in store.queued_events(10)] == ids[-1:]
    with store.transaction():
        store.unqueue(ids[-1:])
    with store.queue_transaction():
        store.queue_events([one], NOW)
    bounds = store.queue_bounds()
    assert bounds is not None and bounds[0] > ids[-1]  # read-your-writes relies on ids that only grow


def test_events_taken_out_of_the_queue_come_back_if_the_scoring_transaction_rolls_back(store: Store) -> None:
    with store.queue_transaction():
        store.queue_events([EventRecord(f"r{n}", "email_click", T0, lead_id="L1") for n in range(3)], NOW)
    ids = [q.id for q in store.queued_events(10)]
    with pytest.raises(RuntimeError), store.transaction():
        store.unqueue(ids[:2])
        raise RuntimeError("scoring failed")
    assert [q.id for q in store.queued_events(10)] == ids
    with store.transaction():
        store.unqueue(ids[:2])
    assert [q.id for q in store.queued_events(10)] == ids[2:]


def test_known_event_ids_are_those_stored_in_events(store: Store) -> None:
    with store.transaction():
        [(seq, _)] = store.resolve_leads([("L1", None)], NOW)
        store.insert_events([_event("e1", seq, 1), _event("e2", seq, 2)], NOW)
    assert store.known_event_ids(["e2", "e3", "e1"]) == {"e1", "e2"}
    assert store.known_event_ids([]) == set()


@pytest.mark.parametrize("fresh", [1, 150])  # PostgreSQL: one statement for a few, COPY for many
def test_the_queue_takes_only_events_not_stored_yet_and_says_which_were(store: Store, fresh: int) -> None:
    with store.transaction():
        [(seq, _)] = store.resolve_leads([("L1", None)], NOW)
        store.insert_events([_event("e1", seq, 1)], NOW)
    records = [EventRecord("e1", "email_click", T0, lead_id="L1")]
    records += [EventRecord(f"n{n}", "email_click", T0 + timedelta(minutes=n), lead_id="L1") for n in range(fresh)]
    with store.queue_transaction():
        assert store.queue_events(records, NOW) == {"e1"}
    assert [q.record.id for q in store.queued_events(1000)] == [f"n{n}" for n in range(fresh)]


def test_one_scorer_leads_until_its_connection_closes(store: Store, store_url: str) -> None:
    """Each PostgreSQL server process runs a scorer; one leads, the others stand by until it is gone. SQLite
    runs one server process, so its scorer always leads."""
    other = open_store(store_url)
    try:
        assert store.claim_scoring()
        assert store.claim_scoring()  # asking again keeps it
        assert other.claim_scoring() == store_url.startswith("sqlite")
        store.close()  # the lead's process is gone: its server session ends soon after
        deadline = time.monotonic() + 10
        while not other.claim_scoring() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert other.claim_scoring()
    finally:
        other.close()


def test_projects_in_other_schemas_have_leads_of_their_own(store: Store, store_url: str, tmp_path: Path) -> None:
    """Advisory locks are the database's: the lead scorer's and the scheduler's are keyed by schema too."""
    if store_url.startswith("sqlite"):
        pytest.skip("SQLite: a project is a file of its own")
    with fresh_url("postgresql", tmp_path) as elsewhere:
        other = open_store(elsewhere)
        try:
            assert store.claim_scoring() and other.claim_scoring()
            with store.scheduler_turn() as first, other.scheduler_turn() as second:
                assert first and second
        finally:
            other.close()


def test_one_scheduler_ticks_at_a_time_across_processes(store: Store, store_url: str) -> None:
    """Each PostgreSQL server process runs a scheduler; while one ticks, the others skip their turn. SQLite
    runs one server process, so its scheduler always may."""
    other = open_store(store_url)
    try:
        with store.scheduler_turn() as first:
            assert first
            with other.scheduler_turn() as second:
                assert second == store_url.startswith("sqlite")
        with other.scheduler_turn() as after:
            assert after  # released when the first tick ended
    finally:
        other.close()
