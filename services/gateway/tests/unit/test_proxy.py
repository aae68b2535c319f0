"""Routing, auth, rate limits and body limits of the ``/api/<service>/…`` proxy."""

from __future__ import annotations

from tanso_gateway.settings import RateLimitSettings


async def test_unauthenticated_request_is_401(harness) -> None:
    response = await harness.client.get("/api/activities/echo/x")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "POST /api/identity/token" in response.json()["detail"]
    assert harness.apps["activities"].state.calls == 0


async def test_invalid_token_is_401(harness) -> None:
    response = await harness.client.get("/api/activities/echo/x", headers={"authorization": "Bearer nonsense"})
    assert response.status_code == 401


async def test_public_path_passes_without_token(harness) -> None:
    response = await harness.client.post("/api/identity/tenants", json={"company_name": "ACME"})
    assert response.status_code == 200
    assert response.json()["tenant_id"] == "t-new"


async def test_proxy_keeps_method_body_query_and_adds_request_id(harness) -> None:
    response = await harness.client.put(
        "/api/calculation/echo/a%20b/c?x=1&y=%E6%97%A5", content=b'{"amount": "12.5"}',
        headers={**harness.auth(), "content-type": "application/json", "connection": "keep-alive, x-secret",
                 "x-secret": "drop me"})
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["service"] == "calculation"
    assert echoed["method"] == "PUT"
    assert echoed["raw_path"] == "/echo/a%20b/c"
    assert echoed["query"] == "x=1&y=%E6%97%A5"
    assert echoed["body"] == '{"amount": "12.5"}'
    headers = echoed["headers"]
    assert headers["authorization"].startswith("Bearer ")
    assert headers["x-request-id"] == response.headers["x-request-id"]
    assert headers["traceparent"].startswith("00-")
    assert headers["x-forwarded-prefix"] == "/api/calculation"
    assert "x-secret" not in headers


async def test_given_request_id_and_trace_are_forwarded(harness) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    response = await harness.client.get("/api/reporting/echo/", headers={
        **harness.auth(), "x-request-id": "req-123", "traceparent": traceparent})
    headers = response.json()["headers"]
    assert headers["x-request-id"] == "req-123" == response.headers["x-request-id"]
    # Same trace; the parent is now the gateway's own client span (W3C: a proxy with spans
    # hands on its span id, not the caller's).
    version, trace_id, parent_id, _ = headers["traceparent"].split("-")
    assert (version, trace_id) == ("00", "0af7651916cd43dd8448eb211c80319c")
    assert parent_id != "b7ad6b7169203331" and len(parent_id) == 16
    assert response.headers["traceparent"].split("-")[1] == trace_id


async def test_unknown_service_is_404(harness) -> None:
    response = await harness.client.get("/api/nope/anything", headers=harness.auth())
    assert response.status_code == 404
    assert response.json()["title"] == "unknown_service"


async def test_upstream_down_is_503_naming_the_service(make_harness) -> None:
    h = make_harness(down=("factors",))
    response = await h.client.get("/api/factors/echo/x", headers=h.auth())
    assert response.status_code == 503
    assert response.json()["service"] == "factors"
    assert "factors" in response.json()["detail"]


async def test_rate_limit_per_tenant(make_harness) -> None:
    h = make_harness(rate_limit=RateLimitSettings(requests_per_second=1, burst=3))
    for _ in range(3):
        assert (await h.client.get("/api/activities/echo/x", headers=h.auth("tenant-a"))).status_code == 200
    limited = await h.client.get("/api/activities/echo/x", headers=h.auth("tenant-a"))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert (await h.client.get("/api/activities/echo/x", headers=h.auth("tenant-b"))).status_code == 200
    h.clock.now += 1.0  # one token refilled
    assert (await h.client.get("/api/activities/echo/x", headers=h.auth("tenant-a"))).status_code == 200


async def test_oversized_body_by_content_length_is_413(make_harness) -> None:
    h = make_harness(max_body_bytes=1000)
    response = await h.client.post("/api/activities/echo/upload", content=b"x" * 2000, headers=h.auth())
    assert response.status_code == 413
    assert h.apps["activities"].state.calls == 0


async def test_oversized_streamed_body_is_413(make_harness) -> None:
    h = make_harness(max_body_bytes=1000)

    async def chunks():
        for _ in range(10):
            yield b"y" * 300

    response = await h.client.post("/api/activities/echo/upload", content=chunks(), headers=h.auth())
    assert response.status_code == 413


async def test_streamed_body_under_limit_passes(make_harness) -> None:
    h = make_harness(max_body_bytes=1000)

    async def chunks():
        for _ in range(3):
            yield b"z" * 300

    response = await h.client.post("/api/activities/echo/upload", content=chunks(), headers=h.auth())
    assert response.status_code == 200
    assert response.json()["body"] == "z" * 900


async def test_upstream_validation_error_passes_through(harness) -> None:
    response = await harness.client.post("/api/factors/things", json={"nom": 1}, headers=harness.auth())
    assert response.status_code == 422


async def test_landing_and_docs_pages(harness) -> None:
    landing = await harness.client.get("/")
    assert landing.status_code == 200 and "/docs" in landing.text and "サインイン" in landing.text
    docs = await harness.client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


def test_settings_from_environment(monkeypatch) -> None:
    from tanso_gateway.settings import Settings

    monkeypatch.setenv("TANSO_GATEWAY_UPSTREAMS", '{"identity": "http://10.0.0.1:9001"}')
    monkeypatch.setenv("TANSO_GATEWAY_RATE_LIMIT__BURST", "7")
    monkeypatch.setenv("TANSO_GATEWAY_HTTP__PORT", "9000")
    settings = Settings()
    assert settings.upstreams == {"identity": "http://10.0.0.1:9001"}
    assert settings.rate_limit.burst == 7 and settings.http.port == 9000


