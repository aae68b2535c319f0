"""F3: official lists are imported from their files; each new or corrected row is a new version."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select
from tanso_events.projections import checksum, rebuild
from tanso_events.store import ConcurrencyError, EventStore
from tanso_events.unit_of_work import UnitOfWork
from tanso_factors.adapters import tables
from tanso_factors.adapters.projections import PROJECTIONS
from tanso_factors.bootstrap import build_spec, ensure_read_models, import_catalogue
from tanso_factors.domain.catalogue_files import DATA_ROOT, load_edition
from tanso_factors.domain.model import version_id
from tanso_factors.service_layer.handlers import editions_to_import, import_in_own_transaction
from tanso_runtime.app import ServiceRuntime
from tanso_runtime.auth import TokenVerifier

A_HEAVY_OIL = "shk.fuel.a_heavy_oil"
OLD = version_id(A_HEAVY_OIL, "jp-shk-fuels", "H22-2010")
CURRENT = version_id(A_HEAVY_OIL, "jp-shk-fuels", "R6-2024")


async def outbox(engine) -> list[dict]:
    o = tables.messaging.outbox
    async with engine.connect() as conn:
        rows = (await conn.execute(select(o).order_by(o.c.position))).all()
    return [{"row": r, "envelope": json.loads(r.payload)} for r in rows]


async def factor_row(engine, factor_version_id: str) -> dict:
    t = tables.factor_versions
    async with engine.connect() as conn:
        return dict((await conn.execute(select(t).where(t.c.factor_version_id == factor_version_id))).one()._mapping)


async def test_importing_every_shipped_edition_queues_one_factor_published_per_row(engine, import_shipped, count):
    reports = await import_shipped()

    rows = sum(len(e.rows) for e in editions_to_import())
    assert sum(len(r.new) for r in reports) == rows and not any(r.changed or r.unchanged for r in reports)
    assert await count() == rows == await count(tables.factor_versions)
    queued = [m for m in await outbox(engine) if m["envelope"]["data"]["factor_version_id"] == CURRENT]
    assert len(queued) == 1
    row, envelope = queued[0]["row"], queued[0]["envelope"]
    assert envelope["type"] == "tanso.factors.FactorPublished.v1"
    assert (row.aggregateid, envelope["subject"], envelope["tenantid"]) == (A_HEAVY_OIL, A_HEAVY_OIL, "platform")
    assert row.topic == "tanso.factors.v1"
    data = envelope["data"]
    assert (data["factor_code"], data["value"], data["value_unit"], data["edition"]) == (
        A_HEAVY_OIL, "2.75", "t-CO2/kL", "R6-2024")
    assert data["supersedes_version_id"] == OLD  # the H22 list came first in the stream


async def test_importing_again_queues_nothing_and_reports_all_unchanged(import_shipped, count):
    await import_shipped()
    queued, events = await count(), await count(tables.messaging.events)

    reports = await import_shipped()

    assert all(r.already_imported and not r.new and not r.changed for r in reports)
    assert sum(len(r.unchanged) for r in reports) == queued
    assert (await count(), await count(tables.messaging.events)) == (queued, events)


async def test_a_corrected_edition_publishes_exactly_one_version_that_supersedes_the_old_one(
        engine, import_shipped, import_folder, corrected_copy, count):
    await import_shipped()
    before = await count()
    seen = []

    report = await import_folder(corrected_copy, progress=lambda done, total: seen.append((done, total)))

    assert (report.new, report.changed, len(report.unchanged)) == ([], [A_HEAVY_OIL], 35)
    assert seen[-1] == (36, 36) and len(seen) == 36
    assert await count() == before + 1
    data = (await outbox(engine))[-1]["envelope"]["data"]
    corrected = version_id(A_HEAVY_OIL, "jp-shk-fuels", "R6-2024", revision=2)
    assert (data["factor_version_id"], data["value"], data["supersedes_version_id"]) == (corrected, "2.76", CURRENT)
    assert (await factor_row(engine, CURRENT))["superseded_by"] == corrected
    assert (await factor_row(engine, corrected))["revision"] == 2

    again = await import_folder(corrected_copy)
    assert again.already_imported and await count() == before + 1


async def test_the_projections_rebuild_byte_identical_from_the_event_store(engine, import_shipped,
                                                                          import_folder, corrected_copy):
    await import_shipped()
    await import_folder(corrected_copy)
    owned = [t for p in PROJECTIONS for t in p.tables]
    async with engine.connect() as conn:
        before = await checksum(conn, owned)

    await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)

    async with engine.connect() as conn:
        assert await checksum(conn, owned) == before


async def test_service_start_imports_shipped_and_extra_editions_once(settings, engine, corrected_copy, count):
    settings = settings.model_copy(update={"import_on_start": True, "extra_data_dirs": [corrected_copy.parent]})
    spec = build_spec(settings)
    assert spec.on_startup == [ensure_read_models, import_catalogue]
    runtime = ServiceRuntime(spec, engine, TokenVerifier("http://127.0.0.1:9", "i", "a"))

    await import_catalogue(runtime)
    await import_catalogue(runtime)

    assert await count() == sum(len(e.rows) for e in editions_to_import())  # the extra copy replaced R6-2024
    assert (await factor_row(engine, CURRENT))["value"] == Decimal("2.76")


async def test_an_import_that_loses_a_race_is_rolled_back_and_retried(engine, uow, count):
    class LosesFirstRace(UnitOfWork):
        async def append(self, stream_id, *args, **kwargs):
            if stream_id.startswith("edition-"):
                raise ConcurrencyError(f"{stream_id} moved on")
            return await super().append(stream_id, *args, **kwargs)

    factories = iter([lambda: LosesFirstRace(engine, tables.messaging, PROJECTIONS), uow])
    edition = load_edition(DATA_ROOT / "jp-shk-fuels" / "R6-2024")

    report = await import_in_own_transaction(edition, lambda: next(factories)())

    assert len(report.new) == 36 and await count() == 36  # nothing left over from the lost attempt
