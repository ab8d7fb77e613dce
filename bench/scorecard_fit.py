"""How long ``leadscore suggest`` takes to fit its scorecard on leadforge bundles of 20,000 leads (the rows
``bench/quality.py`` prepares and caches), and which scorecard it writes.

    python bench/scorecard_fit.py --seeds 1 3 --difficulties intro intermediate

Each dataset is split as in ``bench/quality.py`` (the newest 20 % of leads held out), and the scorecard is
fitted on the training rows (about 16,000, with 300 to 400 candidate rules). Baseline, in the same run on
the same rows: the plain scikit-learn logistic regression of the quality benchmark (``LR rows``). The
printed hash is of the model file the scorecard writes: two versions of the code that print the same hash
wrote the same scorecard.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import time
from pathlib import Path

import quality as q
import quality_baselines as baselines
import quality_data as data
from leadscore.predict.scorecard import fit_scorecard


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "leadscore-quality")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--difficulties", nargs="+", default=["intermediate"], choices=q.DIFFICULTIES)
    parser.add_argument("--n-leads", type=int, default=20_000)
    parser.add_argument("--opportunities", choices=("without", "with", "both"), default="both")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    variants = {"without": [False], "with": [True], "both": [False, True]}[args.opportunities]
    print(f"{'dataset':36s} {'rows':>7s} {'fit s':>7s} {'rows/s':>7s} {'LR s':>6s} {'ratio':>6s}  model")
    total = baseline = 0.0
    for seed, difficulty in data.iter_names(args.seeds, args.difficulties):
        for opportunities in variants:
            prepared = data.leadforge(args.work, seed, difficulty, args.n_leads, opportunities)
            split = q.time_split(prepared)
            started = time.perf_counter()
            card = fit_scorecard(split.train)
            fitted = time.perf_counter() - started
            started = time.perf_counter()
            test = [r.features for r in split.test]
            baselines.logistic_regression([r.features for r in split.train], split.y_train, test)
            plain = time.perf_counter() - started
            total, baseline = total + fitted, baseline + plain
            digest = hashlib.sha256(card.to_yaml().encode()).hexdigest()[:12]
            rows = len(split.train)
            name = prepared.name.removeprefix("leadforge ")
            figures = f"{rows:7,d} {fitted:7.1f} {rows / fitted:7.0f} {plain:6.1f} {fitted / plain:6.1f}"
            print(f"{name:36s} {figures}  {digest}")
    print(f"in all: scorecards {total:.1f} s, plain regressions {baseline:.1f} s ({total / baseline:.1f}x); "
          f"peak memory {peak_mib():,.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
