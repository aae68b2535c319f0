"""Activity recorded → report updated latency at a steady request rate.

    uv run python bench/latency.py [--rate 50] [--seconds 60] [--database-url TEMPLATE]

Starts Tansu and the whole platform as processes (SQLite files in a temporary folder, or PostgreSQL
with e.g. ``--database-url 'postgresql+asyncpg://postgres@127.0.0.1:5432/bench_{db}'``), signs up a
tenant, then records one electricity activity every 1/rate seconds through the gateway (open loop:
requests leave on schedule whatever earlier responses take). Latency per activity = the time
reporting recorded the line (``LineReported`` in its event store) minus the time activities
recorded the activity (``ActivityRecorded``): measured inside the platform, so the benchmark does
not load the system by polling. Prints p50/p90/p99/max, the achieved rate and the HTTP response
times.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
from sqlalchemy import MetaData, make_url, select
from tanso_devstack.broker import TansuBroker
from tanso_devstack.platform import SERVICES, Platform, env_prefix, module_of
from tanso_devstack.testing import drop_pg_database
from tanso_events.store import add_messaging_tables
from tanso_runtime.db import make_engine


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    database_url = args.database_url
    if database_url:  # fresh databases per run: e.g. bench_{db} → bench_1a2b3c_{db}, dropped at the end
        database_url = database_url.replace("{db}", f"{uuid.uuid4().hex[:6]}_{{db}}")
    try:
        with tempfile.TemporaryDirectory() as data_dir, TansuBroker() as broker:
            bench(data_dir, broker, database_url, args)
    finally:
        if database_url:
            for service in SERVICES:
                asyncio.run(drop_pg_database(make_url(database_url.format(
                    db=module_of(service), service=service)).database))


def bench(data_dir: str, broker: TansuBroker, database_url: str | None, args: argparse.Namespace) -> None:
    env = {"TANSO_GATEWAY_RATE_LIMIT__REQUESTS_PER_SECOND": str(args.rate * 4),
           "TANSO_GATEWAY_RATE_LIMIT__BURST": str(int(args.rate * 8))}
    with Platform(data_dir, broker.bootstrap, base_port=None, database_url=database_url, env=env) as platform:
        print(f"platform ready; {args.rate:g} activities/s for {args.seconds:g} s "
              f"({'PostgreSQL' if database_url else 'SQLite'}, Tansu)", flush=True)
        run(platform, broker, args.rate, args.seconds)


def sign_up(client: httpx.Client) -> dict:
    email = f"bench-{uuid.uuid4().hex[:6]}@example.test"
    tenant = client.post("/api/identity/tenants", json={
        "company_name": "bench KK", "admin_email": email, "admin_password": "benchmark password",
        "admin_display_name": "bench"}).json()
    token = client.post("/api/identity/token", json={"email": email, "password": "benchmark password"}).json()
    client.headers["authorization"] = f"Bearer {token['access_token']}"
    site = client.post("/api/identity/org-units", json={"kind": "site", "parent_id": tenant["org_unit_id"],
                                                         "name_ja": "ベンチ工場"}).json()["org_unit_id"]
    body = {"org_unit_id": site, "item_code": "electricity", "period": "2025-05", "amount": "1000", "unit": "kWh"}
    while client.post("/api/activities/activities", json=body).status_code != 201:  # until activities knows it
        time.sleep(0.2)
    return body


def cpu_seconds(processes: dict[str, psutil.Process]) -> dict[str, float]:
    """User + system CPU seconds used so far by each process."""
    return {name: sum(p.cpu_times()[:2]) for name, p in processes.items()}


def run(platform: Platform, broker: TansuBroker, rate: float, seconds: float) -> None:
    client = httpx.Client(base_url=platform.url, timeout=30, limits=httpx.Limits(max_connections=32))
    body = sign_up(client)
    processes = {name: psutil.Process(p.pid) for name, p in platform.processes.items()}
    processes["tansu"] = psutil.Process(broker.process.pid)
    cpu_before = cpu_seconds(processes)
    response_ms: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        started = time.perf_counter()
        status = client.post("/api/activities/activities", json=body).status_code
        with lock:
            (response_ms.append((time.perf_counter() - started) * 1000) if status == 201 else errors.append(status))

    total = int(rate * seconds)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for i in range(total):
            if (delay := start + i / rate - time.perf_counter()) > 0:
                time.sleep(delay)
            pool.submit(post)
            if i and i % int(rate * 10) == 0:
                print(f"  {i}/{total} sent", flush=True)
    sent_for = time.perf_counter() - start
    expected = len(response_ms) + 1
    while client.get("/api/reporting/reports/2025").json()["lines"] < expected:
        if time.perf_counter() - start > seconds + 300:
            raise SystemExit("the report did not catch up within 5 minutes")
        time.sleep(0.5)
    cpu_used = {name: used - cpu_before[name] for name, used in cpu_seconds(processes).items()}
    timed = asyncio.run(pipeline_latencies(platform))
    latencies = [ms for _, ms in timed]
    print(f"\nactivity recorded → report updated: {len(latencies)} activities, "
          f"{len(response_ms) / sent_for:.1f}/s achieved of {rate:g}/s, {len(errors)} errors")
    print(f"  p50 {statistics.median(latencies):.0f} ms   p90 {percentile(latencies, 90):.0f} ms   "
          f"p99 {percentile(latencies, 99):.0f} ms   max {max(latencies):.0f} ms   (target p99 ≤ 500 ms)")
    print(f"  HTTP POST through the gateway: p50 {statistics.median(response_ms):.0f} ms   "
          f"p99 {percentile(response_ms, 99):.0f} ms")
    if timed:  # does latency drift during the run? p99 per 10 s of sending
        first = timed[0][0]
        windows: dict[int, list[float]] = {}
        for t, ms in timed:
            windows.setdefault(int((t - first) // 10), []).append(ms)
        print("  p99 per 10 s: " + "  ".join(f"{w * 10}s {percentile(v, 99):.0f}" for w, v in sorted(windows.items())))
    count = max(len(latencies), 1)
    print(f"  CPU per activity: {sum(cpu_used.values()) * 1000 / count:.1f} ms in all — " + ", ".join(
        f"{name} {used * 1000 / count:.1f}" for name, used in sorted(cpu_used.items(), key=lambda kv: -kv[1])))


async def pipeline_latencies(platform: Platform) -> list[float]:
    """(recorded at, ms from ActivityRecorded (activities) to LineReported (reporting)) per activity."""
    async def recorded(service: str, type_: str, key: str) -> dict[str, float]:
        metadata = MetaData()
        events = add_messaging_tables(metadata).events
        env = platform.env_for(service)
        url = env.get(env_prefix(service) + "DATABASE__URL") or \
            f"sqlite+aiosqlite:///{platform.data_dir / service / (service + '.sqlite3')}"
        engine = make_engine(url)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(events.c.data, events.c.recorded_at).where(events.c.type == type_))).all()
        await engine.dispose()
        return {data[key]: at.timestamp() for data, at in rows}

    activity = await recorded("activities", "ActivityRecorded", "activity_id")
    reported = await recorded("reporting", "LineReported", "activity_id")
    return [(t, (reported[a] - t) * 1000) for a, t in activity.items() if a in reported][1:]


if __name__ == "__main__":
    main()
