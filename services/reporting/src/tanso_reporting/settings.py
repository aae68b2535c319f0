"""Settings of the reporting service (env prefix ``TANSO_REPORTING_``)."""

from tanso_runtime.settings import service_settings

Settings = service_settings("reporting", 8006)
