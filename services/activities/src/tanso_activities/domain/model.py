"""The Activity aggregate: one amount of one item at one org unit for one month.

Corrections and voids keep history: each is a new event with the next revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tanso_events.envelope import DecimalStr
from tanso_events.unit_of_work import DomainEvent


class DomainRuleViolated(Exception):
    def __init__(self, message: str, message_ja: str) -> None:
        super().__init__(message)
        self.message_ja = message_ja


class ActivityRecorded(DomainEvent):
    activity_id: str
    org_unit_id: str
    item_code: str
    period: str
    fiscal_year: int
    amount: DecimalStr
    unit: str
    note: str | None = None


class ActivityCorrected(DomainEvent):
    activity_id: str
    revision: int
    org_unit_id: str
    item_code: str
    period: str
    fiscal_year: int
    amount: DecimalStr
    unit: str
    note: str | None = None
    reason: str


class ActivityVoided(DomainEvent):
    activity_id: str
    revision: int
    reason: str


class TenantKnown(DomainEvent):
    """identity registered the tenant (recorded here so projections replay from our own store)."""

    tenant_id: str
    fiscal_year_start_month: int


class OrgUnitKnown(DomainEvent):
    org_unit_id: str
    kind: str
    name_ja: str
    name_en: str | None = None


@dataclass(frozen=True)
class ActivityFacts:
    org_unit_id: str
    item_code: str
    period: str
    fiscal_year: int
    amount: Decimal
    unit: str
    note: str | None


@dataclass
class Activity:
    activity_id: str
    revision: int = 0
    facts: ActivityFacts | None = None
    voided: bool = False
    history: list[DomainEvent] = field(default_factory=list)

    @classmethod
    def from_events(cls, activity_id: str, events: list[DomainEvent]) -> Activity:
        activity = cls(activity_id)
        for event in events:
            activity._apply(event)
        return activity

    def _apply(self, event: DomainEvent) -> None:
        self.revision += 1
        self.history.append(event)
        if isinstance(event, ActivityRecorded | ActivityCorrected):
            self.facts = ActivityFacts(event.org_unit_id, event.item_code, event.period, event.fiscal_year,
                                       event.amount, event.unit, event.note)
        elif isinstance(event, ActivityVoided):
            self.voided = True

    def record(self, facts: ActivityFacts) -> ActivityRecorded:
        if self.revision:
            raise DomainRuleViolated(f"activity {self.activity_id} already exists",
                                     f"活動量 {self.activity_id} は既に存在します")
        event = ActivityRecorded(activity_id=self.activity_id, **facts.__dict__)
        self._apply(event)
        return event

    def correct(self, facts: ActivityFacts, reason: str) -> ActivityCorrected:
        self._ensure_open()
        if facts == self.facts:
            raise DomainRuleViolated("the correction changes nothing; send the fields that differ",
                                     "訂正内容が現在の値と同じです")
        event = ActivityCorrected(activity_id=self.activity_id, revision=self.revision + 1, reason=reason,
                                  **facts.__dict__)
        self._apply(event)
        return event

    def void(self, reason: str) -> ActivityVoided:
        self._ensure_open()
        event = ActivityVoided(activity_id=self.activity_id, revision=self.revision + 1, reason=reason)
        self._apply(event)
        return event

    def _ensure_open(self) -> None:
        if self.voided:
            raise DomainRuleViolated(f"activity {self.activity_id} is voided; record a new activity instead",
                                     f"活動量 {self.activity_id} は取消済みです。新しく登録してください")


class LogicKnown(DomainEvent):
    """calculation changed the items of a fiscal year's logic (a full snapshot)."""

    fiscal_year: int
    logic_version: int
    items: list[dict]


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    e.type_name(): e for e in (ActivityRecorded, ActivityCorrected, ActivityVoided, TenantKnown, OrgUnitKnown,
                               LogicKnown)
}
