from decimal import Decimal

import pytest
from tanso_ghg.amounts import format_decimal, quantize_t, to_decimal


def test_to_decimal_accepts_str_int_and_decimal():
    assert to_decimal("2.75") == Decimal("2.75")
    assert to_decimal(" 10 ") == Decimal(10)
    assert to_decimal(10) == Decimal(10)
    assert to_decimal(Decimal("0.000416")) == Decimal("0.000416")


def test_to_decimal_refuses_floats():
    with pytest.raises(TypeError, match="pass amounts as str or Decimal, not float"):
        to_decimal(2.75)


def test_to_decimal_refuses_bools_and_other_types():
    with pytest.raises(TypeError):
        to_decimal(True)
    with pytest.raises(TypeError):
        to_decimal(None)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "sNaN", Decimal("NaN")])
def test_to_decimal_refuses_non_finite_values(value):
    with pytest.raises(ValueError, match="finite"):
        to_decimal(value)


@pytest.mark.parametrize("value", ["abc", "1,234", "2.75.1", ""])
def test_to_decimal_refuses_non_numeric_strings(value):
    with pytest.raises(ValueError):
        to_decimal(value)


def test_quantize_t_rounds_half_to_even_at_six_places():
    assert quantize_t("0.0000125") == Decimal("0.000012")
    assert quantize_t("0.0000135") == Decimal("0.000014")
    assert quantize_t("27.5") == Decimal("27.500000")
    assert quantize_t("2.25", places=1) == Decimal("2.2")
    assert quantize_t("123456789012345678901234567890.5", places=0) == Decimal(
        123456789012345678901234567890
    )


def test_format_decimal_writes_plain_canonical_strings():
    assert format_decimal(Decimal("1.000E+6")) == "1000000"
    assert format_decimal("27.50") == "27.5"
    assert format_decimal(Decimal("1E-7")) == "0.0000001"
    assert format_decimal("-0.000") == "0"
    assert format_decimal(Decimal("0.000416")) == "0.000416"
