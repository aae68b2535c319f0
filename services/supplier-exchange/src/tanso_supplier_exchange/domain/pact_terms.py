"""The PACT Technical Specifications v3.0 vocabulary that a product-footprint figure is checked against.

A granted ``product_footprint`` is served through the PACT API only when its ``footprint`` details
state every datum PACT v3 makes mandatory: the ``required`` properties of ``ProductFootprint`` and
``CarbonFootprint`` that Tanso does not know itself, plus the properties the specification marks
"SHALL" (required to report on). Geography is asked for too: PACT reads an absent geography as a
*global* footprint, which would be a statement the supplier never made, so the supplier says
``global`` explicitly if that is what it means.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

#: ``footprint.<field>`` → the PACT property it becomes, for every datum a served footprint needs.
REQUIRED: tuple[tuple[str, str], ...] = (
    ("product_name", "productNameCompany"),
    ("product_description", "productDescription"),
    ("declared_unit", "pcf.declaredUnitOfMeasurement"),
    ("declared_unit_amount", "pcf.declaredUnitAmount"),
    ("product_mass_per_declared_unit", "pcf.productMassPerDeclaredUnit"),
    ("reference_period_start", "pcf.referencePeriodStart"),
    ("reference_period_end", "pcf.referencePeriodEnd"),
    ("geography", "pcf.geographyCountry / geographyCountrySubdivision / geographyRegionOrSubregion"),
    ("pcf_excluding_biogenic_uptake", "pcf.pcfExcludingBiogenicUptake"),
    ("pcf_including_biogenic_uptake", "pcf.pcfIncludingBiogenicUptake"),
    ("fossil_ghg_emissions", "pcf.fossilGhgEmissions"),
    ("fossil_carbon_content", "pcf.fossilCarbonContent"),
    ("ipcc_characterization_factors", "pcf.ipccCharacterizationFactors"),
    ("cross_sectoral_standards", "pcf.crossSectoralStandards"),
    ("exempted_emissions_percent", "pcf.exemptedEmissionsPercent"),
    ("packaging_emissions_included", "pcf.packagingEmissionsIncluded"),
    ("ccs_technological_co2_capture_included", "pcf.ccsTechnologicalCO2CaptureIncluded"),
    ("primary_data_share", "pcf.primaryDataShare"),
)

#: ``CarbonFootprint.declaredUnitOfMeasurement`` (v3 enumeration).
DECLARED_UNITS = ("liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer",
                  "square meter", "piece", "hour", "megabit second")
#: ``CarbonFootprint.geographyRegionOrSubregion`` (UN regions and subregions, v3 enumeration).
REGIONS = ("Africa", "Americas", "Asia", "Europe", "Oceania", "Australia and New Zealand", "Central Asia",
           "Eastern Asia", "Eastern Europe", "Latin America and the Caribbean", "Melanesia", "Micronesia",
           "Northern Africa", "Northern America", "Northern Europe", "Polynesia", "South-eastern Asia",
           "Southern Asia", "Southern Europe", "Sub-Saharan Africa", "Western Asia", "Western Europe")
#: ``CarbonFootprint.crossSectoralStandards``: the values the specification lists.
CROSS_SECTORAL_STANDARDS = ("ISO14067", "ISO14083", "ISO14040-44", "GHGP-Product", "PEF", "PACT-1.0",
                            "PACT-2.0", "PACT-3.0", "PAS2050")
GLOBAL = "global"
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SUBDIVISION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
IPCC_REPORT = re.compile(r"^AR\d+$")


def geography_property(geography: str) -> str | None:
    """The PACT property a stated geography becomes (``None``: global); ``ValueError`` if it is none of them."""
    if geography.strip().lower() == GLOBAL:
        return None
    if _COUNTRY.match(geography):
        return "geographyCountry"
    if _SUBDIVISION.match(geography):
        return "geographyCountrySubdivision"
    if geography in REGIONS:
        return "geographyRegionOrSubregion"
    raise ValueError(geography)


def parse_moment(text: str) -> datetime:
    """An RFC 3339 date-time or a date (midnight UTC); ``ValueError`` otherwise."""
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_MASS = {"g": Decimal("0.001"), "kg": Decimal(1), "t": Decimal(1000)}
#: Denominator of a Tanso unit → (PACT declared unit, amount of that unit in one of ours)
_DECLARED: dict[str, tuple[str, Decimal]] = {
    "g": ("kilogram", Decimal("0.001")), "kg": ("kilogram", Decimal(1)), "t": ("kilogram", Decimal(1000)),
    "l": ("liter", Decimal(1)), "liter": ("liter", Decimal(1)), "kl": ("liter", Decimal(1000)),
    "m3": ("cubic meter", Decimal(1)), "kwh": ("kilowatt hour", Decimal(1)),
    "mwh": ("kilowatt hour", Decimal(1000)), "mj": ("megajoule", Decimal(1)), "gj": ("megajoule", Decimal(1000)),
    "tkm": ("ton kilometer", Decimal(1)), "m2": ("square meter", Decimal(1)), "piece": ("piece", Decimal(1)),
    "pc": ("piece", Decimal(1)), "unit": ("piece", Decimal(1)), "個": ("piece", Decimal(1)),
    "h": ("hour", Decimal(1)), "hour": ("hour", Decimal(1)),
}
_UNIT = re.compile(r"^(g|kg|t)[-\s]?co2-?e(q)?/(.+)$", re.IGNORECASE)


def declared_unit(unit: str) -> tuple[str, Decimal] | None:
    """``"t-CO2e/t"`` → ``("kilogram", factor)``: kg CO2e per 1 kilogram = value × factor (``None``: not convertible)."""
    m = _UNIT.match(unit.strip().replace("₂", "2").replace("²", "2").replace("³", "3"))
    if not m:
        return None
    declared = _DECLARED.get(m.group(3).strip().lower())
    if declared is None:
        return None
    name, amount = declared
    return name, _MASS[m.group(1).lower()] / amount


def missing(figure: dict) -> list[str]:
    """The ``footprint.<field>`` paths a granted product-footprint figure (as JSON) lacks for PACT."""
    details = figure.get("footprint") or {}
    return [f"footprint.{name}" for name, _ in REQUIRED if details.get(name) is None]
