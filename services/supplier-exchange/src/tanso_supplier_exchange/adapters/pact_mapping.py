"""Granted ``product_footprint`` figures → PACT v3 ``ProductFootprint`` objects (pure functions).

A footprint is served only from a figure whose ``footprint`` details state every datum PACT v3
requires (``domain.pact_terms.REQUIRED``); its PACT values are exactly the supplier's, and nothing
is filled in: a figure without them stays a valid disclosure (F19, public topic) that is not served
here, and :func:`readiness` tells the supplier what to add in a correction. What Tanso itself knows
comes from the disclosure: ids, the supplier, the grant time and the correction chain.
docs/supplier-exchange.md lists each field. Decimals leave as the strings the supplier signed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from ..domain import pact_terms as terms
from ..domain.pact_terms import declared_unit, parse_moment  # noqa: F401 — part of this module's interface

SPEC_VERSION = "3.0.0"
#: Footprint ids are UUIDv5 of ``<disclosure id>/<figure index>`` in this namespace: stable across replays.
FOOTPRINT_NAMESPACE = uuid.UUID("6f1d3c0e-8a51-4f0b-9d6c-3a7e2b9c5d10")
#: Without a stated validity period a footprint is valid for 3 years from its reference period end (PACT v3).
VALIDITY_YEARS = 3


def decimal_str(value: Decimal) -> str:
    """A plain decimal string without exponent or trailing zeros (``"2.50"`` → ``"2.5"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def timestamp(value: str | datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, to the second."""
    moment = parse_moment(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def readiness(payload: dict) -> list[dict[str, Any]]:
    """Per ``product_footprint`` figure of a disclosure payload: is it served through PACT, and if not, what is missing."""
    out = []
    for index, figure in enumerate(payload["figures"]):
        if figure.get("kind") != "product_footprint":
            continue
        lacking = terms.missing(figure)
        entry: dict[str, Any] = {"figure_index": index, "product_id": figure.get("product_id"),
                                 "pact_ready": not lacking, "missing": lacking}
        if lacking:
            entry["detail"] = (f"Not served through the PACT API: figures[{index}] does not state {lacking}. "
                               "The disclosure itself is valid; to serve the footprint to the buyer's PACT "
                               "client, send a correction (POST /disclosures/{id}/corrections) that states them.")
            entry["detail_ja"] = (f"PACT API では提供されません: figures[{index}] に {lacking} の記載がありません。"
                                  "開示自体は有効です。買い手の PACT クライアントに提供するには、これらを記載した"
                                  "訂正（POST /disclosures/{id}/corrections）を送ってください。")
        out.append(entry)
    return out


def _served(payload: dict) -> list[tuple[int, dict]]:
    return [(index, figure) for index, figure in enumerate(payload["figures"])
            if figure.get("kind") == "product_footprint" and figure.get("product_id") and not terms.missing(figure)]


def _number(text: Any) -> str:
    """A signed decimal string as served: the supplier's digits (``DecimalStr`` has no exponent)."""
    return str(text)


def footprints(disclosures: list[dict], supplier: Supplier) -> list[dict[str, Any]]:
    """The PACT footprints of one supplier→buyer pair's disclosures (rows of ``disclosures``, oldest first).

    Only figures that state every PACT datum are served. A corrected disclosure's footprints are
    ``Deprecated``; the correction's footprint of the same product names them in ``precedingPfIds``.
    """
    by_id = {d["disclosure_id"]: d for d in disclosures}
    superseded = {d["supersedes_disclosure_id"] for d in disclosures if d.get("supersedes_disclosure_id")}
    out = []
    for d in disclosures:
        payload = d["payload"]
        previous = by_id.get(payload.get("supersedes_disclosure_id") or "")
        for index, figure in _served(payload):
            fp = figure["footprint"]
            product = figure["product_id"]
            preceding = [footprint_id(previous["disclosure_id"], i) for i, f in _served(previous["payload"])
                         if f["product_id"] == product] if previous else []
            geography = terms.geography_property(fp["geography"])
            pcf: dict[str, Any] = {
                "declaredUnitOfMeasurement": fp["declared_unit"],
                "declaredUnitAmount": _number(fp["declared_unit_amount"]),
                "productMassPerDeclaredUnit": _number(fp["product_mass_per_declared_unit"]),
                "referencePeriodStart": timestamp(fp["reference_period_start"]),
                "referencePeriodEnd": timestamp(fp["reference_period_end"]),
                **({geography: fp["geography"]} if geography else {}),
                "pcfExcludingBiogenicUptake": _number(fp["pcf_excluding_biogenic_uptake"]),
                "pcfIncludingBiogenicUptake": _number(fp["pcf_including_biogenic_uptake"]),
                "fossilCarbonContent": _number(fp["fossil_carbon_content"]),
                **({"biogenicCarbonContent": _number(fp["biogenic_carbon_content"])}
                   if fp.get("biogenic_carbon_content") is not None else {}),
                "fossilGhgEmissions": _number(fp["fossil_ghg_emissions"]),
                "packagingEmissionsIncluded": fp["packaging_emissions_included"],
                "ccsTechnologicalCO2CaptureIncluded": fp["ccs_technological_co2_capture_included"],
                "ipccCharacterizationFactors": list(fp["ipcc_characterization_factors"]),
                "crossSectoralStandards": list(fp["cross_sectoral_standards"]),
                "exemptedEmissionsPercent": _number(fp["exempted_emissions_percent"]),
                "primaryDataShare": _number(fp["primary_data_share"]),
            }
            pf: dict[str, Any] = {
                "id": footprint_id(d["disclosure_id"], index),
                "specVersion": SPEC_VERSION,
                **({"precedingPfIds": preceding} if preceding else {}),
                "created": timestamp(payload["granted_at"]),
                "status": "Deprecated" if d["disclosure_id"] in superseded else "Active",
                **({"statusComment": "Replaced by a corrected disclosure."}
                   if d["disclosure_id"] in superseded else {}),
                "companyName": supplier.company_name or supplier.tenant_id,
                "companyIds": [f"urn:uuid:{supplier.tenant_id}"],
                "productDescription": fp["product_description"],
                "productIds": [product_urn(product, supplier.tenant_id)],
                **({"productClassifications": list(fp["product_classifications"])}
                   if fp.get("product_classifications") else {}),
                "productNameCompany": fp["product_name"],
                "comment": f"Signed Tanso disclosure {d['disclosure_id']}, figure {index} (verify its signature_jws "
                           "with the supplier-exchange JWKS).",
                "pcf": pcf,
            }
            out.append(pf)
    return out


def validity(pf: dict[str, Any]) -> tuple[datetime, datetime]:
    """The validity period: the stated one, else PACT's default of 3 years from the reference period end."""
    if "validityPeriodStart" in pf:
        return parse_moment(pf["validityPeriodStart"]), parse_moment(pf["validityPeriodEnd"])
    end = parse_moment(pf["pcf"]["referencePeriodEnd"])
    try:
        later = end.replace(year=end.year + VALIDITY_YEARS)
    except ValueError:  # 29 February
        later = end.replace(year=end.year + VALIDITY_YEARS, day=28)
    return end, later


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


def matches(pf: dict[str, Any], c: Criteria) -> bool:
    """OR within one criterion, AND across criteria (PACT v3 filtering)."""
    pcf = pf["pcf"]
    geography = {pcf.get(k) for k in ("geographyCountry", "geographyCountrySubdivision",
                                       "geographyRegionOrSubregion")} - {None}
    if "geographyCountrySubdivision" in pcf:  # JP-13 lies within JP
        geography.add(pcf["geographyCountrySubdivision"].split("-")[0])
    start, end = validity(pf)
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
