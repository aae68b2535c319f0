"""F10: an admin records the revenue of a fiscal year (company, division or site); corrections replace it;
each change is one RevenueRecorded in the outbox, the value in force is in the read model."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select
from tanso_events import catalog
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_identity.adapters import queries, tables
from tanso_identity.adapters.projections import PROJECTIONS
from tanso_identity.domain.commands import RecordRevenue, RegisterOrgUnit
from tanso_identity.service_layer import handlers
from tanso_runtime.errors import ProblemError

from .test_http import login, signed_in


async def record(uow, principal, fiscal_year=2025, **fields):
    async with uow() as u:
        return await handlers.record_revenue(fiscal_year, RecordRevenue(**fields), principal, u)


async def add_unit(uow, principal, **fields) -> str:
    async with uow() as u:
        return await handlers.register_org_unit(RegisterOrgUnit(**fields), principal, u)


async def revenue_events(engine) -> list[dict]:
    """The RevenueRecorded envelopes in the outbox, oldest first, validated against the catalogue."""
    o = tables.messaging.outbox
    async with engine.connect() as conn:
        rows = (await conn.execute(select(o).where(o.c.type == "tanso.identity.RevenueRecorded.v1")
                                   .order_by(o.c.position))).all()
    out = []
    for row in rows:
        envelope = json.loads(row.payload)
        assert (row.topic, row.aggregateid, envelope["subject"]) == (
            "tanso.identity.v1", envelope["data"]["revenue_id"], envelope["data"]["revenue_id"])
        catalog.RevenueRecorded.model_validate(envelope["data"])
        out.append(envelope)
    return out


async def test_company_and_site_revenue_are_recorded_and_published(uow, engine, sign_up, admin_of):
    tenant = await sign_up()
    admin = admin_of(tenant)
    site = await add_unit(uow, admin, kind="site", parent_id=tenant.org_unit_id, name_ja="川崎工場")

    company = await record(uow, admin, revenue_million_yen="1250.5")
    at_site = await record(uow, admin, revenue_million_yen=400, org_unit_id=site)
    assert (company.changed, at_site.changed) == (True, True)
    assert company.revenue_id == f"{tenant.tenant_id}:2025:company"
    assert at_site.revenue_id == f"{tenant.tenant_id}:2025:{site}"

    async with engine.connect() as conn:
        rows = await queries.list_revenues(conn, tenant.tenant_id, 2025)
    assert [(r["org_unit_id"], r["revenue_million_yen"], r["revision"], r["recorded_by"]) for r in rows] == [
        (None, Decimal("1250.5"), 1, tenant.user_id), (site, Decimal(400), 1, tenant.user_id)]

    events = await revenue_events(engine)
    assert [e["data"] for e in events] == [
        {"revenue_id": company.revenue_id, "revision": 1, "tenant_id": tenant.tenant_id, "fiscal_year": 2025,
         "org_unit_id": None, "revenue_million_yen": "1250.5", "recorded_by": tenant.user_id},
        {"revenue_id": at_site.revenue_id, "revision": 1, "tenant_id": tenant.tenant_id, "fiscal_year": 2025,
         "org_unit_id": site, "revenue_million_yen": "400", "recorded_by": tenant.user_id}]
    assert {e["tenantid"] for e in events} == {tenant.tenant_id}


async def test_a_correction_replaces_the_value_and_the_same_value_again_changes_nothing(uow, engine, sign_up,
                                                                                         admin_of):
    tenant = await sign_up()
    admin = admin_of(tenant)
    await record(uow, admin, revenue_million_yen="1000")
    assert (await record(uow, admin, revenue_million_yen="1000.0")).changed is False
    assert (await record(uow, admin, revenue_million_yen="980.25")).changed is True
    await record(uow, admin, fiscal_year=2024, revenue_million_yen="900")

    async with engine.connect() as conn:
        [fy2025] = await queries.list_revenues(conn, tenant.tenant_id, 2025)
        live = await checksum(conn, [tables.revenues])
    assert (fy2025["revenue_million_yen"], fy2025["revision"]) == (Decimal("980.25"), 2)
    events = await revenue_events(engine)
    assert [(e["data"]["fiscal_year"], e["data"]["revision"], e["data"]["revenue_million_yen"]) for e in events] == [
        (2025, 1, "1000"), (2025, 2, "980.25"), (2024, 1, "900")]
    # The read model is the replay of identity's own events.
    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    async with engine.connect() as conn:
        assert await checksum(conn, [tables.revenues]) == live


async def test_the_companys_own_unit_means_the_whole_company(uow, engine, sign_up, admin_of):
    tenant = await sign_up()
    result = await record(uow, admin_of(tenant), revenue_million_yen="10", org_unit_id=tenant.org_unit_id)
    assert result.revenue_id == f"{tenant.tenant_id}:2025:company"
    [event] = await revenue_events(engine)
    assert event["data"]["org_unit_id"] is None


@pytest.mark.parametrize("amount", ["0", "0.000", "-5", "1,000", "1e3", "12.1234567", "abc", "", "100百万円"])
async def test_revenue_must_be_a_plain_decimal_greater_than_zero(uow, engine, sign_up, admin_of, amount):
    tenant = await sign_up()
    with pytest.raises(ProblemError) as err:
        await record(uow, admin_of(tenant), revenue_million_yen=amount)
    assert (err.value.status, err.value.code) == (422, "invalid_revenue")
    assert "revenue_million_yen" in err.value.detail and "revenue_million_yen" in err.value.detail_ja
    assert await revenue_events(engine) == []


async def test_a_line_unknown_unit_other_tenants_unit_or_bad_year_is_refused(uow, engine, sign_up, admin_of):
    tenant = await sign_up(email="a@example.com")
    other = await sign_up(email="b@example.com", company="Other KK")
    admin = admin_of(tenant)
    site = await add_unit(uow, admin, kind="site", parent_id=tenant.org_unit_id, name_ja="工場")
    line = await add_unit(uow, admin, kind="line", parent_id=site, name_ja="第1ライン")

    with pytest.raises(ProblemError) as err:
        await record(uow, admin, revenue_million_yen="1", org_unit_id=line)
    assert (err.value.status, err.value.code) == (422, "revenue_unit_kind") and "site" in err.value.detail
    for unit in ("no-such-unit", other.org_unit_id):
        with pytest.raises(ProblemError) as err:
            await record(uow, admin, revenue_million_yen="1", org_unit_id=unit)
        assert err.value.status == 404 and "GET /api/identity/org-units" in err.value.detail
    with pytest.raises(ProblemError) as err:
        await record(uow, admin, fiscal_year=25, revenue_million_yen="1")
    assert (err.value.status, err.value.code) == (422, "bad_fiscal_year") and err.value.detail_ja
    assert await revenue_events(engine) == []


async def test_only_an_admin_records_revenue_over_http_and_members_read_their_own_tenants(client):
    a = await signed_in(client, "admin@example.com", "A KK")
    b = await signed_in(client, "b@example.com", "B KK")
    await client.post("/users", headers=a["auth"], json={
        "email": "editor@example.com", "display_name": "Ed", "roles": ["editor", "viewer"],
        "password": "correct horse battery"})
    editor = await login(client, "editor@example.com")

    r = await client.put("/revenues/2025", headers=editor["auth"], json={"revenue_million_yen": "1000"})
    assert r.status_code == 403
    r = await client.put("/revenues/2025", headers=a["auth"], json={"revenue_million_yen": "1000"})
    assert r.status_code == 200, r.text
    assert (r.json()["revenue_million_yen"], r.json()["org_unit_id"], r.json()["revision"], r.json()["changed"]) == (
        "1000", None, 1, True)
    bad = await client.put("/revenues/2025", headers=a["auth"], json={"revenue_million_yen": "-1"})
    assert bad.status_code == 422 and bad.json()["title"] == "invalid_revenue" and bad.json()["detail_ja"]

    assert [x["revenue_million_yen"] for x in (await client.get("/revenues", headers=editor["auth"])).json()] == [
        "1000"]
    assert (await client.get("/revenues", headers=b["auth"])).json() == []
    assert (await client.get("/revenues", params={"fiscal_year": 2024}, headers=a["auth"])).json() == []
