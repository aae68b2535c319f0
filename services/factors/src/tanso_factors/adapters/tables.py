"""Tables of the factors database: messaging tables plus the read models."""

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text
from tanso_events.store import add_messaging_tables
from tanso_runtime.db import DecimalText

metadata = MetaData()
messaging = add_messaging_tables(metadata)

sources = Table(
    "sources", metadata,
    Column("tenant_scope", String(64), primary_key=True),
    Column("source_id", String(100), primary_key=True),
    Column("publisher_ja", String(200), nullable=False),
    Column("publisher_en", String(200), nullable=False),
    Column("title_ja", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("licence", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("latest_edition", String(100)),
    Column("latest_valid_from_fy", Integer),
)

editions = Table(
    "editions", metadata,
    Column("tenant_scope", String(64), primary_key=True),
    Column("source_id", String(100), primary_key=True),
    Column("edition", String(100), primary_key=True),
    Column("title_ja", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("published", String(10)),
    Column("valid_from_fy", Integer, nullable=False),
    Column("valid_to_fy", Integer),
    Column("content_sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("imports", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

factor_versions = Table(
    "factor_versions", metadata,
    Column("factor_version_id", String(36), primary_key=True),
    Column("tenant_scope", String(64), nullable=False, index=True),
    Column("code", String(150), nullable=False, index=True),
    Column("stream_version", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("name_ja", String(300), nullable=False),
    Column("name_en", String(300), nullable=False),
    Column("category", String(50), nullable=False),
    Column("scope", Integer),
    Column("scope3_category", Integer),
    Column("activity_unit", String(30), nullable=False),
    Column("value", DecimalText, nullable=False),
    Column("value_unit", String(50), nullable=False),
    Column("gas", String(10), nullable=False),
    Column("heat_value_gj_per_unit", DecimalText),
    Column("carbon_tc_per_gj", DecimalText),
    Column("source_id", String(100), nullable=False, index=True),
    Column("edition", String(100), nullable=False),
    Column("valid_from_fy", Integer, nullable=False),
    Column("valid_to_fy", Integer),
    Column("status", String(20), nullable=False),
    Column("supersedes", String(36)),
    Column("superseded_by", String(36)),
    Column("sources", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("source_title_ja", Text, nullable=False),
    Column("source_title_en", Text, nullable=False),
    #: NFKC + case-folded code, names and source titles, matched by ``q`` (see queries.search_key).
    Column("search_text", Text, nullable=False),
    #: "\n<name_ja>\n<name_en>" in the same form: ranks names that start with the query first.
    Column("name_key", Text, nullable=False),
)
