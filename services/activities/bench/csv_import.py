"""CSV activity import speed: parse + validate alone, then the whole import (validate + one transaction).

    uv run python services/activities/bench/csv_import.py [--rows 100000] [--encoding cp932|utf-8-sig]
        [--chunk-rows 5000] [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_activities]

Generates N rows over 50 sites, the 8 built-in items and 24 months (every 7th with a Japanese note),
then times the service layer's ``validate`` and ``import_csv`` (the code ``POST /imports`` runs).
SQLite in a temporary folder by default; ``--database-url`` DROPS AND RECREATES the activities
tables in the database it names. Prints wall time, rows/s, CPU time (this process, all threads;
on PostgreSQL also the server backend's, read from /proc when the server runs on this machine),
SQLAlchemy statements, peak memory and the longest the import kept the event loop from serving
other requests (progress polls, health checks). The machine is usually shared: compare CPU seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, func, select
from tanso_activities.adapters import tables
from tanso_activities.adapters.projections import PROJECTIONS
from tanso_activities.service_layer import handlers
from tanso_activities.service_layer.csv_import import import_csv, validate
from tanso_activities.service_layer.progress import ImportProgress
from tanso_activities.settings import CsvSettings
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.unit_of_work import UnitOfWork
from tanso_ghg.items import DEFAULT_ITEMS
from tanso_ghg.units import registry
from tanso_runtime.auth import Principal
from tanso_runtime.db import make_engine

SITES = [f"site-{i:02d}" for i in range(50)]
PRINCIPAL = Principal(subject="bench", tenant_id="bench", roles=frozenset({"editor"}))


def make_csv(rows: int, encoding: str) -> bytes:
    lines = ["拠点ID/org_unit_id,項目コード/item_code,年月/period,数量/amount,単位/unit,備考/note"]
    for i in range(rows):
        item = DEFAULT_ITEMS[i % len(DEFAULT_ITEMS)]
        month = i // len(DEFAULT_ITEMS) % 24
        note = f"請求書 髙{i}①" if i % 7 == 0 else ""
        lines.append(f"{SITES[i % 50]},{item.code},{2024 + month // 12}-{month % 12 + 1:02d},"
                     f"{i % 9973}.{i % 100:02d},{item.unit},{note}")
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def seed(engine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.drop_all)
        await conn.run_sync(tables.metadata.create_all)
    meta = EnvelopeMeta(id=str(uuid.uuid4()), type="x", subject="bench", tenant_id="bench", time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        await handlers.on_tenant_registered(catalog.TenantRegistered(
            tenant_id="bench", company_name="bench", fiscal_year_start_month=4), meta, uow)
        for site in SITES:
            await handlers.on_org_unit_registered(catalog.OrgUnitRegistered(
                org_unit_id=site, parent_id=None, kind="site", name_ja=site), meta, uow)


async def backend_pid(engine) -> int | None:
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        return (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar()


def backend_cpu(pids: set[int]) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL backends ``pids``, if they run on this machine."""
    if not pids:
        return None
    try:
        total = 0
        for pid in pids:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def watch_loop(stalls: list[float]) -> None:
    """Record how late a 10 ms sleep wakes up: how long the import kept the event loop from serving."""
    while True:
        t0 = time.perf_counter()
        await asyncio.sleep(0.01)
        stalls.append(time.perf_counter() - t0 - 0.01)


async def run(args: argparse.Namespace, url: str) -> None:
    t0 = time.perf_counter()
    data = make_csv(args.rows, args.encoding)
    print(f"generated {args.rows:,} rows, {len(data) / 1e6:.1f} MB ({args.encoding}) in {time.perf_counter() - t0:.1f} s")
    limits = CsvSettings(max_rows=args.rows, max_bytes=len(data) + 1,
                         **({"chunk_rows": args.chunk_rows} if args.chunk_rows else {}))
    engine = make_engine(url)
    await seed(engine)
    registry()  # the service builds the unit registry at start-up (warm_up_units), not per import

    t0, c0 = time.perf_counter(), time.process_time()
    checker, _ = await validate(data, SITES, 4, limits, ImportProgress("v", "bench"))
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert not checker.error_count and len(checker.rows) == args.rows, checker.errors[:3]
    print(f"parse + validate: {took:.2f} s  {args.rows / took:,.0f} rows/s  CPU {cpu:.2f} s")
    del checker

    statements = [0]
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    pids = {pid for pid in [await backend_pid(engine)] if pid}  # the pool's connection (pool_size 10)
    server0 = backend_cpu(pids)
    stalls: list[float] = []
    watcher = asyncio.create_task(watch_loop(stalls))
    t0, c0 = time.perf_counter(), time.process_time()
    result = await import_csv(engine, lambda: UnitOfWork(engine, tables.messaging, PROJECTIONS), PRINCIPAL, data,
                              "bench.csv", limits, ImportProgress(str(uuid.uuid4()), "bench"))
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    watcher.cancel()
    server = backend_cpu(pids)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(tables.activities))).scalar_one()
        outbox = (await conn.execute(select(func.count()).select_from(tables.messaging.outbox))).scalar_one()
    assert result.row_count == stored == outbox == args.rows
    server_text = f" + server backend {server - server0:.2f} s" if server is not None and server0 is not None else ""
    print(f"whole import ({engine.dialect.name}): {took:.2f} s  {args.rows / took:,.0f} rows/s  "
          f"CPU {cpu:.2f} s{server_text}  {statements[0]} SQLAlchemy statements  "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB  load {os.getloadavg()[0]:.1f}")
    print(f"event loop blocked at most {max(stalls, default=0) * 1000:,.0f} ms at a time "
          f"(p99 {sorted(stalls)[int(len(stalls) * 0.99)] * 1000 if stalls else 0:,.0f} ms)")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--encoding", choices=["utf-8-sig", "cp932"], default="cp932")
    parser.add_argument("--chunk-rows", type=int, default=None, help="rows per bulk write (default: the service's)")
    parser.add_argument("--database-url", default=None, help="async SQLAlchemy URL; its activities tables are reset")
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(run(args, args.database_url))
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args, f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"))


if __name__ == "__main__":
    main()
