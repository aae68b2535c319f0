"""Fixtures shared by every test folder: a fresh database of each backend."""

from __future__ import annotations

import pytest
from tanso_devstack.testing import create_pg_database, drop_pg_database, pg_url, require_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, then a PostgreSQL database created for the test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    require_postgres()
    name = await create_pg_database()
    try:
        yield pg_url(name)
    finally:
        await drop_pg_database(name)
