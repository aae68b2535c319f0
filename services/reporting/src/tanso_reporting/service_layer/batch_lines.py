"""Set-based reporting of new emission lines: an import's backlog reaching reporting.

The consumer hands a run of consecutive ``EmissionCalculated`` events to
:func:`.handlers.on_emissions_calculated`. A line reported for the first time gets the rows the
per-event path writes — the ``LineReported`` event and its ``report_lines`` row — in bulk
(:func:`tanso_runtime.bulk.insert_all`), and its figure is added to its total once per total and
run instead of once per line (Decimal sums are exact, so the totals are the same). A line already
reported goes through :func:`.handlers.on_emission_calculated` in its place, after the rows built so
far are written.
"""

from __future__ import annotations

from decimal import Decimal

from tanso_events import catalog
from tanso_events.envelope import EnvelopeMeta
from tanso_events.store import present
from tanso_events.unit_of_work import UnitOfWork
from tanso_runtime.bulk import insert_all

from ..adapters import tables
from ..adapters.projections import PROJECTIONS, add_to_total, analysis, line_row, total_key
from ..domain.events import LineReported

if [p for p in PROJECTIONS if "LineReported" in p.handlers] != [analysis]:
    raise RuntimeError("another projection handles LineReported: teach batch_lines.py its rows")


class NewLines:
    """The rows of the new lines handled so far, written together by :meth:`write`."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.events: list[dict] = []
        self.lines: list[dict] = []
        self.totals: dict[tuple, dict] = {}  # (tenant, total key) -> {"line", "amount", "count"}

    def add(self, event: catalog.EmissionCalculated, meta: EnvelopeMeta) -> None:
        """Queue the rows of a line reported for the first time."""
        fact = LineReported(source_event_id=meta.id, **event.model_dump(
            include=set(LineReported.model_fields) - {"source_event_id"}))
        row = self.uow.event_row(f"line-{event.line_id}", 1, meta.tenant_id, fact, causation_id=meta.id)
        self.events.append(row)
        data = row["data"]
        self.lines.append(line_row(meta.tenant_id, data))
        if data["status"] == "calculated":
            total = self.totals.setdefault((meta.tenant_id, total_key(data)),
                                           {"line": data, "amount": Decimal(0), "count": 0})
            total["amount"] += Decimal(data["co2e_t"])
            total["count"] += 1

    async def write(self) -> None:
        """Write the queued rows and add the queued figures to their totals."""
        if not self.events:
            return
        await insert_all(self.uow.conn, [(tables.messaging.events, self.events), (tables.report_lines, self.lines)])
        # in key order: two processes lock shared totals in the same order (no deadlock)
        for (tenant_id, _), total in sorted(self.totals.items(), key=lambda kv: (kv[0][0], repr(kv[0][1]))):
            await add_to_total(self.uow.conn, tenant_id, total["line"], total["amount"], total["count"])
        self.events, self.lines, self.totals = [], [], {}


async def reported_lines(uow: UnitOfWork, line_ids: list[str]) -> set[str]:
    """Which of ``line_ids`` have a report line already, in any tenant (the event stream is per line id)."""
    return await present(uow.conn, tables.report_lines.c.line_id, line_ids)
