"""Invitations and the request lifecycle: requested → viewed → granted | declined, overdue, progress."""

from __future__ import annotations

from datetime import date, timedelta

from tanso_devstack.testing import as_principal as as_
from tanso_supplier_exchange.domain import model

from .conftest import BUYER, FIGURES, STRANGER, SUPPLIER, SUPPLIER2, connect, new_request


async def test_invite_accept_request_view_decline_and_grant(client):
    await connect(client)
    req = await new_request(client)
    assert (req["state"], req["status"], req["overdue"], req["buyer_tenant_id"], req["supplier_tenant_id"]) == (
        "requested", "requested", False, BUYER, SUPPLIER)
    assert req["what"] == ["scope3_category", "scope_total"]

    # The buyer reading its own request does not mark it viewed; the supplier opening it does, once.
    assert (await client.get(f"/requests/{req['request_id']}", headers=as_(BUYER))).json()["state"] == "requested"
    seen = (await client.get(f"/requests/{req['request_id']}", headers=as_(SUPPLIER, "viewer"))).json()
    assert seen["state"] == "viewed" and seen["viewed_at"]
    again = (await client.get(f"/requests/{req['request_id']}", headers=as_(SUPPLIER))).json()
    assert again["viewed_at"] == seen["viewed_at"]

    # Only the supplier answers, only its admin, and only once.
    assert (await client.post(f"/requests/{req['request_id']}/decline", headers=as_(BUYER),
                              json={"reason": "x"})).status_code == 403
    assert (await client.post(f"/requests/{req['request_id']}/decline", headers=as_(SUPPLIER, "editor"),
                              json={"reason": "x"})).status_code == 403
    r = await client.post(f"/requests/{req['request_id']}/decline", headers=as_(SUPPLIER),
                          json={"reason": "未算定のため"})
    assert r.status_code == 200 and (r.json()["state"], r.json()["decline_reason"]) == ("declined", "未算定のため")
    r = await client.post(f"/requests/{req['request_id']}/grant", headers=as_(SUPPLIER), json={"figures": FIGURES})
    assert r.status_code == 409 and r.json()["title"] == "already_declined"

    second = await new_request(client)
    r = await client.post(f"/requests/{second['request_id']}/grant", headers=as_(SUPPLIER), json={"figures": FIGURES})
    assert r.status_code == 201
    got = (await client.get(f"/requests/{second['request_id']}", headers=as_(BUYER))).json()
    assert got["state"] == "granted" and got["disclosure_ids"] == [r.json()["disclosure_id"]]

    assert [x["request_id"] for x in (await client.get("/requests?role=buyer", headers=as_(BUYER))).json()] == [
        req["request_id"], second["request_id"]]
    assert (await client.get("/requests?role=supplier", headers=as_(BUYER))).json() == []
    assert len((await client.get("/requests?role=supplier", headers=as_(SUPPLIER))).json()) == 2


async def test_overdue_when_past_the_deadline_and_unanswered(client, monkeypatch):
    await connect(client)
    await connect(client, BUYER, SUPPLIER2)
    deadline = date.today() + timedelta(days=3)
    open_one = await new_request(client, deadline=deadline)
    viewed = await new_request(client, deadline=deadline)
    await client.get(f"/requests/{viewed['request_id']}", headers=as_(SUPPLIER))
    answered = await new_request(client, deadline=deadline)
    await client.post(f"/requests/{answered['request_id']}/grant", headers=as_(SUPPLIER), json={"figures": FIGURES})
    declined = await new_request(client, BUYER, SUPPLIER2, deadline=deadline)
    await client.post(f"/requests/{declined['request_id']}/decline", headers=as_(SUPPLIER2), json={"reason": "n/a"})

    monkeypatch.setattr(model, "today", lambda: deadline)  # the deadline day itself is still in time
    statuses = {r["request_id"]: r["status"] for r in (await client.get("/requests", headers=as_(BUYER))).json()}
    assert set(statuses.values()) == {"requested", "viewed", "granted", "declined"}

    monkeypatch.setattr(model, "today", lambda: deadline + timedelta(days=1))
    listed = {r["request_id"]: r for r in (await client.get("/requests", headers=as_(BUYER))).json()}
    assert {k: (v["status"], v["overdue"], v["state"]) for k, v in listed.items()} == {
        open_one["request_id"]: ("overdue", True, "requested"),
        viewed["request_id"]: ("overdue", True, "viewed"),
        answered["request_id"]: ("granted", False, "granted"),
        declined["request_id"]: ("declined", False, "declined")}

    progress = {p["supplier_tenant_id"]: p for p in (await client.get("/suppliers/progress",
                                                                       headers=as_(BUYER, "viewer"))).json()}
    assert progress[SUPPLIER]["counts"] == {"requested": 0, "viewed": 0, "overdue": 2, "granted": 1, "declined": 0}
    assert progress[SUPPLIER2]["counts"] == {"requested": 0, "viewed": 0, "overdue": 0, "granted": 0, "declined": 1}
    assert (progress[SUPPLIER]["total"], progress[SUPPLIER2]["total"]) == (3, 1)


async def test_invitation_codes_and_who_may_accept_them(client):
    # Addressed to a tenant: nobody else can use it, and it works once.
    code = (await client.post("/invitations", headers=as_(BUYER), json={"supplier_tenant_id": SUPPLIER})).json()["code"]
    assert (await client.post(f"/invitations/{code}/accept", headers=as_(STRANGER))).status_code == 404
    assert (await client.post(f"/invitations/{code}/accept", headers=as_(SUPPLIER, "editor"))).status_code == 403
    assert (await client.post(f"/invitations/{code}/accept", headers=as_(SUPPLIER))).status_code == 200
    assert (await client.post(f"/invitations/{code}/accept", headers=as_(SUPPLIER))).status_code == 409
    # An open code: whoever the buyer hands it to (not the buyer itself).
    code = (await client.post("/invitations", headers=as_(BUYER), json={})).json()["code"]
    assert (await client.post(f"/invitations/{code}/accept", headers=as_(BUYER))).status_code == 404
    r = await client.post(f"/invitations/{code}/accept", headers=as_(SUPPLIER2))
    assert r.json() == {"buyer_tenant_id": BUYER, "supplier_tenant_id": SUPPLIER2}
    assert (await client.post("/invitations/nope/accept", headers=as_(SUPPLIER))).status_code == 404
    assert (await client.post("/invitations", headers=as_(BUYER), json={"supplier_tenant_id": BUYER})).status_code == 422
    mine = (await client.get("/invitations?role=supplier", headers=as_(SUPPLIER))).json()
    assert [(i["buyer_tenant_id"], i["state"]) for i in mine] == [(BUYER, "accepted")]


async def test_requests_need_an_accepted_relationship_and_valid_content(client):
    body = {"supplier_tenant_id": SUPPLIER, "what": ["scope_total"], "fiscal_year": 2025,
            "deadline": (date.today() + timedelta(days=5)).isoformat()}
    r = await client.post("/requests", headers=as_(BUYER), json=body)
    assert r.status_code == 409 and r.json()["title"] == "not_your_supplier" and r.json()["detail_ja"]
    await connect(client)
    assert (await client.post("/requests", headers=as_(BUYER, "editor"), json=body)).status_code == 403
    assert (await client.post("/requests", headers=as_(BUYER), json=body | {"what": ["everything"]})).status_code == 422
    assert (await client.post("/requests", headers=as_(BUYER), json=body | {"what": []})).status_code == 422
    past = body | {"deadline": (date.today() - timedelta(days=2)).isoformat()}
    assert (await client.post("/requests", headers=as_(BUYER), json=past)).status_code == 422
    # The supplier side of a relationship cannot request from its buyer without its own invitation.
    assert (await client.post("/requests", headers=as_(SUPPLIER), json=body | {"supplier_tenant_id": BUYER})
            ).status_code == 409


async def test_grant_figures_must_be_requested_and_well_formed(client):
    await connect(client)
    req = await new_request(client, what=["scope_total"])
    url = f"/requests/{req['request_id']}/grant"
    cases = [
        [{"kind": "org_intensity", "value": "1.5", "unit": "t-CO2e/百万円"}],  # not requested
        [{"kind": "scope_total", "scope": 4, "value": "1", "unit": "t-CO2e"}],
        [{"kind": "scope_total", "scope": 1, "value": "-1", "unit": "t-CO2e"}],
    ]
    for figures in cases:
        r = await client.post(url, headers=as_(SUPPLIER), json={"figures": figures})
        assert r.status_code == 422, (figures, r.text)
    assert (await client.post(url, headers=as_(SUPPLIER), json={"figures": []})).status_code == 422
    r = await client.post(url, headers=as_(SUPPLIER), json={"figures": [
        {"kind": "scope_total", "scope": 1, "value": 12.5, "unit": "t-CO2e", "extra": 1}]})
    assert r.status_code == 422
    # Nothing was granted by the refused attempts.
    got = (await client.get(f"/requests/{req['request_id']}", headers=as_(BUYER))).json()
    assert (got["state"], got["disclosure_ids"]) == ("requested", [])
