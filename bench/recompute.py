"""Recompute after a factor change, at scale, on PostgreSQL — beside its physical limits.

    uv run python bench/recompute.py [--lines 1000000] [--tenants 1] [--page-rows 20000]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--keep] [--verify] [--per-activity]

1. Creates a database ``tanso_bench_recompute_<random>`` (dropped at the end unless ``--keep``) with
   calculation's tables, and publishes factor version ``fv-1`` of ``shk.electricity.substitute``
   (0.000416 t-CO2/kWh, FY2025) through the handler.
2. Loads ``--lines`` emission lines with COPY, straight into calculation's tables, as the consumer
   would have left them after the activities' events: ``lines / 2`` electricity activities of FY2025
   (``activity_inputs``; 50 sites, 12 months, amounts with two decimals, 10 % in MWh), each with its
   location-based and market-based line (``emission_lines``: calculated with fv-1, figure exact), one
   audit record per line hash-chained per tenant (``audit_records``), and the event-store rows
   (``ActivityInput`` per activity, ``LineComputed`` per line). Simplification, stated: the prior
   audit records hold only line, figure and chain fields (the recompute reads the chain head and the
   lines, never the old records' bodies), so their rows are smaller than real ones. Then ``ANALYZE``.
3. Publishes ``fv-2`` (0.000452) the way the Kafka consumer does — one transaction: inbox claim +
   ``on_factor_published`` — and times it until the commit: wall time, lines/s, CPU seconds of this
   process and of the PostgreSQL backend serving it (from /proc; the server runs on this machine).
4. The physical limits, on the same data: the same multiplication vectorised with NumPy (float64,
   and exact integer-scaled decimal checked against the Decimal figures), and a plain COPY of the
   same number of audit rows (same sizes: the stored text of a real new record, ids varied) into a
   table without indexes — and of everything the recompute writes (event store + audit + outbox +
   the line update as rows).

``--per-activity`` times the path the handler used before (``recompute_activity`` per affected
activity) instead, and stops there. ``--verify`` also checks the tenants' hash chains with the verify endpoint's code afterwards (slow:
one canonical JSON and one SHA-256 per record). The machine is shared: compare CPU seconds too.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import numpy as np
import psutil
from sqlalchemy import text
from tanso_calculation.adapters import tables
from tanso_calculation.adapters.projections import PROJECTIONS
from tanso_calculation.domain.formula import GENESIS_HASH, chain_hash, fmt
from tanso_calculation.domain.logic import DEFAULT_LOGIC
from tanso_calculation.service_layer import audit, handlers
from tanso_calculation.service_layer.lines import plan_lines
from tanso_events import catalog
from tanso_events.catalog import PLATFORM_TENANT
from tanso_events.envelope import EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.store import canonical_json
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.bulk import uuid4s
from tanso_runtime.db import make_engine

CODE = "shk.electricity.substitute"
OLD, NEW = Decimal("0.000416"), Decimal("0.000452")
PERIODS = [f"2025-{m:02d}" for m in range(4, 13)] + [f"2026-{m:02d}" for m in range(1, 4)]


def factor(version_id: str, value: Decimal, edition: str, supersedes: str | None = None) -> catalog.FactorPublished:
    return catalog.FactorPublished(
        factor_version_id=version_id, factor_code=CODE, name_ja="代替値", name_en="Substitute value",
        category="electricity", scope=2, activity_unit="kWh", value=value, value_unit="t-CO2/kWh",
        source_id="jp-electricity-shk-defaults", source_title_ja="電気事業者別排出係数 代替値",
        source_title_en="Electricity emission factors: substitute value", edition=edition, valid_from_fy=2025,
        valid_to_fy=2025, status="VERIFIED", supersedes_version_id=supersedes, content_sha256="bench")


async def consume(engine, event, tenant: str = PLATFORM_TENANT) -> None:
    """One event the way the consumer applies it: inbox claim + handler in one transaction."""
    meta = EnvelopeMeta(id=str(uuid.uuid4()), type=event.event_type(), subject=event.factor_code, tenant_id=tenant,
                        time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        if await claim(uow.conn, tables.messaging, "calculation", meta.id, meta.type):
            await handlers.EVENT_HANDLERS[type(event)](event, meta, uow)


def generate(n_lines: int, n_tenants: int, seed: int = 7):
    """Activities (tuples) and their amounts; two lines per activity."""
    rnd = random.Random(seed)
    n_activities = (n_lines + 1) // 2
    sites = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(50)]
    ids = uuid4s(n_activities)
    per_tenant = -(-n_activities // n_tenants)
    activities = []
    for i, activity_id in enumerate(ids):
        cents = rnd.randint(1, 5_000_000)
        unit = "MWh" if rnd.random() < 0.1 else "kWh"
        activities.append((f"bench-tenant-{i // per_tenant + 1}", activity_id, f"{cents // 100}.{cents % 100:02d}",
                           unit, sites[rnd.randrange(50)], PERIODS[rnd.randrange(12)]))
    activities.sort(key=lambda a: (a[0], a[1]))
    return activities


async def load(dsn: str, activities, n_lines: int) -> None:
    """COPY the state the consumer leaves after the activities of FY2025 were computed with fv-1."""
    item = DEFAULT_LOGIC["electricity"]
    plans = plan_lines("", item)
    conn = await asyncpg.connect(dsn)
    try:
        fv1 = await conn.fetchrow("SELECT source_event_id FROM factor_versions WHERE factor_version_id = 'fv-1'")
        assert fv1 is not None
        inputs, lines, audits, events = [], [], [], []
        heads: dict[str, tuple[int, str]] = {}
        now = datetime.now(UTC)
        meta = '{"traceparent": null, "causation_id": null, "actor": null}'
        written = 0

        async def flush():
            for table, rows in (("activity_inputs", inputs), ("emission_lines", lines),
                                ("audit_records", audits), ("event_store", events)):
                if rows:
                    columns = {"activity_inputs": None, "emission_lines": None, "audit_records": None,
                               "event_store": ["event_id", "stream_id", "version", "type", "data", "meta",
                                               "tenant_id", "recorded_at"]}[table]
                    await conn.copy_records_to_table(table, records=rows, columns=columns)
                    rows.clear()

        async with conn.transaction():
            for tenant, activity_id, amount, unit, site, period in activities:
                event_id = str(uuid.uuid4())
                inputs.append((tenant, activity_id, 1, event_id, "active", site, "electricity", period, 2025,
                               amount, unit))
                events.append((str(uuid.uuid4()), f"activity-{activity_id}", 1, "ActivityInput",
                               f'{{"activity_id": "{activity_id}", "revision": 1}}', meta, tenant, now))
                co2e = fmt(Decimal(amount) * (1000 if unit == "MWh" else 1) * OLD)
                for plan in plans:
                    if written == n_lines:
                        break
                    written += 1
                    line_id = activity_id + plan.line_id
                    seq, prev_hash = heads.get(tenant, (0, GENESIS_HASH))
                    audit_id = str(uuid.uuid4())
                    record = {"audit_record_id": audit_id, "tenant_id": tenant, "seq": seq + 1, "line_id": line_id,
                              "line_revision": 1, "status": "calculated", "result_t": co2e,
                              "reason": "activity recorded (bench load)", "prev_hash": prev_hash}
                    digest = chain_hash(prev_hash, record)
                    record["hash"] = digest
                    heads[tenant] = (seq + 1, digest)
                    text_record = canonical_json(record)
                    audits.append((audit_id, tenant, seq + 1, line_id, 1, None, text_record, prev_hash, digest))
                    events.append((str(uuid.uuid4()), f"audit-{tenant}", seq + 1, "LineComputed",
                                   f'{{"record": {text_record}}}', meta, tenant, now))
                    lines.append((tenant, line_id, activity_id, 1, 1, "calculated", 2025, period, site,
                                  "electricity", plan.scope, plan.scope3_category, plan.scope2_method,
                                  item.energy_type, plan.method, 0, CODE, "fv-1", co2e, audit_id, plan.note))
                if len(lines) >= 50_000:
                    await flush()
            await flush()
    finally:
        await conn.close()


def backend_cpu(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.Error:
        return float("nan")


async def recompute(engine, page_rows: int, per_activity: bool = False) -> dict:
    import functools

    from tanso_calculation.service_layer import bulk_recompute
    if per_activity:  # the path before the bulk recompute: recompute_activity per affected activity
        handlers.recompute_factor_lines = bulk_recompute.per_activity
    elif page_rows:
        handlers.recompute_factor_lines = functools.partial(bulk_recompute.recompute_factor_lines,
                                                            page_rows=page_rows)
    event = factor("fv-2", NEW, "R6-revised", supersedes="fv-1")
    meta = EnvelopeMeta(id=str(uuid.uuid4()), type=event.event_type(), subject=CODE, tenant_id=PLATFORM_TENANT,
                        time=datetime.now(UTC))
    async with engine.connect() as conn:
        wal_before = (await conn.execute(text("SELECT pg_current_wal_lsn()"))).scalar()
    wall, cpu = time.perf_counter(), time.process_time()
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        pid = (await uow.conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        server = backend_cpu(pid)
        if await claim(uow.conn, tables.messaging, "calculation", meta.id, meta.type):
            await handlers.on_factor_published(event, meta, uow)
    result = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
              "server_cpu": backend_cpu(pid) - server}
    async with engine.connect() as conn:
        result["wal"] = (await conn.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), :before)"),
                                            {"before": wal_before})).scalar()
    return result


async def copy_limits(dsn: str, n: int) -> dict:
    """Plain COPY of ``n`` rows per table, of the recompute's row sizes, each into a new table without indexes.

    Parts: the event-store rows, the audit rows, the outbox rows (each as large as a real new one: the
    stored text of the newest row, its id varied) and the line update (COPY of the update rows into a
    staging table + one ``UPDATE emission_lines … FROM`` it). Wall and PostgreSQL backend CPU per part.
    """
    conn = await asyncpg.connect(dsn)
    try:
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        samples = {
            "audit rows": await conn.fetchrow(
                "SELECT audit_record_id, tenant_id, seq, line_id, line_revision, supersedes, record::text AS record, "
                "prev_hash, hash FROM audit_records WHERE supersedes IS NOT NULL ORDER BY seq DESC LIMIT 1"),
            "event-store rows": await conn.fetchrow(
                "SELECT event_id, stream_id, version, type, data::text AS data, meta::text AS meta, tenant_id, "
                "recorded_at FROM event_store WHERE type = 'LineComputed' ORDER BY position DESC LIMIT 1"),
            "outbox rows": await conn.fetchrow(
                "SELECT id, aggregatetype, aggregateid, type, topic, payload, headers::text AS headers, created_at "
                "FROM outbox ORDER BY position DESC LIMIT 1"),
        }
        sources = {"audit rows": "audit_records", "event-store rows": "event_store", "outbox rows": "outbox"}
        results = {}
        for part, sample in samples.items():
            columns = list(sample.keys())
            await conn.execute("DROP TABLE IF EXISTS copy_limit")
            await conn.execute(f"CREATE TABLE copy_limit AS SELECT {', '.join(columns)} FROM {sources[part]} "
                               "WITH NO DATA")
            template = tuple(sample.values())
            key = template[0]
            wall, server = 0.0, backend_cpu(pid)
            for begin in range(0, n, 50_000):
                rows = [tuple(v.replace(key, i) if isinstance(v, str) else v for v in template)
                        for i in uuid4s(min(50_000, n - begin))]
                started = time.perf_counter()
                await conn.copy_records_to_table("copy_limit", records=rows, columns=columns)
                wall += time.perf_counter() - started
            results[part] = {"wall": wall, "server_cpu": backend_cpu(pid) - server}
            await conn.execute("DROP TABLE copy_limit")
        updates = [(r[0], r[1], 3, "calculated", "fv-3", r[2], r[3], r[4]) for r in await conn.fetch(
            "SELECT tenant_id, line_id, co2e_t, audit_record_id, message FROM emission_lines")][:n]
        wall, server = time.perf_counter(), backend_cpu(pid)
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE copy_limit_lines AS SELECT tenant_id, line_id, line_revision, status, "
                               "factor_version_id, co2e_t, audit_record_id, message FROM emission_lines WITH NO DATA")
            await conn.copy_records_to_table("copy_limit_lines", records=updates)
            await conn.execute("ANALYZE copy_limit_lines")
            await conn.execute(
                "UPDATE emission_lines AS t SET line_revision = s.line_revision, status = s.status, "
                "factor_version_id = s.factor_version_id, co2e_t = s.co2e_t, audit_record_id = s.audit_record_id, "
                "message = s.message FROM copy_limit_lines s WHERE t.tenant_id = s.tenant_id AND t.line_id = s.line_id")
            await conn.execute("DROP TABLE copy_limit_lines")
        results["line update (COPY + UPDATE … FROM)"] = {"wall": time.perf_counter() - wall,
                                                         "server_cpu": backend_cpu(pid) - server}
        return results
    finally:
        await conn.close()


def numpy_limits(activities, n_lines: int, dsn_rows) -> dict:
    """The same figures vectorised: amount × unit conversion × factor, per line."""
    amounts_text = [a[2] for a in activities for _ in (0, 1)][:n_lines]
    mwh = np.array([a[3] == "MWh" for a in activities for _ in (0, 1)][:n_lines])
    amounts = np.array(amounts_text, dtype=np.float64)
    cents = np.array([int(t.replace(".", "")) for t in amounts_text], dtype=np.int64)  # amount × 100, exact
    conversion = np.where(mwh, 1000, 1)
    best_float = best_int = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        co2e_float = amounts * conversion.astype(np.float64) * float(NEW)
        best_float = min(best_float, time.perf_counter() - started)
        started = time.perf_counter()
        # 0.000452 = 452 × 10⁻⁶, amount = cents × 10⁻²: the figure in units of 10⁻⁸ t, exactly
        co2e_scaled = cents * conversion * 452
        best_int = min(best_int, time.perf_counter() - started)
    # check against the Decimal figures the recompute stored (emission_lines.co2e_t)
    exact = sum(1 for i, t in enumerate(dsn_rows) if int(Decimal(t) * 100_000_000) == int(co2e_scaled[i]))
    float_equal = sum(1 for i, t in enumerate(dsn_rows) if float(Decimal(t)) == float(co2e_float[i]))
    return {"float64": best_float, "int64": best_int, "int64 exact": exact, "float64 equal": float_equal,
            "checked": len(dsn_rows)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=1)
    parser.add_argument("--page-rows", type=int, default=0, help="bulk page size (0: the service's default)")
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--per-activity", action="store_true",
                        help="time the per-activity path instead (recompute_activity per activity; slow)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--verify", action="store_true", help="verify the hash chains afterwards (slow)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    name = f"tanso_bench_recompute_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = args.admin_url.rsplit("/", 1)[0]
    dsn = f"{base}/{name}"
    engine = make_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(tables.metadata.create_all)
        await consume(engine, factor("fv-1", OLD, "R6"))
        started = time.perf_counter()
        activities = generate(args.lines, args.tenants)
        await load(dsn, activities, args.lines)
        conn = await asyncpg.connect(dsn)
        await conn.execute("ANALYZE")
        await conn.close()
        print(f"loaded {args.lines:,} lines ({len(activities):,} activities, {args.tenants} tenant(s)) "
              f"in {time.perf_counter() - started:.1f} s")

        result = await recompute(engine, args.page_rows, args.per_activity)
        conn = await asyncpg.connect(dsn)
        changed = await conn.fetchval("SELECT count(*) FROM emission_lines WHERE factor_version_id = 'fv-2'")
        records = await conn.fetchval("SELECT count(*) FROM audit_records WHERE supersedes IS NOT NULL")
        published = await conn.fetchval("SELECT count(*) FROM outbox WHERE type LIKE '%EmissionCalculated%'")
        by_line = {(r[0], r[1]): r[2] for r in await conn.fetch(
            "SELECT tenant_id, line_id, co2e_t FROM emission_lines")}
        figures = [by_line[(a[0], a[1] + suffix)] for a in activities for suffix in ("", ":market")][:args.lines]
        await conn.close()
        assert changed == records == published == args.lines, (changed, records, published)
        rate = args.lines / result["wall"]
        print(f"recompute {args.lines:,} lines, end to end until commit: {result['wall']:.1f} s = {rate:,.0f} lines/s "
              f"(target 50k lines/s, 1M in ≤ 20 s: {'met' if rate >= 50_000 else 'NOT met'}); "
              f"CPU: Python {result['cpu']:.1f} s, PostgreSQL backend {result['server_cpu']:.1f} s; "
              f"WAL {float(result['wal']) / 2**20:,.0f} MiB")

        if args.per_activity:
            return
        limits = numpy_limits(activities, args.lines, figures)  # same order: activity, primary then market
        print(f"NumPy, same multiplication on {args.lines:,} lines: float64 {limits['float64'] * 1000:.1f} ms "
              f"({limits['float64 equal']:,}/{limits['checked']:,} equal to the Decimal figures); integer-scaled "
              f"decimal {limits['int64'] * 1000:.1f} ms ({limits['int64 exact']:,}/{limits['checked']:,} exact)")
        parts = await copy_limits(dsn, args.lines)
        for what, r in parts.items():
            print(f"plain COPY of {args.lines:,} {what}: {r['wall']:.1f} s = {args.lines / r['wall']:,.0f} rows/s "
                  f"(PostgreSQL backend CPU {r['server_cpu']:.1f} s)")
        wall, server = sum(r["wall"] for r in parts.values()), sum(r["server_cpu"] for r in parts.values())
        print(f"plain COPY of everything the recompute writes for {args.lines:,} lines: {wall:.1f} s = "
              f"{args.lines / wall:,.0f} lines/s (PostgreSQL backend CPU {server:.1f} s)")
        if args.verify:
            async with engine.connect() as conn:
                tenants = [r[0] for r in await conn.execute(text("SELECT DISTINCT tenant_id FROM audit_records"))]
                for tenant in tenants:
                    print(tenant, await audit.verify_chain(conn, tenant))
    finally:
        await engine.dispose()
        if not args.keep:
            admin = await asyncpg.connect(args.admin_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    asyncio.run(main())
