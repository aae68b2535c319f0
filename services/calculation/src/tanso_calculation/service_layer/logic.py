"""Commands on the calculation logic of a fiscal year; each change recomputes the lines it affects."""

from __future__ import annotations

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal
from tanso_runtime.errors import ProblemError

from ..adapters import tables
from ..domain.events import LogicAdopted, LogicItemRemoved, LogicItemSet
from ..domain.logic import DEFAULT_LOGIC, LogicItem
from .lines import recompute_activity


def stream_of(tenant_id: str, fiscal_year: int) -> str:
    return f"logic-{tenant_id}-{fiscal_year}"


async def current_items(uow: UnitOfWork, tenant_id: str, fiscal_year: int) -> tuple[list[LogicItem], int, str]:
    """Items in force, the logic version (0 = built-in) and where the logic was copied from."""
    v = tables.logic_versions
    row = (await uow.conn.execute(select(v.c.version, v.c.copied_from).where(
        v.c.tenant_id == tenant_id, v.c.fiscal_year == fiscal_year))).first()
    if row is None:
        return list(DEFAULT_LOGIC.values()), 0, "default"
    i = tables.logic_items
    definitions = (await uow.conn.execute(select(i.c.definition).where(
        i.c.tenant_id == tenant_id, i.c.fiscal_year == fiscal_year).order_by(i.c.item_code))).scalars()
    return [LogicItem.model_validate(d) for d in definitions], row[0], row[1]


async def _ensure_adopted(uow: UnitOfWork, principal: Principal, fiscal_year: int) -> int:
    """A tenant's first change to a year starts from the built-in items; returns the stream version."""
    version = len(await uow.load(stream_of(principal.tenant_id, fiscal_year)))
    if version == 0:
        items = [i.model_dump(mode="json") for i in DEFAULT_LOGIC.values()]
        await uow.append(stream_of(principal.tenant_id, fiscal_year), 0, principal.tenant_id,
                         [LogicAdopted(fiscal_year=fiscal_year, copied_from="default", items=items)],
                         actor=principal.subject)
        version = 1
    return version


async def copy_logic(uow: UnitOfWork, principal: Principal, fiscal_year: int, source: str) -> int:
    """Replace the year's logic with the built-in items or another year's logic."""
    if source == "default":
        items = list(DEFAULT_LOGIC.values())
    else:
        try:
            source_year = int(source)
        except ValueError:
            raise ProblemError(422, "invalid_source", "copy_from must be 'default' or a fiscal year like 2024.",
                               "コピー元は default または年度（例: 2024）を指定してください。") from None
        items, version, _ = await current_items(uow, principal.tenant_id, source_year)
        if version == 0:
            raise ProblemError(404, "no_logic", f"FY{source_year} has no logic of its own to copy; copy 'default'.",
                               f"{source_year}年度には独自の算定ロジックがありません。default をコピーしてください。")
    stream = stream_of(principal.tenant_id, fiscal_year)
    version = len(await uow.load(stream))
    [stored] = await uow.append(stream, version, principal.tenant_id, [LogicAdopted(
        fiscal_year=fiscal_year, copied_from=source, items=[i.model_dump(mode="json") for i in items])],
        actor=principal.subject)
    await _recompute_year(uow, principal.tenant_id, fiscal_year, None, f"logic copied from {source}",
                          stored.event_id)
    return version + 1


async def set_item(uow: UnitOfWork, principal: Principal, fiscal_year: int, item: LogicItem) -> int:
    version = await _ensure_adopted(uow, principal, fiscal_year)
    [stored] = await uow.append(stream_of(principal.tenant_id, fiscal_year), version, principal.tenant_id,
                                [LogicItemSet(fiscal_year=fiscal_year, item=item.model_dump(mode="json"))],
                                actor=principal.subject)
    await _recompute_year(uow, principal.tenant_id, fiscal_year, item.item_code,
                          f"logic changed: item {item.item_code}", stored.event_id)
    return version + 1


async def remove_item(uow: UnitOfWork, principal: Principal, fiscal_year: int, item_code: str) -> int:
    version = await _ensure_adopted(uow, principal, fiscal_year)
    items, _, _ = await current_items(uow, principal.tenant_id, fiscal_year)
    if item_code not in {i.item_code for i in items}:
        raise ProblemError(404, "not_found", f"Item {item_code!r} is not in the logic of FY{fiscal_year}.",
                           f"項目 {item_code!r} は{fiscal_year}年度の算定ロジックにありません。")
    [stored] = await uow.append(stream_of(principal.tenant_id, fiscal_year), version, principal.tenant_id,
                                [LogicItemRemoved(fiscal_year=fiscal_year, item_code=item_code)],
                                actor=principal.subject)
    await _recompute_year(uow, principal.tenant_id, fiscal_year, item_code,
                          f"logic changed: item {item_code} removed", stored.event_id)
    return version + 1


async def _announce(uow: UnitOfWork, tenant_id: str, fiscal_year: int) -> None:
    """Tell data-entry services which items the year now has (CalculationLogicChanged)."""
    items, version, copied_from = await current_items(uow, tenant_id, fiscal_year)
    logic_id = f"{tenant_id}:{fiscal_year}"
    await uow.publish(catalog.CalculationLogicChanged(
        logic_id=logic_id, fiscal_year=fiscal_year, logic_version=version, copied_from=copied_from,
        items=[catalog.LogicItemSummary(item_code=i.item_code, name_ja=i.name_ja, name_en=i.name_en, unit=i.unit,
                                        scope=i.scope, scope3_category=i.scope3_category) for i in items]),
        subject=logic_id, tenant_id=tenant_id, aggregate_type="calculation_logic")


async def _recompute_year(uow: UnitOfWork, tenant_id: str, fiscal_year: int, item_code: str | None,
                          reason: str, cause_event_id: str) -> None:
    await _announce(uow, tenant_id, fiscal_year)
    a = tables.activity_inputs
    query = select(a.c.activity_id).where(a.c.tenant_id == tenant_id, a.c.fiscal_year == fiscal_year)
    if item_code is not None:
        query = query.where(a.c.item_code == item_code)
    for activity_id in (await uow.conn.execute(query.order_by(a.c.activity_id))).scalars().all():
        await recompute_activity(uow, tenant_id, activity_id, reason, cause_event_id)
