"""Event handlers of the calculation service: inputs in, audited emission lines out."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.unit_of_work import UnitOfWork

from ..adapters import tables
from ..domain.events import ActivityInput, FactorInput
from .batch_recording import NewActivities, known_activities
from .bulk_recompute import recompute_factor_lines, tenant_scope
from .lines import RECORDED, logic_item, recompute_activity


async def on_activity_recorded(event: catalog.ActivityRecorded, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    await _record_activity(uow, meta, event, revision=1, status="active", reason=RECORDED)


async def on_activities_recorded(items: list[tuple[catalog.ActivityRecorded, EnvelopeMeta]],
                                 uow: UnitOfWork) -> None:
    """A run of recordings (an import's backlog), set-based. A recording of an activity known here
    changes nothing, as in :func:`on_activity_recorded`."""
    known = await known_activities(uow, [event.activity_id for event, _ in items])
    new = NewActivities(uow)
    logic: dict[tuple, tuple] = {}
    for n, (event, meta) in enumerate(items):
        if n % 50 == 49:
            await asyncio.sleep(0)  # a run of 500 is ~0.1 s of CPU: let HTTP requests in between
        if event.activity_id in known:
            continue
        known.add(event.activity_id)
        key = (meta.tenant_id, event.fiscal_year, event.item_code)
        if key not in logic:
            logic[key] = await logic_item(uow, *key)
        await new.add(event, meta, *logic[key])
    await new.write()


async def on_activity_corrected(event: catalog.ActivityCorrected, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    await _record_activity(uow, meta, event, revision=event.revision, status="active",
                           reason=f"activity corrected: {event.reason}")


async def on_activity_voided(event: catalog.ActivityVoided, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    t = tables.activity_inputs
    current = (await uow.conn.execute(select(t).where(
        t.c.tenant_id == meta.tenant_id, t.c.activity_id == event.activity_id))).mappings().first()
    if current is None or current["revision"] >= event.revision:
        return  # key order makes "voided before recorded" impossible; stale copies are ignored
    data = {k: current[k] for k in ("org_unit_id", "item_code", "period", "fiscal_year", "amount", "unit")}
    fact = ActivityInput(activity_id=event.activity_id, revision=event.revision, source_event_id=meta.id,
                         status="voided", **data)
    await uow.append(f"activity-{event.activity_id}", current["revision"], meta.tenant_id, [fact])
    await recompute_activity(uow, meta.tenant_id, event.activity_id, f"activity voided: {event.reason}", meta.id)


async def _record_activity(uow: UnitOfWork, meta: EnvelopeMeta, event, *, revision: int, status: str,
                           reason: str) -> None:
    stream = await uow.load(f"activity-{event.activity_id}")
    if stream and stream[-1].data["revision"] >= revision:
        return  # an older copy arriving late changes nothing
    fact = ActivityInput(activity_id=event.activity_id, revision=revision, source_event_id=meta.id, status=status,
                         org_unit_id=event.org_unit_id, item_code=event.item_code, period=event.period,
                         fiscal_year=event.fiscal_year, amount=event.amount, unit=event.unit)
    await uow.append(f"activity-{event.activity_id}", len(stream), meta.tenant_id, [fact])
    await recompute_activity(uow, meta.tenant_id, event.activity_id, reason, meta.id,
                             inputs={"tenant_id": meta.tenant_id, **fact.model_dump(), "amount": fact.amount})


async def on_factor_published(event: catalog.FactorPublished, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    """Record the version, then recompute exactly the lines whose factor in force may change (in bulk)."""
    stream_id = f"factor-{event.factor_version_id}"
    if await uow.load(stream_id):
        return
    fact = FactorInput(
        factor_version_id=event.factor_version_id, factor_code=event.factor_code, tenant_scope=meta.tenant_id,
        source_event_id=meta.id, value=event.value, value_unit=event.value_unit, activity_unit=event.activity_unit,
        valid_from_fy=event.valid_from_fy, valid_to_fy=event.valid_to_fy, source_id=event.source_id,
        source_title_ja=event.source_title_ja, source_title_en=event.source_title_en, edition=event.edition,
        status=event.status, supersedes_version_id=event.supersedes_version_id)
    await uow.append(stream_id, 0, meta.tenant_id, [fact])
    await recompute_factor_lines(uow, event.factor_code, event.valid_from_fy, event.valid_to_fy,
                                 tenant_scope(meta.tenant_id), f"new factor version {event.factor_code} {event.edition}",
                                 meta.id)


EVENT_HANDLERS = {
    catalog.ActivityRecorded: on_activity_recorded,
    catalog.ActivityCorrected: on_activity_corrected,
    catalog.ActivityVoided: on_activity_voided,
    catalog.FactorPublished: on_factor_published,
}

BATCH_HANDLERS = {
    catalog.ActivityRecorded: on_activities_recorded,
}
