"""The bulk recompute after a FactorPublished writes what the per-activity path writes, byte for byte.

Each case builds the same history through the handlers (activities in several fiscal years, units
and states, two tenants, a tenant logic with an upstream factor), then handles one FactorPublished
twice on the same database state — once with the bulk path, once with the per-activity path
(``recompute_activity`` per affected activity, what the handler did before) — each inside a
transaction that is rolled back after its rows were read. New ids and hashes are replaced by their
order of appearance; everything else (record JSON text, event-store rows, outbox payloads, emission
lines) must be equal. Runs on SQLite and on PostgreSQL (``database_url``).
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from tanso_calculation.adapters import tables
from tanso_calculation.adapters.projections import PROJECTIONS
from tanso_calculation.domain.logic import LogicItem
from tanso_calculation.service_layer import audit, bulk_recompute, handlers, logic
from tanso_events import catalog
from tanso_events.catalog import PLATFORM_TENANT
from tanso_events.envelope import EnvelopeMeta
from tanso_events.inbox import claim
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal

A, B = "tenant-a", "tenant-b"
ELECTRICITY = "shk.electricity.substitute"
UPSTREAM = "test.electricity.upstream"
NOW = datetime(2026, 4, 1, 9, 0, 0, 123456, tzinfo=UTC)
CAUSE = "6f0c1d2e-0000-4000-8000-00000000c0de"


def factor(code=ELECTRICITY, value="0.000416", version_id="fv-1", edition="R6", valid_from=2025, valid_to=2025,
           value_unit="t-CO2/kWh"):
    return catalog.FactorPublished(
        factor_version_id=version_id, factor_code=code, name_ja="代替値", name_en="Substitute", category="electricity",
        scope=2, activity_unit="kWh", value=Decimal(value), value_unit=value_unit,
        source_id="jp-electricity-shk-defaults", source_title_ja="電気事業者別排出係数「代替値」",
        source_title_en="Electricity \"substitute\" value", edition=edition, valid_from_fy=valid_from,
        valid_to_fy=valid_to, status="VERIFIED", content_sha256="x")


def activity(activity_id, amount, unit="kWh", fy=2025, org="site-1"):
    return catalog.ActivityRecorded(activity_id=activity_id, org_unit_id=org, item_code="electricity",
                                    period=f"{fy}-05", fiscal_year=fy, amount=Decimal(amount), unit=unit,
                                    recorded_by="u1")


async def deliver(engine, event, tenant):
    meta = EnvelopeMeta(id=str(uuid.uuid4()), type=event.event_type(), subject="s", tenant_id=tenant,
                        time=datetime.now(UTC))
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
        if await claim(uow.conn, tables.messaging, "calculation", meta.id, meta.type):
            await handlers.EVENT_HANDLERS[type(event)](event, meta, uow)


async def history(engine):
    """Two tenants' lines in every state a FactorPublished can meet."""
    await deliver(engine, factor(), PLATFORM_TENANT)
    await deliver(engine, factor(code=UPSTREAM, value="0.00005", version_id="up-1", valid_from=2020, valid_to=None),
                  PLATFORM_TENANT)
    async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:  # B's logic: electricity with cat3
        item = LogicItem(item_code="electricity", name_ja="電気", name_en="Electricity", unit="kWh", scope=2,
                         energy_type="electricity", method="purchased_energy", factor_code=ELECTRICITY,
                         upstream_factor_code=UPSTREAM)
        await logic.set_item(uow, Principal("admin", B, frozenset({"admin"})), 2025, item)
    for activity_id, amount, unit in [("act-1", "12000", "kWh"), ("Act-2", "1.5", "MWh"), ("act_3", "2", "千kWh"),
                                      ("act-10", "0.001", "kWh"), ("act-9", "123456789.123456789", "kWh"),
                                      ("act-zero", "0", "kWh")]:
        await deliver(engine, activity(activity_id, amount, unit, org="本社"), A)
    await deliver(engine, activity("act-2024", "500", fy=2024), A)  # outside the new version's validity
    await deliver(engine, activity("act-2026", "300", fy=2026), A)  # no version for FY2026 yet: pending
    await deliver(engine, activity("act-void", "700"), A)
    await deliver(engine, catalog.ActivityVoided(activity_id="act-void", revision=2, voided_by="u1", reason="dup"), A)
    await deliver(engine, activity("act-litres", "10", unit="L"), A)  # unit does not fit: error line
    await deliver(engine, activity("act-fixed", "100"), A)
    await deliver(engine, catalog.ActivityCorrected(
        activity_id="act-fixed", revision=2, org_unit_id="site-2", item_code="electricity", period="2025-06",
        fiscal_year=2025, amount=Decimal(250), unit="kWh", corrected_by="u1", reason="invoice"), A)
    for n in range(1, 6):
        await deliver(engine, activity(f"b-{n}", str(n * 1000)), B)
    await deliver(engine, activity("b-2024", "10", fy=2024), B)


class _Rollback(Exception):
    pass


async def handle_and_read(engine, event, tenant, path, monkeypatch, written) -> dict:
    """Handle ``event`` with ``path`` ("bulk" / "per_activity") in a transaction rolled back after reading."""
    meta = EnvelopeMeta(id=CAUSE, type=event.event_type(), subject="s", tenant_id=tenant, time=NOW)
    with monkeypatch.context() as m:
        if path == "per_activity":
            m.setattr(handlers, "recompute_factor_lines", bulk_recompute.per_activity)
        elif path == "bulk_small_pages":  # page boundaries inside activities, writes overlapping the reads
            m.setattr(handlers, "recompute_factor_lines",
                      functools.partial(bulk_recompute.recompute_factor_lines, page_rows=3, progress_every=2))
        try:
            async with UnitOfWork(engine, tables.messaging, PROJECTIONS) as uow:
                uow.now = NOW
                before = await written.mark(uow.conn)
                await handlers.on_factor_published(event, meta, uow)
                snapshot = await written.rows(uow.conn, before)
                chains = {t: await audit.verify_chain(uow.conn, t) for t in (A, B)}
                assert all(c["valid"] for c in chains.values()), chains
                # the head hash depends on the new (random) audit record ids
                snapshot["chains"] = {t: c["records_checked"] for t, c in chains.items()}
                raise _Rollback
        except _Rollback:
            pass
    return snapshot


FINAL_EVENTS = {
    "platform version, new value": (factor(value="0.000452", version_id="fv-2", edition="R6-rev"), PLATFORM_TENANT),
    "first version for FY2026 (pending lines)": (factor(value="0.00043", version_id="fv-2026", edition="R7",
                                                        valid_from=2026, valid_to=2026), PLATFORM_TENANT),
    "tenant B's private version": (factor(value="0.0004", version_id="fv-b", edition="B contract"), B),
    "upstream factor (cat3 lines, tenant logic)": (factor(code=UPSTREAM, value="0.00006", version_id="up-2",
                                                          valid_from=2020, valid_to=None), PLATFORM_TENANT),
}


@pytest.mark.parametrize("case", list(FINAL_EVENTS))
async def test_bulk_and_per_activity_paths_write_the_same_rows(engine, monkeypatch, case, written):
    await history(engine)
    event, tenant = FINAL_EVENTS[case]
    reference = await handle_and_read(engine, event, tenant, "per_activity", monkeypatch, written)
    assert reference["count"] > 0
    for path in ("bulk", "bulk_small_pages"):
        bulk = await handle_and_read(engine, event, tenant, path, monkeypatch, written)
        for part in ("audits", "events", "outbox", "lines", "chains"):
            assert bulk[part] == reference[part], (path, part)


async def test_a_new_version_changes_exactly_the_dependent_lines_and_the_chain_verifies(engine):
    await history(engine)
    async with engine.connect() as conn:
        before = {(r.tenant_id, r.line_id): r for r in (await conn.execute(select(tables.lines))).all()}
    await deliver(engine, factor(value="0.000452", version_id="fv-2", edition="R6-rev"), PLATFORM_TENANT)
    async with engine.connect() as conn:
        after = {(r.tenant_id, r.line_id): r for r in (await conn.execute(select(tables.lines))).all()}
        records = {r.audit_record_id: r.record for r in (await conn.execute(select(tables.audit_records))).all()}
        chains = [await audit.verify_chain(conn, t) for t in (A, B)]
    changed = {key for key in after if after[key].audit_record_id != before[key].audit_record_id}
    a_lines = {"act-1", "Act-2", "act_3", "act-10", "act-9", "act-zero", "act-litres", "act-fixed"}
    expected = ({(A, i) for i in a_lines} | {(A, f"{i}:market") for i in a_lines}
                | {(B, f"b-{n}") for n in range(1, 6)} | {(B, f"b-{n}:market") for n in range(1, 6)})
    assert changed == expected  # not FY2024, not voided, not B's cat3 lines (another factor code)
    assert after[(A, "act-1")].co2e_t == Decimal("5.424") and after[(A, "act-1")].factor_version_id == "fv-2"
    assert after[(A, "Act-2")].co2e_t == Decimal("0.678")  # 1.5 MWh → 1500 kWh
    assert after[(A, "act-litres")].status == "error"
    for key in changed:
        record = records[after[key].audit_record_id]
        assert record["supersedes_audit_record_id"] == before[key].audit_record_id
        assert record["reason"] == f"new factor version {ELECTRICITY} R6-rev"
        assert record["line_revision"] == before[key].line_revision + 1
    assert all(c["valid"] for c in chains), chains


async def test_a_private_version_changes_only_its_tenants_lines(engine):
    await history(engine)
    async with engine.connect() as conn:
        before = {(r.tenant_id, r.line_id): r.audit_record_id for r in (await conn.execute(select(tables.lines))).all()}
    await deliver(engine, factor(value="0.0004", version_id="fv-b", edition="B contract"), B)
    async with engine.connect() as conn:
        after = {(r.tenant_id, r.line_id): r for r in (await conn.execute(select(tables.lines))).all()}
    changed = {key for key in after if after[key].audit_record_id != before[key]}
    assert changed == {(B, f"b-{n}") for n in range(1, 6)} | {(B, f"b-{n}:market") for n in range(1, 6)}
    assert after[(B, "b-1")].co2e_t == Decimal("0.4")


async def test_a_redelivered_factor_version_changes_nothing(engine):
    await history(engine)
    event = factor(value="0.000452", version_id="fv-2", edition="R6-rev")
    await deliver(engine, event, PLATFORM_TENANT)

    async def state():
        async with engine.connect() as conn:
            return ((await conn.execute(select(func.count()).select_from(tables.audit_records))).scalar(),
                    (await conn.execute(select(func.count()).select_from(tables.messaging.outbox))).scalar(),
                    (await conn.execute(select(tables.lines).order_by(tables.lines.c.line_id))).all())

    first = await state()
    await deliver(engine, event, PLATFORM_TENANT)  # another copy (new event id), same version
    assert await state() == first


async def test_progress_is_logged_for_long_recomputes(engine, monkeypatch, caplog):
    await history(engine)
    monkeypatch.setattr(handlers, "recompute_factor_lines",
                        functools.partial(bulk_recompute.recompute_factor_lines, page_rows=4, progress_every=4))
    with caplog.at_level("INFO", logger=bulk_recompute.__name__):
        await deliver(engine, factor(value="0.000452", version_id="fv-2", edition="R6-rev"), PLATFORM_TENANT)
    progress = [r.getMessage() for r in caplog.records if " of " in r.getMessage()]
    assert progress and all("lines/s" in m for m in progress)


async def test_lines_outside_the_plain_case_go_through_the_per_activity_path_in_their_place(engine, monkeypatch):
    await history(engine)
    results = []

    async def recording(*args, **kwargs):
        results.append(await bulk_recompute.recompute_factor_lines(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(handlers, "recompute_factor_lines", recording)
    await deliver(engine, factor(value="0.000452", version_id="fv-2", edition="R6-rev"), PLATFORM_TENANT)
    [result] = results
    assert result.fallback_activities == 1  # act-litres: its unit does not fit the factor (error lines)
    assert result.lines == 2 * 13 and result.records == 2 * 12 and result.unchanged == 0
    async with engine.connect() as conn:
        error = (await conn.execute(select(tables.lines).where(tables.lines.c.line_id == "act-litres"))).one()
        trail = (await conn.execute(select(tables.audit_records.c.record).where(tables.audit_records.c.tenant_id == A)
                                    .order_by(tables.audit_records.c.seq))).scalars().all()
    assert error.status == "error" and error.factor_version_id == "fv-2"
    # its records sit between act-fixed's and act-zero's (tenant, activity order), not at the end
    new = [r["line_id"] for r in trail if r["reason"].endswith("R6-rev")]
    assert new.index("act-litres") == new.index("act-fixed:market") + 1
