"""Requests and declines are integration events too: DisclosureRequested (tenantid = buyer) and
DisclosureDeclined (tenantid = supplier), keyed by the request id, on the service topic only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from tanso_devstack.testing import as_principal as as_
from tanso_events.catalog import DisclosureDeclined, DisclosureRequested, topic_for
from tanso_events.envelope import Envelope
from tanso_supplier_exchange.adapters import tables

from .conftest import BUYER, SUPPLIER, connect, new_request


async def queued(engine) -> list[tuple[str, Envelope]]:
    o = tables.messaging.outbox
    async with engine.connect() as conn:
        rows = (await conn.execute(select(o.c.topic, o.c.payload).order_by(o.c.position))).all()
    return [(topic, Envelope.model_validate_json(payload)) for topic, payload in rows]


async def test_a_request_queues_disclosure_requested_for_the_buyer(client, engine):
    await connect(client)
    req = await new_request(client, what=("scope_total", "org_intensity"))
    [(topic, envelope)] = await queued(engine)
    assert (topic, envelope.type, envelope.subject, envelope.tenantid) == (
        topic_for("supplier-exchange"), DisclosureRequested.event_type(), req["request_id"], BUYER)
    event = DisclosureRequested.model_validate(envelope.data)
    assert (event.request_id, event.buyer_tenant_id, event.supplier_tenant_id, event.fiscal_year, event.what) == (
        req["request_id"], BUYER, SUPPLIER, 2025, ["org_intensity", "scope_total"])
    assert event.deadline == date.fromisoformat(req["deadline"])


async def test_a_refused_request_queues_nothing(client, engine):
    await connect(client)
    r = await client.post("/requests", headers=as_(BUYER), json={
        "supplier_tenant_id": SUPPLIER, "what": ["scope_total"], "fiscal_year": 2025, "deadline": "2000-01-01"})
    assert r.status_code == 422
    assert await queued(engine) == []


async def test_a_decline_queues_disclosure_declined_for_the_supplier_once(client, engine):
    await connect(client)
    req = await new_request(client)
    r = await client.post(f"/requests/{req['request_id']}/decline", headers=as_(SUPPLIER), json={"reason": "未算定"})
    assert r.status_code == 200, r.text
    again = await client.post(f"/requests/{req['request_id']}/decline", headers=as_(SUPPLIER), json={"reason": "x"})
    assert again.status_code == 409
    (_, requested), (topic, declined) = await queued(engine)
    assert requested.type == DisclosureRequested.event_type()
    assert (topic, declined.type, declined.subject, declined.tenantid) == (
        topic_for("supplier-exchange"), DisclosureDeclined.event_type(), req["request_id"], SUPPLIER)
    event = DisclosureDeclined.model_validate(declined.data)
    assert (event.buyer_tenant_id, event.supplier_tenant_id, event.fiscal_year, event.reason, event.what) == (
        BUYER, SUPPLIER, 2025, "未算定", ["scope3_category", "scope_total"])
