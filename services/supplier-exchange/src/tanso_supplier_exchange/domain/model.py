"""Aggregates: a disclosure request (requested → viewed → granted | declined) and the rules of a grant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from tanso_events.catalog import DisclosedFigure, ProductFootprintDetails

from . import pact_terms as terms
from .events import DisclosureRequested, RequestDeclined, RequestGranted, RequestViewed

KINDS = ("scope_total", "scope3_category", "org_intensity", "product_footprint")
OPEN_STATES = ("requested", "viewed")
JST = timezone(timedelta(hours=9))


class RuleViolation(Exception):
    """A command that the aggregate's state does not allow (→ 409 at the edge)."""

    def __init__(self, code: str, detail: str, detail_ja: str) -> None:
        super().__init__(detail)
        self.code, self.detail, self.detail_ja = code, detail, detail_ja


class InvalidFigures(RuleViolation):
    """Figures that do not fit the request (→ 422)."""


def today() -> date:
    """Today in Japan: a deadline is the whole of its day in JST. Tests replace this."""
    return datetime.now(JST).date()


def status(state: str, deadline: date, on: date | None = None) -> str:
    """The displayed status: an unanswered request past its deadline is ``overdue``."""
    if state in OPEN_STATES and (on or today()) > deadline:
        return "overdue"
    return state


@dataclass
class DisclosureRequest:
    request_id: str
    buyer_tenant_id: str
    supplier_tenant_id: str
    what: list[str]
    fiscal_year: int
    deadline: date
    state: str = "requested"
    disclosure_ids: list[str] = field(default_factory=list)
    version: int = 0

    @classmethod
    def replay(cls, events: list[Any]) -> DisclosureRequest | None:
        request: DisclosureRequest | None = None
        for e in events:
            d = e.data
            if e.type == "DisclosureRequested":
                request = cls(d["request_id"], d["buyer_tenant_id"], d["supplier_tenant_id"], list(d["what"]),
                              d["fiscal_year"], date.fromisoformat(d["deadline"]))
            elif e.type == "RequestViewed":
                request.state = "viewed"
            elif e.type == "RequestGranted":
                request.state = "granted"
                request.disclosure_ids.append(d["disclosure_id"])
            elif e.type == "RequestDeclined":
                request.state = "declined"
            if request is not None:
                request.version = e.version
        return request

    def involves(self, tenant_id: str) -> bool:
        return tenant_id in (self.buyer_tenant_id, self.supplier_tenant_id)

    def view(self, by: str, at: str) -> list:
        """Opening by the supplier marks a fresh request viewed; later opens change nothing."""
        if self.state != "requested":
            return []
        return [RequestViewed(request_id=self.request_id, viewed_by=by, viewed_at=at)]

    def _answerable(self) -> None:
        if self.state == "granted":
            raise RuleViolation(
                "already_granted",
                "This request has been granted; a granted disclosure can never be changed or revoked. "
                "Send a correction (POST /disclosures/{id}/corrections) instead.",
                "この依頼は開示済みです。開示済みの内容は変更・取り消しできません。訂正は新しい開示として送ってください。")
        if self.state == "declined":
            raise RuleViolation("already_declined", "This request was declined; the buyer can send a new request.",
                                "この依頼は辞退済みです。依頼元は新しい依頼を送ることができます。")

    def grant(self, disclosure_id: str, figures: list[DisclosedFigure], at: str) -> list:
        self._answerable()
        check_figures(figures, self.what)
        return [RequestGranted(request_id=self.request_id, disclosure_id=disclosure_id, granted_at=at)]

    def decline(self, reason: str, by: str, at: str) -> list:
        self._answerable()
        return [RequestDeclined(request_id=self.request_id, reason=reason, declined_by=by, declined_at=at)]


def new_request(request_id: str, buyer: str, supplier: str, what: list[str], fiscal_year: int, deadline: date,
                message: str, by: str, at: str) -> list:
    if buyer == supplier:
        raise InvalidFigures("self_request", "A tenant cannot request a disclosure from itself.",
                             "自社に開示を依頼することはできません。")
    if not what or any(k not in KINDS for k in what):
        raise InvalidFigures("invalid_what", f"what must list one or more of {list(KINDS)}.",
                             f"what には {list(KINDS)} から1つ以上を指定してください。")
    return [DisclosureRequested(request_id=request_id, buyer_tenant_id=buyer, supplier_tenant_id=supplier,
                                what=sorted(set(what)), fiscal_year=fiscal_year, deadline=deadline,
                                message=message, requested_by=by, requested_at=at)]


def check_figures(figures: list[DisclosedFigure], requested: list[str]) -> None:
    """Each figure must be of a requested kind and say what it is; nothing else may be disclosed."""
    if not figures:
        raise InvalidFigures("no_figures", "Choose at least one figure to disclose.",
                             "開示する数値を1つ以上選んでください。")
    for i, f in enumerate(figures):
        if f.kind not in requested:
            raise InvalidFigures("not_requested", f"figures[{i}]: kind {f.kind!r} was not requested "
                                 f"(requested: {requested}).", f"figures[{i}]: {f.kind!r} は依頼されていません。")
        ok = {"scope_total": f.scope in (1, 2, 3) and f.scope3_category is None,
              "scope3_category": f.scope3_category is not None and 1 <= f.scope3_category <= 15
              and f.scope in (None, 3),
              "org_intensity": True,
              "product_footprint": bool(f.product_id)}[f.kind]
        if not ok:
            raise InvalidFigures("invalid_figure", f"figures[{i}]: scope_total needs scope 1-3, scope3_category "
                                 "needs scope3_category 1-15, product_footprint needs product_id.",
                                 f"figures[{i}]: scope_total は scope 1〜3、scope3_category は区分 1〜15、"
                                 "product_footprint は product_id が必要です。")
        if f.value < 0:
            raise InvalidFigures("negative_value", f"figures[{i}]: value must not be negative.",
                                 f"figures[{i}]: 値は0以上にしてください。")
        if f.footprint is not None:
            if f.kind != "product_footprint":
                raise InvalidFigures("footprint_not_allowed", f"figures[{i}]: footprint details belong to a "
                                     "product_footprint figure only; remove them from this figure.",
                                     f"figures[{i}]: footprint は product_footprint の数値にのみ指定できます。"
                                     "この数値からは削除してください。")
            check_footprint(i, f, f.footprint)


def _bad(i: int, name: str, en: str, ja: str) -> InvalidFigures:
    return InvalidFigures("invalid_footprint", f"figures[{i}].footprint.{name}: {en}",
                          f"figures[{i}].footprint.{name}: {ja}")


def check_footprint(i: int, f: DisclosedFigure, d: ProductFootprintDetails) -> None:
    """The PACT data a supplier states with a product footprint (each field optional, each checked when given).

    Amounts are per declared unit (``declared_unit_amount`` × ``declared_unit``), as PACT v3 defines them.
    """
    for name in ("product_name", "product_description"):
        if getattr(d, name) is not None and not getattr(d, name).strip():
            raise _bad(i, name, "must not be empty; leave it out if you have nothing to state.",
                       "空にはできません。記載しない場合は項目ごと省いてください。")
    if d.product_classifications is not None:
        urns = d.product_classifications
        if not urns or len(set(urns)) != len(urns) or not all(u.lower().startswith("urn:") and len(u) > 4
                                                                for u in urns):
            raise _bad(i, "product_classifications", "must be one or more different URNs, e.g. "
                       "urn:pact:productclassification:un-cpc:41211.",
                       "重複のない URN を1つ以上指定してください（例: urn:pact:productclassification:un-cpc:41211）。")
    if d.declared_unit is not None and d.declared_unit not in terms.DECLARED_UNITS:
        raise _bad(i, "declared_unit", f"{d.declared_unit!r} is not a PACT v3 declared unit; use one of "
                   f"{list(terms.DECLARED_UNITS)}.",
                   f"{d.declared_unit!r} は PACT v3 の宣言単位ではありません。{list(terms.DECLARED_UNITS)} "
                   "のいずれかを指定してください。")
    if d.declared_unit_amount is not None and d.declared_unit_amount <= 0:
        raise _bad(i, "declared_unit_amount", "must be greater than 0 (e.g. \"1\").",
                   "0より大きい値にしてください（例: \"1\"）。")
    for name in ("product_mass_per_declared_unit", "fossil_ghg_emissions", "fossil_carbon_content",
                 "biogenic_carbon_content"):
        if getattr(d, name) is not None and getattr(d, name) < 0:
            raise _bad(i, name, "must not be negative (0 if it does not apply).",
                       "0以上にしてください（該当しない場合は 0）。")
    for name in ("exempted_emissions_percent", "primary_data_share"):
        if getattr(d, name) is not None and not 0 <= getattr(d, name) <= 100:
            raise _bad(i, name, "is a percentage: state a value from 0 to 100.", "0〜100 の百分率で指定してください。")
    moments = {}
    for name in ("reference_period_start", "reference_period_end"):
        if getattr(d, name) is not None:
            try:
                moments[name] = terms.parse_moment(getattr(d, name))
            except ValueError:
                raise _bad(i, name, f"{getattr(d, name)!r} is not a date (2025-04-01) or an RFC 3339 date-time.",
                           f"{getattr(d, name)!r} は日付（2025-04-01）または RFC 3339 の日時ではありません。") from None
    if len(moments) == 2 and moments["reference_period_end"] <= moments["reference_period_start"]:
        raise _bad(i, "reference_period_end", "must be after reference_period_start (the end is exclusive).",
                   "reference_period_start より後にしてください（終了日は含みません）。")
    if d.geography is not None:
        try:
            terms.geography_property(d.geography)
        except ValueError:
            raise _bad(i, "geography", f"{d.geography!r} is none of: 'global', an ISO 3166-1 alpha-2 country "
                       f"code (JP), an ISO 3166-2 subdivision code (JP-13), a UN region or subregion "
                       f"{list(terms.REGIONS)}.",
                       f"{d.geography!r} は 'global'、ISO 3166-1 の国コード（JP）、ISO 3166-2 の地域コード（JP-13）、"
                       "国連の地域名（Eastern Asia など）のいずれでもありません。") from None
    for name, allowed, example in (("ipcc_characterization_factors", None, '["AR6"]'),
                                   ("cross_sectoral_standards", terms.CROSS_SECTORAL_STANDARDS, '["ISO14067"]')):
        values = getattr(d, name)
        if values is None:
            continue
        wrong = [v for v in values if (v not in allowed if allowed else not terms.IPCC_REPORT.match(v))]
        if not values or len(set(values)) != len(values) or wrong:
            what = f"one of {list(allowed)}" if allowed else "AR<n>, the IPCC Assessment Report"
            raise _bad(i, name, f"must list one or more different values, each {what} (e.g. {example}); "
                       f"wrong: {wrong}.", f"重複のない値を1つ以上指定してください（例: {example}）。誤り: {wrong}")
    # The figure's value and the PACT footprint must be the same statement where the units compare.
    converted = terms.declared_unit(f.unit)
    if (converted is not None and d.declared_unit == converted[0] and d.declared_unit_amount is not None
            and d.pcf_excluding_biogenic_uptake is not None):
        expected = f.value * converted[1] * d.declared_unit_amount
        if expected != d.pcf_excluding_biogenic_uptake:
            raise _bad(i, "pcf_excluding_biogenic_uptake",
                       f"states {d.pcf_excluding_biogenic_uptake} kg CO2e per {d.declared_unit_amount} "
                       f"{d.declared_unit}, but value {f.value} {f.unit} is {expected} kg CO2e per declared unit; "
                       "state the same footprint in both (value is the footprint excluding biogenic uptake).",
                       f"{d.pcf_excluding_biogenic_uptake} kg-CO2e/宣言単位 ですが、value {f.value} {f.unit} は "
                       f"{expected} kg-CO2e/宣言単位 です。同じフットプリント（生物起源の吸収を除く値）を記載してください。")


def disclosure_payload(*, disclosure_id: str, request_id: str, supplier_tenant_id: str, buyer_tenant_id: str,
                       fiscal_year: int, figures: list[DisclosedFigure], granted_at: str,
                       supersedes_disclosure_id: str | None) -> dict[str, Any]:
    """The signed content of a disclosure: what was granted, to whom, when, and nothing else."""
    return {"disclosure_id": disclosure_id, "request_id": request_id, "supplier_tenant_id": supplier_tenant_id,
            "buyer_tenant_id": buyer_tenant_id, "fiscal_year": fiscal_year,
            "figures": [f.model_dump(mode="json") for f in figures], "granted_at": granted_at,
            "supersedes_disclosure_id": supersedes_disclosure_id}
