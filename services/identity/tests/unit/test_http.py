"""The HTTP API end to end through ASGI (no Kafka): sign-up, sign-in, admin actions, tenant isolation."""

from __future__ import annotations

import pytest

PASSWORD = "correct horse battery"


async def signed_in(client, email: str, company: str = "株式会社サンプル") -> dict:
    r = await client.post("/tenants", json={"company_name": company, "admin_email": email,
                                            "admin_password": PASSWORD, "admin_display_name": "管理 太郎"})
    assert r.status_code == 201, r.text
    return await login(client, email) | r.json()


async def login(client, email: str, password: str = PASSWORD) -> dict:
    r = await client.post("/token", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    return body | {"auth": {"authorization": f"Bearer {body['access_token']}"}}


async def test_jwks_publishes_the_ed25519_public_key(client):
    key, = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert {k: key[k] for k in ("kty", "crv", "use", "alg")} == {"kty": "OKP", "crv": "Ed25519", "use": "sig",
                                                                   "alg": "EdDSA"}
    assert "d" not in key and key["kid"]


async def test_sign_up_then_sign_in_then_read_me_tenant_and_org_units(client):
    a = await signed_in(client, "admin@example.co.jp")
    assert (a["token_type"], a["expires_in"], a["roles"]) == ("Bearer", 900, ["admin"])

    me = (await client.get("/me", headers=a["auth"])).json()
    assert (me["user_id"], me["tenant_id"], me["email"], me["status"]) == (
        a["user_id"], a["tenant_id"], "admin@example.co.jp", "active")
    tenant = (await client.get("/tenant", headers=a["auth"])).json()
    assert (tenant["company_name"], tenant["fiscal_year_start_month"]) == ("株式会社サンプル", 4)
    assert tenant["created_at"].endswith(("Z", "+00:00"))

    r = await client.post("/org-units", headers=a["auth"], json={
        "kind": "site", "parent_id": a["org_unit_id"], "name_ja": "本社", "floor_area_m2": "1500.25",
        "prefecture": "東京都", "building_use": "office"})
    assert r.status_code == 201 and r.json()["floor_area_m2"] == "1500.25"
    units = (await client.get("/org-units", headers=a["auth"])).json()
    assert [(u["kind"], u["parent_id"]) for u in units] == [("company", None), ("site", a["org_unit_id"])]
    assert (await client.get(f"/org-units/{r.json()['org_unit_id']}", headers=a["auth"])).json()["name_ja"] == "本社"


async def test_duplicate_sign_up_email_answers_a_bilingual_409_problem(client):
    await signed_in(client, "dup@example.com")
    r = await client.post("/tenants", json={"company_name": "X", "admin_email": "DUP@example.com",
                                            "admin_password": PASSWORD, "admin_display_name": "X"})
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "email_taken" and r.json()["detail_ja"]


async def test_short_passwords_are_refused(client):
    r = await client.post("/tenants", json={"company_name": "X", "admin_email": "x@example.com",
                                            "admin_password": "short", "admin_display_name": "X"})
    assert r.status_code == 422


async def test_another_tenants_ids_answer_404_and_lists_show_only_the_own_tenant(client):
    a = await signed_in(client, "a@example.com", "A KK")
    b = await signed_in(client, "b@example.com", "B KK")
    assert (await client.get(f"/org-units/{b['org_unit_id']}", headers=a["auth"])).status_code == 404
    assert (await client.post(f"/users/{b['user_id']}/deactivate", headers=a["auth"])).status_code == 404
    r = await client.post("/org-units", headers=a["auth"], json={"kind": "site", "parent_id": b["org_unit_id"],
                                                                  "name_ja": "X"})
    assert r.status_code == 404
    assert [u["user_id"] for u in (await client.get("/users", headers=a["auth"])).json()] == [a["user_id"]]
    assert [u["org_unit_id"] for u in (await client.get("/org-units", headers=a["auth"])).json()] == [
        a["org_unit_id"]]


async def test_admin_creates_users_who_sign_in_with_their_roles_but_cannot_administer(client):
    a = await signed_in(client, "admin@example.com")
    r = await client.post("/users", headers=a["auth"], json={
        "email": "Editor@Example.com", "display_name": "編集 花子", "roles": ["editor", "viewer"],
        "password": PASSWORD})
    assert r.status_code == 201 and r.json()["email"] == "editor@example.com"
    editor = await login(client, "editor@example.com")
    assert editor["roles"] == ["editor", "viewer"] and editor["tenant_id"] == a["tenant_id"]
    assert (await client.get("/users", headers=editor["auth"])).status_code == 403
    assert (await client.get("/org-units", headers=editor["auth"])).status_code == 200
    bad = await client.post("/users", headers=a["auth"], json={
        "email": "x@example.com", "display_name": "X", "roles": ["superuser"], "password": PASSWORD})
    assert bad.status_code == 422


async def test_a_deactivated_admins_token_no_longer_administers(client):
    a = await signed_in(client, "admin@example.com")
    await client.post("/users", headers=a["auth"], json={
        "email": "second@example.com", "display_name": "Second", "roles": ["admin"], "password": PASSWORD})
    second = await login(client, "second@example.com")
    r = await client.post(f"/users/{second['user_id']}/deactivate", headers=a["auth"])
    assert r.status_code == 200 and r.json()["status"] == "deactivated"
    assert (await client.get("/users", headers=second["auth"])).status_code == 403
    r = await client.post("/token", json={"email": "second@example.com", "password": PASSWORD})
    assert r.status_code == 403


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer not.a.token"}])
async def test_requests_without_a_valid_token_answer_401(client, headers):
    assert (await client.get("/me", headers=headers)).status_code == 401


async def test_sign_up_can_be_switched_off(settings, client):
    settings.allow_signup = False
    r = await client.post("/tenants", json={"company_name": "X", "admin_email": "x@example.com",
                                            "admin_password": PASSWORD, "admin_display_name": "X"})
    assert r.status_code == 403 and r.json()["title"] == "signup_disabled"
