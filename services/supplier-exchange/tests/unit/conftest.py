"""Fixtures: the real app and routes on a fresh database (SQLite and PostgreSQL), no Kafka.

The runtime is wired by hand instead of by the Kafka-bound lifespan, and the token check is
replaced by a principal named in a test header (``as_(tenant, roles)`` builds it).
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from tanso_devstack.testing import as_principal as as_
from tanso_devstack.testing import principal_from_header as fake_principal
from tanso_runtime.app import ServiceRuntime, create_service_app
from tanso_runtime.auth import TokenVerifier, current_principal
from tanso_runtime.db import make_engine
from tanso_supplier_exchange.adapters import tables
from tanso_supplier_exchange.bootstrap import build_spec
from tanso_supplier_exchange.settings import Settings

BUYER, SUPPLIER, SUPPLIER2, STRANGER = "tenant-buyer", "tenant-supplier", "tenant-supplier-2", "tenant-stranger"


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path, database={"url": database_url}, log_json=False)


@pytest.fixture
async def app(settings):
    spec = build_spec(settings)
    app = create_service_app(spec)
    engine = make_engine(settings.database_url())
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    runtime = ServiceRuntime(spec, engine, TokenVerifier("http://127.0.0.1:9/unreachable", "x", "y"))
    for hook in spec.on_startup:
        await hook(runtime)
    app.state.runtime = runtime
    app.dependency_overrides[current_principal] = fake_principal
    yield app
    await engine.dispose()


@pytest.fixture
def engine(app):
    return app.state.runtime.engine


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://supplier-exchange") as client:
        yield client


async def connect(client, buyer: str = BUYER, supplier: str = SUPPLIER) -> None:
    """The buyer invites the supplier by tenant id and the supplier's admin accepts."""
    r = await client.post("/invitations", headers=as_(buyer), json={"supplier_tenant_id": supplier})
    assert r.status_code == 201, r.text
    r = await client.post(f"/invitations/{r.json()['code']}/accept", headers=as_(supplier))
    assert r.status_code == 200, r.text


async def new_request(client, buyer: str = BUYER, supplier: str = SUPPLIER, what=("scope_total", "scope3_category"),
                      deadline: date | None = None) -> dict:
    r = await client.post("/requests", headers=as_(buyer), json={
        "supplier_tenant_id": supplier, "what": list(what), "fiscal_year": 2025,
        "deadline": (deadline or date.today() + timedelta(days=30)).isoformat(), "message": "ご協力お願いします"})
    assert r.status_code == 201, r.text
    return r.json()


FIGURES = [
    {"kind": "scope_total", "scope": 1, "value": "1200.5", "unit": "t-CO2e", "audit_hashes": ["a" * 64]},
    {"kind": "scope_total", "scope": 2, "value": "830", "unit": "t-CO2e", "audit_hashes": ["b" * 64]},
    {"kind": "scope3_category", "scope": 3, "scope3_category": 1, "value": "15000.25", "unit": "t-CO2e"},
]


async def granted(client, buyer: str = BUYER, supplier: str = SUPPLIER) -> tuple[dict, dict]:
    """A connected pair, a request, and its grant: (request, disclosure)."""
    await connect(client, buyer, supplier)
    req = await new_request(client, buyer, supplier)
    r = await client.post(f"/requests/{req['request_id']}/grant", headers=as_(supplier), json={"figures": FIGURES})
    assert r.status_code == 201, r.text
    return req, r.json()
