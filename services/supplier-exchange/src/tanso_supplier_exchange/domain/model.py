"""Aggregates: a disclosure request (requested → viewed → granted | declined) and the rules of a grant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from tanso_events.catalog import DisclosedFigure

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


def disclosure_payload(*, disclosure_id: str, request_id: str, supplier_tenant_id: str, buyer_tenant_id: str,
                       fiscal_year: int, figures: list[DisclosedFigure], granted_at: str,
                       supersedes_disclosure_id: str | None) -> dict[str, Any]:
    """The signed content of a disclosure: what was granted, to whom, when, and nothing else."""
    return {"disclosure_id": disclosure_id, "request_id": request_id, "supplier_tenant_id": supplier_tenant_id,
            "buyer_tenant_id": buyer_tenant_id, "fiscal_year": fiscal_year,
            "figures": [f.model_dump(mode="json") for f in figures], "granted_at": granted_at,
            "supersedes_disclosure_id": supersedes_disclosure_id}
