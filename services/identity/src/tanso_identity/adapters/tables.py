"""Tables of the identity database: messaging tables, read models and credentials."""

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table
from tanso_events.store import add_messaging_tables
from tanso_runtime.db import DecimalText

metadata = MetaData()
messaging = add_messaging_tables(metadata)

tenants = Table(
    "tenants", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("company_name", String(200), nullable=False),
    Column("industry_code", String(20)),
    Column("fiscal_year_start_month", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

org_units = Table(
    "org_units", metadata,
    Column("org_unit_id", String(64), primary_key=True),
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("parent_id", String(64)),
    Column("kind", String(20), nullable=False),
    Column("name_ja", String(200), nullable=False),
    Column("name_en", String(200)),
    Column("prefecture", String(20)),
    Column("floor_area_m2", DecimalText),
    Column("building_use", String(100)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users", metadata,
    Column("user_id", String(64), primary_key=True),
    Column("tenant_id", String(64), nullable=False, index=True),
    #: Lower-cased; unique across the platform (the backstop for concurrent sign-ups).
    Column("email", String(254), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deactivated_at", DateTime(timezone=True)),
)

#: F10: the revenue in force per fiscal year, for the company (``org_unit_id`` NULL) or a division/site.
revenues = Table(
    "revenues", metadata,
    Column("revenue_id", String(200), primary_key=True),  # <tenant>:<fiscal year>:<org unit id or company>
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("fiscal_year", Integer, nullable=False),
    Column("org_unit_id", String(64)),
    Column("revenue_million_yen", DecimalText, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

#: Not a projection: written by the command handlers in the same transaction, never in events.
credentials = Table(
    "credentials", metadata,
    Column("user_id", String(64), primary_key=True),
    Column("password_hash", String(512), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Machine clients (OAuth2 client credentials for the PACT API), folded from ``machineclient-<id>``.
machine_clients = Table(
    "machine_clients", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("buyer_tenant_id", String(64), nullable=False),
    Column("callback_url", String(500)),
    Column("status", String(20), nullable=False),  # active | revoked
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

#: Not a projection, like ``credentials``: the argon2 hash of each client secret, never in events.
machine_client_secrets = Table(
    "machine_client_secrets", metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(512), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
