"""Domain events of supplier-exchange (stored in its own event store, folded by its projections).

Streams: ``invitation-<code>`` (tenant = buyer), ``request-<id>`` (tenant = buyer; both tenants are
in the data), ``disclosure-<id>`` (tenant = supplier, one event, never followed by another).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tanso_events.unit_of_work import DomainEvent


class InvitationIssued(DomainEvent):
    code: str
    buyer_tenant_id: str
    #: Only this tenant may accept; ``None``: whoever holds the code (the code is the secret).
    supplier_tenant_id: str | None = None
    issued_by: str
    issued_at: str


class InvitationAccepted(DomainEvent):
    code: str
    buyer_tenant_id: str
    supplier_tenant_id: str
    accepted_by: str
    accepted_at: str


class DisclosureRequested(DomainEvent):
    request_id: str
    buyer_tenant_id: str
    supplier_tenant_id: str
    what: list[str]
    fiscal_year: int
    deadline: date
    message: str = ""
    requested_by: str
    requested_at: str


class RequestViewed(DomainEvent):
    request_id: str
    viewed_by: str
    viewed_at: str


class RequestGranted(DomainEvent):
    request_id: str
    disclosure_id: str
    granted_at: str


class RequestDeclined(DomainEvent):
    request_id: str
    reason: str
    declined_by: str
    declined_at: str


class DisclosureIssued(DomainEvent):
    """The frozen snapshot: ``payload`` is exactly what ``signature_jws`` signs."""

    disclosure_id: str
    payload: dict[str, Any]
    signature_jws: str
    kid: str
    granted_by: str
