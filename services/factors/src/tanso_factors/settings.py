"""Settings of the factors service (env prefix ``TANSO_FACTORS_``)."""

from pathlib import Path

from pydantic import Field
from tanso_runtime.settings import service_settings


class Settings(service_settings("factors", 8002, fetch_max_wait_ms=100)):
    #: Import the shipped catalogue editions (and ``extra_data_dirs``) when the service starts.
    import_on_start: bool = True
    #: More edition folders (``meta.toml`` + ``factors.csv``) to import, e.g. a corrected official
    #: list; an edition here replaces the shipped one with the same (source_id, edition).
    #: Env: ``TANSO_FACTORS_EXTRA_DATA_DIRS='["/srv/factors"]'``.
    extra_data_dirs: list[Path] = Field(default_factory=list)
    #: Largest tenant factor CSV accepted by ``POST /factors/import`` (413 above it, before reading).
    max_upload_bytes: int = 10 * 1024 * 1024
    #: Most rows in one tenant factor CSV.
    max_upload_rows: int = 20_000
