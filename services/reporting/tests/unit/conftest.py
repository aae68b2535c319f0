"""Fixtures of the F10/F19 tests: a reporting database on a SQLite file and the intensity/supplier-analysis
routes, with the token check replaced by a principal named in a test header (``as_(tenant, roles)``)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Request
from tanso_events.unit_of_work import UnitOfWork
from tanso_reporting.adapters import tables
from tanso_reporting.adapters.projections import PROJECTIONS
from tanso_reporting.entrypoints.intensity import router
from tanso_runtime.auth import Principal, current_principal
from tanso_runtime.db import make_engine
from tanso_runtime.errors import ProblemError, install_error_handlers


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'rep.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    yield engine
    await engine.dispose()


def as_(tenant: str, roles: str = "admin") -> dict:
    return {"x-test-principal": f"{tenant}|user-of-{tenant}|{roles}"}


async def fake_principal(request: Request) -> Principal:
    value = request.headers.get("x-test-principal")
    if not value:
        raise ProblemError(401, "unauthorized", "no principal", "未認証")
    tenant, subject, roles = value.split("|")
    return Principal(subject, tenant, frozenset(roles.split(",")))


@pytest.fixture
async def client(engine):
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.state.runtime = type("Runtime", (), {
        "engine": engine, "uow": lambda self: UnitOfWork(engine, tables.messaging, PROJECTIONS)})()
    app.dependency_overrides[current_principal] = fake_principal
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://reporting") as client:
        yield client
