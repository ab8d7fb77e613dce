"""Errors that stop a whole file; a single bad row is never an error, it is a ``Reject``."""

from __future__ import annotations

from leadscore.model.loader import ModelError, ModelIssue


class IngestError(Exception):
    """A file that cannot be read at all: missing, unreadable, not UTF-8, or without the columns it needs."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        self.message = message
        super().__init__(f"{source}: {message}")


class MappingError(ModelError):
    """A column mapping file with problems; ``issues`` name the file, line and field of each one."""

    def __init__(self, issues: list[ModelIssue]) -> None:
        super().__init__(issues)
        count = len(issues)
        header = f"{count} problem{'s' if count != 1 else ''} in column mapping"
        ValueError.__init__(self, "\n".join([header, *(f"  {issue}" for issue in issues)]))
