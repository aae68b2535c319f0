"""Fixtures of the F10/F19 tests: a reporting database on a SQLite file and the intensity/supplier-analysis
routes, with the token check replaced by a principal named in a test header (``as_(tenant, roles)``)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from tanso_devstack.testing import principal_from_header as fake_principal
from tanso_events.unit_of_work import UnitOfWork
from tanso_reporting.adapters import tables
from tanso_reporting.adapters.projections import PROJECTIONS
from tanso_reporting.entrypoints.intensity import router
from tanso_runtime.auth import current_principal
from tanso_runtime.db import make_engine
from tanso_runtime.errors import install_error_handlers


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'rep.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    yield engine
    await engine.dispose()


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
