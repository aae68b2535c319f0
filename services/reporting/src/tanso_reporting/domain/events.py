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


class TenantKnown(DomainEvent):
    """identity registered a tenant; the supplier analysis shows its suppliers' company names."""

    tenant_id: str
    company_name: str


class IntensityDenominatorsSet(DomainEvent):
    """F10: a tenant's denominators of a fiscal year (the whole set; a later one replaces it)."""

    fiscal_year: int
    revenue_million_yen: DecimalStr | None = None
    employees: DecimalStr | None = None
    floor_area_m2: DecimalStr | None = None
    production_volume: DecimalStr | None = None
    production_unit: str | None = None
    set_by: str
    set_at: str


class SupplierDisclosureReceived(DomainEvent):
    """F19: a supplier granted this tenant (the buyer) a disclosure; stored for the buyer only."""

    disclosure_id: str
    source_event_id: str
    supplier_tenant_id: str
    fiscal_year: int
    figures: list[dict]
    supersedes_disclosure_id: str | None = None
    signature_jws: str
    granted_at: str
