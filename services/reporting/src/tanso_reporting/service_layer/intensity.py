"""Command: set a fiscal year's intensity denominators (F10). One unit of work; a repeat changes nothing."""

from __future__ import annotations

from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal
from tanso_runtime.errors import ProblemError

from ..domain.events import IntensityDenominatorsSet
from ..domain.intensity import DENOMINATORS, check_denominators


def denominators_stream(tenant_id: str, fiscal_year: int) -> str:
    return f"intensity-denominators-{tenant_id}-{fiscal_year}"


async def set_denominators(uow: UnitOfWork, principal: Principal, fiscal_year: int,
                           values: dict[str, str | None]) -> bool:
    """Record the denominators; False when they equal the current ones (nothing appended)."""
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
    keys = [d.key for d in DENOMINATORS] + ["production_unit"]
    if stream and {k: stream[-1].data.get(k) for k in keys} == {k: event.model_dump(mode="json")[k] for k in keys}:
        return False
    await uow.append(stream_id, len(stream), principal.tenant_id, [event], actor=principal.subject)
    return True
