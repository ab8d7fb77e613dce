"""Scoring on ingest: per-lead states kept warm in memory, folded one event at a time, written per batch.

The events table is the source of truth; a state is a cache of it. A lead not in the cache is rebuilt
from its stored events (which already include the batch being ingested: ``fold`` skips seen ids).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from leadscore.engine.account import score_account
from leadscore.engine.state import LeadState
from leadscore.engine.types import Event, to_micros
from leadscore.service.project import LoadedModel
from leadscore.service.webhooks import enqueue
from leadscore.store.codec import ScoreRow, encode_cents
from leadscore.store.protocol import Store, WriteResult


class Scorer:
    """Keeps lead states warm up to ``capacity`` occurrences in all, least recently used evicted first.

    The bound is in occurrences, not leads, because a state's size grows with its lead's matched events:
    memory stays bounded however many events go through (about 550 bytes an occurrence, measured).
    """

    def __init__(
        self, store: Store, models: Sequence[LoadedModel], capacity: int = 2_000_000, *, shared: bool = False
    ) -> None:
        self.store = store
        #: Other processes write to the same store (the server): a cached state is used only if the lead's
        #: stored events and fields are what it was built from, checked under the lead's lock.
        self.shared = shared
        self.versions: dict[int, tuple[int, int]] = {}
        self.models = list(models)
        self.capacity = capacity
        self.held = 0
        self.states: dict[str, OrderedDict[int, LeadState]] = {m.model.key: OrderedDict() for m in self.models}
        self.sizes: dict[str, dict[int, int]] = {m.model.key: {} for m in self.models}
        # Accounts whose leads changed; rolled up once per ingest run rather than once per batch.
        self.pending_accounts: set[str] = set()

    def apply(
        self,
        new_events: dict[int, list[Event]],
        lead_updates: Sequence[int],
        as_of: datetime,
        causes: dict[int, str],
        now_us: int,
    ) -> WriteResult:
        """Folds new events and lead changes into states, then writes the touched leads' scores."""
        touched = sorted(set(new_events) | set(lead_updates))
        if not touched:
            return WriteResult(0, 0)
        as_of_us = to_micros(as_of)
        versions = self._check_versions(touched, new_events, lead_updates) if self.shared else {}
        updated = self.store.load_leads(lead_updates) if lead_updates else {}
        changed = stage_changes = 0
        cold = sorted({seq for key, cache in self.states.items() for seq in touched if seq not in cache})
        leads = dict(updated)  # leads just upserted are loaded once, above
        missing = [seq for seq in cold if seq not in leads]
        if missing:
            leads.update(self.store.load_leads(missing))
        history = self.store.load_events(cold, {seq: leads[seq].id for seq in cold}) if cold else {}
        for loaded in self.models:
            key = loaded.model.key
            cache, sizes = self.states[key], self.sizes[key]
            for seq in cold:
                if seq not in cache:
                    state = LeadState(loaded.compiled, leads[seq])
                    for event in history.get(seq, []):
                        state.fold(event)
                    cache[seq] = state
            items: list[tuple[ScoreRow, str]] = []
            accounts: list[str] = []
            # Names bound once: this loop runs for every touched lead of every batch.
            move, events_of, cause_of, size_of = cache.move_to_end, new_events.get, causes.get, sizes.get
            held = self.held
            for seq in touched:
                state = cache[seq]
                move(seq)
                if seq in updated:
                    state.update_lead(updated[seq])
                for event in events_of(seq, ()):
                    state.fold(event)
                items.append((encode_cents(key, seq, as_of_us, state.score_cents(as_of_us)), cause_of(seq, "ingest")))
                account = state.lead.account
                if account is not None:
                    accounts.append(account.id)
                size = state.occurrence_count
                held += size - size_of(seq, 0)
                sizes[seq] = size
            self.held = held
            while self.held > self.capacity and len(cache) > len(touched):
                evicted, _ = cache.popitem(last=False)
                self.held -= sizes.pop(evicted, 0)
                self.versions.pop(evicted, None)
            result = self.store.write_score_rows(items, now_us)
            enqueue(self.store, result.changes, now_us)  # in the caller's transaction, with the scores
            changed += result.changed
            stage_changes += result.stage_changes
            self.pending_accounts.update(accounts)
        self.versions.update(versions)
        return WriteResult(changed, stage_changes)

    def _check_versions(
        self, touched: Sequence[int], new_events: dict[int, list[Event]], lead_updates: Sequence[int]
    ) -> dict[int, tuple[int, int]]:
        """Drops the cached states that another process has made stale; returns every touched lead's version.

        Runs after the leads are locked and this transaction's events are stored: a state is current when
        the stored events are those it has seen plus this transaction's, and the fields are unchanged (or
        are being reloaded anyway).
        """
        versions = self.store.lead_versions(touched)
        updates = set(lead_updates)
        for seq in touched:
            seen = self.versions.get(seq)
            count, updated_at = versions[seq]
            stale = seen is None or count != seen[0] + len(new_events.get(seq, ()))
            if stale or (seen is not None and updated_at != seen[1] and seq not in updates):
                self.forget(seq)  # rebuilt from the store below (with no version, a state may be partial)
        return versions

    def forget(self, seq: int) -> None:
        for key, cache in self.states.items():
            if cache.pop(seq, None) is not None:
                self.held -= self.sizes[key].pop(seq, 0)
        self.versions.pop(seq, None)

    def flush_accounts(self, as_of: datetime) -> int:
        """Rolls up every account touched since the last flush, under every model."""
        ids = sorted(self.pending_accounts)
        for loaded in self.models:
            self.roll_up(loaded, ids, as_of)
        self.pending_accounts.clear()
        return len(ids)

    def roll_up(self, loaded: LoadedModel, account_ids: Sequence[str], as_of: datetime) -> None:
        """Rescores the given accounts from their leads' current totals under one model."""
        ids = sorted(set(account_ids))
        if not ids:
            return
        self.store.lock_accounts(ids)  # another process rolling one of them up waits, then reads ours
        totals = self.store.account_lead_totals(loaded.model.key, ids)
        accounts = self.store.load_accounts(ids)
        scores = [
            score_account(loaded.compiled, accounts[a], [Decimal(c).scaleb(-2) for c in totals.get(a, [])])
            for a in ids
            if a in accounts
        ]
        self.store.write_account_scores(scores, to_micros(as_of))
