"""The PACT base URL ``/pact``: token endpoint → identity, ``/3/…`` → supplier-exchange, no gateway auth."""

from __future__ import annotations

import pytest
from fastapi import Request


def echo_at(app, path: str) -> None:
    async def echo(request: Request) -> dict:
        return {"path": request.url.path, "query": request.url.query, "body": (await request.body()).decode(),
                "headers": dict(request.headers)}

    app.add_api_route(path, echo, methods=["GET", "POST"])


@pytest.fixture
def pact_harness(harness):
    echo_at(harness.apps["identity"], "/auth/token")
    echo_at(harness.apps["supplier-exchange"], "/3/footprints")
    echo_at(harness.apps["supplier-exchange"], "/3/events")
    return harness


async def test_token_endpoint_goes_to_identity_without_a_gateway_token(pact_harness) -> None:
    r = await pact_harness.client.post("/pact/auth/token", content="grant_type=client_credentials",
                                       headers={"authorization": "Basic Y2xpZW50OnNlY3JldA==",
                                                "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text
    echoed = r.json()
    assert echoed["path"] == "/auth/token" and echoed["body"] == "grant_type=client_credentials"
    assert echoed["headers"]["authorization"] == "Basic Y2xpZW50OnNlY3JldA=="


async def test_footprints_go_to_supplier_exchange_with_the_forwarded_base(pact_harness) -> None:
    r = await pact_harness.client.get("/pact/3/footprints?productId=urn:gtin:1&limit=2",
                                      headers={"authorization": "Bearer pact-token"})
    assert r.status_code == 200, r.text
    echoed = r.json()
    assert echoed["path"] == "/3/footprints" and echoed["query"] == "productId=urn:gtin:1&limit=2"
    h = echoed["headers"]
    assert (h["x-forwarded-prefix"], h["x-forwarded-host"], h["x-forwarded-proto"]) == (
        "/pact", "gateway.test", "http")
    assert h["authorization"] == "Bearer pact-token"  # the service checks the PACT token itself


@pytest.mark.parametrize("path", ["/pact/2/footprints", "/pact/auth/other", "/pact/auth/token/../x", "/pact/"])
async def test_other_pact_paths_are_not_forwarded(pact_harness, path) -> None:
    r = await pact_harness.client.get(path)
    assert r.status_code == 404 and r.json()["code"] == "BadRequest"
    assert pact_harness.apps["identity"].state.calls == 0


def test_tls_is_configured_by_settings(monkeypatch) -> None:
    from tanso_gateway.settings import Settings

    assert not Settings().tls.enabled
    monkeypatch.setenv("TANSO_GATEWAY_TLS__CERTFILE", "/etc/tanso/tls.crt")
    monkeypatch.setenv("TANSO_GATEWAY_TLS__KEYFILE", "/etc/tanso/tls.key")
    settings = Settings()
    assert settings.tls.enabled and settings.tls.certfile == "/etc/tanso/tls.crt"
