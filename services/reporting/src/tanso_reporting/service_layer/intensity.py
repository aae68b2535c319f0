"""F10 commands and events: set a fiscal year's entered denominators (employees, floor area, production;
one unit of work, a repeat changes nothing) and keep the revenue identity records (``RevenueRecorded``)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal
from tanso_runtime.errors import ProblemError

from ..adapters import tables
from ..domain.events import IntensityDenominatorsSet
from ..domain.intensity import ENTERED, RevenueKnown, check_denominators

log = logging.getLogger(__name__)


def denominators_stream(tenant_id: str, fiscal_year: int) -> str:
    return f"intensity-denominators-{tenant_id}-{fiscal_year}"


def revenue_in_identity(fiscal_year: int) -> ProblemError:
    return ProblemError(
        422, "revenue_in_identity",
        f"Revenue is no longer entered here: an admin records it in identity with PUT "
        f"/api/identity/revenues/{fiscal_year} {{\"revenue_million_yen\": \"1250.5\"}} (add \"org_unit_id\" for a "
        "division or site), and reporting uses it from there. Remove revenue_million_yen from this request; "
        "employees, floor_area_m2 and production_volume are still entered here.",
        f"売上高はここでは登録できません。管理者が identity の PUT /api/identity/revenues/{fiscal_year} に "
        "{\"revenue_million_yen\": \"1250.5\"}（事業部・拠点の売上高なら \"org_unit_id\" も）を送って登録すると、"
        "reporting はその値を使います。このリクエストから revenue_million_yen を外してください"
        "（従業員数・延床面積・生産量は引き続きここで登録します）。",
        errors=[{"field": "revenue_million_yen", "code": "revenue_in_identity",
                 "reason_en": f"record revenue with PUT /api/identity/revenues/{fiscal_year}",
                 "reason_ja": f"売上高は PUT /api/identity/revenues/{fiscal_year} で登録してください"}])


async def set_denominators(uow: UnitOfWork, principal: Principal, fiscal_year: int,
                           values: dict[str, str | None]) -> bool:
    """Record the denominators; False when they equal the current ones (nothing appended)."""
    if values.get("revenue_million_yen") not in (None, ""):
        raise revenue_in_identity(fiscal_year)
    clean, problems = check_denominators(values)
    if problems:
        raise ProblemError(422, "invalid_denominators",
                           "Some denominators are invalid; see errors for each field and how to fix it.",
                           "分母の入力内容に誤りがあります。errors で項目ごとの内容と直し方を確認してください。",
                           errors=[p.as_dict() for p in problems])
    stream_id = denominators_stream(principal.tenant_id, fiscal_year)
    stream = await uow.load(stream_id)
    event = IntensityDenominatorsSet(fiscal_year=fiscal_year, set_by=principal.subject, set_at=uow.now.isoformat(),
                                     **clean)
    keys = [d.key for d in ENTERED] + ["production_unit"]
    if stream and {k: stream[-1].data.get(k) for k in keys} == {k: event.model_dump(mode="json")[k] for k in keys}:
        return False
    await uow.append(stream_id, len(stream), principal.tenant_id, [event], actor=principal.subject)
    return True


async def on_revenue_recorded(event: catalog.RevenueRecorded, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    """Keep the newest revenue of each (fiscal year, org unit or company): a redelivered or stale copy
    (a revision not above the one kept) changes nothing."""
    if event.tenant_id != meta.tenant_id or not event.revenue_id.startswith(f"{meta.tenant_id}:"):
        log.warning("ignoring RevenueRecorded %s with tenantid %s (tenant %s)", event.revenue_id, meta.tenant_id,
                    event.tenant_id)
        return
    t = tables.revenues
    kept = (await uow.conn.execute(select(t.c.revision).where(
        t.c.tenant_id == meta.tenant_id, t.c.revenue_id == event.revenue_id))).scalar()
    if kept is not None and kept >= event.revision:
        return
    stream_id = f"revenue-{event.revenue_id}"
    version = len(await uow.load(stream_id))
    await uow.append(stream_id, version, meta.tenant_id, [RevenueKnown(
        revenue_id=event.revenue_id, revision=event.revision, source_event_id=meta.id,
        fiscal_year=event.fiscal_year, org_unit_id=event.org_unit_id,
        revenue_million_yen=event.revenue_million_yen, recorded_by=event.recorded_by)])
