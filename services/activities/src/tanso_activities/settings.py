"""Settings of the activities service (env prefix ``TANSO_ACTIVITIES_``).

CSV import limits: ``TANSO_ACTIVITIES_CSV__MAX_BYTES=104857600``, ``…__MAX_ROWS``, ``…__MAX_COLUMNS``,
``…__MAX_FIELD_CHARS``, ``…__MAX_REPORTED_ERRORS``, ``…__CHUNK_ROWS``.
"""

from pydantic import BaseModel
from tanso_runtime.settings import service_settings


class CsvSettings(BaseModel):
    max_bytes: int = 100 * 1024 * 1024
    max_rows: int = 1_000_000
    max_columns: int = 20
    #: Longest note (and longest cell) accepted; the web API allows 2,000 characters too.
    max_field_chars: int = 2000
    #: The error report lists this many bad cells at most; ``error_count`` is always exact.
    max_reported_errors: int = 10_000
    #: Rows per bulk write (COPY on PostgreSQL, executemany on SQLite) and per progress step.
    chunk_rows: int = 5000


class Settings(service_settings("activities", 8003, fetch_max_wait_ms=100)):
    csv: CsvSettings = CsvSettings()
