"""Machine clients: issue (secret shown once), list, revoke; the OAuth2 client-credentials grant."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.auth import ACCESS_TOKEN_TYPE, Principal
from tanso_runtime.errors import ProblemError, not_found

from ..adapters import machine_clients as queries
from ..adapters import tables
from ..adapters.passwords import hash_password, verify_password
from ..adapters.signing import TokenIssuer
from ..domain import machine_clients as model
from ..domain.model import DomainRuleViolated

#: Audience of machine-client tokens: only the PACT endpoints accept it (never the ``/api`` routes).
PACT_AUDIENCE = "tanso-pact"
PACT_SCOPE = "pact"


@dataclass(frozen=True)
class Issued:
    client_id: str
    client_secret: str


async def create(cmd: model.NewMachineClient, principal: Principal, uow: UnitOfWork) -> Issued:
    ten = tables.tenants
    buyer = (await uow.conn.execute(select(ten.c.tenant_id).where(ten.c.tenant_id == cmd.buyer_tenant_id))).first()
    if buyer is None:
        raise ProblemError(422, "unknown_buyer", f"There is no tenant {cmd.buyer_tenant_id!r}; use the buyer's "
                           "tenant id from your supplier-exchange relationship (GET /api/supplier-exchange/invitations"
                           "?role=supplier).", f"テナント {cmd.buyer_tenant_id!r} は存在しません。取引関係にある"
                           "顧客のテナント ID を指定してください。")
    client_id = str(uuid.uuid4())
    try:
        event = model.create(client_id, cmd, principal.tenant_id, principal.subject)
    except DomainRuleViolated as exc:
        raise ProblemError(422, exc.code, str(exc), exc.message_ja) from exc
    secret = secrets.token_urlsafe(32)
    secret_hash = await hash_password(secret)
    await uow.append(f"machineclient-{client_id}", 0, principal.tenant_id, [event], actor=principal.subject)
    await uow.conn.execute(insert(tables.machine_client_secrets).values(
        client_id=client_id, secret_hash=secret_hash, updated_at=uow.now))
    return Issued(client_id, secret)


async def revoke(client_id: str, principal: Principal, uow: UnitOfWork) -> None:
    found = await queries.get_client(uow.conn, principal.tenant_id, client_id)
    if found is None:
        raise not_found("Machine client", "マシンクライアント", client_id)
    stream = await uow.load(f"machineclient-{client_id}")
    if events := model.revoke(client_id, found["status"], principal.subject):
        await uow.append(f"machineclient-{client_id}", len(stream), principal.tenant_id, events,
                         actor=principal.subject)


class InvalidClient(Exception):
    """RFC 6749 §5.2 ``invalid_client``: unknown client, wrong secret or revoked client."""


async def authenticate(engine: AsyncEngine, client_id: str, client_secret: str) -> dict:
    """The client's record when id and secret match an active client (an unknown id costs the same)."""
    async with engine.connect() as conn:
        record = await queries.login_record(conn, client_id) if len(client_id) <= 64 else None
    if not await verify_password(record["secret_hash"] if record else None, client_secret):
        raise InvalidClient("unknown client or wrong secret")
    assert record is not None
    if record["status"] != "active":
        raise InvalidClient("client revoked")
    return record


def issue_token(issuer: TokenIssuer, record: dict, *, now: float | None = None) -> str:
    """An EdDSA ``at+jwt`` for the PACT API: issuing tenant in ``tid``, the buyer in ``buyer``."""
    iat = int(now if now is not None else time.time())
    claims = {"iss": issuer.issuer, "aud": PACT_AUDIENCE, "sub": record["client_id"], "tid": record["tenant_id"],
              "buyer": record["buyer_tenant_id"], "scope": PACT_SCOPE, "roles": [],
              "org": record.get("company_name") or "", "fys": record.get("fiscal_year_start_month") or 4,
              "iat": iat, "nbf": iat, "exp": iat + issuer.lifetime_seconds, "jti": str(uuid.uuid4())}
    if record.get("callback_url"):
        claims["cb"] = record["callback_url"]
    return jwt.encode(claims, issuer.key.private_key, algorithm="EdDSA",
                      headers={"typ": ACCESS_TOKEN_TYPE, "kid": issuer.key.kid})
