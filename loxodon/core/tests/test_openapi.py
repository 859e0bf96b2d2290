from __future__ import annotations

from loxodon.core.testing import Api


def test_openapi_schema_documents_the_public_routes(anonymous: Api) -> None:
    schema = anonymous.client.get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    for route in (
        "/api/v1/customers",
        "/api/v1/customers/resolve",
        "/api/v1/customers/{customer_id}/view",
        "/api/v1/customers/{customer_id}/timeline",
        "/api/v1/customers/{customer_id}/identities",
        "/api/v1/events",
        "/api/v1/events/batch",
        "/api/v1/assets",
        "/api/v1/cases",
        "/api/v1/cases/{case_id}/tasks",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/cases/{case_id}/handoffs",
        "/api/v1/cases/{case_id}/confirm",
        "/api/v1/cases/{case_id}/close-unconfirmed",
        "/api/v1/sites",
        "/api/v1/departments",
        "/api/v1/staff",
    ):
        assert route in paths, route
    assert "BearerToken" in schema["components"]["securitySchemes"]


def test_interactive_docs_are_served(anonymous: Api) -> None:
    assert anonymous.client.get("/api/v1/docs").status_code == 200
