"""Test helpers shared by every test folder: throw-away PostgreSQL databases, engines with a schema.

PostgreSQL tests run when the server answers and skip with the reason otherwise;
``TANSO_REQUIRE_POSTGRES=1`` (the PostgreSQL CI variant) turns that skip into a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator

from fastapi import Request
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine
from tanso_runtime.auth import Principal
from tanso_runtime.db import make_engine
from tanso_runtime.errors import ProblemError

PG_HOST = os.environ.get("TANSO_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TANSO_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TANSO_TEST_PG_USER", "postgres")


def postgres_reachable() -> bool:
    try:
        socket.create_connection((PG_HOST, PG_PORT), timeout=1).close()
        return True
    except OSError:
        return False


def require_postgres() -> None:
    """Skip (or fail, when required) the calling test if PostgreSQL is not reachable."""
    import pytest

    if postgres_reachable():
        return
    message = f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}"
    if os.environ.get("TANSO_REQUIRE_POSTGRES") == "1":
        pytest.fail(message + " and TANSO_REQUIRE_POSTGRES=1 requires it")
    pytest.skip(message + " (set TANSO_REQUIRE_POSTGRES=1 to make this a failure)")


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_pg_database(prefix: str = "tanso_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return name


async def drop_pg_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def as_principal(tenant: str, roles: str = "admin") -> dict[str, str]:
    """Headers that make :func:`principal_from_header` sign a unit-test request in (no token needed)."""
    return {"x-test-principal": f"{tenant}|user-of-{tenant}|{roles}"}


async def principal_from_header(request: Request) -> Principal:
    """Stands in for ``tanso_runtime.auth.current_principal`` in a service's unit tests."""
    value = request.headers.get("x-test-principal")
    if not value:
        raise ProblemError(401, "unauthorized", "no principal", "未認証")
    tenant, subject, roles = value.split("|")
    return Principal(subject=subject, tenant_id=tenant, roles=frozenset(roles.split(",")))


@contextlib.asynccontextmanager
async def engine_with_schema(database_url: str, metadata: MetaData) -> AsyncIterator[AsyncEngine]:
    """An engine on ``database_url`` (e.g. the ``database_url`` fixture) with ``metadata``'s tables made."""
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield engine
    finally:
        await engine.dispose()


def pg_url(name: str) -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


@contextlib.contextmanager
def platform_databases(prefix: str = "e2e") -> Iterator[str | None]:
    """The database URL template of a test platform: ``None`` (SQLite files) unless
    ``TANSO_TEST_DATABASE=postgresql``, then one fresh PostgreSQL database per service, dropped after."""
    import asyncio

    from .platform import SERVICES

    if os.environ.get("TANSO_TEST_DATABASE") != "postgresql":
        yield None
        return
    require_postgres()
    prefix = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{prefix}_{{db}}"
    finally:
        for service in SERVICES:
            asyncio.run(drop_pg_database(f"{prefix}_tanso_{service.replace('-', '_')}"))


class GatewayClient:
    """A tenant talking to the gateway in end-to-end tests (sign-up, sites, activities, polling)."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.token: str | None = None

    def __call__(self, method: str, path: str, **kwargs):
        headers = kwargs.pop("headers", None) or {}
        if self.token:
            headers.setdefault("authorization", f"Bearer {self.token}")
        return self.client.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, **kwargs):
        response = self(method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path} → {response.status_code}: {response.text}"
        return response.json()

    def sign_up(self, company: str) -> dict:
        email = f"admin-{uuid.uuid4().hex[:8]}@example.test"
        created = self.ok("POST", "/api/identity/tenants", json={
            "company_name": company, "admin_email": email, "admin_password": "correct horse battery",
            "admin_display_name": "Admin"})
        self.token = self.ok("POST", "/api/identity/token",
                             json={"email": email, "password": "correct horse battery"})["access_token"]
        return created

    def add_site(self, parent_id: str, name: str) -> str:
        return self.ok("POST", "/api/identity/org-units", json={
            "kind": "site", "parent_id": parent_id, "name_ja": name, "prefecture": "東京都"})["org_unit_id"]

    def record_response(self, org_unit_id: str, amount: str, *, item="electricity", unit="kWh", period="2025-05",
                        headers: dict | None = None, timeout=30.0):
        """Record an activity, retrying while activities has not yet seen the tenant or the site."""
        body = {"org_unit_id": org_unit_id, "item_code": item, "period": period, "amount": amount, "unit": unit}
        deadline = time.monotonic() + timeout
        while True:
            response = self("POST", "/api/activities/activities", json=body, headers=dict(headers or {}))
            if response.status_code == 201:
                return response
            if response.status_code not in (404, 409) or time.monotonic() > deadline:
                raise AssertionError(f"recording failed: {response.status_code} {response.text}")
            time.sleep(0.2)

    def record(self, org_unit_id: str, amount: str, **kwargs) -> dict:
        return self.record_response(org_unit_id, amount, **kwargs).json()

    def wait_for(self, path: str, predicate, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while True:
            body = self.ok("GET", path)
            if predicate(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"GET {path} never satisfied the condition; last body: {body}")
            time.sleep(0.1)
