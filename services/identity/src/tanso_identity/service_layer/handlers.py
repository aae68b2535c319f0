"""Command handlers of the identity service. Identity consumes no integration events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from tanso_events import catalog
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import Principal
from tanso_runtime.errors import ProblemError, not_found

from ..adapters import queries, tables
from ..adapters.passwords import hash_password, needs_rehash, verify_password
from ..domain.commands import RecordRevenue, RegisterOrgUnit, RegisterTenant, RegisterUser, SignIn
from ..domain.events import OrgUnitCreated, UserCreated, parse
from ..domain.model import (
    DomainRuleViolated,
    OrgUnit,
    Revenue,
    Tenant,
    User,
    parse_revenue,
    replay,
    revenue_id,
)

EVENT_HANDLERS: dict = {}


@dataclass(frozen=True)
class SignedUp:
    tenant_id: str
    org_unit_id: str
    user_id: str


@dataclass(frozen=True)
class Authenticated:
    user_id: str
    tenant_id: str
    roles: list[str]


def _rule(exc: DomainRuleViolated) -> ProblemError:
    return ProblemError(422, exc.code, str(exc), exc.message_ja)


def _email_taken(email: str) -> ProblemError:
    return ProblemError(409, "email_taken", f"The email address {email!r} is already registered; sign in or "
                        "use another address.", f"メールアドレス {email!r} は既に登録されています。"
                        "サインインするか、別のアドレスを使用してください。")


async def _load(uow: UnitOfWork, stream_id: str, tenant_id: str):
    """The aggregate of ``stream_id`` and its version; ``None`` when absent or another tenant's."""
    stored = await uow.load(stream_id)
    if not stored or stored[0].tenant_id != tenant_id:
        return None, 0
    return replay(parse(e.type, e.data) for e in stored), len(stored)


async def _add_user(uow: UnitOfWork, tenant_id: str, event: UserCreated, password: str,
                    actor: str | None) -> None:
    if await queries.email_taken(uow.conn, event.email):
        raise _email_taken(event.email)
    password_hash = await hash_password(password)
    try:
        await uow.append(f"user-{event.user_id}", 0, tenant_id, [event], actor=actor)
    except IntegrityError as exc:  # a concurrent sign-up took the address first
        raise _email_taken(event.email) from exc
    await uow.conn.execute(insert(tables.credentials).values(
        user_id=event.user_id, password_hash=password_hash, updated_at=uow.now))
    await uow.publish(catalog.UserRegistered(user_id=event.user_id, display_name=event.display_name,
                                             roles=event.roles),
                      subject=event.user_id, tenant_id=tenant_id, aggregate_type="user")


async def _add_org_unit(uow: UnitOfWork, tenant_id: str, event: OrgUnitCreated, actor: str | None) -> None:
    await uow.append(f"orgunit-{event.org_unit_id}", 0, tenant_id, [event], actor=actor)
    await uow.publish(catalog.OrgUnitRegistered(**event.model_dump()),
                      subject=event.org_unit_id, tenant_id=tenant_id, aggregate_type="org_unit")


async def register_tenant(cmd: RegisterTenant, uow: UnitOfWork) -> SignedUp:
    """Sign-up: the tenant, its company-level root org unit and its first admin, in one transaction."""
    tenant_id, org_unit_id, user_id = (str(uuid.uuid4()) for _ in range(3))
    try:
        tenant = Tenant.register(tenant_id, cmd.company_name, cmd.industry_code, cmd.fiscal_year_start_month)
        root = OrgUnit.register(org_unit_id, "company", None, cmd.company_name)
        admin = User.register(user_id, cmd.admin_email, cmd.admin_display_name, ["admin"])
    except DomainRuleViolated as exc:
        raise _rule(exc) from exc
    await uow.append(f"tenant-{tenant_id}", 0, tenant_id, [tenant], actor=user_id)
    await uow.publish(catalog.TenantRegistered(**tenant.model_dump()),
                      subject=tenant_id, tenant_id=tenant_id, aggregate_type="tenant")
    await _add_org_unit(uow, tenant_id, root, user_id)
    await _add_user(uow, tenant_id, admin, cmd.admin_password, user_id)
    return SignedUp(tenant_id, org_unit_id, user_id)


async def register_org_unit(cmd: RegisterOrgUnit, principal: Principal, uow: UnitOfWork) -> str:
    parent, _ = await _load(uow, f"orgunit-{cmd.parent_id}", principal.tenant_id)
    if not isinstance(parent, OrgUnit):
        raise not_found("Parent org unit", "親組織", cmd.parent_id)
    org_unit_id = str(uuid.uuid4())
    try:
        event = OrgUnit.register(org_unit_id, cmd.kind, parent, cmd.name_ja, cmd.name_en, cmd.prefecture,
                                 cmd.floor_area_m2, cmd.building_use)
    except DomainRuleViolated as exc:
        raise _rule(exc) from exc
    await _add_org_unit(uow, principal.tenant_id, event, principal.subject)
    return org_unit_id


async def register_user(cmd: RegisterUser, principal: Principal, uow: UnitOfWork) -> str:
    user_id = str(uuid.uuid4())
    try:
        event = User.register(user_id, cmd.email, cmd.display_name, cmd.roles)
    except DomainRuleViolated as exc:
        raise _rule(exc) from exc
    await _add_user(uow, principal.tenant_id, event, cmd.password, principal.subject)
    return user_id


async def deactivate_user(user_id: str, principal: Principal, uow: UnitOfWork) -> None:
    user, version = await _load(uow, f"user-{user_id}", principal.tenant_id)
    if not isinstance(user, User):
        raise not_found("User", "ユーザー", user_id)
    try:
        events = user.deactivate(principal.subject)
    except DomainRuleViolated as exc:
        raise ProblemError(409, exc.code, str(exc), exc.message_ja) from exc
    if events:
        await uow.append(f"user-{user_id}", version, principal.tenant_id, events, actor=principal.subject)


@dataclass(frozen=True)
class RevenueResult:
    revenue_id: str
    changed: bool


async def record_revenue(fiscal_year: int, cmd: RecordRevenue, principal: Principal,
                         uow: UnitOfWork) -> RevenueResult:
    """F10: record (or correct) the revenue of a fiscal year for the company or a division or site, and
    publish ``RevenueRecorded``. The value already in force again changes nothing and publishes nothing."""
    unit = None
    if cmd.org_unit_id:
        unit, _ = await _load(uow, f"orgunit-{cmd.org_unit_id}", principal.tenant_id)
        if not isinstance(unit, OrgUnit):
            raise ProblemError(
                404, "not_found", f"Org unit {cmd.org_unit_id!r} does not exist in your tenant; take an id from "
                "GET /api/identity/org-units, or leave org_unit_id out for the whole company.",
                f"組織 {cmd.org_unit_id!r} はこのテナントに存在しません。GET /api/identity/org-units の ID を"
                "指定するか、会社全体なら org_unit_id を省略してください。")
        if unit.kind == "company":  # the company's own unit is the whole company
            unit = None
    try:
        amount = parse_revenue(cmd.revenue_million_yen)
        rid = revenue_id(principal.tenant_id, fiscal_year, unit.org_unit_id if unit else None)
        current, version = await _load(uow, f"revenue-{rid}", principal.tenant_id)
        events = Revenue.record(current if isinstance(current, Revenue) else None, fiscal_year, unit, amount,
                                principal.subject)
    except DomainRuleViolated as exc:
        raise _rule(exc) from exc
    if not events:
        return RevenueResult(rid, False)
    await uow.append(f"revenue-{rid}", version, principal.tenant_id, events, actor=principal.subject)
    event = events[0]
    await uow.publish(catalog.RevenueRecorded(
        revenue_id=rid, revision=version + 1, tenant_id=principal.tenant_id, fiscal_year=event.fiscal_year,
        org_unit_id=event.org_unit_id, revenue_million_yen=event.revenue_million_yen,
        recorded_by=event.recorded_by), subject=rid, tenant_id=principal.tenant_id, aggregate_type="revenue")
    return RevenueResult(rid, True)


def _bad_credentials() -> ProblemError:
    return ProblemError(401, "invalid_credentials", "Email or password is incorrect.",
                        "メールアドレスまたはパスワードが正しくありません。")


async def sign_in(cmd: SignIn, engine: AsyncEngine) -> Authenticated:
    """Check a password (no write lock held while hashing); refuse deactivated users."""
    async with engine.connect() as conn:
        record = await queries.login_record(conn, cmd.email.strip().lower())
    if not await verify_password(record["password_hash"] if record else None, cmd.password):
        raise _bad_credentials()
    assert record is not None
    if record["status"] != "active":
        raise ProblemError(403, "account_deactivated", "This account is deactivated; ask your administrator.",
                           "このアカウントは無効化されています。管理者に連絡してください。")
    if needs_rehash(record["password_hash"]):
        new_hash, c = await hash_password(cmd.password), tables.credentials
        async with engine.begin() as conn:
            await conn.execute(update(c).where(c.c.user_id == record["user_id"])
                               .values(password_hash=new_hash, updated_at=datetime.now(UTC)))
    return Authenticated(record["user_id"], record["tenant_id"], list(record["roles"]))
