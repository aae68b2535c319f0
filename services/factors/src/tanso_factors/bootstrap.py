"""Wires the factors service together; imports the catalogue editions on start."""

import logging

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from tanso_events.projections import rebuild
from tanso_events.store import EventStore
from tanso_runtime.app import ServiceRuntime, ServiceSpec

from .adapters import tables
from .adapters.projections import PROJECTIONS
from .entrypoints.http import router
from .service_layer.handlers import EVENT_HANDLERS, editions_to_import, import_in_own_transaction
from .settings import Settings

log = logging.getLogger(__name__)

_READ_MODELS = [t for p in PROJECTIONS for t in p.tables]


def _shape(sync_conn) -> dict[str, tuple[list[str], list[str]] | None]:
    inspector = inspect(sync_conn)
    out: dict[str, tuple[list[str], list[str]] | None] = {}
    for table in _READ_MODELS:
        if not inspector.has_table(table.name):
            out[table.name] = None
            continue
        columns = sorted(c["name"] for c in inspector.get_columns(table.name))
        pk = sorted(inspector.get_pk_constraint(table.name).get("constrained_columns") or [])
        out[table.name] = (columns, pk)
    return out


async def ensure_read_models(runtime: ServiceRuntime) -> None:
    await upgrade_read_models(runtime.engine)


async def upgrade_read_models(engine: AsyncEngine) -> bool:
    """Rebuild the read models from the event store when a table has an older shape (the tables are
    created with ``create_all``, which never alters an existing table). True if it rebuilt."""
    async with engine.connect() as conn:
        shape = await conn.run_sync(_shape)
    expected = {t.name: (sorted(c.name for c in t.columns), sorted(c.name for c in t.primary_key.columns))
                for t in _READ_MODELS}
    if shape == expected:
        return False
    log.warning("factors read models have an older shape; rebuilding them from the event store")
    async with engine.begin() as conn:
        for table in reversed(_READ_MODELS):
            await conn.run_sync(lambda sync, t=table: t.drop(sync, checkfirst=True))
        await conn.run_sync(lambda sync: tables.metadata.create_all(sync, tables=_READ_MODELS))
    count = await rebuild(engine, EventStore(tables.messaging), PROJECTIONS)
    log.info("factors read models rebuilt from %d events", count)
    return True


async def import_catalogue(runtime: ServiceRuntime) -> None:
    """Import every shipped edition, the IPCC GWP sets and the extra editions, each in its own
    transaction, and log the reports (with progress for large editions)."""
    for edition in editions_to_import(runtime.settings.extra_data_dirs):
        label = f"{edition.source_id} {edition.edition}"

        def progress(done: int, total: int, label: str = label) -> None:
            if done % 500 == 0 and done != total:
                log.info("factor import %s: %d/%d rows", label, done, total)

        report = await import_in_own_transaction(edition, runtime.uow, progress)
        log.info("factor import %s", report.summary())


def build_spec(settings: Settings) -> ServiceSpec:
    return ServiceSpec(
        settings=settings,
        title="Tanso factors",
        description="Emission factor sources and immutable factor versions, imported from official lists; "
                    "tenant-private factors.",
        metadata=tables.metadata,
        tables=tables.messaging,
        projections=PROJECTIONS,
        routers=[router],
        event_handlers=EVENT_HANDLERS,
        on_startup=[ensure_read_models, *([import_catalogue] if settings.import_on_start else [])],
    )
