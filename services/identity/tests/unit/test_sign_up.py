"""F1/F2 sign-up: tenant, root org unit and admin in one transaction, events in the outbox."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tanso_events.projections import checksum, rebuild
from tanso_events.store import EventStore
from tanso_identity.adapters import tables
from tanso_identity.adapters.projections import PROJECTIONS
from tanso_identity.settings import Settings
from tanso_runtime.errors import ProblemError

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """These tests run on SQLite and, where it answers, PostgreSQL (root conftest ``database_url``)."""
    return Settings(data_dir=tmp_path, database={"url": database_url}, log_json=False)



async def test_sign_up_creates_tenant_root_unit_and_admin_and_queues_three_integration_events(engine, sign_up):
    result = await sign_up(email="Admin@Example.co.jp")

    async with engine.connect() as conn:
        tenant = (await conn.execute(select(tables.tenants))).one()
        unit = (await conn.execute(select(tables.org_units))).one()
        user = (await conn.execute(select(tables.users))).one()
        outbox = (await conn.execute(select(tables.messaging.outbox).order_by("position"))).all()
    assert (tenant.tenant_id, tenant.company_name, tenant.fiscal_year_start_month) == (
        result.tenant_id, "株式会社サンプル", 4)
    assert (unit.org_unit_id, unit.kind, unit.parent_id, unit.name_ja, unit.tenant_id) == (
        result.org_unit_id, "company", None, "株式会社サンプル", result.tenant_id)
    assert (user.user_id, user.email, user.roles, user.status) == (
        result.user_id, "admin@example.co.jp", ["admin"], "active")

    assert [r.type for r in outbox] == ["tanso.identity.TenantRegistered.v1", "tanso.identity.OrgUnitRegistered.v1",
                                        "tanso.identity.UserRegistered.v1"]
    assert [r.aggregateid for r in outbox] == [result.tenant_id, result.org_unit_id, result.user_id]
    assert {r.topic for r in outbox} == {"tanso.identity.v1"}
    assert {json.loads(r.payload)["tenantid"] for r in outbox} == {result.tenant_id}


async def test_password_hash_is_argon2_in_credentials_and_never_in_events_or_outbox(engine, sign_up):
    await sign_up()
    async with engine.connect() as conn:
        hashes = (await conn.execute(select(tables.credentials.c.password_hash))).scalars().all()
        events = (await conn.execute(select(tables.messaging.events.c.data))).scalars().all()
        payloads = (await conn.execute(select(tables.messaging.outbox.c.payload))).scalars().all()
    assert len(hashes) == 1 and hashes[0].startswith("$argon2id$")
    text = json.dumps(events, ensure_ascii=False) + "".join(payloads)
    assert PASSWORD not in text and "argon2" not in text and "password" not in text


async def test_an_email_already_registered_in_any_case_is_refused_with_409(engine, sign_up):
    await sign_up(email="taken@example.com")
    with pytest.raises(ProblemError) as err:
        await sign_up(email="  TAKEN@example.COM ", company="Other KK")
    assert err.value.status == 409 and err.value.code == "email_taken"
    assert "already registered" in err.value.detail and "既に登録" in err.value.detail_ja
    async with engine.connect() as conn:
        assert len((await conn.execute(select(tables.tenants))).all()) == 1  # nothing half-written


async def test_projections_rebuild_byte_identical_from_the_event_store(engine, sign_up):
    await sign_up()
    await sign_up(email="second@example.com", company="Second KK")
    read_models = [t for p in PROJECTIONS for t in p.tables]
    async with engine.connect() as conn:
        before = await checksum(conn, read_models)
    assert await rebuild(engine, EventStore(tables.messaging), PROJECTIONS) == 6
    async with engine.connect() as conn:
        assert await checksum(conn, read_models) == before
