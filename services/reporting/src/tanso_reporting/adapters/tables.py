"""Tables of the reporting database: messaging tables plus the analysis read models."""

from sqlalchemy import Column, Integer, MetaData, String, Table, Text
from tanso_events.store import add_messaging_tables
from tanso_runtime.db import DecimalText

metadata = MetaData()
messaging = add_messaging_tables(metadata)

report_lines = Table(
    "report_lines", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("line_id", String(100), primary_key=True),
    Column("line_revision", Integer, nullable=False),
    Column("activity_id", String(64), nullable=False),
    Column("org_unit_id", String(64), nullable=False),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("period", String(7), nullable=False),
    Column("item_code", String(100), nullable=False),
    Column("scope", Integer, nullable=False),
    Column("scope3_category", Integer),
    Column("energy_type", String(40)),
    Column("scope2_method", String(20)),
    Column("co2e_t", DecimalText, nullable=False),
    Column("status", String(20), nullable=False),
    Column("audit_record_id", String(64), nullable=False),
)

#: Totals kept exact in Decimal: fiscal year × scope × org unit × item × basis. ``basis`` is
#: "location" or "market" for Scope 2 lines and "" for the others.
report_totals = Table(
    "report_totals", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("scope", Integer, primary_key=True),
    Column("org_unit_id", String(64), primary_key=True),
    Column("item_code", String(100), primary_key=True),
    Column("basis", String(20), primary_key=True),
    Column("co2e_t", DecimalText, nullable=False),
    Column("lines", Integer, nullable=False),
)

org_units = Table(
    "org_units", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("org_unit_id", String(64), primary_key=True),
    Column("parent_id", String(64)),
    Column("kind", String(20), nullable=False),
    Column("name_ja", String(200), nullable=False),
    Column("name_en", String(200)),
)

READ_MODELS = [report_lines, report_totals, org_units]

# --- F10 intensity and F19 supplier analysis ---------------------------------------------------

#: The current denominators of a tenant's fiscal year (F10).
intensity_denominators = Table(
    "intensity_denominators", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("revenue_million_yen", DecimalText),
    Column("employees", DecimalText),
    Column("floor_area_m2", DecimalText),
    Column("production_volume", DecimalText),
    Column("production_unit", String(40)),
    Column("version", Integer, nullable=False),
    Column("set_by", String(200), nullable=False),
    Column("set_at", String(40), nullable=False),
)

#: The revenue in force per fiscal year from identity (``RevenueRecorded``): the company's (``org_unit_id``
#: NULL) and per division or site; ``revision`` is the highest one received.
revenues = Table(
    "revenues", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("revenue_id", String(200), primary_key=True),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("org_unit_id", String(64)),
    Column("revenue_million_yen", DecimalText, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("recorded_by", String(64), nullable=False),
    Column("source_event_id", String(64), nullable=False),
)

#: Disclosures granted to a buyer (``tenant_id`` = the buyer, the only tenant that may read them).
supplier_disclosures = Table(
    "supplier_disclosures", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("disclosure_id", String(64), primary_key=True),
    Column("supplier_tenant_id", String(64), nullable=False),
    Column("fiscal_year", Integer, nullable=False, index=True),
    Column("figures", Text, nullable=False),
    Column("supersedes_disclosure_id", String(64)),
    Column("superseded_by", String(64)),
    Column("signature_jws", Text, nullable=False),
    Column("granted_at", String(40), nullable=False),
)

#: Company names of tenants, shown to a buyer for the suppliers that disclosed to it.
tenant_names = Table(
    "tenant_names", metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("company_name", String(300), nullable=False),
)

READ_MODELS = [*READ_MODELS, intensity_denominators, revenues, supplier_disclosures, tenant_names]
