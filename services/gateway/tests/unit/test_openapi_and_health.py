"""Combined OpenAPI document, aggregated readiness and processing status."""

from __future__ import annotations

from tanso_gateway.adapters.upstream import PIPELINE_ORDER
from tanso_gateway.domain.openapi import combine, rewrite_refs


async def test_combined_openapi_prefixes_paths_and_schemas(harness) -> None:
    response = await harness.client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/identity/tenants" in doc["paths"]
    assert "/api/activities/things" in doc["paths"]
    assert not any("/health/" in p for p in doc["paths"])
    schemas = doc["components"]["schemas"]
    assert "identity_Thing" in schemas and "activities_Thing" in schemas and "Thing" not in schemas
    op = doc["paths"]["/api/activities/things"]["post"]
    assert op["tags"] == ["activities"]
    body_ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/activities_Thing"
    assert op["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/api/identity/tenants"]["post"]["security"] == []
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "Not included" not in doc["info"]["description"]
    all_refs = str(doc)
    assert "'#/components/schemas/Thing'" not in all_refs
    assert "'#/components/schemas/HTTPValidationError'" not in all_refs


async def test_combined_openapi_skips_services_that_are_down(make_harness) -> None:
    h = make_harness(down=("reporting",))
    doc = (await h.client.get("/openapi.json")).json()
    assert not any(p.startswith("/api/reporting/") for p in doc["paths"])
    assert "reporting" in doc["info"]["description"].split("Not included")[1]


def test_rewrite_refs_handles_discriminator_mapping() -> None:
    node = {"oneOf": [{"$ref": "#/components/schemas/A"}],
            "discriminator": {"propertyName": "k", "mapping": {"a": "#/components/schemas/A"}}}
    out = rewrite_refs(node, "svc")
    assert out["oneOf"][0]["$ref"] == "#/components/schemas/svc_A"
    assert out["discriminator"]["mapping"]["a"] == "#/components/schemas/svc_A"


def test_combine_keeps_operation_ids_unique() -> None:
    doc = {"paths": {"/x": {"get": {"operationId": "list"}}}}
    combined = combine({"a": doc, "b": doc}, {})
    assert combined["paths"]["/api/a/x"]["get"]["operationId"] == "a__list"
    assert combined["paths"]["/api/b/x"]["get"]["operationId"] == "b__list"


async def test_ready_200_when_all_upstreams_ready(harness) -> None:
    response = await harness.client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["services"]) == set(harness.apps)
    assert all(s["http_status"] == 200 for s in body["services"].values())


async def test_ready_503_when_one_upstream_not_ready(harness) -> None:
    harness.apps["calculation"].state.ready = False
    response = await harness.client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["services"]["calculation"] == {"status": "not_ready", "http_status": 503,
                                               "checks": {"started": False}}
    assert body["services"]["identity"]["status"] == "ready"


async def test_ready_503_when_one_upstream_is_down(make_harness) -> None:
    h = make_harness(down=("supplier-exchange",))
    body = (await h.client.get("/health/ready")).json()
    assert body["services"]["supplier-exchange"]["status"] == "unreachable"
    assert body["status"] == "not_ready"


async def test_live(harness) -> None:
    assert (await harness.client.get("/health/live")).json() == {"status": "live"}


async def test_processing_is_up_to_date_when_no_service_has_pending_events(harness) -> None:
    response = await harness.client.get("/health/processing")
    assert response.status_code == 200
    body = response.json()
    assert body["up_to_date"] is True and body["pending"] == 0
    assert body["message_en"] == "Every recorded input is reflected in the figures."
    assert harness.processing_asked == list(PIPELINE_ORDER)  # upstream first: an event moving on is not missed


async def test_processing_sums_what_the_services_still_have_to_do(harness) -> None:
    harness.apps["calculation"].state.pending = 1200
    harness.apps["reporting"].state.pending = 34
    body = (await harness.client.get("/health/processing")).json()
    assert body["up_to_date"] is False and body["pending"] == 1234
    assert "1,234" in body["message_ja"] and "1,234 events are still being processed" in body["message_en"]
    assert body["services"]["calculation"]["pending"] == 1200


async def test_processing_is_unknown_when_a_service_cannot_say(make_harness) -> None:
    h = make_harness(down=("calculation",))
    response = await h.client.get("/health/processing")
    assert response.status_code == 503
    body = response.json()
    assert body["up_to_date"] is None and "calculation" in body["message_en"]
    assert body["services"]["calculation"]["status"] == "unreachable"
