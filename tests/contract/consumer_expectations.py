"""What each consumer reads from the events it handles: the consumer side of the event contract.

One entry per event in a consumer's ``EVENT_HANDLERS``, listing the fields its handler reads
(``services/<consumer>/src/tanso_<consumer>/service_layer/handlers.py``), each with the JSON Schema of
the values the handler copes with and an example value. ``test_consumer_expectations.py`` checks them
against the producer's committed schema, like a message pact kept in plain Python.

Change this file in the same commit as the handler: reading one more field is one more expectation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reads:
    schema: dict
    example: object


@dataclass(frozen=True)
class Expectation:
    consumer: str
    event: str  # CloudEvents type, e.g. "tanso.activities.ActivityRecorded.v1"
    fields: dict[str, Reads]

    def sample(self) -> dict:
        """The payload this consumer's tests would feed its handler."""
        return {name: reads.example for name, reads in self.fields.items()}


def string(example: str = "id-1") -> Reads:
    return Reads({"type": "string"}, example)


def integer(example: int) -> Reads:
    return Reads({"type": "integer"}, example)


def decimal(example: str) -> Reads:
    """A decimal number sent as a string ("12000.5"); handlers read it with ``Decimal``."""
    return Reads({"type": "string"}, example)


def one_of(*values: str) -> Reads:
    return Reads({"type": "string", "enum": list(values)}, values[0])


def nullable(reads: Reads, example: object = None) -> Reads:
    return Reads({"anyOf": [reads.schema, {"type": "null"}]}, example)


_ACTIVITY = {
    "activity_id": string("a-1"),
    "org_unit_id": string("ou-1"),
    "item_code": string("electricity"),
    "period": string("2025-04"),
    "fiscal_year": integer(2025),
    "amount": decimal("12000.5"),
    "unit": string("kWh"),
}

#: The product-footprint details of a figure (PACT data): not read by the handlers, but validated by the
#: catalogue model with the rest of the figure.
_TEXT, _DEC, _FLAG = ({"anyOf": [{"type": t}, {"type": "null"}]} for t in ("string", "string", "boolean"))
_LIST = {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]}
_FOOTPRINT = {
    "type": "object", "additionalProperties": False,
    "properties": {
        **dict.fromkeys(("product_name", "product_description", "declared_unit", "reference_period_start",
                         "reference_period_end", "geography"), _TEXT),
        **dict.fromkeys(("declared_unit_amount", "product_mass_per_declared_unit", "pcf_excluding_biogenic_uptake",
                         "pcf_including_biogenic_uptake", "fossil_ghg_emissions", "fossil_carbon_content",
                         "biogenic_carbon_content", "exempted_emissions_percent", "primary_data_share"), _DEC),
        **dict.fromkeys(("product_classifications", "ipcc_characterization_factors", "cross_sectoral_standards"),
                        _LIST),
        **dict.fromkeys(("packaging_emissions_included", "ccs_technological_co2_capture_included"), _FLAG),
    },
}

#: A disclosed figure as the factors and reporting handlers read it (every field of DisclosedFigure:
#: they validate the list with the catalogue model; unknown kinds would fail their Literal).
_FIGURE = {
    "type": "object", "additionalProperties": False, "required": ["kind", "value", "unit"],
    "properties": {
        "kind": {"type": "string", "enum": ["scope_total", "scope3_category", "org_intensity", "product_footprint"]},
        "scope": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "scope3_category": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "product_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "value": {"type": "string"},
        "unit": {"type": "string"},
        "audit_hashes": {"type": "array", "items": {"type": "string"}},
        # product-footprint details for PACT: not read by the handlers, but validated by the catalogue model
        "footprint": {"anyOf": [_FOOTPRINT, {"type": "null"}]},
    },
}
_DISCLOSURE = {
    "disclosure_id": string("d-1"),
    "supplier_tenant_id": string("t-supplier"),
    "buyer_tenant_id": string("t-buyer"),
    "fiscal_year": integer(2025),
    "figures": Reads({"type": "array", "items": _FIGURE},
                     [{"kind": "scope_total", "scope": 1, "value": "1200.5", "unit": "t-CO2e"},
                      {"kind": "org_intensity", "value": "2.5", "unit": "t-CO2e/百万円"}]),
    "supersedes_disclosure_id": nullable(string(), None),
}

EXPECTATIONS: tuple[Expectation, ...] = (
    # activities: on_tenant_registered, on_org_unit_registered
    Expectation("activities", "tanso.identity.TenantRegistered.v1", {
        "tenant_id": string("t-1"),
        "fiscal_year_start_month": integer(4),
    }),
    Expectation("activities", "tanso.identity.OrgUnitRegistered.v1", {
        "org_unit_id": string("ou-1"),
        "kind": string("site"),
        "name_ja": string("本社"),
        "name_en": nullable(string(), "Head office"),
    }),
    # activities: on_logic_changed (which items a fiscal year accepts)
    Expectation("activities", "tanso.calculation.CalculationLogicChanged.v1", {
        "fiscal_year": integer(2025),
        "logic_version": integer(2),
        "items": Reads({"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["item_code", "name_ja", "name_en", "unit", "scope"],
            "properties": {"item_code": {"type": "string"}, "name_ja": {"type": "string"},
                           "name_en": {"type": "string"}, "unit": {"type": "string"},
                           "scope": {"type": "integer", "minimum": 1, "maximum": 3},
                           "scope3_category": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 15},
                                                         {"type": "null"}]}}}},
            [{"item_code": "air_domestic", "name_ja": "国内線", "name_en": "Domestic air", "unit": "円", "scope": 3,
              "scope3_category": 6}]),
    }),
    # calculation: on_activity_recorded / _corrected (via _record_activity), on_activity_voided
    Expectation("calculation", "tanso.activities.ActivityRecorded.v1", _ACTIVITY),
    Expectation("calculation", "tanso.activities.ActivityCorrected.v1", {
        **_ACTIVITY,
        "revision": integer(2),
        "reason": string("meter misread"),
    }),
    Expectation("calculation", "tanso.activities.ActivityVoided.v1", {
        "activity_id": string("a-1"),
        "revision": integer(3),
        "reason": string("duplicate"),
    }),
    # calculation: on_factor_published (FactorInput and the query for affected lines)
    Expectation("calculation", "tanso.factors.FactorPublished.v1", {
        "factor_version_id": string("fv-1"),
        "factor_code": string("shk.electricity.substitute"),
        "value": decimal("0.000434"),
        "value_unit": string("t-CO2/kWh"),
        "activity_unit": string("kWh"),
        "valid_from_fy": integer(2024),
        "valid_to_fy": nullable(integer(2025)),
        "source_id": string("shk"),
        "source_title_ja": string("算定・報告・公表制度"),
        "source_title_en": string("Mandatory GHG reporting"),
        "edition": string("R6"),
        "status": string("official"),
        "supersedes_version_id": nullable(string()),
    }),
    # factors: on_disclosure_granted (F5: the org intensity per money becomes the buyer's factor; the
    # SHA-256 of the signature names the source)
    Expectation("factors", "tanso.supplier-exchange.DisclosureGranted.v1", {
        **_DISCLOSURE,
        "signature_jws": string("eyJhbGciOiJFZERTQSJ9.e30.sig"),
    }),
    # reporting: on_disclosure_granted (F19: the buyer's supplier analysis keeps the figures and the signature)
    Expectation("reporting", "tanso.supplier-exchange.DisclosureGranted.v1", {
        **_DISCLOSURE,
        "signature_jws": string("eyJhbGciOiJFZERTQSJ9.e30.sig"),
    }),
    # reporting: on_tenant_registered (suppliers' company names in the supplier analysis)
    Expectation("reporting", "tanso.identity.TenantRegistered.v1", {
        "tenant_id": string("t-1"),
        "company_name": string("部品工業株式会社"),
    }),
    # reporting: on_revenue_recorded (F10: the revenue denominator; the highest revision of a revenue_id wins,
    # and the tenant in the data must be the envelope's)
    Expectation("reporting", "tanso.identity.RevenueRecorded.v1", {
        "revenue_id": string("t-1:2025:company"),
        "revision": integer(1),
        "tenant_id": string("t-1"),
        "fiscal_year": integer(2025),
        "org_unit_id": nullable(string(), None),
        "revenue_million_yen": decimal("1250.5"),
        "recorded_by": string("u-1"),
    }),
    # reporting: on_org_unit_registered (reports show org-unit names)
    Expectation("reporting", "tanso.identity.OrgUnitRegistered.v1", {
        "org_unit_id": string("ou-1"),
        "parent_id": nullable(string(), "ou-0"),
        "kind": string("site"),
        "name_ja": string("本社"),
        "name_en": nullable(string(), "Head office"),
    }),
    # reporting: on_emission_calculated copies the fields of LineReported and compares line_revision;
    # its projection counts a line only while status == "calculated".
    Expectation("reporting", "tanso.calculation.EmissionCalculated.v1", {
        "line_id": string("a-1"),
        "line_revision": integer(1),
        "activity_id": string("a-1"),
        "org_unit_id": string("ou-1"),
        "fiscal_year": integer(2025),
        "period": string("2025-04"),
        "item_code": string("electricity"),
        "scope": integer(2),
        "scope3_category": nullable(integer(1)),
        "energy_type": nullable(string(), "electricity"),
        "co2e_t": decimal("5.2082"),
        "scope2_method": nullable(one_of("location", "market"), "location"),
        "status": one_of("calculated", "voided"),
        "audit_record_id": string("ar-1"),
    }),
)
