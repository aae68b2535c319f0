"""Bulk append of new Activity aggregates: the rows ``UnitOfWork.append`` + ``publish`` write, in bulk.

For one ``ActivityRecorded`` the unit of work runs an ``INSERT … RETURNING`` into the event store,
the ``activity_list`` projection's ``INSERT`` into ``activities`` and an ``INSERT`` into the outbox:
three round trips per row, three million for a million-row file. :func:`write_recorded` writes the
same rows for many new activities, one chunk at a time, as plain tuples in column order:

* ``event_store``: stream ``activity-<id>``, version 1, type ``ActivityRecorded``, ``data`` = the domain
  event's ``model_dump(mode="json")``, ``meta`` = ``{traceparent, causation_id, actor}`` where
  ``causation_id`` is the id of the ``ActivitiesImported`` event (the file that caused the row),
  ``recorded_at`` = the unit of work's ``now``. Positions come from the table's autoincrement.
* ``activities``: the row the ``activity_list`` projection writes for ``ActivityRecorded``.
* ``outbox``: one ``catalog.ActivityRecorded`` integration event per row, in the envelope
  ``new_envelope`` builds, serialised as ``Envelope.model_dump_json()`` does; same headers, topic
  and aggregate type. ``published_at`` is left out (NULL: not yet published).

How the rows reach the database (measured in services/activities/bench/csv_import.py):

* PostgreSQL: ``COPY … FROM STDIN (FORMAT binary)`` through asyncpg's ``copy_records_to_table``
  on the SQLAlchemy connection's own driver connection, so it is part of the caller's transaction.
* SQLite: ``executemany`` of one prepared ``INSERT`` per table on the SQLAlchemy connection's own
  ``sqlite3`` connection (same ``BEGIN IMMEDIATE`` transaction), the chunk's three statements in
  one call on a thread (``tanso_runtime.sqlite_inline``'s bulk offload, or aiosqlite's thread).
  SQLite releases the GIL while it writes, so the next chunk is built meanwhile.
* Other dialects: SQLAlchemy Core ``insert(table)`` with a list of tuples turned into parameter sets.

On SQLite and PostgreSQL no SQLAlchemy parameter processing runs per row (it cost ~25 µs a row); JSON texts are
assembled from pre-encoded parts, and values equal for every row (``meta``, ``headers``, times) go
through the column type's own bind processor once (:func:`processed`). The stored bytes are the ones
the unit of work would store: tests compare both paths and rebuild the projection from the events.

Every stream is new (random ids), so there is no expected version to check; the unique
``(stream_id, version)`` still guards it. Run it inside the caller's unit of work (``uow.conn``) so
the whole file commits or nothing does. Errors of the driver are raised as SQLAlchemy's
``IntegrityError`` / ``DBAPIError``, like the unit of work's own statements.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Column, Dialect, Table, insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from tanso_events import catalog
from tanso_events.catalog import topic_for
from tanso_events.envelope import SCHEMA_BASE
from tanso_events.store import MessagingTables

from ..domain.csv_rows import Facts
from ..domain.model import ActivityRecorded
from . import tables
from .projections import PROJECTIONS, activity_list

EVENT = catalog.ActivityRecorded
_EVENT_TYPE, _TYPE, _TOPIC = EVENT.event_type(), ActivityRecorded.type_name(), topic_for(EVENT.producer, EVENT.version)
_STORED = json.dumps  # SQLAlchemy's JSON serializer: what the event store holds
_WIRE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # pydantic's model_dump_json

#: Columns written per table, in the order of :func:`build_rows`' tuples.
EVENT_COLUMNS = ("event_id", "stream_id", "version", "type", "data", "meta", "tenant_id", "recorded_at")
ACTIVITY_COLUMNS = ("tenant_id", "activity_id", "revision", "status", "org_unit_id", "item_code", "period",
                    "fiscal_year", "amount", "unit", "note", "updated_by")
OUTBOX_COLUMNS = ("id", "aggregatetype", "aggregateid", "type", "topic", "payload", "headers", "created_at")

Rows = tuple[list[tuple], list[tuple], list[tuple]]
#: JSON fragments per (site, item, month, fiscal year, unit), which repeat over a file's rows and
#: files: (event data middle, event data end, payload middle, payload end). Each is derived from its
#: key alone, so sharing them between tenants shares nothing; bounded, and cleared when full.
_FRAGMENTS: dict[tuple, tuple[str, str, str, str]] = {}
_FRAGMENTS_KEPT = 50_000
Ids = tuple[list[str], list[str], list[str]]


def processed(column: Column, value: Any, dialect: Dialect) -> Any:
    """``value`` as ``column``'s type would bind it on ``dialect`` (done once for a constant)."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


@dataclass(frozen=True)
class BulkContext:
    tenant_id: str
    actor: str
    now: datetime
    causation_id: str | None = None
    traceparent: str | None = None


def uuid4s(n: int) -> list[str]:
    """``n`` distinct version-4 UUID strings: 74 random bits shared by the batch, then a 48-bit counter.

    Unique like uuid4 for any realistic number of batches, ~10× cheaper to make, and adjacent in
    the B-tree indexes (event_id, outbox id, activities key), which makes the inserts cheaper too.
    """
    h = os.urandom(10).hex()
    prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-"
    return [f"{prefix}{i:012x}" for i in range(n)]


def build_rows(facts: Sequence[Facts], ctx: BulkContext, dialect: Dialect, ids: Ids | None = None) -> Rows:
    """(event-store rows, activities rows, outbox rows) for new activities, as tuples in column order.

    ``ids`` (activity, event and message ids) are for tests; by default they are random UUIDs.
    """
    n = len(facts)
    activity_ids, event_ids, message_ids = ids or (uuid4s(n), uuid4s(n), uuid4s(n))
    events_t, outbox_t = tables.messaging.events, tables.messaging.outbox
    meta = processed(events_t.c.meta, {"traceparent": ctx.traceparent, "causation_id": ctx.causation_id,
                                       "actor": ctx.actor}, dialect)
    headers = {"content-type": "application/cloudevents+json"}
    if ctx.traceparent:
        headers["traceparent"] = ctx.traceparent
    headers = processed(outbox_t.c.headers, headers, dialect)
    recorded_at = processed(events_t.c.recorded_at, ctx.now, dialect)
    created_at = processed(outbox_t.c.created_at, ctx.now, dialect)
    tenant, actor = ctx.tenant_id, ctx.actor
    # the envelope around each payload's id, subject and data (Envelope's field order)
    to_id = '{"specversion":"1.0","id":"'
    to_subject = f'","source":"/tanso/{EVENT.producer}","type":"{_EVENT_TYPE}","subject":"'
    to_data = (f'","time":{TypeAdapter(datetime).dump_json(ctx.now).decode()},'
               f'"datacontenttype":"application/json","dataschema":"{SCHEMA_BASE}/{EVENT.schema_file()}",'
               f'"tenantid":{_WIRE(tenant)},"data":{{"activity_id":"')
    tail = f',"recorded_by":{_WIRE(actor)}}}}}'
    fragments = _FRAGMENTS
    events, activities, outbox = [], [], []
    add_event, add_activity, add_message = events.append, activities.append, outbox.append
    for (org, item, period, fy, amount, unit, note), aid, eid, mid in zip(
            facts, activity_ids, event_ids, message_ids, strict=True):
        key = (org, item, period, fy, unit)
        found = fragments.get(key)
        if found is None:
            if len(fragments) >= _FRAGMENTS_KEPT:
                fragments.clear()
            found = fragments[key] = (
                (f'", "org_unit_id": {_STORED(org)}, "item_code": {_STORED(item)}, "period": "{period}", '
                 f'"fiscal_year": {fy}, "amount": "'),
                f'", "unit": {_STORED(unit)}, "note": ',
                (f'","org_unit_id":{_WIRE(org)},"item_code":{_WIRE(item)},"period":"{period}",'
                 f'"fiscal_year":{fy},"amount":"'),
                f'","unit":{_WIRE(unit)},"note":')
        stored_mid, stored_end, wire_mid, wire_end = found
        text = format(amount, "f")
        if note is None:
            stored_note = wire_note = "null"
        else:
            stored_note, wire_note = _STORED(note), _WIRE(note)
        add_event((eid, "activity-" + aid, 1, _TYPE,
                   f'{{"activity_id": "{aid}{stored_mid}{text}{stored_end}{stored_note}}}',
                   meta, tenant, recorded_at))
        add_activity((tenant, aid, 1, "active", org, item, period, fy, text, unit, note, actor))
        add_message((mid, "activity", aid, _EVENT_TYPE, _TOPIC,
                     f"{to_id}{mid}{to_subject}{aid}{to_data}{aid}{wire_mid}{text}{wire_end}{wire_note}{tail}",
                     headers, created_at))
    return events, activities, outbox


def _targets(messaging: MessagingTables) -> tuple[tuple[Table, tuple[str, ...]], ...]:
    return ((messaging.events, EVENT_COLUMNS), (tables.activities, ACTIVITY_COLUMNS),
            (messaging.outbox, OUTBOX_COLUMNS))


async def _sqlite_writer(conn: AsyncConnection, messaging: MessagingTables):
    # the SQLAlchemy connection's own driver connection: aiosqlite's, or tanso_runtime.sqlite_inline's
    driver = (await conn.get_raw_connection()).driver_connection
    quote = conn.dialect.identifier_preparer.quote
    statements = [f"INSERT INTO {quote(t.name)} ({', '.join(map(quote, cols))}) VALUES ({', '.join('?' * len(cols))})"
                  for t, cols in _targets(messaging)]
    connection = getattr(driver, "_conn", None)  # the sqlite3.Connection both wrap

    def write_all(rows: Rows) -> None:  # the chunk's three statements in one trip to the thread
        for sql, part in zip(statements, rows, strict=True):
            connection.executemany(sql, part)

    async def one_by_one(rows: Rows) -> None:
        for sql, part in zip(statements, rows, strict=True):
            await driver.executemany(sql, part)

    def start(rows: Rows) -> Awaitable[None]:
        if not isinstance(connection, sqlite3.Connection):  # pragma: no cover - another wrapper
            return asyncio.ensure_future(one_by_one(rows))
        if hasattr(driver, "_offload"):  # sqlite_inline: its bulk calls run on a thread, one at a time
            return asyncio.ensure_future(driver._offload(write_all, rows))
        if hasattr(driver, "_execute"):  # aiosqlite: the connection belongs to aiosqlite's thread
            return asyncio.ensure_future(driver._execute(write_all, rows))
        return asyncio.ensure_future(one_by_one(rows))  # pragma: no cover - another wrapper

    return start, (sqlite3.IntegrityError, sqlite3.Error)


async def _postgresql_writer(conn: AsyncConnection, messaging: MessagingTables):
    import asyncpg

    driver = (await conn.get_raw_connection()).driver_connection  # asyncpg.Connection
    if not driver.is_in_transaction():  # the caller's unit of work has not run a statement yet
        await conn.exec_driver_sql("SELECT 1")

    async def copy(rows: Rows) -> None:
        for (table, columns), part in zip(_targets(messaging), rows, strict=True):
            await driver.copy_records_to_table(table.name, records=part, columns=columns,
                                               schema_name=table.schema)

    def start(rows: Rows) -> Awaitable[None]:
        return asyncio.ensure_future(copy(rows))

    return start, (asyncpg.IntegrityConstraintViolationError, asyncpg.PostgresError)


async def _core_writer(conn: AsyncConnection, messaging: MessagingTables):  # pragma: no cover - other dialects
    async def execute(rows: Rows) -> None:
        for (table, columns), part in zip(_targets(messaging), rows, strict=True):
            await conn.execute(insert(table), [dict(zip(columns, row)) for row in part])

    def start(rows: Rows) -> Awaitable[None]:
        return asyncio.ensure_future(execute(rows))

    return start, ((), ())


_WRITERS = {"sqlite": _sqlite_writer, "postgresql": _postgresql_writer}
#: Rows built between two yields to the event loop, so a COPY in flight keeps streaming meanwhile.
_BUILD_SLICE = 500


async def _build(facts: Sequence[Facts], ctx: BulkContext, dialect: Dialect, ids: Ids | None) -> Rows:
    n = len(facts)
    ids = ids or (uuid4s(n), uuid4s(n), uuid4s(n))  # one run of adjacent ids per chunk
    out: Rows = ([], [], [])
    for begin in range(0, n, _BUILD_SLICE):
        end = begin + _BUILD_SLICE
        for rows, part in zip(out, build_rows(facts[begin:end], ctx, dialect, tuple(i[begin:end] for i in ids)),
                              strict=True):
            rows.extend(part)
        await asyncio.sleep(0)
    return out


async def write_recorded(conn: AsyncConnection, messaging: MessagingTables, facts: Sequence[Facts],
                         ctx: BulkContext, *, chunk_rows: int = 5000,
                         written: Callable[[int], None] | None = None, ids: Ids | None = None) -> int:
    """Record ``facts`` as new activities, ``chunk_rows`` at a time; returns the rows written.

    ``written(n)`` is called after each chunk has reached the database (progress). ``ids``
    (activity, event and message ids, one per fact) are for tests.
    """
    if not facts:
        return 0
    if [p for p in PROJECTIONS if _TYPE in p.handlers] != [activity_list]:  # pragma: no cover - wiring guard
        raise RuntimeError("another projection handles ActivityRecorded; teach adapters/bulk.py its rows")
    start, (integrity, driver_error) = await _WRITERS.get(conn.dialect.name, _core_writer)(conn, messaging)
    pending: tuple[Awaitable[Any], int] | None = None
    try:
        for begin in range(0, len(facts), chunk_rows):
            chunk = facts[begin:begin + chunk_rows]
            chunk_ids = tuple(i[begin:begin + chunk_rows] for i in ids) if ids else None
            rows = await _build(chunk, ctx, conn.dialect, chunk_ids)  # meanwhile the previous chunk is written
            if pending is not None:
                await asyncio.shield(pending[0])
                if written:
                    written(pending[1])
            pending = (start(rows), len(chunk))
            await asyncio.sleep(0)  # let the writer send this chunk before the next one is built
        assert pending is not None
        await asyncio.shield(pending[0])
        if written:
            written(pending[1])
        pending = None
    except integrity as exc:
        raise IntegrityError("bulk insert of ActivityRecorded rows", None, exc) from exc
    except driver_error as exc:
        raise DBAPIError("bulk insert of ActivityRecorded rows", None, exc) from exc
    finally:
        if pending is not None:
            # a failure or a cancellation (client gone) left a chunk in flight: the driver's thread
            # or COPY must finish with the connection before the caller rolls back on it (shielded
            # above, so a cancellation did not stop the wait for the thread, only ours)
            await asyncio.gather(pending[0], return_exceptions=True)
    return len(facts)


async def append_recorded(conn: AsyncConnection, messaging: MessagingTables, facts: Sequence[Facts],
                          ctx: BulkContext, ids: Ids | None = None) -> int:
    """Record ``facts`` as new activities in one chunk (:func:`write_recorded`); returns the rows written."""
    return await write_recorded(conn, messaging, facts, ctx, chunk_rows=max(len(facts), 1), ids=ids)
