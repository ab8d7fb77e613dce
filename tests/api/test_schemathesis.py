"""Property-based tests of the whole API from its OpenAPI schema (schemathesis), on each backend: whatever
a client sends, valid or not, the answer is never a 5xx."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from schemathesis import openapi
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from leadscore.api.app import create_app
from leadscore.service.keys import create_key
from leadscore.service.live import LiveService
from leadscore.service.project import Project
from leadscore.store.url import open_store


def test_no_input_gets_a_server_error(project: Project) -> None:
    store = open_store(project.database, base=project.root)
    headers = {"Authorization": "Bearer " + create_key(store, "fuzz", ["admin"], datetime.now(UTC))}
    schema = openapi.from_asgi("/openapi.json", create_app(LiveService(store, project.models)))
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)  # the schema is valid: every operation loads
    assert len(operations) >= 10  # every endpoint is in the schema, so every endpoint is fuzzed
    try:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def fuzz(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            fuzz()
    finally:
        store.close()
