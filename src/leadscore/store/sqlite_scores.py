"""Reading leads and events for scoring, and writing and querying scores, in SQLite."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from leadscore.engine.account import AccountScore
from leadscore.engine.event_keys import KeyedRow
from leadscore.engine.types import Account, Event, Lead, Score, from_micros
from leadscore.store.codec import ScoreRow, encode_score
from leadscore.store.common import TABLES, account_score_rows, chunks, lead_from_row, plan_score_writes
from leadscore.store.keyed_scan import event_key, merge_keyed
from leadscore.store.protocol import EventRow, WriteResult
from leadscore.store.sqlite_common import Connected, connect, marks


class ScoreReads(Connected):
    """Reads run on the writer connection, except ``scan``, which takes its own WAL snapshot."""

    # -- reads for scoring ------------------------------------------------------------------------------

    def load_accounts(self, ids: Sequence[str]) -> dict[str, Account]:
        out: dict[str, Account] = {}
        for chunk in chunks(list(ids)):
            for account_id, fields in self.db.execute(
                f"SELECT id, fields FROM accounts WHERE id IN ({marks(len(chunk))})", chunk
            ):
                out[account_id] = Account(account_id, orjson.loads(fields))
        return out

    def all_account_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM accounts ORDER BY id")]

    def load_leads(self, seqs: Sequence[int]) -> dict[int, Lead]:
        rows = []
        for chunk in chunks(list(seqs)):
            rows += self.db.execute(
                f"SELECT seq, id, email, account_id, created_at, fields FROM leads WHERE seq IN ({marks(len(chunk))})",
                chunk,
            ).fetchall()
        accounts = self.load_accounts(sorted({r[3] for r in rows if r[3]}))
        return {r[0]: lead_from_row(r[1:], accounts) for r in rows}

    def load_events(self, seqs: Sequence[int], lead_ids: Mapping[int, str] | None = None) -> dict[int, list[Event]]:
        """Each lead's events in time order; ``lead_ids`` spares reading the leads when the caller has them."""
        out: dict[int, list[Event]] = {seq: [] for seq in seqs}
        ids = lead_ids if lead_ids is not None else {seq: lead.id for seq, lead in self.load_leads(seqs).items()}
        for chunk in chunks(list(seqs)):
            for seq, event_id, kind, at, props in self.db.execute(
                "SELECT lead_seq, id, type, occurred_at, properties FROM events "
                f"WHERE lead_seq IN ({marks(len(chunk))}) ORDER BY lead_seq, occurred_at",
                chunk,
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
        """Every lead (or those with ``seqs[0] <= seq < seqs[1]``) with its events, in lead order.

        Two cursors walk leads and events in the same order and are merged, so memory holds one lead's
        events at a time, whatever the size of the store. It reads a snapshot on its own connection.
        Without ``ids`` event ids come back empty; with ``properties_for``, only events of those types
        carry their properties (the others ``{}``): both spare a rescore reading what it does not use.
        """
        id_column = "id" if ids else "''"
        if properties_for is None:
            props_column, types = "properties", []
        elif properties_for:
            types = sorted(properties_for)
            props_column = f"CASE WHEN type IN ({marks(len(types))}) THEN properties ELSE '{{}}' END"
        else:
            props_column, types = "'{}'", []
        low, high = seqs if seqs is not None else (0, 1 << 62)
        reader = connect(self.path)
        try:
            reader.execute("BEGIN")
            accounts = {a: Account(a, orjson.loads(f)) for a, f in reader.execute("SELECT id, fields FROM accounts")}
            leads = reader.execute(
                "SELECT seq, id, email, account_id, created_at, fields FROM leads WHERE seq >= ? AND seq < ? "
                "ORDER BY seq",
                (low, high),
            )
            events = reader.cursor()
            events.arraysize = batch_size
            events.execute(
                f"SELECT lead_seq, {id_column}, type, occurred_at, {props_column} FROM events "
                "WHERE lead_seq >= ? AND lead_seq < ? ORDER BY lead_seq, occurred_at",
                (*types, low, high),
            )
            chunk = events.fetchmany()
            at = 0
            for row in leads:
                seq = row[0]
                rows: list[EventRow] = []
                while chunk:
                    if at == len(chunk):
                        chunk, at = events.fetchmany(), 0
                        continue
                    event = chunk[at]
                    if event[0] != seq:
                        break
                    rows.append(event[1:])
                    at += 1
                yield seq, lead_from_row(row[1:], accounts), rows
            reader.execute("COMMIT")
        finally:
            reader.close()

    def scan_keyed(
        self, seqs: tuple[int, int], types: Sequence[str], properties_for: frozenset[str]
    ) -> Iterator[tuple[int, Lead, list[KeyedRow]]]:
        """``scan`` for batch scoring: each event as ``(lead seq, occurred_at, key)`` (``KeyedRow``), the key
        made in SQL, so that the engine matches each key once rather than each event (``event_keys``)."""
        reader = connect(self.path)
        try:
            reader.execute("BEGIN")
            accounts = {a: Account(a, orjson.loads(f)) for a, f in reader.execute("SELECT id, fields FROM accounts")}
            leads = reader.execute(
                "SELECT seq, id, email, account_id, created_at, fields FROM leads WHERE seq >= ? AND seq < ? "
                "ORDER BY seq",
                seqs,
            )
            events = reader.execute(
                f"SELECT lead_seq, occurred_at, {event_key(types, properties_for)} FROM events "
                "WHERE lead_seq >= ? AND lead_seq < ? ORDER BY lead_seq, occurred_at",
                (*types, *seqs),
            )
            yield from merge_keyed(leads, events, accounts)
            reader.execute("COMMIT")
        finally:
            reader.close()

    def seq_bounds(self) -> tuple[int, int]:
        row = self.db.execute("SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM leads").fetchone()
        return int(row[0]), int(row[1])

    def latest_event_us(self) -> int | None:
        row = self.db.execute("SELECT max(occurred_at) FROM events").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    # -- scores --------------------------------------------------------------------------------------------

    def write_scores(self, items: Sequence[tuple[int, Score, str]], now_us: int) -> WriteResult:
        """Upserts current scores; appends history on a change of total, tier or stage, and stage transitions."""
        return self.write_score_rows([(encode_score(seq, score), cause) for seq, score, cause in items], now_us)

    def write_score_rows(self, items: Sequence[tuple[ScoreRow, str]], now_us: int) -> WriteResult:
        """``write_scores`` for scores already encoded (by ``encode_score``), as parallel rescoring sends them.

        A stored score is updated in place, and its total and next check only when they change: each is in
        an index, and rewriting index entries that stay the same was a good part of a write's cost. The
        row ends as a replacement would leave it (every column new, the next check unknown)."""
        if not items:
            return WriteResult(0, 0)
        model = items[0][0][0]
        previous: dict[int, tuple[int, str, str]] = {}
        unscheduled: set[int] = set()
        seqs = [row[1] for row, _ in items]
        for chunk in chunks(seqs):
            for seq, total, tier, stage, unknown in self.db.execute(
                f"SELECT lead_seq, total_cents, tier, stage, next_check_at IS NULL FROM scores WHERE model=? AND "
                f"lead_seq IN ({marks(len(chunk))})",
                (model, *chunk),
            ):
                previous[seq] = (total, tier, stage)
                if unknown:
                    unscheduled.add(seq)
        upserts, history, transitions, result = plan_score_writes(items, previous, now_us)
        new_rows: Updates
        same_total: Updates = []
        other: Updates = []
        if len(set(seqs)) != len(seqs):  # a lead twice: the last one wins, as a replacement does
            new_rows = upserts
        else:
            new_rows, same_total, other = _split_updates(upserts, previous, unscheduled)
        # A new row leaves next_check_at empty: the scheduler works out the next one (leadscore.service.tick).
        self.db.executemany(
            "INSERT OR REPLACE INTO scores(model, lead_seq, as_of, fit_cents, engagement_cents, total_cents, tier, "
            "grade, level, stage, stage_reason, contributions, last_engagement_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            new_rows,
        )
        # Numbered parameters let both updates take the rows as planned (?6 is the total, ?14 updated_at).
        self.db.executemany(
            "UPDATE scores SET as_of=?3, fit_cents=?4, engagement_cents=?5, tier=?7, grade=?8, level=?9, stage=?10, "
            "stage_reason=?11, contributions=?12, last_engagement_at=?13, updated_at=?14 "
            "WHERE model=?1 AND lead_seq=?2",
            same_total,
        )
        self.db.executemany(
            "UPDATE scores SET as_of=?3, fit_cents=?4, engagement_cents=?5, total_cents=?6, tier=?7, grade=?8, "
            "level=?9, stage=?10, stage_reason=?11, contributions=?12, last_engagement_at=?13, updated_at=?14, "
            "next_check_at=NULL WHERE model=?1 AND lead_seq=?2",
            other,
        )
        self.db.executemany(
            "INSERT INTO score_history(model, lead_seq, as_of, fit_cents, engagement_cents, total_cents, tier, "
            "stage, cause, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            history,
        )
        self.db.executemany(
            "INSERT INTO stage_transitions(model, lead_seq, from_stage, to_stage, at, reason, cause) "
            "VALUES (?,?,?,?,?,?,?)",
            transitions,
        )
        return result

    def account_lead_totals(self, model: str, account_ids: Sequence[str]) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {a: [] for a in account_ids}
        for chunk in chunks(list(account_ids)):
            for account_id, total in self.db.execute(
                # CROSS JOIN keeps SQLite on the leads' account index: a few leads, not every score of the model.
                "SELECT l.account_id, s.total_cents FROM leads l CROSS JOIN scores s "
                f"WHERE l.account_id IN ({marks(len(chunk))}) AND s.model=? AND s.lead_seq = l.seq",
                (*chunk, model),
            ):
                out[account_id].append(total)
        return out

    def write_account_scores(self, scores: Sequence[AccountScore], as_of_us: int) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO account_scores VALUES (?,?,?,?,?,?,?,?,?)",
            account_score_rows(scores, as_of_us),
        )


Updates = list[tuple[Any, ...]]


def _split_updates(
    upserts: list[tuple[Any, ...]], previous: Mapping[int, tuple[int, str, str]], unscheduled: set[int]
) -> tuple[Updates, Updates, Updates]:
    """Score rows (with ``updated_at``) as new rows, updates that leave the total and the (unknown) next
    check alone, and updates that set the total and clear the next check."""
    new_rows: Updates = []
    same_total: Updates = []
    other: Updates = []
    for row in upserts:
        seq = row[1]
        before = previous.get(seq)
        if before is None:
            new_rows.append(row)
        elif before[0] == row[5] and seq in unscheduled:
            same_total.append(row)
        else:
            other.append(row)
    return new_rows, same_total, other
