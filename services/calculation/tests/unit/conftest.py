"""Fixtures of calculation's unit tests: a database of each backend with calculation's tables, and the
rows a handler wrote, to compare two paths byte for byte."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from tanso_calculation.adapters import tables
from tanso_devstack.testing import engine_with_schema


@pytest.fixture
async def engine(database_url):
    async with engine_with_schema(database_url, tables.metadata) as engine:
        yield engine


async def _max_positions(conn) -> tuple[int, int]:
    m = tables.messaging
    return ((await conn.execute(select(func.coalesce(func.max(m.events.c.position), 0)))).scalar(),
            (await conn.execute(select(func.coalesce(func.max(m.outbox.c.position), 0)))).scalar())


async def _rows_written(conn, before) -> dict:
    """The rows written after ``before`` (:func:`_max_positions`), as stored (JSON as text), new ids and hashes by order of appearance."""
    events_before, outbox_before = before
    events = (await conn.exec_driver_sql(
        "SELECT event_id, stream_id, version, type, CAST(data AS TEXT), CAST(meta AS TEXT), tenant_id, "
        f"recorded_at FROM event_store WHERE position > {events_before} ORDER BY position")).all()
    audits = (await conn.exec_driver_sql(
        "SELECT r.audit_record_id, r.tenant_id, r.seq, r.line_id, r.line_revision, r.supersedes, "
        "CAST(r.record AS TEXT), r.prev_hash, r.hash FROM audit_records r JOIN event_store e "
        f"ON e.stream_id = 'audit-' || r.tenant_id AND e.version = r.seq WHERE e.position > {events_before} "
        "ORDER BY e.position")).all()
    outbox = (await conn.exec_driver_sql(
        "SELECT id, aggregatetype, aggregateid, type, topic, payload, CAST(headers AS TEXT), created_at, "
        f"published_at FROM outbox WHERE position > {outbox_before} ORDER BY position")).all()
    lines = (await conn.execute(select(tables.lines).order_by(tables.lines.c.tenant_id, tables.lines.c.line_id))
             ).all()
    new_ids = [r[0] for r in events] + [r[0] for r in audits] + [r[0] for r in outbox] + [r[8] for r in audits]
    names = {value: f"<new-{i}>" for i, value in enumerate(new_ids)}
    pattern = re.compile("|".join(map(re.escape, names))) if names else None

    def normal(rows):
        text = repr([tuple(r) for r in rows])
        return pattern.sub(lambda m: names[m.group(0)], text) if pattern else text

    return {"events": normal(events), "audits": normal(audits), "outbox": normal(outbox), "lines": normal(lines),
            "records": [r[6] for r in audits], "count": len(audits)}


@pytest.fixture
def written():
    """``written.mark(conn)`` before a handler runs, ``written.rows(conn, mark)`` after it."""
    return SimpleNamespace(mark=_max_positions, rows=_rows_written)
