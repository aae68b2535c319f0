"""Grants: immutable, signed, published twice (internal + public topic), visible to the two tenants only."""

from __future__ import annotations

import base64
import json
import os
import stat

import jwt
import pytest
from sqlalchemy import select, text
from tanso_devstack.testing import as_principal as as_
from tanso_events.catalog import PUBLIC_DISCLOSURES_TOPIC, DisclosureGranted
from tanso_events.envelope import Envelope
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore, canonical_json
from tanso_supplier_exchange.adapters import tables
from tanso_supplier_exchange.adapters.projections import PROJECTIONS
from tanso_supplier_exchange.adapters.signing import verify_disclosure

from .conftest import BUYER, FIGURES, STRANGER, SUPPLIER, SUPPLIER2, connect, granted, new_request


async def outbox(engine) -> list[tuple[str, Envelope]]:
    """The queued DisclosureGranted events (requests queue DisclosureRequested too; see test_request_events)."""
    o = tables.messaging.outbox
    async with engine.connect() as conn:
        rows = (await conn.execute(select(o.c.topic, o.c.payload).where(
            o.c.type == DisclosureGranted.event_type()).order_by(o.c.position))).all()
    return [(topic, Envelope.model_validate_json(payload)) for topic, payload in rows]


async def test_grant_queues_the_event_on_the_service_topic_and_the_public_topic(client, engine):
    _, disclosure = await granted(client)
    (topic1, internal), (topic2, public) = await outbox(engine)
    assert (topic1, internal.tenantid, internal.subject) == ("tanso.supplier-exchange.v1", SUPPLIER,
                                                             disclosure["disclosure_id"])
    assert (topic2, public.tenantid, public.subject) == (PUBLIC_DISCLOSURES_TOPIC, BUYER, disclosure["disclosure_id"])
    assert internal.type == public.type == DisclosureGranted.event_type() and internal.id != public.id
    assert internal.data == public.data
    event = DisclosureGranted.model_validate(public.data)
    assert (event.supplier_tenant_id, event.buyer_tenant_id, event.fiscal_year, event.supersedes_disclosure_id) == (
        SUPPLIER, BUYER, 2025, None)
    # Nothing beyond what was granted: the chosen figures, exactly as sent, and the signature over them.
    assert [f.model_dump(mode="json", exclude_defaults=True) for f in event.figures] == [
        {k: v for k, v in f.items() if v} for f in FIGURES]
    assert set(public.data) == set(DisclosureGranted.model_fields)
    assert verify_disclosure(event.signature_jws, (await client.get("/.well-known/jwks.json")).json())[
        "figures"] == public.data["figures"]


async def test_the_disclosure_reads_back_with_its_jws_which_verifies_against_the_published_jwks(client, settings):
    _, disclosure = await granted(client)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    key, = jwks["keys"]
    assert {k: key[k] for k in ("kty", "crv", "alg", "use")} == {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
                                                                   "use": "sig"} and "d" not in key
    for tenant in (BUYER, SUPPLIER):
        got = (await client.get(f"/disclosures/{disclosure['disclosure_id']}", headers=as_(tenant, "viewer"))).json()
        assert got["signature_jws"] == disclosure["signature_jws"] and got["superseded_by"] is None
    header = jwt.get_unverified_header(disclosure["signature_jws"])
    assert (header["alg"], header["typ"], header["kid"]) == ("EdDSA", "tanso-disclosure+jws", key["kid"])
    payload = verify_disclosure(disclosure["signature_jws"], jwks)
    # everything but the signature itself and pact_readiness (a derived, unsigned view) is signed
    assert payload == {k: v for k, v in disclosure.items() if k not in ("signature_jws", "kid", "pact_readiness")}
    assert disclosure["signature_jws"].split(".")[1] == base64.urlsafe_b64encode(
        canonical_json(payload).encode()).rstrip(b"=").decode()

    path = settings.signing_key_path
    assert path == settings.data_dir / "keys" / "supplier-exchange-ed25519.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_the_signature_fails_when_any_byte_of_the_payload_changes(client):
    _, disclosure = await granted(client)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    head, body, sig = disclosure["signature_jws"].split(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    for i in range(len(raw)):
        changed = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:]
        forged = ".".join([head, base64.urlsafe_b64encode(changed).rstrip(b"=").decode(), sig])
        with pytest.raises(jwt.PyJWTError):
            verify_disclosure(forged, jwks)
    other_key = {"keys": [{**jwks["keys"][0], "x": base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()}]}
    with pytest.raises(jwt.PyJWTError):
        verify_disclosure(disclosure["signature_jws"], other_key)


async def test_the_stated_pact_data_is_signed_and_a_forged_change_of_it_fails_verification(client, engine):
    from .test_pact import STEEL, STEEL_PACT, grant_products

    disclosure = await grant_products(client, [STEEL])
    jwks = (await client.get("/.well-known/jwks.json")).json()
    payload = verify_disclosure(disclosure["signature_jws"], jwks)
    assert payload["figures"][0]["footprint"] == STEEL_PACT  # signed exactly as stated
    (_, internal), (_, public) = await outbox(engine)
    assert public.data["figures"] == internal.data["figures"] == payload["figures"]
    head, _, sig = disclosure["signature_jws"].split(".")
    for change in ({"pcf_excluding_biogenic_uptake": "1.35"}, {"geography": "CN"},
                   {"packaging_emissions_included": True}, {"primary_data_share": "95"}):
        forged_payload = json.loads(json.dumps(payload))
        forged_payload["figures"][0]["footprint"].update(change)
        body = base64.urlsafe_b64encode(canonical_json(forged_payload).encode()).rstrip(b"=").decode()
        with pytest.raises(jwt.PyJWTError):
            verify_disclosure(f"{head}.{body}.{sig}", jwks)


async def test_a_figure_without_footprint_details_is_signed_and_published_as_before(client, engine):
    _, disclosure = await granted(client)
    payload = verify_disclosure(disclosure["signature_jws"], (await client.get("/.well-known/jwks.json")).json())
    assert all("footprint" not in f for f in payload["figures"])
    (_, internal), _ = await outbox(engine)
    assert all("footprint" not in f for f in internal.data["figures"])
    assert disclosure["pact_readiness"] == []  # no product footprint in it


async def test_every_path_that_could_change_a_granted_disclosure_is_refused_with_409(client, engine):
    req, disclosure = await granted(client)
    did = disclosure["disclosure_id"]
    for method in ("PUT", "PATCH", "DELETE"):
        r = await client.request(method, f"/disclosures/{did}", headers=as_(SUPPLIER), json={"figures": []})
        assert r.status_code == 409, method
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["title"] == "disclosure_immutable" and "never be changed" in r.json()["detail"]
        assert "変更・取り消しは一切できません" in r.json()["detail_ja"]
    assert (await client.post(f"/disclosures/{did}/revoke", headers=as_(BUYER))).status_code == 409
    r = await client.post(f"/requests/{req['request_id']}/grant", headers=as_(SUPPLIER), json={"figures": FIGURES})
    assert r.status_code == 409 and r.json()["title"] == "already_granted"
    r = await client.post(f"/requests/{req['request_id']}/decline", headers=as_(SUPPLIER), json={"reason": "revoke"})
    assert r.status_code == 409 and r.json()["title"] == "already_granted"

    # A correction is a new disclosure that references the old one; the old one stays byte for byte.
    fixed = [{**FIGURES[0], "value": "1210.5"}]
    assert (await client.post(f"/disclosures/{did}/corrections", headers=as_(BUYER),
                              json={"figures": fixed})).status_code == 403
    r = await client.post(f"/disclosures/{did}/corrections", headers=as_(SUPPLIER), json={"figures": fixed})
    assert r.status_code == 201
    correction = r.json()
    assert correction["supersedes_disclosure_id"] == did and correction["disclosure_id"] != did
    old = (await client.get(f"/disclosures/{did}", headers=as_(BUYER))).json()
    assert old["signature_jws"] == disclosure["signature_jws"] and old["superseded_by"] == correction["disclosure_id"]
    r = await client.post(f"/disclosures/{did}/corrections", headers=as_(SUPPLIER), json={"figures": fixed})
    assert r.status_code == 409 and r.json()["superseded_by"] == correction["disclosure_id"]
    topics = [(t, e.tenantid, e.data["supersedes_disclosure_id"]) for t, e in await outbox(engine)]
    assert topics[2:] == [("tanso.supplier-exchange.v1", SUPPLIER, did), (PUBLIC_DISCLOSURES_TOPIC, BUYER, did)]
    assert [d["disclosure_id"] for d in (await client.get("/disclosures?role=buyer", headers=as_(BUYER))).json()] == [
        did, correction["disclosure_id"]]


async def test_a_third_tenant_sees_nothing_through_any_endpoint(client):
    req, disclosure = await granted(client)
    rid, did = req["request_id"], disclosure["disclosure_id"]
    s = as_(STRANGER)
    for method, url, body in [
        ("GET", f"/requests/{rid}", None), ("POST", f"/requests/{rid}/decline", {"reason": "x"}),
        ("POST", f"/requests/{rid}/grant", {"figures": FIGURES}), ("GET", f"/disclosures/{did}", None),
        ("PUT", f"/disclosures/{did}", {}), ("PATCH", f"/disclosures/{did}", {}), ("DELETE", f"/disclosures/{did}", None),
        ("POST", f"/disclosures/{did}/revoke", None), ("POST", f"/disclosures/{did}/corrections", {"figures": FIGURES}),
    ]:
        r = await client.request(method, url, headers=s, json=body)
        assert r.status_code == 404, (method, url, r.status_code)
        assert r.json()["title"] == "not_found"
    for url in ("/requests", "/requests?role=buyer", "/requests?role=supplier", "/disclosures", "/suppliers/progress",
                "/invitations", "/invitations?role=supplier"):
        assert (await client.get(url, headers=s)).json() == [], url
    # …and the request was not marked viewed by the stranger's attempt.
    assert (await client.get(f"/requests/{rid}", headers=as_(BUYER))).json()["viewed_at"] is None


async def test_a_supplier_cannot_read_the_buyers_other_data(client):
    await connect(client, BUYER, SUPPLIER2)
    other_req, other = await granted(client, BUYER, SUPPLIER)  # also connects SUPPLIER
    mine = await new_request(client, BUYER, SUPPLIER2)
    s2 = as_(SUPPLIER2)
    assert (await client.get(f"/requests/{other_req['request_id']}", headers=s2)).status_code == 404
    assert (await client.get(f"/disclosures/{other['disclosure_id']}", headers=s2)).status_code == 404
    assert [r["request_id"] for r in (await client.get("/requests", headers=s2)).json()] == [mine["request_id"]]
    assert (await client.get("/requests?role=buyer", headers=s2)).json() == []
    assert (await client.get("/suppliers/progress", headers=s2)).json() == []
    assert (await client.get("/invitations?role=buyer", headers=s2)).json() == []
    assert (await client.get("/disclosures", headers=s2)).json() == []
    # The buyer's view of its suppliers is its own; the supplier sees only what concerns it.
    progress = (await client.get("/suppliers/progress", headers=as_(BUYER))).json()
    assert sorted(p["supplier_tenant_id"] for p in progress) == [SUPPLIER, SUPPLIER2]


async def test_projections_rebuild_identically_and_leave_the_disclosure_ledger_untouched(client, engine):
    _, disclosure = await granted(client)
    await client.post(f"/disclosures/{disclosure['disclosure_id']}/corrections", headers=as_(SUPPLIER),
                      json={"figures": FIGURES[:1]})
    read_models = [*tables.READ_MODELS, tables.disclosures]
    async with engine.connect() as conn:
        before = await checksum(conn, read_models)
    assert await rebuild(engine, EventStore(tables.messaging), PROJECTIONS) > 0
    async with engine.connect() as conn:
        assert await checksum(conn, read_models) == before


@pytest.mark.postgres
async def test_postgresql_refuses_a_direct_update_or_delete_of_granted_disclosures(client, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the immutability trigger is PostgreSQL's; SQLite relies on the API alone")
    _, disclosure = await granted(client)
    did = disclosure["disclosure_id"]
    for statement in (f"UPDATE disclosures SET fiscal_year = 1999 WHERE disclosure_id = '{did}'",
                      f"UPDATE disclosures SET payload = '{json.dumps({'forged': True})}'",
                      f"DELETE FROM disclosures WHERE disclosure_id = '{did}'",
                      "TRUNCATE disclosures",
                      f"UPDATE event_store SET data = '{{}}' WHERE stream_id = 'disclosure-{did}'",
                      f"DELETE FROM event_store WHERE stream_id = 'disclosure-{did}'"):
        with pytest.raises(Exception, match="granted disclosures are immutable"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    got = (await client.get(f"/disclosures/{did}", headers=as_(BUYER))).json()
    assert got["fiscal_year"] == 2025 and got["signature_jws"] == disclosure["signature_jws"]


async def test_the_example_subscriber_prints_verified_disclosures_of_its_tenant_only(client, engine):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[4] / "examples" / "disclosure_subscriber.py"
    spec = importlib.util.spec_from_file_location("disclosure_subscriber", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    _, disclosure = await granted(client)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    (_, _internal), (topic, public) = await outbox(engine)
    assert topic == example.TOPIC
    value = public.model_dump_json().encode()
    got = example.handle(value, jwks, BUYER)
    assert got["disclosure_id"] == disclosure["disclosure_id"]
    assert "Scope 3 cat. 1" in example.describe(got) and "15000.25" in example.describe(got)
    assert example.handle(value, jwks, STRANGER) is None
    forged = json.loads(value)
    forged["data"]["figures"][0]["value"] = "1.0"  # the envelope says one thing, the signature another
    with pytest.raises(jwt.PyJWTError):
        example.handle(json.dumps(forged).encode(), jwks, BUYER)
