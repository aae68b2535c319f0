"""Tables of the activities database: messaging tables plus the read models."""

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, UniqueConstraint
from tanso_events.store import add_messaging_tables
from tanso_runtime.db import DecimalText

metadata = MetaData()
messaging = add_messaging_tables(metadata)

tenants = Table(
    "tenants", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("fiscal_year_start_month", Integer, nullable=False),
)

org_units = Table(
    "org_units", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("org_unit_id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("name_ja", String(200), nullable=False),
    Column("name_en", String(200)),
)

activities = Table(
    "activities", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("activity_id", String(64), primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("org_unit_id", String(64), nullable=False),
    Column("item_code", String(100), nullable=False),
    Column("period", String(7), nullable=False),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("amount", DecimalText, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("note", Text),
    Column("updated_by", String(64)),
)

#: Accepted CSV files (folded from ActivitiesImported); one file (SHA-256 of its bytes) once per tenant.
csv_imports = Table(
    "csv_imports", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("import_id", String(64), primary_key=True),
    Column("file_sha256", String(64), nullable=False),
    Column("filename", String(255)),
    Column("encoding", String(20), nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("skipped_rows", Integer, nullable=False),
    Column("fiscal_years", String(200), nullable=False),
    Column("imported_by", String(64), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "file_sha256", name="uq_csv_imports_tenant_file"),
)

#: Items of the tenant's own logic per fiscal year (from calculation); no rows = the built-in items.
logic_items = Table(
    "logic_items", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("item_code", String(100), primary_key=True),
    Column("name_ja", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("unit", String(20), nullable=False),
    Column("scope", Integer, nullable=False),
    Column("scope3_category", Integer),
)
