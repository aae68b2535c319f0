"""The CsvImport aggregate: one accepted file, recorded once per tenant (stream ``import-<id>``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tanso_events.unit_of_work import DomainEvent

from .model import DomainRuleViolated


class ActivitiesImported(DomainEvent):
    """A CSV file's rows were recorded as activities (their ``ActivityRecorded`` events follow it)."""

    import_id: str
    file_sha256: str
    filename: str | None = None
    encoding: str
    row_count: int
    skipped_rows: int
    fiscal_years: list[int]
    imported_by: str
    imported_at: datetime


@dataclass
class CsvImport:
    import_id: str
    completed: ActivitiesImported | None = None

    @classmethod
    def from_events(cls, import_id: str, events: list[DomainEvent]) -> CsvImport:
        found = cls(import_id)
        for event in events:
            if isinstance(event, ActivitiesImported):
                found.completed = event
        return found

    def complete(self, *, file_sha256: str, filename: str | None, encoding: str, row_count: int,
                 skipped_rows: int, fiscal_years: list[int], imported_by: str,
                 imported_at: datetime) -> ActivitiesImported:
        if self.completed is not None:
            raise DomainRuleViolated(f"import {self.import_id} is already recorded",
                                     f"取込 {self.import_id} は既に記録されています")
        if row_count < 1:
            raise DomainRuleViolated("the file has no row with an amount; fill in the amount column",
                                     "数量が入力された行がありません。数量の列を入力してください")
        self.completed = ActivitiesImported(
            import_id=self.import_id, file_sha256=file_sha256, filename=filename, encoding=encoding,
            row_count=row_count, skipped_rows=skipped_rows, fiscal_years=sorted(set(fiscal_years)),
            imported_by=imported_by, imported_at=imported_at)
        return self.completed
