"""Domain events of the identity service (stored in its event store, never published as is).

Password hashes are never part of an event; they live in the ``credentials`` table.
"""

from __future__ import annotations

from tanso_events.catalog import OrgUnitKind
from tanso_events.envelope import DecimalStr
from tanso_events.unit_of_work import DomainEvent


class TenantCreated(DomainEvent):
    tenant_id: str
    company_name: str
    industry_code: str | None = None
    fiscal_year_start_month: int


class OrgUnitCreated(DomainEvent):
    org_unit_id: str
    parent_id: str | None
    kind: OrgUnitKind
    name_ja: str
    name_en: str | None = None
    prefecture: str | None = None
    floor_area_m2: DecimalStr | None = None
    building_use: str | None = None


class UserCreated(DomainEvent):
    user_id: str
    email: str
    display_name: str
    roles: list[str]


class UserDeactivated(DomainEvent):
    user_id: str


class RevenueRecorded(DomainEvent):
    """F10: the revenue of a fiscal year, for the company (``org_unit_id`` None) or a division or site.
    The stream holds one value per revision; the last one is in force."""

    fiscal_year: int
    org_unit_id: str | None = None
    revenue_million_yen: DecimalStr
    recorded_by: str


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    e.type_name(): e for e in (TenantCreated, OrgUnitCreated, UserCreated, UserDeactivated, RevenueRecorded)
}


def parse(type_name: str, data: dict) -> DomainEvent:
    return EVENT_TYPES[type_name].model_validate(data)
