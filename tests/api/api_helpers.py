"""The API in process, for tests: a client on a project's store, with a key."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from leadscore.api.app import create_app
from leadscore.service.keys import create_key
from leadscore.service.live import LiveService
from leadscore.service.project import Project, ServerConfig
from leadscore.store.url import open_store


def client_for(project: Project, config: ServerConfig | None = None) -> tuple[TestClient, dict[str, str]]:
    """A client of the app on the project's store, and headers with a key of every scope."""
    store = open_store(project.database, base=project.root)
    token = create_key(store, "tests", ["ingest", "read"], datetime.now(UTC))
    client = TestClient(create_app(LiveService(store, project.models), config), raise_server_exceptions=False)
    return client, {"Authorization": f"Bearer {token}"}
