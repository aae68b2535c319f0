"""Command and event handlers of the activities service."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.unit_of_work import UnitOfWork
from tanso_ghg.fiscal import fiscal_year_of
from tanso_ghg.units import UnitMismatchError, UnknownUnitError, conversion_factor, normalise_unit
from tanso_runtime.auth import Principal
from tanso_runtime.errors import ProblemError, not_found

from ..adapters import tables
from ..adapters.logic import items_for_year
from ..domain.commands import CorrectActivity, RecordActivity, VoidActivity
from ..domain.model import (
    EVENT_TYPES,
    Activity,
    ActivityCorrected,
    ActivityFacts,
    ActivityRecorded,
    ActivityVoided,
    DomainRuleViolated,
    LogicKnown,
    OrgUnitKnown,
    TenantKnown,
)


def stream_of(activity_id: str) -> str:
    return f"activity-{activity_id}"


async def _fiscal_start_month(uow: UnitOfWork, tenant_id: str) -> int:
    row = (await uow.conn.execute(select(tables.tenants.c.fiscal_year_start_month)
                                  .where(tables.tenants.c.tenant_id == tenant_id))).first()
    if row is None:
        raise ProblemError(409, "tenant_not_ready", "Your tenant is still being set up; retry in a second.",
                           "テナントの準備中です。少し待ってから再試行してください。", retry_after=1)
    return row[0]


async def _facts(uow: UnitOfWork, tenant_id: str, org_unit_id: str, item_code: str, period: str, amount,
                 unit: str, note: str | None) -> ActivityFacts:
    unit_row = (await uow.conn.execute(select(tables.org_units.c.kind).where(
        tables.org_units.c.tenant_id == tenant_id, tables.org_units.c.org_unit_id == org_unit_id))).first()
    if unit_row is None:
        raise not_found("Org unit", "組織", org_unit_id)
    fiscal_year = fiscal_year_of(period, await _fiscal_start_month(uow, tenant_id))
    item = {i.code: i for i in await items_for_year(uow.conn, tenant_id, fiscal_year)}.get(item_code)
    if item is None:
        raise ProblemError(422, "unknown_item", f"Unknown activity item {item_code!r} for FY{fiscal_year}; see "
                           f"GET /items?fiscal_year={fiscal_year} for codes.",
                           f"活動項目 {item_code!r} は{fiscal_year}年度の算定ロジックにありません。"
                           f"GET /items?fiscal_year={fiscal_year} で確認してください。")
    try:
        unit = normalise_unit(unit)
        conversion_factor(unit, item.unit)
    except (UnitMismatchError, UnknownUnitError) as exc:
        raise ProblemError(422, "unit_mismatch", f"Unit {unit!r} cannot be used for {item_code} "
                           f"(measured in {item.unit}): {exc}",
                           f"単位 {unit!r} は {item.name_ja}（{item.unit}）に使えません。") from exc
    return ActivityFacts(org_unit_id, item_code, period, fiscal_year, amount, unit, note)


async def _load(uow: UnitOfWork, principal: Principal, activity_id: str) -> tuple[Activity, int]:
    stored = await uow.load(stream_of(activity_id))
    if not stored or stored[0].tenant_id != principal.tenant_id:
        raise not_found("Activity", "活動量", activity_id)
    events = [EVENT_TYPES[s.type].model_validate(s.data) for s in stored]
    return Activity.from_events(activity_id, events), len(stored)


def _rule(exc: DomainRuleViolated) -> ProblemError:
    return ProblemError(409, "rule_violated", str(exc), exc.message_ja)


async def record_activity(cmd: RecordActivity, principal: Principal, uow: UnitOfWork) -> Activity:
    facts = await _facts(uow, principal.tenant_id, cmd.org_unit_id, cmd.item_code, cmd.period, cmd.amount,
                         cmd.unit, cmd.note)
    activity = Activity(str(uuid.uuid4()))
    event = activity.record(facts)
    await uow.append(stream_of(activity.activity_id), 0, principal.tenant_id, [event], actor=principal.subject)
    await uow.publish(catalog.ActivityRecorded(recorded_by=principal.subject, **event.model_dump()),
                      subject=activity.activity_id, tenant_id=principal.tenant_id, aggregate_type="activity")
    return activity


async def correct_activity(activity_id: str, cmd: CorrectActivity, principal: Principal,
                           uow: UnitOfWork) -> Activity:
    activity, version = await _load(uow, principal, activity_id)
    if activity.voided or activity.facts is None:
        raise _rule(DomainRuleViolated("activity is voided; record a new one", "取消済みの活動量です"))
    old = activity.facts
    facts = await _facts(uow, principal.tenant_id, cmd.org_unit_id or old.org_unit_id,
                         cmd.item_code or old.item_code, cmd.period or old.period,
                         old.amount if cmd.amount is None else cmd.amount, cmd.unit or old.unit,
                         old.note if cmd.note is None else cmd.note)
    try:
        event: ActivityCorrected = activity.correct(facts, cmd.reason)
    except DomainRuleViolated as exc:
        raise _rule(exc) from exc
    await uow.append(stream_of(activity_id), version, principal.tenant_id, [event], actor=principal.subject)
    await uow.publish(catalog.ActivityCorrected(corrected_by=principal.subject, **event.model_dump()),
                      subject=activity_id, tenant_id=principal.tenant_id, aggregate_type="activity")
    return activity


async def void_activity(activity_id: str, cmd: VoidActivity, principal: Principal, uow: UnitOfWork) -> Activity:
    activity, version = await _load(uow, principal, activity_id)
    try:
        event: ActivityVoided = activity.void(cmd.reason)
    except DomainRuleViolated as exc:
        raise _rule(exc) from exc
    await uow.append(stream_of(activity_id), version, principal.tenant_id, [event], actor=principal.subject)
    await uow.publish(catalog.ActivityVoided(voided_by=principal.subject, **event.model_dump()),
                      subject=activity_id, tenant_id=principal.tenant_id, aggregate_type="activity")
    return activity


async def on_tenant_registered(event: catalog.TenantRegistered, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    known = TenantKnown(tenant_id=event.tenant_id, fiscal_year_start_month=event.fiscal_year_start_month)
    await _record_once(uow, f"tenant-{event.tenant_id}", meta.tenant_id, known)


async def on_org_unit_registered(event: catalog.OrgUnitRegistered, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    known = OrgUnitKnown(org_unit_id=event.org_unit_id, kind=event.kind, name_ja=event.name_ja,
                         name_en=event.name_en)
    await _record_once(uow, f"orgunit-{event.org_unit_id}", meta.tenant_id, known)


async def _record_once(uow: UnitOfWork, stream_id: str, tenant_id: str, fact) -> None:
    """Reference facts are recorded once; a republished copy (new event id, same fact) is ignored."""
    if not await uow.load(stream_id):
        await uow.append(stream_id, 0, tenant_id, [fact])


async def on_logic_changed(event: catalog.CalculationLogicChanged, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    stream_id = f"logic-{meta.tenant_id}-{event.fiscal_year}"
    stream = await uow.load(stream_id)
    if stream and stream[-1].data["logic_version"] >= event.logic_version:
        return  # an older snapshot arriving late
    known = LogicKnown(fiscal_year=event.fiscal_year, logic_version=event.logic_version,
                       items=[i.model_dump() for i in event.items])
    await uow.append(stream_id, len(stream), meta.tenant_id, [known])


EVENT_HANDLERS = {
    catalog.CalculationLogicChanged: on_logic_changed,
    catalog.TenantRegistered: on_tenant_registered,
    catalog.OrgUnitRegistered: on_org_unit_registered,
}

# Re-exported for tests and the HTTP layer.
__all__ = ["EVENT_HANDLERS", "ActivityRecorded", "correct_activity", "record_activity", "void_activity"]
