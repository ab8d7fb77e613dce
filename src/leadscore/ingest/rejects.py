"""Writing rejected rows to a CSV file that people can read, fix and load again."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from leadscore.ingest.records import Reject

REJECT_COLUMNS: tuple[str, ...] = ("source", "line", "field", "reason", "raw")


def _open_for_writing(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return open(path, "w", encoding="utf-8", newline="")


def write_rejects(rejects: Iterable[Reject], path: str | Path) -> int:
    """Writes ``source,line,field,reason,raw`` (``raw``: the original row as JSON); returns the count.

    The file is written as UTF-8 with a header; a ``.gz`` suffix gzips it.
    """
    count = 0
    with _open_for_writing(Path(path)) as handle:
        writer = csv.writer(handle)
        writer.writerow(REJECT_COLUMNS)
        for reject in rejects:
            raw = json.dumps(reject.raw, ensure_ascii=False, default=str)
            writer.writerow([reject.source, reject.line, reject.field or "", reject.reason, raw])
            count += 1
    return count
