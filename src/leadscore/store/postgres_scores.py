"""Reading leads and events for scoring, and writing and querying scores, in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import orjson
import psycopg

from leadscore.engine.account import AccountScore
from leadscore.engine.event_keys import KeyedRow
from leadscore.engine.types import Account, Event, Lead, Score, from_micros
from leadscore.store.codec import ScoreRow, encode_score
from leadscore.store.common import TABLES, account_score_rows, lead_from_row, plan_score_writes
from leadscore.store.keyed_scan import event_key, merge_keyed
from leadscore.store.postgres_bulk import PostgresConnected, columns
from leadscore.store.protocol import EventRow, WriteResult

_LEAD_COLUMNS = "seq, id, email, account_id, created_at, fields::text"


class PostgresScoreReads(PostgresConnected):
    """Reads run on the store's connection, except ``scan``, which reads one snapshot on a connection of
    its own through server-side cursors."""

    def load_accounts(self, ids: Sequence[str]) -> dict[str, Account]:
        rows = self.db.execute("SELECT id, fields::text FROM accounts WHERE id = ANY(%s)", (list(ids),))
        return {account_id: Account(account_id, orjson.loads(fields)) for account_id, fields in rows}

    def all_account_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM accounts ORDER BY id")]

    def load_leads(self, seqs: Sequence[int]) -> dict[int, Lead]:
        rows = self.db.execute(f"SELECT {_LEAD_COLUMNS} FROM leads WHERE seq = ANY(%s)", (list(seqs),)).fetchall()
        accounts = self.load_accounts(sorted({r[3] for r in rows if r[3]}))
        return {int(r[0]): lead_from_row(r[1:], accounts) for r in rows}

    def load_events(self, seqs: Sequence[int], lead_ids: Mapping[int, str] | None = None) -> dict[int, list[Event]]:
        out: dict[int, list[Event]] = {seq: [] for seq in seqs}
        ids = lead_ids if lead_ids is not None else {seq: lead.id for seq, lead in self.load_leads(seqs).items()}
        for seq, event_id, kind, at, props in self.db.execute(
            "SELECT lead_seq, id, type, occurred_at, properties::text FROM events WHERE lead_seq = ANY(%s) "
            "ORDER BY lead_seq, occurred_at, id",
            (list(seqs),),
        ):
            out[seq].append(Event(event_id, ids[seq], kind, from_micros(at), orjson.loads(props)))
        return out

    def scan(
        self,
        batch_size: int = 5000,
        seqs: tuple[int, int] | None = None,
        *,
        ids: bool = True,
        properties_for: frozenset[str] | None = None,
    ) -> Iterator[tuple[int, Lead, list[EventRow]]]:
        """Every lead (or those with ``seqs[0] <= seq < seqs[1]``) with its events, in lead order; see
        ``SQLiteStore.scan``. Memory holds a batch of rows, whatever the size of the database."""
        id_column = "id" if ids else "''"
        if properties_for is None:
            props_column, params = "properties::text", []
        else:
            props_column = "CASE WHEN type = ANY(%s) THEN properties::text ELSE '{}' END"
            params = [sorted(properties_for)]
        low, high = seqs if seqs is not None else (0, 1 << 62)
        with psycopg.connect(self.url) as reader:
            reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            accounts = {
                a: Account(a, orjson.loads(f)) for a, f in reader.execute("SELECT id, fields::text FROM accounts")
            }
            with reader.cursor(name="scan_leads") as leads, reader.cursor(name="scan_events") as events:
                leads.itersize = batch_size
                leads.execute(
                    f"SELECT {_LEAD_COLUMNS} FROM leads WHERE seq >= %s AND seq < %s ORDER BY seq", (low, high)
                )
                events.execute(
                    f"SELECT lead_seq, {id_column}, type, occurred_at, {props_column} FROM events "
                    "WHERE lead_seq >= %s AND lead_seq < %s ORDER BY lead_seq, occurred_at",
                    (*params, low, high),
                )
                chunk = events.fetchmany(batch_size)
                at = 0
                for row in leads:
                    seq = int(row[0])
                    rows: list[EventRow] = []
                    while chunk:
                        if at == len(chunk):
                            chunk, at = events.fetchmany(batch_size), 0
                            continue
                        event = chunk[at]
                        if event[0] != seq:
                            break
                        rows.append(event[1:])
                        at += 1
                    yield seq, lead_from_row(row[1:], accounts), rows

    def scan_keyed(
        self, seqs: tuple[int, int], types: Sequence[str], properties_for: frozenset[str]
    ) -> Iterator[tuple[int, Lead, list[KeyedRow]]]:
        """``scan`` with each event as a key, for batch scoring; see ``SQLiteStore.scan_keyed``."""
        with psycopg.connect(self.url) as reader:
            reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            accounts = {
                a: Account(a, orjson.loads(f)) for a, f in reader.execute("SELECT id, fields::text FROM accounts")
            }
            with reader.cursor(name="scan_leads") as leads, reader.cursor(name="scan_events") as events:
                leads.itersize = events.itersize = 5000
                leads.execute(f"SELECT {_LEAD_COLUMNS} FROM leads WHERE seq >= %s AND seq < %s ORDER BY seq", seqs)
                events.execute(
                    f"SELECT lead_seq, occurred_at, {event_key(types, properties_for, postgres=True)} FROM events "
                    "WHERE lead_seq >= %s AND lead_seq < %s ORDER BY lead_seq, occurred_at",
                    (*types, *seqs),
                )
                yield from merge_keyed(leads, events, accounts)

    def lead_versions(self, seqs: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(stored events, fields last updated µs) per lead, the count as ``insert_events`` keeps it."""
        rows = self.db.execute(
            "SELECT l.seq, l.updated_at, coalesce(c.events, 0) FROM leads l "
            "LEFT JOIN event_counts c ON c.lead_seq = l.seq WHERE l.seq = ANY(%s)",
            (list(seqs),),
        )
        return {int(seq): (int(count), int(updated_at)) for seq, updated_at, count in rows}

    def seq_bounds(self) -> tuple[int, int]:
        row = self.db.execute("SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM leads").fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def latest_event_us(self) -> int | None:
        row = self.db.execute("SELECT max(occurred_at) FROM events").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        row = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert row is not None
        return int(row[0])

    def write_scores(self, items: Sequence[tuple[int, Score, str]], now_us: int) -> WriteResult:
        return self.write_score_rows([(encode_score(seq, score), cause) for seq, score, cause in items], now_us)

    def write_score_rows(self, items: Sequence[tuple[ScoreRow, str]], now_us: int) -> WriteResult:
        """Upserts current scores; appends history on a change of total, tier or stage, and stage transitions."""
        if not items:
            return WriteResult(0, 0)
        model = items[0][0][0]
        previous: dict[int, tuple[int, str, str]] = {
            int(seq): (int(total), tier, stage)
            for seq, total, tier, stage in self.db.execute(
                "SELECT lead_seq, total_cents, tier, stage FROM scores WHERE model=%s AND lead_seq = ANY(%s)",
                (model, [row[1] for row, _ in items]),
            )
        }
        upserts, history, transitions, result = plan_score_writes(items, previous, now_us)
        with self.transaction():
            source, params = self.rows_from("scores", upserts)
            self.db.execute(
                f"WITH s AS ({source}) INSERT INTO scores({columns('scores')}) SELECT {columns('scores')} FROM s "
                "ON CONFLICT (model, lead_seq) DO UPDATE SET as_of=excluded.as_of, fit_cents=excluded.fit_cents, "
                "engagement_cents=excluded.engagement_cents, total_cents=excluded.total_cents, tier=excluded.tier, "
                "grade=excluded.grade, level=excluded.level, stage=excluded.stage, "
                "stage_reason=excluded.stage_reason, contributions=excluded.contributions, "
                "last_engagement_at=excluded.last_engagement_at, updated_at=excluded.updated_at, "
                "next_check_at=NULL",  # the scheduler works out the new one (leadscore.service.tick)
                params,
            )
            self.append_rows("score_history", history)
            self.append_rows("stage_transitions", transitions)
        return result

    def account_lead_totals(self, model: str, account_ids: Sequence[str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {a: [] for a in account_ids}
        for account_id, total in self.db.execute(
            # LATERAL with OFFSET 0, which keeps it from being flattened into a join: one index probe per lead
            # of these accounts, whatever the statistics say (a young table's are stale, and the planner then
            # hashes every score of the model: 4 ms a request instead of 0.1).
            "SELECT l.account_id, s.total_cents FROM leads l CROSS JOIN LATERAL "
            "(SELECT total_cents FROM scores WHERE model=%s AND lead_seq=l.seq OFFSET 0) s "
            "WHERE l.account_id = ANY(%s)",
            (model, list(account_ids)),
        ):
            out[account_id].append(int(total))
        return out

    def write_account_scores(self, scores: Sequence[AccountScore], as_of_us: int) -> None:
        if not scores:
            return
        with self.transaction():
            source, params = self.rows_from("account_scores", account_score_rows(scores, as_of_us))
            self.db.execute(
                f"WITH s AS ({source}) INSERT INTO account_scores({columns('account_scores')}) "
                f"SELECT {columns('account_scores')} FROM s ON CONFLICT (model, account_id) "
                "DO UPDATE SET as_of=excluded.as_of, rollup_cents=excluded.rollup_cents, "
                "fit_cents=excluded.fit_cents, total_cents=excluded.total_cents, tier=excluded.tier, "
                "lead_count=excluded.lead_count, contributions=excluded.contributions",
                params,
            )
