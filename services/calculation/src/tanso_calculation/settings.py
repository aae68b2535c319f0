"""Settings of the calculation service (env prefix ``TANSO_CALCULATION_``)."""

from tanso_runtime.settings import service_settings

Settings = service_settings("calculation", 8004)
