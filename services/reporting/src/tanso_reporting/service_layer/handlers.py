"""Event handlers of the reporting service."""

import logging

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.unit_of_work import UnitOfWork

from ..adapters import tables
from ..domain.events import LineReported, OrgUnitKnown, SupplierDisclosureReceived, TenantKnown
from .batch_lines import NewLines, reported_lines
from .intensity import on_revenue_recorded

log = logging.getLogger(__name__)


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


async def on_emissions_calculated(items: list[tuple[catalog.EmissionCalculated, EnvelopeMeta]],
                                  uow: UnitOfWork) -> None:
    """A run of line figures (an import's backlog): new lines set-based, the rest one by one in order."""
    known = await reported_lines(uow, [event.line_id for event, _ in items])
    new = NewLines(uow)
    for event, meta in items:
        if event.line_id in known:
            await new.write()
            with uow.caused_by(meta.id):  # what a unit of work of its own would carry
                await on_emission_calculated(event, meta, uow)
            continue
        known.add(event.line_id)
        new.add(event, meta)
    await new.write()


async def on_org_unit_registered(event: catalog.OrgUnitRegistered, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    stream_id = f"orgunit-{event.org_unit_id}"
    if not await uow.load(stream_id):
        await uow.append(stream_id, 0, meta.tenant_id, [OrgUnitKnown(
            org_unit_id=event.org_unit_id, parent_id=event.parent_id, kind=event.kind, name_ja=event.name_ja,
            name_en=event.name_en)])


async def on_tenant_registered(event: catalog.TenantRegistered, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    stream_id = f"tenant-{event.tenant_id}"
    if not await uow.load(stream_id):
        await uow.append(stream_id, 0, event.tenant_id, [TenantKnown(tenant_id=event.tenant_id,
                                                                     company_name=event.company_name)])


async def on_disclosure_granted(event: catalog.DisclosureGranted, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    """F19: keep the disclosure for the buyer it was granted to, and for nobody else (F23)."""
    if meta.tenant_id != event.supplier_tenant_id:
        # The internal copy is addressed to the supplier that granted it; anything else is not ours.
        log.warning("ignoring DisclosureGranted %s with tenantid %s (supplier %s)", event.disclosure_id,
                    meta.tenant_id, event.supplier_tenant_id)
        return
    stream_id = f"supplier-disclosure-{event.disclosure_id}"
    if await uow.load(stream_id):
        return  # a republished copy with a new event id
    await uow.append(stream_id, 0, event.buyer_tenant_id, [SupplierDisclosureReceived(
        disclosure_id=event.disclosure_id, source_event_id=meta.id, supplier_tenant_id=event.supplier_tenant_id,
        fiscal_year=event.fiscal_year, figures=[f.model_dump(mode="json") for f in event.figures],
        supersedes_disclosure_id=event.supersedes_disclosure_id, signature_jws=event.signature_jws,
        granted_at=meta.time.isoformat())])


EVENT_HANDLERS = {
    catalog.EmissionCalculated: on_emission_calculated,
    catalog.OrgUnitRegistered: on_org_unit_registered,
    catalog.TenantRegistered: on_tenant_registered,
    catalog.DisclosureGranted: on_disclosure_granted,
    catalog.RevenueRecorded: on_revenue_recorded,
}

BATCH_HANDLERS = {
    catalog.EmissionCalculated: on_emissions_calculated,
}
