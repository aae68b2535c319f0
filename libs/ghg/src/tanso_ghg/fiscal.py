"""Fiscal years, Japanese convention: a fiscal year is named after the calendar year it starts in.

With the usual April start, FY2025 runs from 2025-04 to 2026-03; with a January start the fiscal
year equals the calendar year.
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["fiscal_year_months", "fiscal_year_of"]

_PERIOD = re.compile(r"(\d{4})-(\d{2})")


def _check_month(month: object, what: str) -> int:
    if isinstance(month, bool) or not isinstance(month, int):
        raise TypeError(f"{what} must be an int, not {type(month).__name__}")
    if not 1 <= month <= 12:
        raise ValueError(f"{what} must be between 1 and 12, got {month}")
    return month


def fiscal_year_of(period: date | str, start_month: int = 4) -> int:
    """Fiscal year containing ``period`` (a ``date`` or a "YYYY-MM" string).

    ``fiscal_year_of("2026-03") == 2025`` and ``fiscal_year_of("2026-03", start_month=1) == 2026``.
    """
    _check_month(start_month, "start_month")
    if isinstance(period, date):
        year, month = period.year, period.month
    elif isinstance(period, str):
        match = _PERIOD.fullmatch(period.strip())
        if match is None:
            raise ValueError(f"period must look like 'YYYY-MM' (e.g. '2025-04'), got {period!r}")
        year, month = int(match[1]), _check_month(int(match[2]), f"month in {period!r}")
    else:
        raise TypeError(f"period must be a date or a 'YYYY-MM' str, not {type(period).__name__}")
    return year if month >= start_month else year - 1


def fiscal_year_months(fy: int, start_month: int = 4) -> list[str]:
    """The twelve "YYYY-MM" months of fiscal year ``fy``, in order."""
    _check_month(start_month, "start_month")
    if isinstance(fy, bool) or not isinstance(fy, int) or not 1 <= fy <= 9998:
        raise ValueError(f"fiscal year must be an int between 1 and 9998, got {fy!r}")
    months = []
    for offset in range(12):
        index = start_month - 1 + offset
        months.append(f"{fy + index // 12:04d}-{index % 12 + 1:02d}")
    return months
