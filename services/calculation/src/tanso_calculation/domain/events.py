"""Domain events of the calculation service.

Inputs from other services are recorded as facts here, so every read model (lines, audit trail)
can be rebuilt from this service's own event store alone.
"""

from __future__ import annotations

from typing import Any

from tanso_events.envelope import DecimalStr
from tanso_events.unit_of_work import DomainEvent


class ActivityInput(DomainEvent):
    activity_id: str
    revision: int
    source_event_id: str
    status: str  # active | voided
    org_unit_id: str
    item_code: str
    period: str
    fiscal_year: int
    amount: DecimalStr
    unit: str


class FactorInput(DomainEvent):
    factor_version_id: str
    factor_code: str
    tenant_scope: str  # "platform" or the tenant id of a private factor
    source_event_id: str
    value: DecimalStr
    value_unit: str
    activity_unit: str
    valid_from_fy: int
    valid_to_fy: int | None
    source_id: str
    source_title_ja: str
    source_title_en: str
    edition: str
    status: str
    supersedes_version_id: str | None = None


class LogicAdopted(DomainEvent):
    """The logic of a fiscal year starts from the built-in items or another year's logic."""

    fiscal_year: int
    copied_from: str  # "default" or the fiscal year copied
    items: list[dict[str, Any]]


class LogicItemSet(DomainEvent):
    fiscal_year: int
    item: dict[str, Any]


class LogicItemRemoved(DomainEvent):
    fiscal_year: int
    item_code: str


class LineComputed(DomainEvent):
    """One audit record: everything needed to explain and re-check one figure."""

    record: dict[str, Any]


EVENT_TYPES = {e.type_name(): e for e in (ActivityInput, FactorInput, LogicAdopted, LogicItemSet, LogicItemRemoved,
                                          LineComputed)}
