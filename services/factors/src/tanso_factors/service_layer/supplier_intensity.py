"""F5 supplier intensity DB: a granted disclosure's organisation intensity becomes a buyer-private factor.

When a supplier grants a disclosure that contains its organisation-based intensity in t-CO2e per
money (``org_intensity`` with a unit such as ``t-CO2e/百万円`` or ``kg-CO2e/円``), the buyer it was
granted to gets a new factor version of its own (``tenantid`` = the buyer, never the supplier or
anyone else):

* code ``supplier:<supplier tenant id>:intensity`` (stable per supplier, so logic items of Scope 3
  category 1 or 2 can name it once), value in ``t-CO2e/百万円``, activity unit ``百万円``;
* source ``disclosure-<disclosure id>`` with the SHA-256 of the disclosure's JWS in ``sources`` and
  ``note``; edition = the fiscal year; valid for that fiscal year only;
* a correction (``supersedes_disclosure_id``) publishes a version that supersedes the one of the
  disclosure it corrects. Disclosures of one supplier are keyed by their own ids, so a correction can
  arrive before the disclosure it corrects: every disclosure is recorded on the stream
  ``supplier-intensity-<buyer>-<supplier>-<fiscal year>``, and a disclosure that a recorded one
  corrects, or that a later grant (CloudEvent time) with an intensity replaced, publishes nothing.

Redelivery changes nothing: the inbox drops a copy with the same event id, and a copy with a new id
(a republished outbox row) finds its disclosure on the stream.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from decimal import Decimal

from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.unit_of_work import DomainEvent, UnitOfWork
from tanso_ghg.units import UnitError, conversion_factor, emission_to_tonnes, parse_factor_unit

from ..domain.model import FactorVersionPublished, content_sha256, version_id
from .handlers import append_version, load_history

log = logging.getLogger(__name__)

ACTOR = "supplier-disclosure"
VALUE_UNIT = "t-CO2e/百万円"
ACTIVITY_UNIT = "百万円"
SOURCE_TITLE_JA = "サプライヤー開示（署名付き・組織ベース原単位）"
SOURCE_TITLE_EN = "Signed supplier disclosure (organisation-based intensity)"


class SupplierDisclosureNoted(DomainEvent):
    """A disclosure granted to ``buyer_tenant_id`` reached factors (with its money intensity, if any)."""

    disclosure_id: str
    supersedes_disclosure_id: str | None = None
    buyer_tenant_id: str
    supplier_tenant_id: str
    fiscal_year: int
    #: t-CO2e per million yen; None when the disclosure has no organisation intensity per money.
    intensity_t_per_million_yen: str | None = None
    signature_sha256: str
    #: The CloudEvent time: when supplier-exchange committed the grant.
    granted_at: str
    factor_version_id: str | None = None


def supplier_factor_code(supplier_tenant_id: str) -> str:
    return f"supplier:{supplier_tenant_id}:intensity"


def intensity_stream(buyer: str, supplier: str, fiscal_year: int) -> str:
    return f"supplier-intensity-{buyer}-{supplier}-{fiscal_year}"


def money_intensity(figures: list[catalog.DisclosedFigure]) -> tuple[Decimal, catalog.DisclosedFigure] | None:
    """The first ``org_intensity`` figure per money, converted exactly to t-CO2e per 百万円."""
    for figure in figures:
        if figure.kind != "org_intensity":
            continue
        try:
            emission, activity = parse_factor_unit(figure.unit)
            per_million_yen = conversion_factor(ACTIVITY_UNIT, activity)  # UnitMismatchError unless money
        except UnitError:
            continue  # e.g. t-CO2e/人: an intensity, but not a factor for spend
        return figure.value * emission_to_tonnes(emission) * per_million_yen, figure
    return None


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if value else "0"


async def on_disclosure_granted(event: catalog.DisclosureGranted, meta: EnvelopeMeta, uow: UnitOfWork) -> None:
    if meta.tenant_id != event.supplier_tenant_id:
        # The internal copy is addressed to the supplier that granted it; anything else is not ours.
        log.warning("ignoring DisclosureGranted %s with tenantid %s (supplier %s)", event.disclosure_id,
                    meta.tenant_id, event.supplier_tenant_id)
        return
    buyer, supplier, fy = event.buyer_tenant_id, event.supplier_tenant_id, event.fiscal_year
    stream_id = intensity_stream(buyer, supplier, fy)
    stream = await uow.load(stream_id)
    noted = [s.data for s in stream]
    if any(d["disclosure_id"] == event.disclosure_id for d in noted):
        return  # a republished copy
    signature_sha256 = hashlib.sha256(event.signature_jws.encode("ascii")).hexdigest()
    found = money_intensity(event.figures)
    # Only the newest word of the supplier for this year becomes the factor in force: nothing is
    # published for a disclosure that a noted one corrects, or that a later grant with an intensity
    # already replaced (a correction of a correction may arrive before the disclosure it replaces).
    corrected = any(d.get("supersedes_disclosure_id") == event.disclosure_id for d in noted)
    newer = any(d["intensity_t_per_million_yen"] is not None
                and datetime.fromisoformat(d["granted_at"]) > meta.time for d in noted)
    version = None
    if found is not None and not corrected and not newer:
        value, figure = found
        version = await _publish(uow, event, value, figure, signature_sha256)
    await uow.append(stream_id, len(stream), buyer, [SupplierDisclosureNoted(
        disclosure_id=event.disclosure_id, supersedes_disclosure_id=event.supersedes_disclosure_id,
        buyer_tenant_id=buyer, supplier_tenant_id=supplier, fiscal_year=fy,
        intensity_t_per_million_yen=_plain(found[0]) if found else None, signature_sha256=signature_sha256,
        granted_at=meta.time.isoformat(),
        factor_version_id=version.factor_version_id if version else None)], actor=ACTOR)


async def _publish(uow: UnitOfWork, event: catalog.DisclosureGranted, value: Decimal,
                   figure: catalog.DisclosedFigure, signature_sha256: str) -> FactorVersionPublished:
    """Append the buyer's factor version; it supersedes the newest version of the same fiscal year."""
    buyer, supplier, fy = event.buyer_tenant_id, event.supplier_tenant_id, event.fiscal_year
    code = supplier_factor_code(supplier)
    history, length = await load_history(uow, code, buyer)
    source_id, edition = f"disclosure-{event.disclosure_id}", str(fy)
    same_year = [v for v in history.versions if v.edition == edition]
    converted = figure.unit != VALUE_UNIT
    note = (f"Supplier {supplier} disclosed {figure.value} {figure.unit} for FY{fy} in disclosure "
            f"{event.disclosure_id} (JWS SHA-256 {signature_sha256})"
            + (f", correcting {event.supersedes_disclosure_id}" if event.supersedes_disclosure_id else "")
            + ("; converted to t-CO2e/百万円" if converted else "") + ". Usable for Scope 3 categories 1 and 2.")
    content = {
        "code": code, "name_ja": f"サプライヤー原単位（組織ベース・売上高あたり）{supplier}",
        "name_en": f"Supplier intensity (organisation-based, per revenue) {supplier}",
        "category": "scope3", "scope": 3, "activity_unit": ACTIVITY_UNIT, "value": value,
        "value_unit": VALUE_UNIT, "gas": "CO2e", "heat_value_gj_per_unit": None, "carbon_tc_per_gj": None,
        # VERIFIED: the value is the signed figure; DERIVED: computed from it by a unit conversion.
        "status": "DERIVED" if converted else "VERIFIED",
        "sources": [f"disclosure:{event.disclosure_id}", f"jws-sha256:{signature_sha256}"],
        "note": note, "source_id": source_id, "edition": edition, "valid_from_fy": fy, "valid_to_fy": fy,
        "scope3_category": 1,
    }
    digest = content_sha256(content)
    version = FactorVersionPublished(
        factor_version_id=version_id(code, source_id, edition, 1, buyer), revision=1,
        supersedes_version_id=same_year[-1].factor_version_id if same_year else None,
        content_sha256=digest, edition_sha256=digest, source_title_ja=SOURCE_TITLE_JA,
        source_title_en=SOURCE_TITLE_EN, **content)
    await append_version(uow, version, length, buyer, SOURCE_TITLE_JA, SOURCE_TITLE_EN, ACTOR)
    return version
