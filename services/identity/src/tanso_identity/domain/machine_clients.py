"""Machine clients (OAuth2 client credentials) that a supplier's admin issues for one buyer relationship.

A machine client lets the buyer's own system call the supplier's PACT API (``/pact/...``): the
token it obtains is scoped to the issuing (supplier) tenant *and* one buyer tenant, and carries an
audience of its own, so it opens nothing but the PACT endpoints. Streams: ``machineclient-<id>``
(tenant = the issuing tenant). The secret is never part of an event: its argon2 hash lives in the
``machine_client_secrets`` table, like a password.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field
from tanso_events.unit_of_work import DomainEvent

from .model import DomainRuleViolated


class MachineClientCreated(DomainEvent):
    client_id: str
    client_name: str
    #: The buyer tenant the client acts for: it sees only what the issuing tenant granted to this buyer.
    buyer_tenant_id: str
    #: Where asynchronous PACT answers go (``<callback_url>/3/events``); ``None``: no callbacks.
    callback_url: str | None = None
    created_by: str


class MachineClientRevoked(DomainEvent):
    client_id: str
    revoked_by: str


class NewMachineClient(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="What the client is for, e.g. 'Buyer X PACT'")
    buyer_tenant_id: str = Field(min_length=1, max_length=64,
                                 description="The buyer tenant (one of your customers) the client acts for")
    callback_url: str | None = Field(default=None, max_length=500, description=(
        "Base URL of the buyer's PACT host; answers to RequestCreated events are POSTed to "
        "<callback_url>/3/events. Must be https."))


def check_callback_url(url: str | None) -> str | None:
    """An absolute https URL without query or fragment (the answers are POSTed below it)."""
    if url is None or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise DomainRuleViolated(
            f"callback_url {url!r} must be an absolute https URL without query or fragment, "
            "e.g. https://pact.buyer.example/api.",
            f"callback_url {url!r} は https で始まる絶対 URL（クエリ・フラグメントなし）で指定してください。",
            "invalid_callback_url")
    return url.strip().rstrip("/")


def create(client_id: str, cmd: NewMachineClient, tenant_id: str, by: str) -> MachineClientCreated:
    if cmd.buyer_tenant_id == tenant_id:
        raise DomainRuleViolated(
            "buyer_tenant_id must be another tenant (a customer you disclose to), not your own.",
            "buyer_tenant_id には自社ではなく、開示先の顧客テナントを指定してください。", "self_client")
    return MachineClientCreated(client_id=client_id, client_name=cmd.name.strip(), buyer_tenant_id=cmd.buyer_tenant_id,
                                callback_url=check_callback_url(cmd.callback_url), created_by=by)


def revoke(client_id: str, status: str, by: str) -> list[MachineClientRevoked]:
    """Revoking twice changes nothing."""
    return [] if status == "revoked" else [MachineClientRevoked(client_id=client_id, revoked_by=by)]
