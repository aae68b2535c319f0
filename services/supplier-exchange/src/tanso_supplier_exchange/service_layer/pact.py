"""PACT v3 use cases: who the caller is, which footprints it may see, events in and answers out.

A machine client (issued by identity to the supplier's admin) acts for exactly one buyer: it sees
the ``product_footprint`` figures the token's tenant (the supplier) granted to that buyer, and
nothing else. Errors are PACT error responses (``code`` + ``message``, here with ``message_ja``).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from tanso_runtime.auth import TokenVerifier
from tanso_runtime.errors import ProblemError

from ..adapters import pact_mapping as mapping
from ..adapters import tables

log = logging.getLogger(__name__)

PREFIX = "org.wbcsd.pact.ProductFootprint."
REQUEST_CREATED = PREFIX + "RequestCreatedEvent.3"
REQUEST_FULFILLED = PREFIX + "RequestFulfilledEvent.3"
REQUEST_REJECTED = PREFIX + "RequestRejectedEvent.3"
PUBLISHED = PREFIX + "PublishedEvent.3"
EVENT_TYPES = (REQUEST_CREATED, REQUEST_FULFILLED, REQUEST_REJECTED, PUBLISHED)
PACT_SCOPE = "pact"

#: PACT error response codes and their HTTP status (v3 error table).
STATUS = {"BadRequest": 400, "AccessDenied": 403, "TokenExpired": 401, "NotFound": 404, "InternalError": 500,
          "NotImplemented": 400}


class PactError(Exception):
    def __init__(self, code: str, message: str, message_ja: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.message_ja = code, message, message_ja
        self.status = status or STATUS[code]

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_ja": self.message_ja}


def bad_request(message: str, message_ja: str) -> PactError:
    return PactError("BadRequest", message, message_ja)


# --- the caller ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PactClient:
    client_id: str
    supplier_tenant_id: str
    buyer_tenant_id: str
    company_name: str
    fiscal_year_start_month: int
    callback_url: str | None


async def authenticate(verifier: TokenVerifier, authorization: str) -> PactClient:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise bad_request("Invalid token provided: send 'Authorization: Bearer <access_token>' from POST "
                          "<base URL>/auth/token.", "トークンがありません。/auth/token で取得したアクセストークンを "
                          "Authorization: Bearer で送ってください。")
    token = token.strip()
    try:
        principal = await verifier.verify(token)
    except ProblemError as exc:
        if exc.status == 503:
            raise PactError("InternalError", "Cannot check the token right now; retry later.",
                            "トークンを検証できません。しばらくしてから再試行してください。", status=503) from exc
        try:
            exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
        except jwt.PyJWTError:
            exp = None
        if isinstance(exp, int | float) and exp < time.time():
            raise PactError("TokenExpired", "The access token has expired; request a new one from /auth/token.",
                            "アクセストークンの有効期限が切れています。/auth/token で再取得してください。") from exc
        raise bad_request("Invalid token provided: it is not a PACT access token of this host.",
                          "無効なトークンです（このホストの PACT アクセストークンではありません）。") from exc
    claims = jwt.decode(token, options={"verify_signature": False})
    if claims.get("scope") != PACT_SCOPE or not claims.get("buyer"):
        raise PactError("AccessDenied", "This token is not a PACT machine-client token.",
                        "PACT 用マシンクライアントのトークンではありません。")
    return PactClient(principal.subject, principal.tenant_id, claims["buyer"], str(claims.get("org") or ""),
                      int(claims.get("fys") or 4), claims.get("cb"))


async def _related(conn: AsyncConnection, client: PactClient) -> bool:
    r = tables.relationships
    row = (await conn.execute(select(r.c.since).where(r.c.buyer_tenant_id == client.buyer_tenant_id,
                                                      r.c.supplier_tenant_id == client.supplier_tenant_id))).first()
    return row is not None


def _no_relationship(client: PactClient) -> PactError:
    return PactError("AccessDenied", f"Tenant {client.buyer_tenant_id} is not a customer of this supplier "
                     "(no accepted supplier-exchange invitation), so nothing is shared with it.",
                     "このクライアントの顧客テナントとサプライヤーの間に取引関係（承諾済みの招待）がありません。")


# --- footprints ----------------------------------------------------------------------------------


async def visible_footprints(conn: AsyncConnection, client: PactClient) -> list[dict]:
    """Every footprint the supplier granted to the client's buyer with all PACT data stated, oldest first
    (AccessDenied without a relationship)."""
    if not await _related(conn, client):
        raise _no_relationship(client)
    d = tables.disclosures
    rows = (await conn.execute(select(d).where(
        d.c.supplier_tenant_id == client.supplier_tenant_id, d.c.buyer_tenant_id == client.buyer_tenant_id)
        .order_by(d.c.granted_at, d.c.disclosure_id))).mappings().all()
    supplier = mapping.Supplier(client.supplier_tenant_id, client.company_name)
    return mapping.footprints([dict(r) for r in rows], supplier)


FILTERS = {"productid": "product_ids", "companyid": "company_ids", "geography": "geographies",
           "classification": "classifications"}
MOMENTS = {"validon": "valid_on", "validafter": "valid_after", "validbefore": "valid_before"}


def criteria(values: dict[str, list[str]]) -> mapping.Criteria:
    """Filter criteria from ``name → values`` (query parameters or RequestCreated data; names case-insensitive)."""
    fields: dict[str, Any] = {}
    for raw_name, raw in values.items():
        name = raw_name.lower()
        if name in FILTERS:
            items = [v for v in raw if isinstance(v, str) and v.strip()]
            if len(items) != len(raw) or not items:
                raise bad_request(f"{raw_name} must be one or more non-empty strings.",
                                  f"{raw_name} には 1 つ以上の文字列を指定してください。")
            fields[FILTERS[name]] = tuple(fields.get(FILTERS[name], ())) + tuple(items)
        elif name in MOMENTS:
            if len(raw) != 1 or not isinstance(raw[0], str):
                raise bad_request(f"{raw_name} takes one date-time.", f"{raw_name} には日時を 1 つ指定してください。")
            try:
                fields[MOMENTS[name]] = mapping.parse_moment(raw[0])
            except ValueError:
                raise bad_request(f"{raw_name}={raw[0]!r} is not an RFC 3339 date-time such as "
                                  "2025-04-01T00:00:00Z.", f"{raw_name} の日時形式が不正です"
                                  "（例: 2025-04-01T00:00:00Z）。") from None
        elif name == "status":
            if len(raw) != 1 or not isinstance(raw[0], str):
                raise bad_request("status takes one value: Active or Deprecated.",
                                  "status には Active または Deprecated を 1 つ指定してください。")
            fields["status"] = raw[0]
        elif name.startswith("$"):
            raise bad_request(f"{raw_name} is OData filtering of PACT v2, which v3 no longer has; use the v3 "
                              "filters productId, companyId, geography, classification, validOn, validAfter, "
                              "validBefore, status.", f"{raw_name}（v2 の OData フィルタ）は v3 では使えません。"
                              "v3 のフィルタを使ってください。")
        else:
            raise bad_request(f"Unknown filter {raw_name!r}; supported: productId, companyId, geography, "
                              "classification, validOn, validAfter, validBefore, status, limit.",
                              f"不明なフィルタ {raw_name!r} です。")
    return mapping.Criteria(**fields)


def criteria_from_event(data: dict[str, Any]) -> mapping.Criteria:
    values: dict[str, list] = {}
    for key, value in data.items():
        if key == "comment":
            if not isinstance(value, str):
                raise bad_request("data.comment must be a string.", "data.comment は文字列にしてください。")
            continue
        if key.lower() in FILTERS:
            if not isinstance(value, list):
                raise bad_request(f"data.{key} must be an array of strings.", f"data.{key} は文字列の配列にしてください。")
            values[key] = value
        else:
            values[key] = [value]
    return criteria(values)


def parse_page(values: dict[str, list[str]]) -> tuple[int, int, dict[str, list[str]]]:
    """(limit, offset, the filter parameters); limit defaults to 100 and is capped at 1000."""
    rest = {k: v for k, v in values.items() if k.lower() not in ("limit", "offset")}
    numbers = {}
    for name, default, least in (("limit", "100", 1), ("offset", "0", 0)):
        given = [v for k, vs in values.items() if k.lower() == name for v in vs]
        text = given[-1] if given else default
        if not text.isdigit() or int(text) < least:
            raise bad_request(f"{name} must be an integer ≥ {least}.", f"{name} は {least} 以上の整数にしてください。")
        numbers[name] = int(text)
    return min(numbers["limit"], 1000), numbers["offset"], rest


# --- events --------------------------------------------------------------------------------------


def check_event(event: Any) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured JSON mode of one of the four PACT v3 types."""
    if not isinstance(event, dict):
        raise bad_request("The body must be one CloudEvents 1.0 event as a JSON object.",
                          "本文は CloudEvents 1.0 のイベント（JSON オブジェクト）1 件にしてください。")
    for key in ("specversion", "id", "source", "type"):
        if not isinstance(event.get(key), str) or not event[key].strip():
            raise bad_request(f"The event needs a non-empty string {key!r} (CloudEvents 1.0).",
                              f"イベントには空でない文字列 {key!r} が必要です。")
    if event["specversion"] != "1.0":
        raise bad_request("specversion must be '1.0'.", "specversion は '1.0' にしてください。")
    if event["type"] not in EVENT_TYPES:
        raise bad_request(f"Unsupported event type {event['type']!r}; this host accepts {list(EVENT_TYPES)}.",
                          f"未対応のイベント種別 {event['type']!r} です。")
    data = event.get("data", {})
    if not isinstance(data, dict):
        raise bad_request("data must be a JSON object.", "data は JSON オブジェクトにしてください。")
    if event["type"] == PUBLISHED:
        ids = data.get("pfIds", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise bad_request("data.pfIds must be an array of footprint ids.", "data.pfIds は ID の配列にしてください。")
    elif event["type"] in (REQUEST_FULFILLED, REQUEST_REJECTED):
        if not isinstance(data.get("requestEventId"), str):
            raise bad_request("data.requestEventId is required.", "data.requestEventId が必要です。")
        if event["type"] == REQUEST_FULFILLED and not isinstance(data.get("pfs"), list):
            raise bad_request("data.pfs must be an array of footprints.", "data.pfs はフットプリントの配列にしてください。")
        if event["type"] == REQUEST_REJECTED and not isinstance(data.get("error"), dict):
            raise bad_request("data.error must be an error object.", "data.error はエラーオブジェクトにしてください。")
    return event


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


async def accept_event(engine: AsyncEngine, client: PactClient, event: dict[str, Any], own_events_url: str) -> None:
    """Take an event for processing (a RequestCreated is answered later by :func:`deliver_due`)."""
    event = check_event(event)
    if event["type"] != REQUEST_CREATED:
        # We host footprints and send no requests of our own: acknowledge, keep a trace in the log.
        log.info("PACT event %s %s from client %s accepted", event["type"], event["id"], client.client_id)
        return
    found = criteria_from_event(event.get("data", {}))
    if not client.callback_url:
        raise bad_request("This client has no callback URL, so the answer could not be delivered; ask the "
                          "supplier's admin to issue a client with callback_url, or use GET /3/footprints.",
                          "このクライアントにはコールバック URL が登録されていないため、回答を送れません。"
                          "callback_url 付きのクライアントを発行してもらうか、GET /3/footprints を使ってください。")
    async with engine.begin() as conn:
        if not await _related(conn, client):
            raise _no_relationship(client)
        now = _iso(_now())
        try:
            async with conn.begin_nested():  # a duplicate must not abort the transaction (PostgreSQL)
                await conn.execute(insert(tables.pact_requests).values(
                    id=str(uuid.uuid4()), client_id=client.client_id, request_event_id=event["id"],
                    supplier_tenant_id=client.supplier_tenant_id, buyer_tenant_id=client.buyer_tenant_id,
                    criteria=found.as_json(), company_name=client.company_name,
                    fiscal_year_start_month=client.fiscal_year_start_month, callback_url=client.callback_url,
                    source=own_events_url, received_at=now, state="pending", attempts=0, next_attempt_at=now))
        except IntegrityError:
            log.info("PACT request %s from client %s received again; answered once", event["id"], client.client_id)


async def answer_for(conn: AsyncConnection, row: dict, now: datetime) -> dict[str, Any]:
    """The RequestFulfilled (non-empty ``pfs``) or RequestRejected event that answers ``row``."""
    client = PactClient(row["client_id"], row["supplier_tenant_id"], row["buyer_tenant_id"], row["company_name"],
                        row["fiscal_year_start_month"], row["callback_url"])
    base = {"specversion": "1.0", "id": row["id"], "source": row["source"], "time": mapping.timestamp(now)}
    try:
        wanted = criteria_from_event(row["criteria"])
        pfs = [pf for pf in await visible_footprints(conn, client) if mapping.matches(pf, wanted)]
    except PactError as exc:
        return {**base, "type": REQUEST_REJECTED,
                "data": {"requestEventId": row["request_event_id"], "error": {"code": exc.code,
                                                                              "message": exc.message}}}
    if not pfs:
        return {**base, "type": REQUEST_REJECTED, "data": {"requestEventId": row["request_event_id"], "error": {
            "code": "NotFound", "message": "No footprint granted to you matches the request."}}}
    return {**base, "type": REQUEST_FULFILLED, "data": {"requestEventId": row["request_event_id"], "pfs": pfs}}


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … at most one hour between attempts."""
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


async def deliver_due(engine: AsyncEngine, send, *, give_up_seconds: int,
                      now: datetime | None = None, batch: int = 20) -> int:
    """POST the answers that are due; ``send(url, event) -> None`` raises on failure. Returns how many went out."""
    now = now or _now()
    t = tables.pact_requests
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t).where(t.c.state == "pending", t.c.next_attempt_at <= _iso(now))
                                   .order_by(t.c.next_attempt_at).limit(batch))).mappings().all()
        answers = [(dict(r), await answer_for(conn, dict(r), now)) for r in rows]
    delivered = 0
    for row, answer in answers:
        url = row["callback_url"].rstrip("/") + "/3/events"
        try:
            await send(url, answer)
        except Exception as exc:  # noqa: BLE001 — any failure is retried with back-off
            attempts = row["attempts"] + 1
            received = datetime.fromisoformat(row["received_at"])
            gone = (now - received).total_seconds() > give_up_seconds
            log.warning("PACT answer %s to %s failed (attempt %d%s): %s", row["id"], url, attempts,
                        ", giving up" if gone else "", exc)
            values = {"attempts": attempts, "last_error": str(exc)[:2000],
                      "next_attempt_at": _iso(now + backoff(attempts))}
            if gone:
                values["state"] = "abandoned"
        else:
            delivered += 1
            values = {"attempts": row["attempts"] + 1, "state": "delivered", "answer_type": answer["type"],
                      "last_error": None}
        async with engine.begin() as conn:
            await conn.execute(update(t).where(t.c.id == row["id"]).values(**values))
    return delivered
