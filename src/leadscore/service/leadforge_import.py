"""Importing a leadforge bundle: accounts, leads and events in, then one rescore at the end of the data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import TypeVar

from leadscore.engine.types import from_micros
from leadscore.ingest.leadforge import read_bundle
from leadscore.ingest.records import AccountRecord, LeadRecord, Reject
from leadscore.service.ingest import IngestReport, ingest_events, ingest_leads
from leadscore.service.project import LoadedModel
from leadscore.service.rescore import RescoreReport, rescore
from leadscore.service.scorer import Scorer
from leadscore.store.protocol import Store

T = TypeVar("T")


def import_bundle(
    store: Store,
    models: Sequence[LoadedModel],
    directory: Path,
    *,
    as_of: datetime | None,
    now: datetime,
    opportunities: bool = False,
) -> tuple[list[IngestReport], RescoreReport]:
    """Loads the bundle without scoring row by row, then rescores everyone once.

    With no ``as_of``, scores are as of the day after the bundle's last event: leadforge data lies in
    the past, and scoring it as of today would decay every engagement point away. ``opportunities`` adds
    an ``opportunity_created`` event per opportunity: off by default, because a rules model should be
    scored on marketing's signals, but a predictive model learns the most from it (docs/predictive.md).
    """
    bundle = read_bundle(directory, include_opportunities=opportunities)
    loader = Scorer(store, [])  # scoring happens once, in the rescore below
    passed: set[int] = set()

    def then_rejects(records: Iterable[T]) -> Iterator[T | Reject]:
        """The records, then the rows the bundle rejected while reading them, so they are counted and kept."""
        yield from records
        for reject in bundle.rejects:
            if id(reject) not in passed:
                passed.add(id(reject))
                yield reject

    people: chain[AccountRecord | LeadRecord] = chain(bundle.accounts, bundle.leads())
    leads = ingest_leads(
        store, loader, then_rejects(people), as_of=now, now=now, source=f"{directory} (leadforge leads)"
    )
    events = ingest_events(
        store, loader, then_rejects(bundle.events()), as_of=now, now=now, source=f"{directory} (leadforge events)"
    )
    if as_of is None:
        latest = store.latest_event_us()
        as_of = from_micros(latest) + timedelta(days=1) if latest is not None else now
    report = rescore(store, models, as_of=as_of, now=now)
    return [leads, events], report
