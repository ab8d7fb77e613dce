"""Event properties as features: which ones qualify, and their counts and sums per window."""

from __future__ import annotations

import orjson

from leadscore.engine.types import US_PER_DAY
from leadscore.predict.facets import MAX_VALUES, Facets, facets_of


def _props(**values: object) -> str:
    return orjson.dumps(values).decode()


def test_few_valued_text_is_counted_numbers_are_summed_and_ids_are_left_out() -> None:
    events = [("form_submit", _props(form="demo", id=f"f{i}")) for i in range(60)]
    events += [("form_submit", _props(form="newsletter", id=f"g{i}")) for i in range(40)]
    events += [("form_submit", _props(form="rare"))]  # under 1% and 20 events: no column of its own
    events += [("page_view", _props(seconds=30, url=f"/p{i}")) for i in range(50)]
    events += [("page_view", _props(seconds="long")), ("page_view", "{}")]
    facets = facets_of(events)
    assert facets.counts == (("form_submit", "form", "demo"), ("form_submit", "form", "newsletter"))
    assert facets.sums == ()  # seconds was text once, so it is not a number column
    assert all(key != "id" and key != "url" for _, key, _ in facets.counts)  # more than MAX_VALUES values
    assert MAX_VALUES < 40
    numeric = facets_of([("page_view", _props(seconds=s)) for s in (10, 20.5)])
    assert numeric.sums == (("page_view", "seconds"),)


def test_counts_and_sums_follow_the_windows_and_ignore_the_future() -> None:
    facets = Facets(sums=(("page_view", "seconds"),), counts=(("form_submit", "form", "demo"),))
    now = 100 * US_PER_DAY
    past = [
        ("e1", "page_view", now - 2 * US_PER_DAY, _props(seconds=30)),
        ("e2", "page_view", now - 20 * US_PER_DAY, _props(seconds=100)),
        ("e3", "form_submit", now - 50 * US_PER_DAY, _props(form="demo")),
        ("e4", "form_submit", now - 95 * US_PER_DAY, _props(form="demo")),  # older than 90 days
        ("e5", "form_submit", now + US_PER_DAY, _props(form="demo")),  # after the snapshot
    ]
    got = facets.features(past, now, (7, 30, 90))
    assert [got[f"events.page_view.seconds.sum.{d}d"] for d in (7, 30, 90)] == [30, 130, 130]
    assert [got[f"events.form_submit.form=demo.{d}d"] for d in (7, 30, 90)] == [0, 0, 1]
    assert Facets.from_dict(facets.as_dict()) == facets
    assert Facets().features(past, now, (7,)) == {}
