"""PostgreSQL refuses any change to a granted disclosure, whoever asks (service role included)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

FUNCTION = """
CREATE OR REPLACE FUNCTION tanso_disclosures_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'granted disclosures are immutable: % on disclosures refused; a correction is a new disclosure', TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""

TRIGGERS = [
    "DROP TRIGGER IF EXISTS disclosures_no_update_delete ON disclosures",
    ("CREATE TRIGGER disclosures_no_update_delete BEFORE UPDATE OR DELETE ON disclosures "
     "FOR EACH ROW EXECUTE FUNCTION tanso_disclosures_immutable()"),
    "DROP TRIGGER IF EXISTS disclosures_no_truncate ON disclosures",
    ("CREATE TRIGGER disclosures_no_truncate BEFORE TRUNCATE ON disclosures "
     "FOR EACH STATEMENT EXECUTE FUNCTION tanso_disclosures_immutable()"),
    # The disclosure's events are its source of truth (the table above is their projection).
    "DROP TRIGGER IF EXISTS disclosure_events_no_update_delete ON event_store",
    ("CREATE TRIGGER disclosure_events_no_update_delete BEFORE UPDATE OR DELETE ON event_store "
     "FOR EACH ROW WHEN (OLD.stream_id LIKE 'disclosure-%') EXECUTE FUNCTION tanso_disclosures_immutable()"),
]


async def install(engine: AsyncEngine) -> bool:
    """Create the function and triggers on PostgreSQL (idempotent); SQLite: nothing, returns False."""
    if engine.dialect.name != "postgresql":
        return False
    async with engine.begin() as conn:
        await conn.execute(text(FUNCTION))
        for statement in TRIGGERS:
            await conn.execute(text(statement))
    return True


async def on_startup(runtime) -> None:
    await install(runtime.engine)
