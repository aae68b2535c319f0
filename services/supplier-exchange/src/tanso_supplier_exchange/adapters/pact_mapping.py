"""Granted ``product_footprint`` figures → PACT v3 ``ProductFootprint`` objects (pure functions).

A disclosure carries, per product, one signed figure: ``product_id``, ``value`` and ``unit`` (e.g.
``kg-CO2e/kg``). The PACT object is derived from it and from the disclosure (supplier, buyer, fiscal
year, grant time, correction chain) and nothing else; docs/supplier-exchange.md lists each field.
Every number is a ``Decimal`` and leaves as a string.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

SPEC_VERSION = "3.0.0"
#: Footprint ids are UUIDv5 of ``<disclosure id>/<figure index>`` in this namespace: stable across replays.
FOOTPRINT_NAMESPACE = uuid.UUID("6f1d3c0e-8a51-4f0b-9d6c-3a7e2b9c5d10")

_MASS = {"g": Decimal("0.001"), "kg": Decimal(1), "t": Decimal(1000)}
#: Denominator → (PACT declaredUnitOfMeasurement, amount of that unit in one of ours)
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
SUPPORTED_UNITS = "kg-CO2e/<kg|t|g|L|kL|m3|kWh|MWh|MJ|GJ|tkm|m2|piece|h> (also t-CO2e/…, g-CO2e/…)"


def declared_unit(unit: str) -> tuple[str, Decimal] | None:
    """``"t-CO2e/t"`` → ``("kilogram", factor)``: kg CO2e per 1 declared unit = value × factor."""
    m = _UNIT.match(unit.strip().replace("₂", "2").replace("²", "2").replace("³", "3"))
    if not m:
        return None
    declared = _DECLARED.get(m.group(3).strip().lower())
    if declared is None:
        return None
    name, amount = declared
    return name, _MASS[m.group(1).lower()] / amount


def decimal_str(value: Decimal) -> str:
    """A plain decimal string without exponent or trailing zeros (``"2.50"`` → ``"2.5"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def timestamp(value: str | datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, to the second."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reference_period(fiscal_year: int, start_month: int) -> tuple[datetime, datetime]:
    """Fiscal year ``2025`` starting in April: 2025-04-01 (inclusive) to 2026-04-01 (exclusive)."""
    start = datetime(fiscal_year, start_month, 1, tzinfo=UTC)
    return start, start.replace(year=fiscal_year + 1)


def footprint_id(disclosure_id: str, index: int) -> str:
    return str(uuid.uuid5(FOOTPRINT_NAMESPACE, f"{disclosure_id}/{index}"))


def product_urn(product_id: str, supplier_tenant_id: str) -> str:
    """The supplier's product id as a URN (kept as is when it already is one, e.g. ``urn:gtin:…``)."""
    if product_id.lower().startswith("urn:"):
        return product_id
    return f"urn:tanso:product:{supplier_tenant_id}:{quote(product_id, safe='-._~')}"


@dataclass(frozen=True)
class Supplier:
    tenant_id: str
    company_name: str
    fiscal_year_start_month: int = 4
    geography_country: str = "JP"


def _product_figures(payload: dict) -> list[tuple[int, dict, tuple[str, Decimal]]]:
    out = []
    for index, figure in enumerate(payload["figures"]):
        if figure.get("kind") == "product_footprint" and figure.get("product_id"):
            unit = declared_unit(figure["unit"])
            if unit is not None:
                out.append((index, figure, unit))
    return out


def footprints(disclosures: list[dict], supplier: Supplier) -> list[dict[str, Any]]:
    """The PACT footprints of one supplier→buyer pair's disclosures (rows of ``disclosures``, oldest first).

    A corrected disclosure's footprints are ``Deprecated``; the correction's footprint of the same
    product names them in ``precedingPfIds``.
    """
    by_id = {d["disclosure_id"]: d for d in disclosures}
    superseded = {d["supersedes_disclosure_id"] for d in disclosures if d.get("supersedes_disclosure_id")}
    out = []
    for d in disclosures:
        payload = d["payload"]
        ref_start, ref_end = reference_period(payload["fiscal_year"], supplier.fiscal_year_start_month)
        previous = by_id.get(payload.get("supersedes_disclosure_id") or "")
        for index, figure, (declared, factor) in _product_figures(payload):
            value = Decimal(str(figure["value"])) * factor
            preceding = [footprint_id(previous["disclosure_id"], i)
                         for i, f, _ in _product_figures(previous["payload"])
                         if f["product_id"] == figure["product_id"]] if previous else []
            product = figure["product_id"]
            pf: dict[str, Any] = {
                "id": footprint_id(d["disclosure_id"], index),
                "specVersion": SPEC_VERSION,
                **({"precedingPfIds": preceding} if preceding else {}),
                "created": timestamp(payload["granted_at"]),
                "status": "Deprecated" if d["disclosure_id"] in superseded else "Active",
                **({"statusComment": "Replaced by a corrected disclosure."}
                   if d["disclosure_id"] in superseded else {}),
                "validityPeriodStart": timestamp(payload["granted_at"]),
                "validityPeriodEnd": timestamp(ref_end.replace(year=ref_end.year + 3)),
                "companyName": supplier.company_name or supplier.tenant_id,
                "companyIds": [f"urn:uuid:{supplier.tenant_id}"],
                "productDescription": f"{product}: product carbon footprint for fiscal year "
                                      f"{payload['fiscal_year']}, disclosed through Tanso",
                "productIds": [product_urn(product, supplier.tenant_id)],
                "productNameCompany": product,
                "comment": f"Signed Tanso disclosure {d['disclosure_id']} (verify its signature_jws with the "
                           "supplier-exchange JWKS); declared value "
                           f"{decimal_str(Decimal(str(figure['value'])))} {figure['unit']}.",
                "pcf": {
                    "declaredUnitOfMeasurement": declared,
                    "declaredUnitAmount": "1",
                    "productMassPerDeclaredUnit": "1" if declared == "kilogram" else "0",
                    "referencePeriodStart": timestamp(ref_start),
                    "referencePeriodEnd": timestamp(ref_end),
                    "geographyCountry": supplier.geography_country,
                    "pcfExcludingBiogenicUptake": decimal_str(value),
                    "pcfIncludingBiogenicUptake": decimal_str(value),
                    "fossilGhgEmissions": decimal_str(value),
                    "fossilCarbonContent": "0",
                    "ipccCharacterizationFactors": ["AR5"],
                    "crossSectoralStandards": ["GHGP-Product"],
                    "exemptedEmissionsPercent": "0",
                    "packagingEmissionsIncluded": False,
                },
            }
            out.append(pf)
    return out


# --- filters (ListFootprints query and RequestCreated data share them) ---------------------------


@dataclass(frozen=True)
class Criteria:
    product_ids: tuple[str, ...] = ()
    company_ids: tuple[str, ...] = ()
    geographies: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    status: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (("productId", self.product_ids), ("companyId", self.company_ids),
                           ("geography", self.geographies), ("classification", self.classifications)):
            if value:
                out[key] = list(value)
        for key, moment in (("validOn", self.valid_on), ("validAfter", self.valid_after),
                            ("validBefore", self.valid_before)):
            if moment is not None:
                out[key] = moment.isoformat()
        if self.status is not None:
            out["status"] = self.status
        return out


def parse_moment(text: str) -> datetime:
    """An RFC 3339 date-time or a date (midnight UTC); ``ValueError`` otherwise."""
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def matches(pf: dict[str, Any], c: Criteria) -> bool:
    """OR within one criterion, AND across criteria (PACT v3 filtering)."""
    pcf = pf["pcf"]
    geography = {pcf.get(k) for k in ("geographyCountry", "geographyCountrySubdivision",
                                       "geographyRegionOrSubregion")} - {None}
    start, end = parse_moment(pf["validityPeriodStart"]), parse_moment(pf["validityPeriodEnd"])
    return all((
        not c.product_ids or bool(set(c.product_ids) & set(pf["productIds"])),
        not c.company_ids or bool(set(c.company_ids) & set(pf["companyIds"])),
        not c.geographies or bool({g.upper() for g in c.geographies} & {g.upper() for g in geography}),
        not c.classifications or bool(set(c.classifications) & set(pf.get("productClassifications", []))),
        c.valid_on is None or start <= c.valid_on <= end,
        c.valid_after is None or c.valid_after < start,
        c.valid_before is None or c.valid_before > end,
        c.status is None or pf["status"] == c.status,
    ))
