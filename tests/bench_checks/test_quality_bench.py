"""``bench/quality.py``'s own parts: the Odoo-style naive Bayes baseline against hand-computed
probabilities, and the targets' arithmetic. The benchmark itself needs the shared datasets and minutes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


baselines = _bench("quality_baselines")
report = _bench("quality_report")
data = _bench("quality_data")
quality = _bench("quality")


def test_odoo_naive_bayes_by_hand() -> None:
    # src: a won 2, lost 1; b won 0, lost 1.  kind: x won 2, lost 0; y won 0, lost 1; missing on the 4th lead.
    train = [
        {"src": "a", "kind": "x"},
        {"src": "a", "kind": "x"},
        {"src": "a", "kind": "y"},
        {"src": "b", "kind": None},
    ]
    labels = [1, 1, 0, 0]
    test = [{"src": "a"}, {"src": "b"}, {"src": "never seen"}, {"src": None}, {"src": "a", "kind": "x"}]
    got = baselines.odoo_naive_bayes(train, labels, test)
    # Each seen value counts 0.1 more of each: a 2.1/1.1, b 0.1/1.1 (totals 2.2/2.2); x 2.1/0.1, y 0.1/1.1
    # (totals 2.2/1.2). The prior is 2 won of 4. Unset fields and unseen values are skipped.
    a_won, a_lost = 0.5 * 2.1 / 2.2, 0.5 * 1.1 / 2.2
    b_won, b_lost = 0.5 * 0.1 / 2.2, 0.5 * 1.1 / 2.2
    ax_won, ax_lost = a_won * 2.1 / 2.2, a_lost * 0.1 / 1.2
    expected = [a_won / (a_won + a_lost), b_won / (b_won + b_lost), 0.5, 0.5, ax_won / (ax_won + ax_lost)]
    assert list(got) == pytest.approx(expected)


def test_odoo_naive_bayes_bins_numbers_by_training_deciles() -> None:
    train = [{"n": n} for n in range(20)]
    labels = [int(n >= 10) for n in range(20)]
    got = baselines.odoo_naive_bayes(train, labels, [{"n": 3}, {"n": 2.5}, {"n": 17}])
    # 3 falls in the decile holding 2 and 3, both lost: won 0.1, lost 2.1; each total is 10 + 10 x 0.1.
    low = (0.1 / 11) / (0.1 / 11 + 2.1 / 11)
    assert list(got) == pytest.approx([low, low, 1 - low])


def test_targets() -> None:
    def result(predictive: float, scorecard: float, ece: float) -> dict[str, object]:
        scores = {
            "predictive": {"available": True, "auc": predictive, "ece": ece},
            "scorecard": {"available": True, "auc": scorecard},
            "lr_flat": {"available": True, "auc": 0.70},
            "nb_rows": {"available": True, "auc": 0.72},
            "lr_rows": {"available": False},
        }
        return {"name": "leadforge s1 intro n20000", "scores": scores}

    met = report.targets(result(0.716, 0.70, 0.03))
    best = met["predictive_vs_best_baseline"]
    assert best["met"] and best["best_baseline"] == "nb_rows"
    assert met["scorecard_within_0.02"]["met"] and met["predictive_ece"]["met"]
    assert met["predictive_vs_flat_lr"]["met"] and met["pit_rows_lr_vs_flat_lr"]["met"] is None  # lr_rows failed: n/a
    missed = report.targets(result(0.714, 0.69, 0.031))
    assert not any(missed[k]["met"] for k in ("predictive_vs_best_baseline", "scorecard_within_0.02", "predictive_ece"))


def test_shards_join_into_the_order_of_one_run() -> None:
    """A run split over processes (``--shard I/N``) renders as the one process would have run it, and the
    shards of different commits are refused."""
    names = ["x_education"] + [
        f"leadforge s{seed} {difficulty} n20000{opp}"
        for seed in (1, 2)
        for difficulty in data.DIFFICULTIES
        for opp in ("", " +opportunities")
    ]
    shards = [[n for i, n in enumerate(names[1:]) if i % 2 == k] for k in (0, 1)]
    shards[0].insert(0, "x_education")
    documents = [{"commit": "abc", "datasets": [{"name": n} for n in reversed(part)]} for part in shards]
    assert [r["name"] for r in quality.joined(documents)] == names
    with pytest.raises(SystemExit, match="different code"):
        quality.joined([documents[0], {**documents[1], "commit": "def"}])
    with pytest.raises(SystemExit, match="shard 1/2 has not finished"):
        quality.joined([documents[0], {**documents[1], "options": {"shard": "1/2"}, "complete": False}])
    assert quality._shard("1/2") == (1, 2)
    for wrong in ("2/2", "a/2", "1"):
        with pytest.raises(Exception, match="expected I/N"):
            quality._shard(wrong)


def test_a_run_resumes_only_with_the_same_code_and_options(tmp_path: Path) -> None:
    """``--resume`` keeps an interrupted run's datasets only when the code and options that measured them
    are the ones running now: otherwise the joined tables would mix two runs."""
    path = tmp_path / "q0.json"
    options = {"n_leads": 50_000, "shard": "0/2"}
    assert quality.resumed(path, "abc", options) == []
    path.write_text(json.dumps({"code": "abc", "options": options, "datasets": [{"name": "x_education"}]}))
    assert quality.resumed(path, "abc", options) == [{"name": "x_education"}]
    with pytest.raises(SystemExit, match="other code"):
        quality.resumed(path, "abd", options)
    with pytest.raises(SystemExit, match="other code"):
        quality.resumed(path, "abc+changes", options)
    with pytest.raises(SystemExit, match="other options"):
        quality.resumed(path, "abc", options | {"n_leads": 20_000})
