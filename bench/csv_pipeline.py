"""CSV upload → emission lines visible in reporting, through the whole platform.

    uv run python bench/csv_pipeline.py [--rows 20000] [--database-url TEMPLATE]

Starts Tansu and every service as processes (SQLite files, or PostgreSQL with e.g.
``--database-url 'postgresql+asyncpg://postgres@127.0.0.1:5432/pipe_{db}'``), signs up a tenant with
one site, uploads a CSV of ``--rows`` city-gas rows (one emission line each) through the gateway and
waits until reporting counts every line. Prints the import time, when reporting had every line, the
pipeline's lines/s, the CPU each process used, and what that rate means for 1,000,000 rows (the
issue's target: 60 s). Progress is printed every few seconds.

Beside it, a limit that no transport or database work can beat: the CPU calculation needs per line
for what every line must have — its figure and formula, its hash-chained audit record (one
sequential chain per tenant), the JSON stored for it and the envelope announcing it — measured with
calculation's own functions in this process, without any I/O (``--floor-lines``, 0 to skip).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import psutil
from latency import sign_up  # bench/ is the script's folder, so on sys.path
from tanso_calculation.domain.events import LineComputed
from tanso_calculation.domain.formula import GENESIS_HASH
from tanso_calculation.domain.logic import DEFAULT_LOGIC
from tanso_calculation.service_layer.lines import (
    RECORDED,
    emission_event,
    evaluate,
    plans_for,
    seal,
)
from tanso_devstack.broker import TansuBroker
from tanso_devstack.platform import Platform
from tanso_events.envelope import new_envelope

TARGET_ROWS, TARGET_SECONDS = 1_000_000, 60.0


def make_csv(site: str, rows: int) -> bytes:
    lines = ["拠点ID/org_unit_id,項目コード/item_code,年月/period,数量/amount,単位/unit,備考/note"]
    # April to December 2025: all in FY2025 for the default April fiscal-year start
    lines += [f"{site},city_gas,2025-{4 + i % 9:02d},{i % 97 + 1}.5,千m3,row {i}" for i in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def line_floor(lines: int) -> dict[str, float]:
    """CPU µs per city-gas line of each step calculation must do for it, without I/O (cumulative)."""
    item = DEFAULT_LOGIC["city_gas"]
    factor = {"factor_version_id": "fv-1", "factor_code": item.factor_code, "value": Decimal("2.05"),
              "value_unit": "t-CO2/千m3", "source_event_id": str(uuid.uuid4()), "source_id": "jp-shk-fuels",
              "source_title_ja": "算定・報告・公表制度における算定方法・排出係数一覧", "source_title_en": "SHK list",
              "edition": "R6", "status": "VERIFIED"}
    now = datetime.now(UTC)
    activities = [{"tenant_id": "t", "activity_id": str(uuid.uuid4()), "revision": 1, "status": "active",
                   "source_event_id": str(uuid.uuid4()), "org_unit_id": "site-1", "item_code": "city_gas",
                   "period": "2025-05", "fiscal_year": 2025, "amount": Decimal(f"{i % 97 + 1}.5"), "unit": "千m3"}
                  for i in range(lines)]  # city gas: one line per activity
    evaluate(activities[0], item, plans_for("warm-up", item, {})[0], factor)  # builds pint's registry once
    steps = ("figure and formula", "+ audit record, hash chain", "+ stored JSON (event, audit row)",
             "+ EmissionCalculated envelope")
    result = {}
    for depth, name in enumerate(steps):
        prev_hash, started = GENESIS_HASH, time.process_time()
        for seq, a in enumerate(activities, 1):
            for plan in plans_for(a["activity_id"], item, {}):
                status, record = evaluate(a, item, plan, factor)
                if depth >= 1:
                    seal(record, "t", a, item, 0, plan, factor, status, None, RECORDED, a["source_event_id"],
                         computed_at=now.isoformat(), audit_record_id=a["activity_id"], seq=seq, prev_hash=prev_hash)
                    prev_hash = record["hash"]
                if depth >= 2:
                    json.dumps(LineComputed(record=record).model_dump(mode="json"))
                    json.dumps(record)
                if depth >= 3:
                    new_envelope(emission_event(a, item, plan, record, status, RECORDED, "fv-1"), subject=plan.line_id,
                                 tenant_id="t", time=now).model_dump_json()
        result[name] = (time.process_time() - started) / lines * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--floor-lines", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, TansuBroker() as broker, \
            Platform(data_dir, broker.bootstrap, base_port=None, database_url=args.database_url) as platform:
        client = httpx.Client(base_url=platform.url, timeout=600)
        site = sign_up(client)["org_unit_id"]  # records one probe activity in FY2025
        while (baseline := client.get("/api/reporting/reports/2025").json()["lines"]) == 0:
            time.sleep(0.2)
        body = make_csv(site, args.rows)
        processes = {n: psutil.Process(p.pid) for n, p in platform.processes.items()}
        processes["tansu"] = psutil.Process(broker.process.pid)
        cpu_before = {n: sum(p.cpu_times()[:2]) for n, p in processes.items()}
        print(f"platform ready ({'PostgreSQL' if args.database_url else 'SQLite'}); uploading {args.rows:,} rows "
              f"({len(body) / 1e6:.1f} MB)", flush=True)
        start = time.perf_counter()
        response = client.post("/api/activities/imports", content=body, headers={"content-type": "text/csv"})
        response.raise_for_status()
        imported = time.perf_counter() - start
        print(f"  imported in {imported:.1f} s", flush=True)
        reported_at = None
        last_print = 0.0
        while reported_at is None:  # reporting's summary is one small query: polling it loads nothing
            now = time.perf_counter() - start
            report = client.get("/api/reporting/reports/2025").json()["lines"]
            if report >= baseline + args.rows:
                reported_at = now
            elif now - last_print >= 10:
                print(f"  {now:6.0f} s: {report - baseline:,}/{args.rows:,} lines in reporting", flush=True)
                last_print = now
            if now > 3600:
                raise SystemExit("reporting did not catch up within an hour")
            time.sleep(1.0)
        cpu = {n: sum(p.cpu_times()[:2]) - cpu_before[n] for n, p in processes.items()}
    rate = args.rows / reported_at
    print(f"\nCSV upload → lines in reporting, {args.rows:,} rows:")
    print(f"  import {imported:.1f} s · every line in reporting after {reported_at:.1f} s · "
          f"{rate:,.0f} lines/s through the pipeline")
    print(f"  at that rate 1,000,000 rows take {TARGET_ROWS / rate:,.0f} s (target ≤ {TARGET_SECONDS:.0f} s)")
    print("  CPU per row: " + ", ".join(f"{n} {s * 1e3 / args.rows:.2f} ms" for n, s in
                                         sorted(cpu.items(), key=lambda kv: -kv[1]) if s > 0.05))
    if args.floor_lines:
        print(f"\nLimit: calculation's CPU per line without any I/O ({args.floor_lines:,} lines, one tenant's chain):")
        for name, micros in line_floor(args.floor_lines).items():
            print(f"  {name}: {micros:.0f} µs → {micros * TARGET_ROWS / 1e6:.0f} s for 1,000,000 lines on one core")


if __name__ == "__main__":
    main()
