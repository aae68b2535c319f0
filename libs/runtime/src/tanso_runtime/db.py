"""Database engines (SQLite file by default, PostgreSQL via asyncpg) and exact column types."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import String, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

from . import sqlite_inline


def make_engine(url: str) -> AsyncEngine:
    """Create the engine; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` transactions.

    ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers queue (in this process on an
    asyncio lock, across processes by retrying) instead of failing with SQLITE_BUSY when a read
    transaction tries to upgrade.
    """
    if url.startswith("sqlite"):
        path = make_url(url).database
        if not path or path == ":memory:":
            raise ValueError(f"{url!r}: Tanso needs a SQLite file (each service opens several connections)")
        # Statements run inline on the event loop (tanso_runtime.sqlite_inline); every transaction
        # ends in an explicit COMMIT or ROLLBACK, so the pool need not reset connections.
        engine = create_async_engine(url, async_creator=lambda: sqlite_inline.connect(path),
                                     pool_reset_on_return=None)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={sqlite_inline.BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


class DecimalText(TypeDecorator):
    """A Decimal stored as its exact text (SQLite has no exact numeric type)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else format(Decimal(value), "f")

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)
