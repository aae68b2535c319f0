"""Decimal helpers for amounts and emissions: no floats, explicit rounding, plain formatting."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

__all__ = ["format_decimal", "quantize_t", "to_decimal"]


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Convert ``value`` (Decimal, int or numeric str) to a finite Decimal.

    Floats are refused with ``TypeError`` because their binary value is not the decimal the
    user typed (``0.1`` is 0.1000000000000000055…); bools are refused too. Non-numeric
    strings and non-finite values (NaN, Infinity) raise ``ValueError``.
    """
    if isinstance(value, float):
        raise TypeError("pass amounts as str or Decimal, not float")
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise TypeError(f"pass amounts as str or Decimal, not {type(value).__name__}")
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number (write e.g. '27.5')") from None
    else:
        result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"amount must be a finite number, got {value!r}")
    return result


def quantize_t(value: Decimal | int | str, places: int = 6) -> Decimal:
    """Round to ``places`` decimal places (default 6: grams when the amount is in tonnes).

    Uses ROUND_HALF_EVEN (banker's rounding: ties go to the even digit, so 0.0000125 → 0.000012
    and 0.0000135 → 0.000014), which avoids an upward bias when many rounded values are summed.
    """
    number = to_decimal(value)
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        raise ValueError(f"places must be a non-negative int, got {places!r}")
    with localcontext() as ctx:
        ctx.prec = max(28, number.adjusted() + places + 2)
        return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def format_decimal(value: Decimal | int | str) -> str:
    """Canonical plain string: no exponent, no trailing fractional zeros, ``0`` not ``-0``.

    ``format_decimal(Decimal("1.000E+6")) == "1000000"``; ``format_decimal("27.50") == "27.5"``.
    """
    number = to_decimal(value)
    if number.is_zero():
        return "0"
    with localcontext() as ctx:
        ctx.prec = max(28, len(number.as_tuple().digits))
        return format(number.normalize(), "f")
