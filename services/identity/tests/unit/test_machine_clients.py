"""PACT machine clients: issued by a tenant admin for one buyer, secret shown once and stored hashed,
OAuth2 client credentials over HTTPS only, tokens that open nothing but the PACT API."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
from sqlalchemy import select
from tanso_identity.adapters import tables
from tanso_identity.service_layer.machine_clients import PACT_AUDIENCE
from tanso_runtime.auth import TokenVerifier
from tanso_runtime.errors import ProblemError

PASSWORD = "correct horse battery"
HTTPS = {"x-forwarded-proto": "https"}


async def signed_up(client, company: str) -> dict:
    email = f"admin@{company.lower()}.example"
    r = await client.post("/tenants", json={"company_name": company, "admin_email": email,
                                            "admin_password": PASSWORD, "admin_display_name": "Admin"})
    assert r.status_code == 201, r.text
    token = (await client.post("/token", json={"email": email, "password": PASSWORD})).json()["access_token"]
    return {**r.json(), "auth": {"authorization": f"Bearer {token}"}}


def basic(client_id: str, secret: str) -> dict:
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode(), **HTTPS}


FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def pair(client):
    supplier, buyer = await signed_up(client, "Supplier"), await signed_up(client, "Buyer")
    r = await client.post("/machine-clients", headers=supplier["auth"], json={
        "name": "Buyer PACT", "buyer_tenant_id": buyer["tenant_id"], "callback_url": "https://pact.buyer.example/api/"})
    assert r.status_code == 201, r.text
    return supplier, buyer, r.json()


async def test_admin_issues_a_client_for_one_buyer_and_the_secret_is_shown_once_and_stored_hashed(client, engine,
                                                                                                  pair):
    supplier, buyer, issued = pair
    assert issued["buyer_tenant_id"] == buyer["tenant_id"] and issued["status"] == "active"
    assert issued["callback_url"] == "https://pact.buyer.example/api" and len(issued["client_secret"]) >= 32
    listed = (await client.get("/machine-clients", headers=supplier["auth"])).json()
    assert [c["client_id"] for c in listed] == [issued["client_id"]]
    assert "client_secret" not in listed[0]
    # the buyer's admin sees none of the supplier's clients
    assert (await client.get("/machine-clients", headers=buyer["auth"])).json() == []
    async with engine.connect() as conn:
        stored = (await conn.execute(select(tables.machine_client_secrets.c.secret_hash))).scalar_one()
        events = (await conn.execute(select(tables.messaging.events.c.data))).all()
    assert stored.startswith("$argon2id$") and issued["client_secret"] not in stored
    assert all(issued["client_secret"] not in str(e) for e in events)


async def test_token_carries_supplier_buyer_and_a_pact_only_audience(client, settings, pair):
    supplier, buyer, issued = pair
    r = await client.post("/auth/token", content="grant_type=client_credentials",
                          headers={**basic(issued["client_id"], issued["client_secret"]), **FORM})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == settings.token_lifetime_seconds
    assert r.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["aud"], claims["tid"], claims["buyer"], claims["sub"], claims["org"], claims["cb"]) == (
        PACT_AUDIENCE, supplier["tenant_id"], buyer["tenant_id"], issued["client_id"], "Supplier",
        "https://pact.buyer.example/api")
    # the normal APIs (audience "tanso") refuse it: a PACT client can never read the supplier's own data
    keys = (await client.get("/.well-known/jwks.json")).json()
    normal = TokenVerifier("http://unused", settings.auth.issuer, settings.auth.audience)
    normal.add_jwks(keys)
    with pytest.raises(ProblemError):
        await normal.verify(body["access_token"])
    assert (await client.get("/me", headers={"authorization": f"Bearer {body['access_token']}"})).status_code == 401
    pact = TokenVerifier("http://unused", settings.auth.issuer, PACT_AUDIENCE)
    pact.add_jwks(keys)
    assert (await pact.verify(body["access_token"])).tenant_id == supplier["tenant_id"]


@pytest.mark.parametrize("credentials", ["wrong-secret", None, "garbage-header"])
async def test_wrong_or_missing_credentials_get_invalid_client(client, pair, credentials):
    _, _, issued = pair
    if credentials == "wrong-secret":
        headers = basic(issued["client_id"], "not-the-secret")
    elif credentials == "garbage-header":
        headers = {"authorization": "Basic !!!", **HTTPS}
    else:
        headers = dict(HTTPS)
    r = await client.post("/auth/token", content="grant_type=client_credentials", headers={**headers, **FORM})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert "access_token" not in r.json() and r.headers["www-authenticate"].startswith("Basic")


async def test_unknown_client_and_other_grant_types_are_refused(client, pair):
    _, _, issued = pair
    r = await client.post("/auth/token", content="grant_type=client_credentials",
                          headers={**basic("no-such-client", "x"), **FORM})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await client.post("/auth/token", content="grant_type=password",
                          headers={**basic(issued["client_id"], issued["client_secret"]), **FORM})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


async def test_plain_http_gets_no_token(client, pair):
    _, _, issued = pair
    headers = {**basic(issued["client_id"], issued["client_secret"]), **FORM, "x-forwarded-proto": "http"}
    r = await client.post("/auth/token", content="grant_type=client_credentials", headers=headers)
    assert r.status_code == 400 and "access_token" not in r.json() and "HTTPS" in r.json()["error_description"]


async def test_revoked_client_gets_no_new_token(client, pair):
    supplier, _, issued = pair
    r = await client.post(f"/machine-clients/{issued['client_id']}/revoke", headers=supplier["auth"])
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_at"]
    r = await client.post("/auth/token", content="grant_type=client_credentials",
                          headers={**basic(issued["client_id"], issued["client_secret"]), **FORM})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_only_admins_issue_and_only_for_an_existing_other_tenant(client, pair):
    supplier, buyer, issued = pair
    r = await client.post("/machine-clients", headers=supplier["auth"],
                          json={"name": "x", "buyer_tenant_id": "no-such-tenant"})
    assert r.status_code == 422 and r.json()["title"] == "unknown_buyer" and r.json()["detail_ja"]
    r = await client.post("/machine-clients", headers=supplier["auth"],
                          json={"name": "x", "buyer_tenant_id": supplier["tenant_id"]})
    assert r.status_code == 422 and r.json()["title"] == "self_client"
    r = await client.post("/machine-clients", headers=supplier["auth"], json={
        "name": "x", "buyer_tenant_id": buyer["tenant_id"], "callback_url": "http://insecure.example"})
    assert r.status_code == 422 and r.json()["title"] == "invalid_callback_url"
    r = await client.post("/users", headers=supplier["auth"], json={
        "email": "viewer@supplier.example", "display_name": "V", "roles": ["viewer"], "password": PASSWORD})
    viewer = (await client.post("/token", json={"email": "viewer@supplier.example", "password": PASSWORD})).json()
    r = await client.post("/machine-clients", headers={"authorization": f"Bearer {viewer['access_token']}"},
                          json={"name": "x", "buyer_tenant_id": buyer["tenant_id"]})
    assert r.status_code == 403
    # another tenant cannot revoke (or learn about) the supplier's client
    r = await client.post(f"/machine-clients/{issued['client_id']}/revoke", headers=buyer["auth"])
    assert r.status_code == 404


async def test_token_expires_after_its_lifetime(client, settings, pair):
    _, _, issued = pair
    from tanso_identity.adapters.signing import TokenIssuer, load_or_create_signing_key
    from tanso_identity.service_layer.machine_clients import issue_token

    issuer = TokenIssuer(load_or_create_signing_key(settings.signing_key_path), settings.auth.issuer,
                         settings.auth.audience, 60)
    old = issue_token(issuer, {"client_id": issued["client_id"], "tenant_id": "t", "buyer_tenant_id": "b"},
                      now=time.time() - 120)
    verifier = TokenVerifier("http://unused", settings.auth.issuer, PACT_AUDIENCE)
    verifier.add_jwks(issuer.jwks())
    with pytest.raises(ProblemError, match="expired"):
        await verifier.verify(old)
