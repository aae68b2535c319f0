"""Aggregates Tenant, OrgUnit and User: rules decide, events record, ``replay`` rebuilds."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from tanso_events.unit_of_work import DomainEvent
from tanso_runtime.auth import ROLES

from .events import OrgUnitCreated, RevenueRecorded, TenantCreated, UserCreated, UserDeactivated

KINDS = ("company", "division", "site", "line")
#: company → division → site → line; a site may hang directly under the company (no divisions).
ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    "company": (), "division": ("company",), "site": ("company", "division"), "line": ("site",),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DomainRuleViolated(Exception):
    def __init__(self, message: str, message_ja: str, code: str = "rule_violated") -> None:
        super().__init__(message)
        self.message_ja, self.code = message_ja, code


def normalise_email(email: str) -> str:
    """Emails are unique across the platform, compared case-insensitively."""
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise DomainRuleViolated(f"{email!r} is not a valid email address.",
                                 f"{email!r} は有効なメールアドレスではありません。", "invalid_email")
    return value


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    company_name: str
    industry_code: str | None
    fiscal_year_start_month: int

    @staticmethod
    def register(tenant_id: str, company_name: str, industry_code: str | None,
                 fiscal_year_start_month: int = 4) -> TenantCreated:
        if not 1 <= fiscal_year_start_month <= 12:
            raise DomainRuleViolated("The fiscal year must start in a month 1–12.",
                                     "会計年度の開始月は 1〜12 で指定してください。")
        return TenantCreated(tenant_id=tenant_id, company_name=company_name.strip(),
                             industry_code=industry_code, fiscal_year_start_month=fiscal_year_start_month)


@dataclass(frozen=True)
class OrgUnit:
    org_unit_id: str
    parent_id: str | None
    kind: str
    name_ja: str

    @staticmethod
    def register(org_unit_id: str, kind: str, parent: OrgUnit | None, name_ja: str,
                 name_en: str | None = None, prefecture: str | None = None,
                 floor_area_m2: Decimal | None = None, building_use: str | None = None) -> OrgUnitCreated:
        allowed = ALLOWED_PARENTS[kind]
        if kind == "company" and parent is not None:
            raise DomainRuleViolated("A company is the root of the tree and has no parent.",
                                     "会社は組織ツリーの最上位であり、親を持てません。", "invalid_nesting")
        if kind != "company" and (parent is None or parent.kind not in allowed):
            got = parent.kind if parent else "nothing"
            raise DomainRuleViolated(
                f"A {kind} must be placed under a {' or '.join(allowed)}, not under {got}.",
                f"{kind} は {' または '.join(allowed)} の下に作成してください（指定された親: {got}）。",
                "invalid_nesting")
        site_attrs = (prefecture, floor_area_m2, building_use)
        if kind != "site" and any(a is not None for a in site_attrs):
            raise DomainRuleViolated("prefecture, floor_area_m2 and building_use belong to sites only.",
                                     "都道府県・延床面積・建物用途は拠点（site）にのみ設定できます。",
                                     "site_attributes_only")
        if floor_area_m2 is not None and floor_area_m2 < 0:
            raise DomainRuleViolated("Floor area cannot be negative.", "延床面積に負の値は指定できません。")
        return OrgUnitCreated(org_unit_id=org_unit_id, parent_id=parent.org_unit_id if parent else None,
                              kind=kind, name_ja=name_ja.strip(), name_en=name_en, prefecture=prefecture,
                              floor_area_m2=floor_area_m2, building_use=building_use)


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    roles: tuple[str, ...]
    status: str = "active"

    @staticmethod
    def register(user_id: str, email: str, display_name: str, roles: Iterable[str]) -> UserCreated:
        wanted = set(roles)
        if not wanted or not wanted <= set(ROLES):
            raise DomainRuleViolated(f"Roles must be a non-empty subset of {list(ROLES)}.",
                                     f"ロールは {list(ROLES)} から 1 つ以上指定してください。", "invalid_roles")
        return UserCreated(user_id=user_id, email=normalise_email(email), display_name=display_name.strip(),
                           roles=[r for r in ROLES if r in wanted])

    def deactivate(self, by_user_id: str) -> list[UserDeactivated]:
        """Deactivating twice is a no-op; nobody deactivates themselves (no tenant locks itself out)."""
        if by_user_id == self.user_id:
            raise DomainRuleViolated("You cannot deactivate your own account.",
                                     "自分自身のアカウントは無効化できません。", "self_deactivation")
        return [] if self.status == "deactivated" else [UserDeactivated(user_id=self.user_id)]


#: Revenue is recorded for the whole company or for a division or site (F10).
REVENUE_KINDS = ("division", "site")
FISCAL_YEARS = (1990, 2100)
#: 百万円 with at most 6 decimals (= 1 yen); no sign, exponent, comma or unit.
_REVENUE = re.compile(r"\d{1,15}(\.\d{1,6})?")


def revenue_id(tenant_id: str, fiscal_year: int, org_unit_id: str | None) -> str:
    """The revenue aggregate's id (and Kafka key): one per tenant, fiscal year and org unit or company."""
    return f"{tenant_id}:{fiscal_year}:{org_unit_id or 'company'}"


def parse_revenue(value: str | int) -> Decimal:
    """Revenue in 百万円 from a plain decimal string (or an integer), greater than 0."""
    text = str(value).strip()
    if not _REVENUE.fullmatch(text):
        raise DomainRuleViolated(
            f"revenue_million_yen {text!r} is not a plain decimal number of million yen; write digits with an "
            "optional point and at most 6 decimals, e.g. \"1250.5\" for ¥1,250,500,000 (no sign, comma, "
            "exponent or unit).",
            f"revenue_million_yen {text!r} は百万円の数値として読めません。1250.5（12億5,050万円）のように数字と"
            "小数点（小数6桁まで）だけで入力してください（符号・カンマ・指数表記・単位は使えません）。",
            "invalid_revenue")
    amount = Decimal(text)
    if amount <= 0:
        raise DomainRuleViolated(
            "revenue_million_yen must be greater than 0: it is the denominator of the intensity.",
            "revenue_million_yen には 0 より大きい値を入力してください（原単位の分母になります）。",
            "invalid_revenue")
    return amount


@dataclass(frozen=True)
class Revenue:
    """F10: the revenue of one fiscal year for the company or one division or site; ``revision`` counts
    the values recorded (a correction replaces the earlier value)."""

    fiscal_year: int
    org_unit_id: str | None
    revenue_million_yen: Decimal
    revision: int

    @staticmethod
    def record(current: Revenue | None, fiscal_year: int, org_unit: OrgUnit | None, amount: Decimal,
               recorded_by: str) -> list[RevenueRecorded]:
        """The event recording ``amount``; none when it equals the value in force (a repeat)."""
        low, high = FISCAL_YEARS
        if not low <= fiscal_year <= high:
            raise DomainRuleViolated(
                f"{fiscal_year} is not a fiscal year; use the year the fiscal year starts in, {low}–{high}, "
                "e.g. 2025.",
                f"{fiscal_year} は年度として使えません。年度の開始年（{low}〜{high}）を 2025 のように指定してください。",
                "bad_fiscal_year")
        if org_unit is not None and org_unit.kind not in REVENUE_KINDS:
            raise DomainRuleViolated(
                f"Revenue is recorded for the whole company, a division or a site, not for a {org_unit.kind}; "
                "record it for the site the line belongs to.",
                f"売上高は会社全体・事業部（division）・拠点（site）に対して登録します。{org_unit.kind} には"
                "登録できません。ラインが属する拠点に登録してください。", "revenue_unit_kind")
        if current is not None and current.revenue_million_yen == amount:
            return []
        return [RevenueRecorded(fiscal_year=fiscal_year, org_unit_id=org_unit.org_unit_id if org_unit else None,
                                revenue_million_yen=amount, recorded_by=recorded_by)]


def replay(events: Iterable[DomainEvent]) -> Tenant | OrgUnit | User | Revenue | None:
    """Rebuild the aggregate of one stream from its domain events."""
    state = None
    for e in events:
        match e:
            case TenantCreated():
                state = Tenant(e.tenant_id, e.company_name, e.industry_code, e.fiscal_year_start_month)
            case OrgUnitCreated():
                state = OrgUnit(e.org_unit_id, e.parent_id, e.kind, e.name_ja)
            case UserCreated():
                state = User(e.user_id, e.email, tuple(e.roles))
            case UserDeactivated() if isinstance(state, User):
                state = replace(state, status="deactivated")
            case RevenueRecorded():
                revision = state.revision + 1 if isinstance(state, Revenue) else 1
                state = Revenue(e.fiscal_year, e.org_unit_id, e.revenue_million_yen, revision)
    return state
