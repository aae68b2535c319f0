"""Event handlers of the reporting service."""

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.unit_of_work import UnitOfWork

from ..adapters import tables
from ..domain.events import LineReported, OrgUnitKnown


async def on_emission_calculated(event: catalog.EmissionCalculated, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    t = tables.report_lines
    current = (await uow.conn.execute(select(t.c.line_revision).where(
        t.c.tenant_id == meta.tenant_id, t.c.line_id == event.line_id))).scalar()
    if current is not None and current >= event.line_revision:
        return  # a stale copy (e.g. republished after a broker restart)
    stream_id = f"line-{event.line_id}"
    version = len(await uow.load(stream_id))
    fact = LineReported(source_event_id=meta.id, **event.model_dump(
        include=set(LineReported.model_fields) - {"source_event_id"}))
    await uow.append(stream_id, version, meta.tenant_id, [fact])


async def on_org_unit_registered(event: catalog.OrgUnitRegistered, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    stream_id = f"orgunit-{event.org_unit_id}"
    if not await uow.load(stream_id):
        await uow.append(stream_id, 0, meta.tenant_id, [OrgUnitKnown(
            org_unit_id=event.org_unit_id, parent_id=event.parent_id, kind=event.kind, name_ja=event.name_ja,
            name_en=event.name_en)])


EVENT_HANDLERS = {
    catalog.EmissionCalculated: on_emission_calculated,
    catalog.OrgUnitRegistered: on_org_unit_registered,
}
