"""Tables of the supplier-exchange database (its own database, shared with no other service).

``disclosures`` is a ledger, not a disposable read model: rows are only ever inserted (by the
``disclosures`` projection, idempotently, so a replay re-checks rather than rewrites), and on
PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE (``adapters/immutability.py``).
"""

from sqlalchemy import JSON, Column, Date, Index, Integer, MetaData, String, Table, Text
from tanso_events.store import add_messaging_tables

metadata = MetaData()
messaging = add_messaging_tables(metadata)

invitations = Table(
    "invitations", metadata,
    Column("code", String(64), primary_key=True),
    Column("buyer_tenant_id", String(64), nullable=False, index=True),
    Column("supplier_tenant_id", String(64)),  # addressed to this tenant; NULL: whoever holds the code
    Column("state", String(20), nullable=False),  # pending | accepted
    Column("issued_at", String(40), nullable=False),
    Column("accepted_by_tenant_id", String(64)),
    Column("accepted_at", String(40)),
)

relationships = Table(
    "relationships", metadata,
    Column("buyer_tenant_id", String(64), primary_key=True),
    Column("supplier_tenant_id", String(64), primary_key=True),
    Column("invitation_code", String(64), nullable=False),
    Column("since", String(40), nullable=False),
    Index("ix_relationships_supplier", "supplier_tenant_id"),
)

requests = Table(
    "disclosure_requests", metadata,
    Column("request_id", String(64), primary_key=True),
    Column("buyer_tenant_id", String(64), nullable=False, index=True),
    Column("supplier_tenant_id", String(64), nullable=False, index=True),
    Column("what", JSON, nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("message", Text, nullable=False),
    Column("state", String(20), nullable=False),  # requested | viewed | granted | declined
    Column("requested_at", String(40), nullable=False),
    Column("viewed_at", String(40)),
    Column("answered_at", String(40)),
    Column("decline_reason", Text),
    Column("disclosure_id", String(64)),  # the first grant; corrections reference it
)

disclosures = Table(
    "disclosures", metadata,
    Column("disclosure_id", String(64), primary_key=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("supplier_tenant_id", String(64), nullable=False, index=True),
    Column("buyer_tenant_id", String(64), nullable=False, index=True),
    Column("fiscal_year", Integer, nullable=False),
    Column("granted_at", String(40), nullable=False),
    Column("granted_by", String(64), nullable=False),
    Column("supersedes_disclosure_id", String(64), index=True),
    Column("payload", JSON, nullable=False),
    Column("signature_jws", Text, nullable=False),
    Column("kid", String(64), nullable=False),
)

READ_MODELS = [invitations, relationships, requests]

#: PACT ``RequestCreated`` events accepted from buyers' systems, answered asynchronously by the callback
#: worker (an operational queue like the outbox, not a read model: nothing replays into it).
pact_requests = Table(
    "pact_requests", metadata,
    Column("id", String(64), primary_key=True),  # our id; also names the answer event
    Column("client_id", String(64), nullable=False),
    Column("request_event_id", String(200), nullable=False),
    Column("supplier_tenant_id", String(64), nullable=False),
    Column("buyer_tenant_id", String(64), nullable=False),
    Column("criteria", JSON, nullable=False),
    Column("company_name", String(200), nullable=False),
    Column("fiscal_year_start_month", Integer, nullable=False),
    Column("callback_url", String(500), nullable=False),
    Column("source", String(500), nullable=False),  # our events URL as the requester called it
    Column("received_at", String(40), nullable=False),
    Column("state", String(20), nullable=False),  # pending | delivered | abandoned
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(40), nullable=False),
    Column("answer_type", String(100)),
    Column("last_error", Text),
    Index("ux_pact_requests_event", "client_id", "request_event_id", unique=True),
    Index("ix_pact_requests_due", "state", "next_attempt_at"),
)
