from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import client_for
from fastapi.testclient import TestClient

from leadscore.service.project import Project, load_project, write_project


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Project:
    write_project(tmp_path, database=store_url)
    return load_project(tmp_path)


@pytest.fixture
def api(project: Project) -> Iterator[tuple[TestClient, dict[str, str]]]:
    client, headers = client_for(project)
    with client:
        yield client, headers
