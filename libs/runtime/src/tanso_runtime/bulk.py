"""Bulk writes inside the caller's SQLAlchemy transaction: COPY on PostgreSQL, executemany on SQLite.

A service that writes many rows at once (a recompute of a million emission lines, an import) builds
plain tuples in column order and hands them to :class:`BulkWriter`, which sends them on the
SQLAlchemy connection's own driver connection, so they commit or roll back with the caller's unit
of work:

* PostgreSQL: ``COPY … FROM STDIN (FORMAT binary)`` through asyncpg's ``copy_records_to_table``;
  an update is a COPY into a temporary table (same column types, created once) and one
  ``UPDATE … FROM`` it.
* SQLite: ``executemany`` of one prepared ``INSERT`` / ``UPDATE`` on the driver connection (on a
  thread, for ``tanso_runtime.sqlite_inline`` and aiosqlite alike).
* Other dialects: SQLAlchemy Core statements with parameter lists.

No SQLAlchemy parameter processing runs per row: JSON columns take the JSON *text*, and a value
that is the same for every row (a time, a constant JSON document) goes through the column type's
bind processor once (:func:`processed`). The same approach as activities' CSV import
(``tanso_activities.adapters.bulk``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Dialect, Table, and_, bindparam, insert, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection


def processed(column: Column, value: Any, dialect: Dialect) -> Any:
    """``value`` as ``column``'s type would bind it on ``dialect`` (done once for a constant)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


def uuid4s(n: int) -> list[str]:
    """``n`` distinct version-4 UUID strings: 74 random bits shared by the batch, then a 48-bit counter.

    Unique like uuid4 for any realistic number of batches, ~10× cheaper to make, and adjacent in
    the B-tree indexes, which makes the inserts cheaper too.
    """
    h = os.urandom(10).hex()
    prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-"
    return [f"{prefix}{i:012x}" for i in range(n)]


async def insert_all(conn: AsyncConnection, inserts: Sequence[tuple[Table, list[dict[str, Any]]]]) -> None:
    """Insert each table's dict rows in bulk (:meth:`BulkWriter.insert_dicts`), in order, in ``conn``'s
    transaction."""
    writer = await BulkWriter.open(conn)
    try:
        for table, rows in inserts:
            await writer.insert_dicts(table, rows)
    finally:
        await writer.close()


class BulkWriter:
    """Inserts and updates of many rows on ``conn``'s driver connection, in ``conn``'s transaction.

    Call :meth:`close` before the transaction ends (it drops the temporary tables of updates).
    Driver errors are raised as SQLAlchemy's ``IntegrityError`` / ``DBAPIError``.
    """

    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        self.conn = conn
        self.driver = driver
        self.dialect = conn.dialect.name
        self._staging: dict[tuple, str] = {}

    @classmethod
    async def open(cls, conn: AsyncConnection) -> BulkWriter:
        driver = (await conn.get_raw_connection()).driver_connection
        if conn.dialect.name == "postgresql" and not driver.is_in_transaction():
            await conn.exec_driver_sql("SELECT 1")  # the caller's transaction has not started yet
        return cls(conn, driver)

    def _quote(self, name: str) -> str:
        return self.conn.dialect.identifier_preparer.quote(name)

    async def insert(self, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        try:
            if self.dialect == "postgresql":
                await self.driver.copy_records_to_table(table.name, records=rows, columns=list(columns),
                                                        schema_name=table.schema)
            elif self.dialect == "sqlite":
                q = self._quote
                sql = (f"INSERT INTO {q(table.name)} ({', '.join(map(q, columns))}) "
                       f"VALUES ({', '.join('?' * len(columns))})")
                await self.driver.executemany(sql, rows)
            else:  # pragma: no cover - other dialects
                await self.conn.execute(insert(table), [dict(zip(columns, row)) for row in rows])
        except Exception as exc:
            raise _wrapped(exc, f"bulk insert into {table.name}") from exc

    async def insert_dicts(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows given as Core would take them (same keys in every row): each value goes
        through its column type's bind processor, so JSON, times and decimals are stored as
        ``insert(table).values(**row)`` stores them."""
        if not rows:
            return
        columns = tuple(rows[0])
        encode = RowEncoder(table, columns, self.conn.dialect)
        await self.insert(table, columns, [encode(row) for row in rows])

    async def update(self, table: Table, keys: Sequence[str], columns: Sequence[str], rows: list[tuple]) -> None:
        """Set ``columns`` of the rows identified by ``keys``; each row is ``(*key values, *column values)``."""
        if not rows:
            return
        q = self._quote
        try:
            if self.dialect == "postgresql":
                staging = await self._staging_table(table, (*keys, *columns))
                await self.driver.copy_records_to_table(staging, records=rows, columns=[*keys, *columns])
                # statistics of this chunk, or the planner may hash-join the whole target table per chunk
                await self.driver.execute(f"ANALYZE {staging}")
                await self.driver.execute(
                    f"UPDATE {q(table.name)} AS t SET {', '.join(f'{q(c)} = s.{q(c)}' for c in columns)} "
                    f"FROM {staging} AS s WHERE {' AND '.join(f't.{q(k)} = s.{q(k)}' for k in keys)}")
                await self.driver.execute(f"TRUNCATE {staging}")
            elif self.dialect == "sqlite":
                n = len(keys)
                sql = (f"UPDATE {q(table.name)} SET {', '.join(f'{q(c)} = ?' for c in columns)} "
                       f"WHERE {' AND '.join(f'{q(k)} = ?' for k in keys)}")
                await self.driver.executemany(sql, [(*row[n:], *row[:n]) for row in rows])
            else:  # pragma: no cover - other dialects
                stmt = update(table).where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys))).values(
                    {c: bindparam(f"v_{c}") for c in columns})
                await self.conn.execute(stmt, [{**{f"k_{k}": v for k, v in zip(keys, row)},
                                                **{f"v_{c}": v for c, v in zip(columns, row[len(keys):])}}
                                               for row in rows])
        except Exception as exc:
            raise _wrapped(exc, f"bulk update of {table.name}") from exc

    async def _staging_table(self, table: Table, columns: tuple[str, ...]) -> str:
        name = self._staging.get((table.name, columns))
        if name is None:
            q = self._quote
            name = f"tanso_bulk_{table.name}_{len(self._staging)}"
            await self.driver.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
            await self.driver.execute(f"CREATE TEMP TABLE {name} AS SELECT {', '.join(map(q, columns))} "
                                      f"FROM {q(table.name)} WITH NO DATA")
            self._staging[(table.name, columns)] = name
        return name

    async def close(self) -> None:
        for name in self._staging.values():
            await self.driver.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
        self._staging.clear()


class RowEncoder:
    """A dict row as a tuple in ``columns`` order, each value bind-processed for ``dialect``."""

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect) -> None:
        self.columns = tuple(columns)
        self.processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in self.columns]

    def __call__(self, row: dict[str, Any]) -> tuple:
        if len(row) != len(self.columns):
            raise ValueError(f"a bulk row has columns {sorted(row)}, the first row had {sorted(self.columns)}")
        return tuple(value if process is None else process(value)
                     for value, process in zip(map(row.__getitem__, self.columns), self.processors, strict=True))


def _wrapped(exc: Exception, what: str) -> Exception:
    if isinstance(exc, DBAPIError):
        return exc
    name = type(exc).__name__
    if "Integrity" in name or "UniqueViolation" in name or "ConstraintViolation" in name:
        return IntegrityError(what, None, exc)
    return DBAPIError(what, None, exc)
