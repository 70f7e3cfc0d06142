"""The API against its own OpenAPI schema (schemathesis): generated requests to every operation on a
seeded log; each response must match the documented status codes, content types and schemas, and
none may be a server error. (schemathesis' pytest plugin does not run under this pytest, so the
operations are driven through its Python API and Hypothesis directly.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from review_helpers import AUTH, BASE_URL, make_context, seed

from edge.review.app import create_app

OPERATIONS = [
    "GET /api/v1/me", "GET /api/v1/health", "GET /api/v1/skeleton", "GET /api/v1/alerts",
    "GET /api/v1/alerts/{alert_id}", "POST /api/v1/alerts/review", "GET /api/v1/alerts/{alert_id}/snapshots/{name}", "GET /api/v1/alerts/{alert_id}/thumbnail.jpg", "GET /api/v1/timeline", "GET /api/v1/alerts/{alert_id}/windows",
    "GET /api/v1/alerts/{alert_id}/timeline.{kind}", "POST /api/v1/alerts/{alert_id}/review",
    "GET /api/v1/alerts/{alert_id}/normal", "POST /api/v1/alerts/{alert_id}/normal", "DELETE /api/v1/alerts/{alert_id}/normal", "GET /api/v1/profiles",
    "GET /api/v1/profiles/{name}", "POST /api/v1/profiles/{name}/rollback", "GET /api/v1/streams", "GET /api/v1/hosts", "GET /api/v1/alert-profiles",
    "GET /api/v1/events/sinks",
]  # fmt: skip


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    folder = tmp_path_factory.mktemp("contract")
    profiles = folder / "profiles"
    profiles.mkdir()
    seeded = seed(f"sqlite:///{folder / 'alerts.db'}", profiles)
    # schemathesis names a host of its own; the Host check has tests of its own (test_security.py)
    return create_app(make_context(seeded.url, Path(seeded.profiles), allowed_hosts=["*"]))


@pytest.fixture(scope="module")
def operations(api_app: FastAPI) -> dict[str, object]:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api_app, headers=AUTH)
    ops = [result.ok() for result in schema.get_all_operations()]
    return {op.label: op for op in ops}


def test_the_schema_lists_every_operation_with_its_401(
    api_app: FastAPI, operations: dict[str, object]
) -> None:
    assert sorted(operations) == sorted(OPERATIONS)
    spec = TestClient(api_app, base_url=BASE_URL).get("/api/v1/openapi.json", headers=AUTH).json()
    assert all("401" in op["responses"] for path in spec["paths"].values() for op in path.values())


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_keeps_to_its_schema(label: str, operations: dict[str, object]) -> None:
    operation = operations[label]

    @given(operation.as_strategy())  # type: ignore[attr-defined]
    # a few generated requests per operation: every operation covered, at a fraction of the time
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=AUTH)

    check()
