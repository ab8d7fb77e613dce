"""A project with the example model on each backend, and a small store whose outcomes follow known rules,
for training, scoring, backtests and reviews."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadscore.service.project import Project, load_project, write_project
from leadscore.store.protocol import Store
from leadscore.store.url import open_store


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Project:
    write_project(tmp_path, database=store_url)
    return load_project(tmp_path)


@pytest.fixture
def store(project: Project) -> Iterator[Store]:
    opened = open_store(project.database, base=project.root)
    yield opened
    opened.close()
