"""The v1 integration events: the contract between services.

Rules (checked by tests/contract): schemas are closed, a new field is optional, nothing is removed
or retyped; a breaking change is a new class with ``version = 2`` beside the old one.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from .envelope import DecimalStr, IntegrationEvent

#: ``tenantid`` of events that belong to no tenant (e.g. official factor lists).
PLATFORM_TENANT = "platform"

OrgUnitKind = Literal["company", "division", "site", "line"]


def topic_for(producer: str, version: int = 1) -> str:
    """Kafka topic of a producing service: one topic per producer and major version."""
    return f"tanso.{producer}.v{version}"


PUBLIC_DISCLOSURES_TOPIC = "tanso.public.disclosures.v1"


# --- identity -------------------------------------------------------------------------------


class TenantRegistered(IntegrationEvent):
    event_name = "TenantRegistered"
    producer = "identity"

    tenant_id: str
    company_name: str
    industry_code: str | None = None
    fiscal_year_start_month: int = Field(ge=1, le=12)


class OrgUnitRegistered(IntegrationEvent):
    event_name = "OrgUnitRegistered"
    producer = "identity"

    org_unit_id: str
    parent_id: str | None
    kind: OrgUnitKind
    name_ja: str
    name_en: str | None = None
    prefecture: str | None = None
    floor_area_m2: DecimalStr | None = None
    building_use: str | None = None


class UserRegistered(IntegrationEvent):
    event_name = "UserRegistered"
    producer = "identity"

    user_id: str
    display_name: str
    roles: list[str]


class RevenueRecorded(IntegrationEvent):
    """F10: the revenue of a fiscal year, for the whole company (``org_unit_id`` null) or one division or
    site. A correction is a new RevenueRecorded of the same ``revenue_id`` with a higher ``revision``
    that replaces the earlier value."""

    event_name = "RevenueRecorded"
    producer = "identity"

    revenue_id: str = Field(description="<tenant id>:<fiscal year>:<org unit id or 'company'>; the Kafka key")
    revision: int = Field(ge=1, description="1 for the first value, +1 per correction; the highest one wins")
    tenant_id: str
    fiscal_year: int
    org_unit_id: str | None = Field(description="The division or site; null for the whole company")
    revenue_million_yen: DecimalStr = Field(description="Revenue in million yen (百万円), greater than 0")
    recorded_by: str


# --- factors --------------------------------------------------------------------------------


class FactorPublished(IntegrationEvent):
    """A new immutable factor version. ``tenantid`` is ``platform`` for official lists."""

    event_name = "FactorPublished"
    producer = "factors"

    factor_version_id: str
    factor_code: str
    name_ja: str
    name_en: str
    category: str
    scope: int | None = None
    scope3_category: int | None = Field(default=None, ge=1, le=15)
    activity_unit: str
    value: DecimalStr
    value_unit: str
    gas: str = "CO2"
    source_id: str
    source_title_ja: str
    source_title_en: str
    edition: str
    valid_from_fy: int
    valid_to_fy: int | None = None
    status: str
    supersedes_version_id: str | None = None
    content_sha256: str


# --- activities -----------------------------------------------------------------------------


class ActivityRecorded(IntegrationEvent):
    event_name = "ActivityRecorded"
    producer = "activities"

    activity_id: str
    org_unit_id: str
    item_code: str
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Month, YYYY-MM")
    fiscal_year: int
    amount: DecimalStr
    unit: str
    note: str | None = None
    recorded_by: str


class ActivityCorrected(IntegrationEvent):
    event_name = "ActivityCorrected"
    producer = "activities"

    activity_id: str
    revision: int = Field(ge=2)
    org_unit_id: str
    item_code: str
    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    fiscal_year: int
    amount: DecimalStr
    unit: str
    note: str | None = None
    corrected_by: str
    reason: str


class ActivityVoided(IntegrationEvent):
    event_name = "ActivityVoided"
    producer = "activities"

    activity_id: str
    revision: int = Field(ge=2)
    voided_by: str
    reason: str


# --- calculation ----------------------------------------------------------------------------


class EmissionCalculated(IntegrationEvent):
    """The current figure of one emission line; a later revision replaces the earlier one."""

    event_name = "EmissionCalculated"
    producer = "calculation"

    line_id: str
    line_revision: int = Field(ge=1)
    activity_id: str
    org_unit_id: str
    fiscal_year: int
    period: str
    item_code: str
    scope: int = Field(ge=1, le=3)
    scope3_category: int | None = Field(default=None, ge=1, le=15)
    energy_type: str | None = None
    #: Scope 2 lines come in pairs: location-based (basic factor) and market-based (adjusted factor).
    scope2_method: Literal["location", "market"] | None = None
    co2e_t: DecimalStr
    status: Literal["calculated", "voided"]
    reason: str
    audit_record_id: str
    supersedes_audit_record_id: str | None = None
    factor_version_id: str | None = None


class LogicItemSummary(BaseModel):
    """What a data-entry service needs to know about an activity item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_code: str
    name_ja: str
    name_en: str
    unit: str
    scope: int = Field(ge=1, le=3)
    scope3_category: int | None = Field(default=None, ge=1, le=15)


class CalculationLogicChanged(IntegrationEvent):
    """The full item list of a tenant's fiscal-year logic after a change (a snapshot, not a diff)."""

    event_name = "CalculationLogicChanged"
    producer = "calculation"

    logic_id: str = Field(description="<tenant id>:<fiscal year>; the Kafka key")
    fiscal_year: int
    logic_version: int = Field(ge=1)
    copied_from: str
    items: list[LogicItemSummary]


# --- supplier-exchange ----------------------------------------------------------------------

#: What a buyer may ask a supplier to disclose (F13).
DisclosureKind = Literal["scope_total", "scope3_category", "org_intensity", "product_footprint"]


class DisclosureRequested(IntegrationEvent):
    """A buyer asked one of its suppliers to disclose figures of a fiscal year (``tenantid`` = the buyer)."""

    event_name = "DisclosureRequested"
    producer = "supplier-exchange"

    request_id: str
    buyer_tenant_id: str
    supplier_tenant_id: str
    fiscal_year: int
    what: list[DisclosureKind]
    deadline: date = Field(description="Last day (JST) to answer; afterwards the request is overdue")


class DisclosureDeclined(IntegrationEvent):
    """The supplier declined a request, with its reason (``tenantid`` = the supplier)."""

    event_name = "DisclosureDeclined"
    producer = "supplier-exchange"

    request_id: str
    buyer_tenant_id: str
    supplier_tenant_id: str
    fiscal_year: int
    what: list[DisclosureKind]
    reason: str


class ProductFootprintDetails(BaseModel):
    """What a supplier states about a ``product_footprint`` beyond its value, in the terms of the PACT
    Technical Specifications v3.0 (``CarbonFootprint``/``ProductFootprint``). Every field is optional:
    a footprint is served through Tanso's PACT API only when all that PACT requires is stated, and
    nothing is ever filled in for the supplier. Amounts are per declared unit
    (``declared_unit_amount`` × ``declared_unit``): kg CO2e, or kg C for the carbon contents.
    Unstated fields are left out of the serialized figure (and so of the signed payload)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_name: str | None = Field(default=None, description="Trade name (PACT productNameCompany)")
    product_description: str | None = Field(default=None, description="PACT productDescription")
    product_classifications: list[str] | None = Field(
        default=None, description="URNs, e.g. urn:pact:productclassification:un-cpc:41211")
    declared_unit: str | None = Field(default=None, description="PACT declaredUnitOfMeasurement, e.g. kilogram")
    declared_unit_amount: DecimalStr | None = Field(default=None, description="PACT declaredUnitAmount, > 0")
    product_mass_per_declared_unit: DecimalStr | None = Field(default=None, description="kg, 0 if not relevant")
    reference_period_start: str | None = Field(default=None, description="Date or RFC 3339 date-time, inclusive")
    reference_period_end: str | None = Field(default=None, description="Date or RFC 3339 date-time, exclusive")
    geography: str | None = Field(default=None, description="'global', ISO 3166-1 alpha-2 (JP), ISO 3166-2 "
                                  "(JP-13) or a UN region or subregion (Eastern Asia)")
    pcf_excluding_biogenic_uptake: DecimalStr | None = None
    pcf_including_biogenic_uptake: DecimalStr | None = None
    fossil_ghg_emissions: DecimalStr | None = None
    fossil_carbon_content: DecimalStr | None = Field(default=None, description="kg C per declared unit")
    biogenic_carbon_content: DecimalStr | None = Field(default=None, description="kg C per declared unit")
    ipcc_characterization_factors: list[str] | None = Field(default=None, description="e.g. ['AR6']")
    cross_sectoral_standards: list[str] | None = Field(default=None, description="e.g. ['ISO14067', 'PACT-3.0']")
    exempted_emissions_percent: DecimalStr | None = Field(default=None, description="0-100")
    packaging_emissions_included: bool | None = None
    ccs_technological_co2_capture_included: bool | None = None
    primary_data_share: DecimalStr | None = Field(default=None, description="Percent, 0-100")

    @model_serializer(mode="wrap")
    def _stated_only(self, handler: SerializerFunctionWrapHandler):  # no return type: keeps the schema
        return {k: v for k, v in handler(self).items() if v is not None}


class DisclosedFigure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["scope_total", "scope3_category", "org_intensity", "product_footprint"]
    scope: int | None = None
    scope3_category: int | None = None
    product_id: str | None = None
    value: DecimalStr
    unit: str
    audit_hashes: list[str] = Field(default_factory=list)
    #: Only on a ``product_footprint``: what PACT needs (see :class:`ProductFootprintDetails`).
    footprint: ProductFootprintDetails | None = None

    @model_serializer(mode="wrap")
    def _without_unstated_footprint(self, handler: SerializerFunctionWrapHandler):  # (idem)
        # A figure without footprint details serializes (and is signed) exactly as before the field existed.
        out = handler(self)
        if out.get("footprint") is None:
            out.pop("footprint", None)
        return out


class DisclosureGranted(IntegrationEvent):
    """An immutable, signed disclosure from a supplier tenant to one buyer tenant."""

    event_name = "DisclosureGranted"
    producer = "supplier-exchange"

    disclosure_id: str
    supplier_tenant_id: str
    buyer_tenant_id: str
    fiscal_year: int
    figures: list[DisclosedFigure]
    supersedes_disclosure_id: str | None = None
    signature_jws: str


ALL_EVENTS: tuple[type[IntegrationEvent], ...] = (
    TenantRegistered,
    OrgUnitRegistered,
    UserRegistered,
    RevenueRecorded,
    FactorPublished,
    ActivityRecorded,
    ActivityCorrected,
    ActivityVoided,
    EmissionCalculated,
    CalculationLogicChanged,
    DisclosureGranted,
    DisclosureRequested,
    DisclosureDeclined,
)

EVENTS_BY_TYPE: dict[str, type[IntegrationEvent]] = {e.event_type(): e for e in ALL_EVENTS}
