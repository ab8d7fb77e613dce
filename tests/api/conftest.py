from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leadscore.api.app import create_app
from leadscore.service.keys import create_key
from leadscore.service.live import LiveService
from leadscore.service.project import Project, ServerConfig, load_project, write_project
from leadscore.store.url import open_store


@pytest.fixture
def project(tmp_path: Path, store_url: str) -> Project:
    write_project(tmp_path, database=store_url)
    return load_project(tmp_path)


def client_for(project: Project, config: ServerConfig | None = None) -> tuple[TestClient, dict[str, str]]:
    """A client of the app on the project's store, and headers with a key of every scope."""
    store = open_store(project.database, base=project.root)
    token = create_key(store, "tests", ["ingest", "read"], datetime.now(UTC))
    client = TestClient(create_app(LiveService(store, project.models), config), raise_server_exceptions=False)
    return client, {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(project: Project) -> Iterator[tuple[TestClient, dict[str, str]]]:
    client, headers = client_for(project)
    with client:
        yield client, headers
