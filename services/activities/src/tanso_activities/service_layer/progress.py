"""Progress of the CSV imports this process is running or has just run (in memory, per process).

An import runs inside its ``POST /imports`` request and one database transaction, so its progress
cannot be read from the database by anyone else until it commits. The request updates an
:class:`ImportProgress` here instead; ``GET /imports/{id}`` and ``GET /imports`` read it while the
upload is still running (the client may choose the id with ``?import_id=``). Finished entries are
kept for the last ``keep`` imports; completed imports are also in the ``csv_imports`` table.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

STATUSES = ("receiving", "validating", "writing", "completed", "duplicate", "validated", "rejected", "failed")


@dataclass
class ImportProgress:
    import_id: str
    tenant_id: str
    filename: str | None = None
    dry_run: bool = False
    file_sha256: str | None = None
    status: str = "receiving"
    bytes_received: int = 0
    rows_validated: int = 0
    rows_to_write: int | None = None
    rows_written: int = 0
    error_count: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    def finish(self, status: str) -> None:
        self.status, self.finished_at = status, datetime.now(UTC)

    @property
    def running(self) -> bool:
        return self.finished_at is None

    def view(self) -> dict:
        out = asdict(self)
        out.pop("tenant_id")
        for key in ("started_at", "finished_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


class ProgressBoard:
    def __init__(self, keep: int = 200) -> None:
        self.keep = keep
        self._items: OrderedDict[str, ImportProgress] = OrderedDict()

    def start(self, progress: ImportProgress) -> ImportProgress:
        self._items[progress.import_id] = progress
        finished = [k for k, p in self._items.items() if not p.running]
        for key in finished[: max(0, len(self._items) - self.keep)]:
            del self._items[key]
        return progress

    def __contains__(self, import_id: str) -> bool:
        return import_id in self._items

    def get(self, tenant_id: str, import_id: str) -> ImportProgress | None:
        found = self._items.get(import_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    def same_file_running(self, progress: ImportProgress) -> ImportProgress | None:
        """Another import of the same tenant and file that is still running, if any."""
        return next((p for p in self._items.values() if p is not progress and p.running and not p.dry_run
                     and p.tenant_id == progress.tenant_id and p.file_sha256 == progress.file_sha256), None)

    def of_tenant(self, tenant_id: str) -> list[ImportProgress]:
        return [p for p in reversed(self._items.values()) if p.tenant_id == tenant_id]
