"""Commands: invitations, requests, grants, declines and corrections. Each runs in one unit of work."""

from __future__ import annotations

import secrets
import uuid
from datetime import date

from sqlalchemy import select
from tanso_events import catalog
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime import metrics
from tanso_runtime.auth import Principal
from tanso_runtime.errors import ProblemError

from ..adapters import pact_mapping, tables
from ..adapters.signing import DisclosureSigner
from ..domain import model
from ..domain.events import DisclosureIssued, InvitationAccepted, InvitationIssued


def _problem(exc: model.RuleViolation) -> ProblemError:
    status = 422 if isinstance(exc, model.InvalidFigures) else 409
    return ProblemError(status, exc.code, exc.detail, exc.detail_ja)


def request_not_found(request_id: str) -> ProblemError:
    return ProblemError(404, "not_found", f"Disclosure request {request_id!r} does not exist for your tenant.",
                        f"開示依頼 {request_id!r} はこのテナントに存在しません。")


def disclosure_not_found(disclosure_id: str) -> ProblemError:
    return ProblemError(404, "not_found", f"Disclosure {disclosure_id!r} does not exist for your tenant.",
                        f"開示 {disclosure_id!r} はこのテナントに存在しません。")


def only_supplier() -> ProblemError:
    return ProblemError(403, "supplier_only", "Only the supplier that was asked can answer or correct this.",
                        "回答・訂正できるのは依頼先のサプライヤーのみです。")


# --- invitations -------------------------------------------------------------------------------


async def invite(uow: UnitOfWork, principal: Principal, supplier_tenant_id: str | None) -> str:
    if supplier_tenant_id == principal.tenant_id:
        raise ProblemError(422, "self_invitation", "A tenant cannot invite itself as a supplier.",
                           "自社をサプライヤーとして招待することはできません。")
    code = secrets.token_urlsafe(18)
    await uow.append(f"invitation-{code}", 0, principal.tenant_id, [InvitationIssued(
        code=code, buyer_tenant_id=principal.tenant_id, supplier_tenant_id=supplier_tenant_id,
        issued_by=principal.subject, issued_at=uow.now.isoformat())], actor=principal.subject)
    return code


async def accept(uow: UnitOfWork, principal: Principal, code: str) -> dict:
    stream = await uow.load(f"invitation-{code}")
    missing = ProblemError(404, "not_found", "No invitation with this code is open to your tenant.",
                           "このコードの招待はありません（または貴社宛てではありません）。")
    if not stream:
        raise missing
    issued = stream[0].data
    if issued["supplier_tenant_id"] not in (None, principal.tenant_id) or issued["buyer_tenant_id"] == principal.tenant_id:
        raise missing
    if len(stream) > 1:
        raise ProblemError(409, "already_accepted", "This invitation has already been accepted.",
                           "この招待は承諾済みです。")
    await uow.append(f"invitation-{code}", len(stream), issued["buyer_tenant_id"], [InvitationAccepted(
        code=code, buyer_tenant_id=issued["buyer_tenant_id"], supplier_tenant_id=principal.tenant_id,
        accepted_by=principal.subject, accepted_at=uow.now.isoformat())], actor=principal.subject)
    return {"buyer_tenant_id": issued["buyer_tenant_id"], "supplier_tenant_id": principal.tenant_id}


# --- requests ----------------------------------------------------------------------------------


async def request_disclosure(uow: UnitOfWork, principal: Principal, supplier_tenant_id: str, what: list[str],
                             fiscal_year: int, deadline: date, message: str) -> str:
    r = tables.relationships
    related = (await uow.conn.execute(select(r.c.since).where(
        r.c.buyer_tenant_id == principal.tenant_id, r.c.supplier_tenant_id == supplier_tenant_id))).first()
    if related is None:
        raise ProblemError(409, "not_your_supplier", "This tenant is not one of your suppliers yet: invite it "
                           "(POST /invitations) and let its admin accept the invitation first.",
                           "このテナントはまだ貴社のサプライヤーではありません。先に招待し、承諾を受けてください。")
    if deadline < model.today():
        raise ProblemError(422, "deadline_past", "The deadline is in the past.", "期限が過去の日付です。")
    request_id = str(uuid.uuid4())
    try:
        events = model.new_request(request_id, principal.tenant_id, supplier_tenant_id, what, fiscal_year, deadline,
                                   message, principal.subject, uow.now.isoformat())
    except model.RuleViolation as exc:
        raise _problem(exc) from None
    await uow.append(f"request-{request_id}", 0, principal.tenant_id, events, actor=principal.subject)
    asked = events[0]
    await uow.publish(catalog.DisclosureRequested(
        request_id=request_id, buyer_tenant_id=principal.tenant_id, supplier_tenant_id=supplier_tenant_id,
        fiscal_year=fiscal_year, what=asked.what, deadline=deadline),
        subject=request_id, tenant_id=principal.tenant_id, aggregate_type="request")
    return request_id


async def load_request(uow: UnitOfWork, principal: Principal, request_id: str) -> model.DisclosureRequest:
    """The request, if the caller's tenant is its buyer or supplier; 404 for everyone else."""
    request = model.DisclosureRequest.replay(await uow.load(f"request-{request_id}"))
    if request is None or not request.involves(principal.tenant_id):
        raise request_not_found(request_id)
    return request


async def mark_viewed(uow: UnitOfWork, principal: Principal, request_id: str) -> None:
    request = await load_request(uow, principal, request_id)
    if principal.tenant_id == request.supplier_tenant_id and (
            events := request.view(principal.subject, uow.now.isoformat())):
        await uow.append(f"request-{request_id}", request.version, request.buyer_tenant_id, events,
                             actor=principal.subject)


async def decline(uow: UnitOfWork, principal: Principal, request_id: str, reason: str) -> None:
    request = await load_request(uow, principal, request_id)
    if principal.tenant_id != request.supplier_tenant_id:
        raise only_supplier()
    try:
        events = request.decline(reason, principal.subject, uow.now.isoformat())
    except model.RuleViolation as exc:
        raise _problem(exc) from None
    await uow.append(f"request-{request_id}", request.version, request.buyer_tenant_id, events,
                     actor=principal.subject)
    await uow.publish(catalog.DisclosureDeclined(
        request_id=request_id, buyer_tenant_id=request.buyer_tenant_id, supplier_tenant_id=request.supplier_tenant_id,
        fiscal_year=request.fiscal_year, what=request.what, reason=reason),
        subject=request_id, tenant_id=request.supplier_tenant_id, aggregate_type="request")


async def grant(uow: UnitOfWork, principal: Principal, signer: DisclosureSigner, request_id: str,
                figures: list[catalog.DisclosedFigure]) -> dict:
    request = await load_request(uow, principal, request_id)
    if principal.tenant_id != request.supplier_tenant_id:
        raise only_supplier()
    disclosure_id = str(uuid.uuid4())
    try:
        events = request.grant(disclosure_id, figures, uow.now.isoformat())
    except model.RuleViolation as exc:
        raise _problem(exc) from None
    await uow.append(f"request-{request_id}", request.version, request.buyer_tenant_id, events,
                     actor=principal.subject)
    metrics.count_disclosure_granted(principal.tenant_id, uow=uow)
    return await _issue(uow, principal, signer, request, disclosure_id, figures, None)


async def correct(uow: UnitOfWork, principal: Principal, signer: DisclosureSigner, disclosure_id: str,
                  figures: list[catalog.DisclosedFigure]) -> dict:
    """A correction is a new signed disclosure that supersedes the old one; the old one stays as it is."""
    t = tables.disclosures
    old = (await uow.conn.execute(select(t).where(t.c.disclosure_id == disclosure_id))).mappings().first()
    if old is None or principal.tenant_id not in (old["supplier_tenant_id"], old["buyer_tenant_id"]):
        raise disclosure_not_found(disclosure_id)
    if principal.tenant_id != old["supplier_tenant_id"]:
        raise only_supplier()
    newer = (await uow.conn.execute(select(t.c.disclosure_id).where(
        t.c.supersedes_disclosure_id == disclosure_id))).scalar()
    if newer is not None:
        raise ProblemError(409, "already_superseded", f"Disclosure {disclosure_id!r} was already corrected by "
                           f"{newer!r}; correct the latest disclosure.",
                           f"開示 {disclosure_id!r} は既に {newer!r} で訂正されています。最新の開示を訂正してください。",
                           superseded_by=newer)
    request = await load_request(uow, principal, old["request_id"])
    try:
        model.check_figures(figures, request.what)
    except model.RuleViolation as exc:
        raise _problem(exc) from None
    return await _issue(uow, principal, signer, request, str(uuid.uuid4()), figures, disclosure_id)


async def _issue(uow: UnitOfWork, principal: Principal, signer: DisclosureSigner, request: model.DisclosureRequest,
                 disclosure_id: str, figures: list[catalog.DisclosedFigure], supersedes: str | None) -> dict:
    payload = model.disclosure_payload(
        disclosure_id=disclosure_id, request_id=request.request_id, supplier_tenant_id=request.supplier_tenant_id,
        buyer_tenant_id=request.buyer_tenant_id, fiscal_year=request.fiscal_year, figures=figures,
        granted_at=uow.now.isoformat(), supersedes_disclosure_id=supersedes)
    jws = signer.sign(payload)
    await uow.append(f"disclosure-{disclosure_id}", 0, request.supplier_tenant_id, [DisclosureIssued(
        disclosure_id=disclosure_id, payload=payload, signature_jws=jws, kid=signer.kid,
        granted_by=principal.subject)], actor=principal.subject)
    event = catalog.DisclosureGranted(
        disclosure_id=disclosure_id, supplier_tenant_id=request.supplier_tenant_id,
        buyer_tenant_id=request.buyer_tenant_id, fiscal_year=request.fiscal_year, figures=figures,
        supersedes_disclosure_id=supersedes, signature_jws=jws)
    # Internal consumers (factors F5, reporting F19): the supplier owns the fact.
    await uow.publish(event, subject=disclosure_id, tenant_id=request.supplier_tenant_id, aggregate_type="disclosure")
    # Buyers' own systems: the same event, addressed to the buyer so a subscriber can filter on tenantid.
    await uow.publish(event, subject=disclosure_id, tenant_id=request.buyer_tenant_id, aggregate_type="disclosure",
                      topic=catalog.PUBLIC_DISCLOSURES_TOPIC)
    # Not signed: whether each product footprint can be served through PACT, and what it lacks if not.
    return {**payload, "signature_jws": jws, "kid": signer.kid, "pact_readiness": pact_mapping.readiness(payload)}
