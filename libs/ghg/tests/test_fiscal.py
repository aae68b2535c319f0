from datetime import date

import pytest
from tanso_ghg.fiscal import fiscal_year_months, fiscal_year_of


@pytest.mark.parametrize(
    ("period", "fy"),
    [("2025-04", 2025), ("2025-12", 2025), ("2026-01", 2025), ("2026-03", 2025), ("2026-04", 2026)],
)
def test_april_start_fiscal_year_runs_from_april_to_next_march(period, fy):
    assert fiscal_year_of(period) == fy


def test_january_start_fiscal_year_is_the_calendar_year():
    assert fiscal_year_of("2026-03", start_month=1) == 2026
    assert fiscal_year_of(date(2025, 1, 1), start_month=1) == 2025
    assert fiscal_year_of(date(2025, 12, 31), start_month=1) == 2025


def test_dates_are_accepted_as_periods():
    assert fiscal_year_of(date(2026, 3, 31)) == 2025
    assert fiscal_year_of(date(2026, 4, 1)) == 2026


def test_fiscal_year_months_lists_twelve_months_from_the_start_month():
    months = fiscal_year_months(2025)
    assert months[0] == "2025-04" and months[-1] == "2026-03" and len(months) == 12
    assert fiscal_year_months(2025, start_month=1) == [f"2025-{m:02d}" for m in range(1, 13)]
    assert fiscal_year_months(2025, start_month=10)[3] == "2026-01"


def test_every_month_of_a_fiscal_year_maps_back_to_that_year():
    for start in range(1, 13):
        assert {fiscal_year_of(m, start) for m in fiscal_year_months(2030, start)} == {2030}


@pytest.mark.parametrize("start_month", [0, 13, -1])
def test_start_month_outside_1_to_12_is_rejected(start_month):
    with pytest.raises(ValueError, match="between 1 and 12"):
        fiscal_year_of("2025-04", start_month)
    with pytest.raises(ValueError, match="between 1 and 12"):
        fiscal_year_months(2025, start_month)


@pytest.mark.parametrize("period", ["2025-13", "2025-00"])
def test_period_month_outside_1_to_12_is_rejected(period):
    with pytest.raises(ValueError, match="between 1 and 12"):
        fiscal_year_of(period)


@pytest.mark.parametrize("period", ["2025/04", "2025-4", "202504", ""])
def test_malformed_period_string_is_rejected(period):
    with pytest.raises(ValueError, match="YYYY-MM"):
        fiscal_year_of(period)
