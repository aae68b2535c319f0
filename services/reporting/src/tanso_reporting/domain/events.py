"""Domain events of the reporting service."""

from tanso_events.envelope import DecimalStr
from tanso_events.unit_of_work import DomainEvent


class LineReported(DomainEvent):
    """The current figure of one emission line as calculation published it."""

    line_id: str
    line_revision: int
    source_event_id: str
    activity_id: str
    org_unit_id: str
    fiscal_year: int
    period: str
    item_code: str
    scope: int
    scope3_category: int | None = None
    energy_type: str | None = None
    scope2_method: str | None = None
    co2e_t: DecimalStr
    status: str
    audit_record_id: str


class OrgUnitKnown(DomainEvent):
    """identity registered an org unit; reports show its names."""

    org_unit_id: str
    parent_id: str | None
    kind: str
    name_ja: str
    name_en: str | None = None
