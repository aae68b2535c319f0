"""Set-based reporting of new emission lines: an import's backlog reaching reporting.

The consumer hands a run of consecutive ``EmissionCalculated`` events to
:func:`.handlers.on_emissions_calculated`. A line reported for the first time gets the rows the
per-event path writes — the ``LineReported`` event and its ``report_lines`` row — in bulk
(:class:`tanso_runtime.bulk.BulkWriter`), and its figure is added to its total once per total and
run instead of once per line (Decimal sums are exact, so the totals are the same). A line already
reported goes through :func:`.handlers.on_emission_calculated` in its place, after the rows built so
far are written.
"""

from __future__ import annotations

from decimal import Decimal

from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.tracing import current_traceparent
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.bulk import BulkWriter, uuid4s

from ..adapters import tables
from ..adapters.projections import PROJECTIONS, add_to_total, analysis, line_row, total_key
from ..domain.events import LineReported

_IN_CHUNK = 500  # ids per IN (…) list, under SQLite's bound-parameter limit


class NewLines:
    """The rows of the new lines handled so far, written together by :meth:`write`."""

    def __init__(self, uow: UnitOfWork) -> None:
        if [p for p in PROJECTIONS if "LineReported" in p.handlers] != [analysis]:
            raise RuntimeError("another projection handles LineReported: teach batch_lines.py its rows")
        self.uow = uow
        self.events: list[dict] = []
        self.lines: list[dict] = []
        self.totals: dict[tuple, dict] = {}  # (tenant, total key) -> {"line", "amount", "count"}

    def add(self, event: catalog.EmissionCalculated, meta: EnvelopeMeta) -> None:
        fact = LineReported(source_event_id=meta.id, **event.model_dump(
            include=set(LineReported.model_fields) - {"source_event_id"}))
        data = fact.model_dump(mode="json")
        self.events.append({
            "event_id": None, "stream_id": f"line-{event.line_id}", "version": 1, "type": fact.type_name(),
            "data": data, "meta": {"traceparent": current_traceparent(), "causation_id": meta.id, "actor": None},
            "tenant_id": meta.tenant_id, "recorded_at": self.uow.now})
        self.lines.append(line_row(meta.tenant_id, data))
        if data["status"] == "calculated":
            total = self.totals.setdefault((meta.tenant_id, total_key(data)),
                                           {"line": data, "amount": Decimal(0), "count": 0})
            total["amount"] += Decimal(data["co2e_t"])
            total["count"] += 1

    async def write(self) -> None:
        if not self.events:
            return
        for row, event_id in zip(self.events, uuid4s(len(self.events)), strict=True):
            row["event_id"] = event_id
        writer = await BulkWriter.open(self.uow.conn)
        await writer.insert_dicts(tables.messaging.events, self.events)
        await writer.insert_dicts(tables.report_lines, self.lines)
        await writer.close()
        for (tenant_id, _), total in sorted(self.totals.items(), key=lambda kv: (kv[0][0], repr(kv[0][1]))):
            await add_to_total(self.uow.conn, tenant_id, total["line"], total["amount"], total["count"])
        self.events, self.lines, self.totals = [], [], {}


async def reported_lines(uow: UnitOfWork, line_ids: list[str]) -> set[str]:
    """Which of ``line_ids`` have a report line already, in any tenant (the event stream is per line id)."""
    t = tables.report_lines
    found: set[str] = set()
    for start in range(0, len(line_ids), _IN_CHUNK):
        found.update((await uow.conn.execute(t.select().with_only_columns(t.c.line_id).where(
            t.c.line_id.in_(line_ids[start:start + _IN_CHUNK])))).scalars())
    return found
