"""Prediction quality on real and realistic data (issue 4): every score, on the same held-out leads.

    python bench/quality.py --json bench/out/quality.json        # X Education + 9 leadforge bundles
    python bench/quality.py --quick                                # X Education + one small bundle
    python bench/quality.py --shard 0/2 --json a.json & python bench/quality.py --shard 1/2 --json b.json
    python bench/quality.py --render a.json b.json --markdown tables.md     # one run on two cores

Datasets (prepared by ``quality_data``, cached under ``--work``, by default ~/.cache/leadscore-quality):

- X Education ``Leads.csv`` (../shared/datasets), without the columns its README marks as leaking. It has
  no dates, so each lead is one row on a fixed date, and the split is random by account (each lead is its
  own account here), 20% held out, repeated with ``--repeats`` seeds.
- leadforge bundles (seeds x difficulties, ``--n-leads`` each), imported from their raw relational tables,
  once as ``leadscore import leadforge`` does (touches, sessions, sales activities) and once with each
  opportunity's creation as an event too (``--opportunities``); one row per lead 30 days after its
  creation, when the bundle's tables and its task's features stop. The split is by time: the newest 20% of
  leads (by creation day) are held out.

Scores, each fitted on the training side only and measured on the held-out side with
``leadscore.predict.metrics``: AUC, average precision, precision in the top 10%, and, for probabilities,
expected calibration error (10 bins):

- the example rules model (``examples/b2b_saas.yaml``), and the dataset's own hand-set rules model;
- the suggested scorecard (``leadscore.predict.scorecard``) and the predictive model
  (``leadscore.predict.train``), both out of the box;
- reference baselines: a plain scikit-learn logistic regression on the one-hot encoded flat file
  (X Education's lead file; leadforge's own flat task features minus ``total_touches_all``, for the same
  lead ids), the same regression on our point-in-time rows, and Odoo-style naive Bayes over field
  frequencies (on the lead fields, as Odoo does, and on every row column).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import quality_baselines as baselines
import quality_data as data
from leadscore.predict.dataset import Row
from leadscore.predict.metrics import expected_calibration_error, ranking
from quality_report import best_baseline, markdown, paired_auc_interval, print_dataset, print_summary, targets

TEST_SHARE = 0.2
DIFFICULTIES = data.DIFFICULTIES


@dataclass
class Split:
    """One held-out split of one dataset. ``train``/``test`` rows carry only the learners' features."""

    dataset: data.Prepared
    train: list[Row]
    test: list[Row]
    full_test: list[Row]  # the same test rows with every column, the rules models' included

    @property
    def y_train(self) -> list[int]:
        return [r.label for r in self.train]

    @property
    def y_test(self) -> NDArray[np.int64]:
        return np.array([r.label for r in self.test], dtype=np.int64)


#: A score: its values on the test rows and whether they are probabilities; None when it is unavailable.
Scored = tuple[NDArray[Any], bool] | None


def learner_rows(rows: Sequence[Row], dataset_model: str) -> list[Row]:
    """Rows without the columns of the dataset's own hand-set model: it was written by looking at this
    data, so a learner using its points would be tuned per dataset, which the targets rule out."""
    prefix = dataset_model + "."
    return [replace(r, features={k: v for k, v in r.features.items() if not k.startswith(prefix)}) for r in rows]


def random_split(prepared: data.Prepared, seed: int) -> Split:
    """Grouped random split: whole accounts (a lead without one is its own) on one side; ~20% held out."""
    groups = sorted({r.account_id or f"lead:{r.lead_id}" for r in prepared.rows})
    order = np.random.default_rng(seed).permutation(len(groups))
    held = {groups[i] for i in order[: round(TEST_SHARE * len(groups))]}
    is_test = [(r.account_id or f"lead:{r.lead_id}") in held for r in prepared.rows]
    return _split(prepared, is_test)


def time_split(prepared: data.Prepared) -> Split:
    """Older leads train, the newest ~20% test; leads created on the cut's day are all held out."""
    snapshots = sorted(r.snapshot for r in prepared.rows)
    cut = snapshots[int((1 - TEST_SHARE) * len(snapshots))]
    return _split(prepared, [r.snapshot >= cut for r in prepared.rows])


def _split(prepared: data.Prepared, is_test: list[bool]) -> Split:
    learners = learner_rows(prepared.rows, prepared.dataset_model)
    train = [r for r, t in zip(learners, is_test, strict=True) if not t]
    test = [r for r, t in zip(learners, is_test, strict=True) if t]
    full_test = [r for r, t in zip(prepared.rows, is_test, strict=True) if t]
    return Split(prepared, train, test, full_test)


# -- the scores ---------------------------------------------------------------------------------------------


def rules_generic(split: Split) -> Scored:
    return np.array([r.features["b2b_saas.total"] for r in split.full_test], dtype=np.float64), False


def rules_dataset(split: Split) -> Scored:
    column = split.dataset.dataset_model + ".total"
    return np.array([r.features[column] for r in split.full_test], dtype=np.float64), False


def scorecard(split: Split) -> Scored:
    """PLUG-IN: the suggested scorecard, fitted on the training rows; the test rows' totals are scored by
    the reference engine from the scoring model the scorecard writes."""
    try:
        from leadscore.predict.scorecard import fit_scorecard
        from leadscore.predict.scorecard_scoring import score_rows
    except ImportError:
        return None
    card = fit_scorecard(split.train)
    return score_rows(card.model(), split.test), False


def predictive(split: Split) -> Scored:
    """PLUG-IN: the predictive model, trained out of the box on the training rows (nothing held out
    inside: the test rows are ours), giving calibrated probabilities for the test rows."""
    try:
        from leadscore.predict import train as module
    except ImportError:
        return None
    artifact = module.train(
        module.from_rows(split.train), horizon_days=data.HORIZON_DAYS, trained_at=data.NOW, holdout_share=0.0
    )
    return np.asarray(artifact.predict([r.features for r in split.test]), dtype=np.float64), True


def lr_flat(split: Split) -> Scored:
    """Baseline 1: logistic regression on the dataset's flat file, for the same leads on each side."""
    flat = split.dataset.flat
    train = [flat[r.lead_id] for r in split.train]
    test = [flat[r.lead_id] for r in split.test]
    return baselines.logistic_regression(train, split.y_train, test), True


def lr_flat_known(split: Split) -> Scored:
    """Diagnostic, not a target's baseline: the flat-file regression without the columns that need an
    opportunity's close date (``data.LEADFORGE_NEEDS_CLOSE_DATE``), which a public bundle's raw tables leave
    out. This is the flat file held to what the raw tables can know."""
    if not split.dataset.name.startswith("leadforge"):
        return None
    flat = split.dataset.flat

    def known(lead_id: str) -> dict[str, Any]:
        return {k: v for k, v in flat[lead_id].items() if k not in data.LEADFORGE_NEEDS_CLOSE_DATE}

    train = [known(r.lead_id) for r in split.train]
    test = [known(r.lead_id) for r in split.test]
    return baselines.logistic_regression(train, split.y_train, test), True


def lr_rows(split: Split) -> Scored:
    """Baseline 1 on our point-in-time rows: the same plain regression, every learner column."""
    train = [r.features for r in split.train]
    return baselines.logistic_regression(train, split.y_train, [r.features for r in split.test]), True


def _fields(row: Row) -> dict[str, Any]:
    return {k: v for k, v in row.features.items() if k.startswith("field.")}


def nb_fields(split: Split) -> Scored:
    """Baseline 2: Odoo-style naive Bayes on the lead's fields, which is what Odoo scores."""
    train = [_fields(r) for r in split.train]
    return baselines.odoo_naive_bayes(train, split.y_train, [_fields(r) for r in split.test]), True


def nb_rows(split: Split) -> Scored:
    """Baseline 2 on every learner column of our rows (event counts and rule scores too, binned)."""
    train = [r.features for r in split.train]
    return baselines.odoo_naive_bayes(train, split.y_train, [r.features for r in split.test]), True


#: (key, label, function). Keys are stable: the JSON output and the targets use them.
SCORES: list[tuple[str, str, Callable[[Split], Scored]]] = [
    ("rules_example", "rules: examples/b2b_saas.yaml total", rules_generic),
    ("rules_dataset", "rules: the dataset's own hand-set model", rules_dataset),
    ("scorecard", "suggested scorecard", scorecard),
    ("predictive", "predictive model", predictive),
    ("lr_flat", "baseline: LR, one-hot flat file", lr_flat),
    ("lr_flat_known", "diagnostic: LR flat file, no close-date columns", lr_flat_known),
    ("lr_rows", "baseline: LR, one-hot point-in-time rows", lr_rows),
    ("nb_fields", "baseline: Odoo naive Bayes, lead fields", nb_fields),
    ("nb_rows", "baseline: Odoo naive Bayes, all row columns", nb_rows),
]


def evaluate(split: Split) -> tuple[dict[str, dict[str, Any]], dict[str, NDArray[Any]]]:
    """Every score's figures on the split's test rows, and the scores themselves (for paired comparisons)."""
    out: dict[str, dict[str, Any]] = {}
    values_by_key: dict[str, NDArray[Any]] = {}
    y = split.y_test
    for key, _, function in SCORES:
        started = time.perf_counter()
        try:
            scored = function(split)
        except Exception as error:  # a plug-in being written may fail: say so, and go on with the others
            message = " | ".join(f"{type(error).__name__}: {error}".splitlines())
            out[key] = {"available": False, "error": message[:400]}
            print(f"  {key} failed: {message}", file=sys.stderr)
            continue
        seconds = time.perf_counter() - started
        if scored is None:
            out[key] = {"available": False}
            continue
        values, is_probability = scored
        values_by_key[key] = values
        figures = ranking(values, y)
        out[key] = {
            "available": True,
            "auc": figures.auc,
            "average_precision": figures.average_precision,
            "precision_top_10pct": figures.precision_at["top_10pct"],
            "ece": expected_calibration_error(values, y) if is_probability else None,
            "seconds": round(seconds, 3),
        }
    return out, values_by_key


def _mean(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each figure averaged over the splits, with the spread of the AUC."""
    out: dict[str, dict[str, Any]] = {}
    for key in runs[0]:
        if not all(run[key]["available"] for run in runs):
            errors = [run[key]["error"] for run in runs if "error" in run[key]]
            out[key] = {"available": False, **({"error": errors[0]} if errors else {})}
            continue
        one: dict[str, Any] = {"available": True}
        for figure in ("auc", "average_precision", "precision_top_10pct", "ece", "seconds"):
            values = [run[key][figure] for run in runs if run[key][figure] is not None]
            one[figure] = float(np.mean(values)) if values else None
        aucs = [run[key]["auc"] for run in runs]
        one["auc_min"], one["auc_max"], one["auc_sd"] = min(aucs), max(aucs), float(np.std(aucs))
        out[key] = one
    return out


def _auc_of(values: NDArray[Any], split: Split) -> float:
    return ranking(values, split.y_test).auc or 0.5


def _differences(
    scores: dict[str, dict[str, Any]], splits: list[Split], values: list[dict[str, NDArray[Any]]]
) -> dict[str, dict[str, Any]]:
    """AUC differences the targets compare: the mean over splits, and a 95% paired bootstrap interval on the
    first split's test rows (the only split on leadforge)."""
    best = best_baseline(scores)
    pairs = [
        ("predictive", best),
        ("scorecard", "predictive"),
        ("lr_rows", "lr_flat"),
        ("predictive", "lr_flat"),
        ("lr_rows", "lr_flat_known"),
    ]
    out: dict[str, dict[str, Any]] = {}
    for a, b in pairs:
        if b is None or not (scores[a]["available"] and scores[b]["available"]):
            continue
        per_split = [_auc_of(v[a], s) - _auc_of(v[b], s) for v, s in zip(values, splits, strict=True)]
        low, high = paired_auc_interval(values[0][a], values[0][b], splits[0].y_test)
        out[f"{a} - {b}"] = {"mean": float(np.mean(per_split)), "ci95": [low, high]}
    return out


def run_dataset(prepared: data.Prepared, splits: list[Split], how: str, began: float) -> dict[str, Any]:
    """Every score's figures on ``splits``; ``seconds`` counts from ``began``, the dataset's preparation
    included."""
    evaluated = [evaluate(split) for split in splits]
    runs = [figures for figures, _ in evaluated]
    test = splits[0].test
    result: dict[str, Any] = {
        "name": prepared.name,
        "rows": len(prepared.rows),
        "positives": sum(r.label for r in prepared.rows),
        "split": how,
        "test_rows": len(test),
        "test_positives": sum(r.label for r in test),
        "features": len({k for r in splits[0].train for k in r.features}),
        "prepare_seconds": prepared.seconds,
        "notes": prepared.notes,
        "scores": _mean(runs),
        "runs": runs if len(runs) > 1 else [],
    }
    result["differences"] = _differences(result["scores"], splits, [v for _, v in evaluated])
    result["targets"] = targets(result)
    result["seconds"] = round(time.perf_counter() - began, 1)
    return result


def _git(*args: str) -> str | None:
    """A git command's output in this checkout; None outside one."""
    root = Path(__file__).resolve().parents[1]
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _commit() -> str:
    """The checkout's commit, with ``+changes`` when files differ from it (other work in progress)."""
    head, status = _git("rev-parse", "HEAD"), _git("status", "--porcelain")
    if head is None or status is None:
        return "unknown"
    return head + ("+changes" if status else "")


# What decides a figure: a later commit that touches none of these (docs, tests) measures the same, so a
# run resumed after it is still one run.
CODE_PATHS = (
    "src",
    "bench/quality.py",
    "bench/quality_data.py",
    "bench/quality_baselines.py",
    "examples",
    "pyproject.toml",
)


def _code() -> str:
    """The git trees of ``CODE_PATHS`` at HEAD, hashed; ``+changes`` when any differs from HEAD."""
    trees = _git("rev-parse", *(f"HEAD:{path}" for path in CODE_PATHS))
    status = _git("status", "--porcelain", "--", *CODE_PATHS)
    if trees is None or status is None:
        return "unknown"
    return hashlib.sha1(trees.encode()).hexdigest()[:12] + ("+changes" if status else "")


def _shard(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and 0 <= int(index) < int(count)):
        raise argparse.ArgumentTypeError(f"expected I/N with 0 <= I < N, such as 0/2, got {text!r}")
    return int(index), int(count)


def joined(documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The datasets of one run's --json files (its shards), in the order one process would have run them."""
    if len({d.get("code", d["commit"]) for d in documents}) > 1:
        raise SystemExit("the --json files come from different code (src, bench/quality*, examples): not one run")
    unfinished = [d.get("options", {}).get("shard", "?") for d in documents if d.get("complete") is False]
    if unfinished:
        raise SystemExit(f"shard {', '.join(unfinished)} has not finished: resume it with --resume")
    results = [result for document in documents for result in document["datasets"]]
    return sorted(results, key=lambda r: (r["name"] != "x_education", data.order_key(r["name"])))


def resumed(path: Path, code: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """The datasets an interrupted run with the same code and options already measured, kept so that a
    long run (hours at 50,000 leads) can go on where it stopped, in another session."""
    if not path.is_file():
        return []
    document = json.loads(path.read_text())
    if code.endswith("+changes") or document.get("code") != code:
        raise SystemExit(f"--resume: {path} was measured by other code ({document.get('code')}, now {code})")
    if document.get("options") != options:
        raise SystemExit(f"--resume: {path} was measured with other options: {document.get('options')}")
    return list(document["datasets"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "leadscore-quality")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file")
    parser.add_argument("--quick", action="store_true", help="one 5,000-lead bundle and one X Education split")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--difficulties", nargs="+", default=list(DIFFICULTIES), choices=DIFFICULTIES)
    parser.add_argument("--n-leads", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5, help="random splits of X Education (seeds 0..N-1)")
    parser.add_argument("--skip-x-education", action="store_true")
    parser.add_argument("--skip-leadforge", action="store_true")
    parser.add_argument("--markdown", type=Path, default=None, help="write the tables for docs/benchmarks.md here")
    parser.add_argument(
        "--render",
        type=Path,
        nargs="+",
        default=None,
        help="only turn these --json files (one run, or the shards of one) into --markdown",
    )
    parser.add_argument(
        "--shard",
        type=_shard,
        default=(0, 1),
        metavar="I/N",
        help="run the I-th of N parts of the datasets (X Education in part 0), e.g. 0/2 and 1/2 in two processes "
        "on two cores; --render joins their --json files",
    )
    parser.add_argument(
        "--opportunities",
        choices=("without", "with", "both"),
        default="both",
        help="import leadforge bundles as `leadscore import leadforge` does (without opportunity events), "
        "with an opportunity_created event per opportunity, or both ways",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the datasets the --json file already holds (same code and options) and run only the rest",
    )
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.render is not None:
        rendered = markdown(joined([json.loads(path.read_text()) for path in args.render]))
        args.markdown.write_text(rendered) if args.markdown else print(rendered)
        return
    if args.quick:
        args.seeds, args.difficulties, args.n_leads, args.repeats = [1], ["intermediate"], 5_000, 1
    args.work.mkdir(parents=True, exist_ok=True)
    commit, code = _commit(), _code()  # at the start: the code a run imports is the code of its start
    options = {
        key: getattr(args, key)
        for key in (
            "seeds",
            "difficulties",
            "n_leads",
            "repeats",
            "skip_x_education",
            "skip_leadforge",
            "opportunities",
        )
    } | {"shard": f"{args.shard[0]}/{args.shard[1]}"}
    if args.resume and args.json is None:
        parser.error("--resume needs --json")
    started = time.perf_counter()
    results: list[dict[str, Any]] = resumed(args.json, code, options) if args.resume else []
    done = {r["name"] for r in results}
    if done:
        print(f"resumed: {len(done)} datasets already measured in {args.json}")

    def save(complete: bool) -> None:
        """Written after every dataset, so that an interrupted run keeps what it measured."""
        if args.json is None:
            return
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "measured": datetime.now(UTC).date().isoformat(),
            "command": " ".join(["python", "bench/quality.py", *sys.argv[1:]]),
            "commit": commit,
            "code": code,
            "options": options,
            "complete": complete,
            "seconds": round(time.perf_counter() - started, 1)
            + sum(r.get("seconds", 0.0) for r in results if r["name"] in done),
            "datasets": results,
        }
        temporary = args.json.with_suffix(".partial")
        temporary.write_text(json.dumps(document, indent=2))
        temporary.replace(args.json)

    shard, shards = args.shard
    if not args.skip_x_education and shard == 0 and "x_education" not in done:
        if data.X_EDUCATION_CSV.is_file():
            began = time.perf_counter()
            prepared = data.x_education(args.work)
            how = f"grouped random, {TEST_SHARE:.0%} held out, {args.repeats} seeds (mean)"
            splits = [random_split(prepared, seed) for seed in range(args.repeats)]
            results.append(run_dataset(prepared, splits, how, began))
            print_dataset(results[-1], SCORES)
            save(complete=False)
        else:
            print(f"X Education skipped: {data.X_EDUCATION_CSV} not found (see ../shared/datasets/README.md)")
    if not args.skip_leadforge:
        variants = {"without": [False], "with": [True], "both": [False, True]}[args.opportunities]
        names = data.iter_names(args.seeds, args.difficulties)
        runs = [(seed, difficulty, o) for seed, difficulty in names for o in variants]
        for seed, difficulty, opportunities in runs[shard::shards]:
            if data.leadforge_name(seed, difficulty, args.n_leads, opportunities) in done:
                continue
            began = time.perf_counter()
            prepared = data.leadforge(args.work, seed, difficulty, args.n_leads, opportunities)
            how = f"by time, newest {TEST_SHARE:.0%} of leads held out"
            results.append(run_dataset(prepared, [time_split(prepared)], how, began))
            print_dataset(results[-1], SCORES)
            save(complete=False)
            del prepared
    print_summary(results, SCORES)
    save(complete=True)
    if args.json is not None:
        print(f"wrote {args.json}")
    if args.markdown is not None:
        args.markdown.write_text(markdown(results))
        print(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
