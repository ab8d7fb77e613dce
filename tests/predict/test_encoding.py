"""The feature encoding: fitted on training rows only, stored as data, and the same at scoring time."""

from __future__ import annotations

import json
import math

import numpy as np

from leadscore.predict.encoding import MISSING, OTHER, Encoding, numbers, table_of


def test_numbers_read_numeric_text_and_treat_blanks_as_missing() -> None:
    got = numbers(["1.5", None, "", 3, True])
    assert got is not None
    assert got[0] == 1.5 and math.isnan(got[1]) and math.isnan(got[2]) and got[3] == 3 and got[4] == 1
    assert numbers(["1", "Software"]) is None


def test_rare_categories_are_grouped_and_missing_is_a_category_of_its_own() -> None:
    counts: list[tuple[str | None, int]] = [("software", 30), ("retail", 12), ("rare", 2), (None, 5)]
    rows: list[dict[str, object]] = [{"industry": value} for value, n in counts for _ in range(n)]
    rows += [{}] * 5
    enc = Encoding.fit(table_of(rows), min_count=10)
    (column,) = enc.columns
    assert column.kind == "category" and column.categories == ("retail", "software")
    matrix = enc.tree_matrix(table_of([{"industry": "rare"}, {"industry": None}, {"industry": "new!"}]), 3)
    labels = enc.labels(column)
    assert [labels[int(v)] for v in matrix[:, 0]] == [OTHER, MISSING, OTHER]


def test_numeric_columns_keep_missing_for_trees_and_flag_it_for_the_linear_model() -> None:
    rows = [{"visits": float(i)} for i in range(20)] + [{"visits": None}]
    enc = Encoding.fit(table_of(rows))
    tree = enc.tree_matrix(table_of([{"visits": 4}, {"visits": None}, {}]), 3)
    assert tree[0, 0] == 4 and math.isnan(tree[1, 0]) and math.isnan(tree[2, 0])
    linear = enc.linear_matrix(tree)
    assert [name for _, name in enc.linear_names()] == ["value", MISSING]
    assert linear[:, 1].tolist() == [0.0, 1.0, 1.0]
    assert linear[1, 0] == linear[2, 0]  # imputed with the training median


def test_encoding_survives_a_round_trip_as_data() -> None:
    rows = [{"industry": "software", "visits": 3}] * 20 + [{"industry": "retail", "visits": None}] * 20
    enc = Encoding.fit(table_of(rows))
    again = Encoding.from_dict(enc.as_dict())
    table = table_of(rows)
    assert np.array_equal(enc.tree_matrix(table, 40), again.tree_matrix(table, 40), equal_nan=True)


def test_the_linear_model_never_sees_a_number_beyond_the_training_range() -> None:
    rows = [{"age_days": float(d)} for d in range(1, 8)]
    enc = Encoding.fit(table_of(rows))
    again = Encoding.from_dict(json.loads(json.dumps(enc.as_dict(), allow_nan=False, default=str)))
    tree = again.tree_matrix(table_of([{"age_days": 7.0}, {"age_days": 600.0}]), 2)
    assert tree[1, 0] == 600.0  # the trees see the real value (and route it as the largest they know)
    linear = again.linear_matrix(tree)
    assert linear[0, 0] == linear[1, 0]  # held at the training maximum, not extrapolated
