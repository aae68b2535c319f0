"""tanso_ghg: GHG domain primitives shared by services (units, fiscal years, Decimal amounts)."""

from tanso_ghg.amounts import format_decimal, quantize_t, to_decimal
from tanso_ghg.fiscal import fiscal_year_months, fiscal_year_of
from tanso_ghg.units import (
    UnitError,
    UnitMismatchError,
    UnknownUnitError,
    accepted_units,
    conversion_factor,
    emission_to_tonnes,
    normalise_unit,
    parse_factor_unit,
    registry,
)

__all__ = [
    "UnitError",
    "UnitMismatchError",
    "UnknownUnitError",
    "accepted_units",
    "conversion_factor",
    "emission_to_tonnes",
    "fiscal_year_months",
    "fiscal_year_of",
    "format_decimal",
    "normalise_unit",
    "parse_factor_unit",
    "quantize_t",
    "registry",
    "to_decimal",
]
