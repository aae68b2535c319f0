from decimal import Decimal

import pytest
from tanso_ghg.units import (
    UnitMismatchError,
    UnknownUnitError,
    accepted_units,
    conversion_factor,
    emission_to_tonnes,
    normalise_unit,
    parse_factor_unit,
    registry,
)


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("L", "kL", "0.001"),
        ("kL", "L", "1000"),
        ("MWh", "kWh", "1000"),
        ("千kWh", "MWh", "1"),
        ("kWh", "GJ", "0.0036"),
        ("GJ", "MJ", "1000"),
        ("千m3", "m3", "1000"),
        ("m3", "L", "1000"),
        ("千Nm3", "Nm3", "1000"),
        ("百万円", "円", "1000000"),
        ("千円", "百万円", "0.001"),
        ("kg", "t", "0.001"),
        ("kg-CO2", "t-CO2", "0.001"),
        ("t-CO2", "t-CO2e", "1"),
        ("kL", "kL", "1"),
    ],
)
def test_conversion_factor_is_the_exact_decimal_multiplier(source, target, expected):
    factor = conversion_factor(source, target)
    assert isinstance(factor, Decimal)
    assert str(factor) == expected


def test_one_litre_is_exactly_one_thousandth_of_a_kilolitre():
    assert conversion_factor("L", "kL") == Decimal("0.001")
    assert Decimal(1234) * conversion_factor("L", "kL") == Decimal("1.234")


def test_converting_electricity_to_a_fuel_volume_is_a_mismatch_naming_both_units():
    with pytest.raises(UnitMismatchError) as info:
        conversion_factor("kWh", "kL")
    message = str(info.value)
    assert "'kWh'" in message and "'kL'" in message
    assert "energy" in message and "volume" in message
    assert isinstance(info.value, ValueError)


def test_normal_cubic_metres_are_never_silently_equated_with_cubic_metres():
    with pytest.raises(UnitMismatchError, match="temperature/pressure"):
        conversion_factor("千Nm3", "千m3")
    with pytest.raises(UnitMismatchError):
        conversion_factor("m3", "Nm3")


def test_person_years_and_person_days_do_not_convert():
    with pytest.raises(UnitMismatchError):
        conversion_factor("人・年", "人・日")


def test_unknown_unit_names_the_unit_and_lists_accepted_ones():
    with pytest.raises(UnknownUnitError) as info:
        conversion_factor("gallon", "kL")
    assert "'gallon'" in str(info.value)
    assert "千Nm3" in str(info.value) and "kWh" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("kl", "kL"),
        ("KL", "kL"),
        ("㎘", "kL"),
        ("千m³", "千m3"),
        ("千 m3", "千m3"),
        ("m^3", "m3"),
        ("m**3", "m3"),
        ("ｋＷｈ", "kWh"),
        ("千ｋＷｈ", "千kWh"),
        ("千nm3", "千Nm3"),
        ("l", "L"),
        ("tCO2", "t-CO2"),
        ("t−CO2", "t-CO2"),
        ("t-CO2eq", "t-CO2e"),
        ("t-km", "tkm"),
        ("人･年", "人・年"),
        ("m2・年", "m²・年"),
        ("kg-co2/kwh", "kg-CO2/kWh"),
        ("t-CO2eq/百万円", "t-CO2e/百万円"),
    ],
)
def test_normalise_unit_accepts_common_spellings(text, canonical):
    assert normalise_unit(text) == canonical


def test_every_accepted_unit_is_its_own_canonical_spelling():
    for unit in accepted_units():
        assert normalise_unit(unit) == unit
        assert conversion_factor(unit, unit) == 1


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("t-CO2/kL", ("t-CO2", "kL")),
        ("t-CO2/千m3", ("t-CO2", "千m3")),
        ("t-CO2/kWh", ("t-CO2", "kWh")),
        ("kg-CO2/円", ("kg-CO2", "円")),
        ("t-CO2e/百万円", ("t-CO2e", "百万円")),
        ("kg-CO2/泊", ("kg-CO2", "泊")),
        ("t-CO2/人・年", ("t-CO2", "人・年")),
    ],
)
def test_parse_factor_unit_splits_emission_and_activity_units(unit, expected):
    assert parse_factor_unit(unit) == expected


@pytest.mark.parametrize("unit", ["kL", "kWh/kL", "t-CO2/t-CO2", "t-CO2/kL/h", "t-CO2/gallon"])
def test_parse_factor_unit_rejects_strings_that_are_not_emission_per_activity(unit):
    with pytest.raises(UnknownUnitError):
        parse_factor_unit(unit)


def test_emission_units_convert_to_tonnes():
    assert emission_to_tonnes("kg-CO2") == Decimal("0.001")
    assert emission_to_tonnes("t-CO2") == Decimal(1)
    assert emission_to_tonnes("kg-CO2e") == Decimal("0.001")
    with pytest.raises(UnitMismatchError):
        emission_to_tonnes("kWh")


def test_registry_is_a_lazily_built_singleton_with_decimal_magnitudes():
    reg = registry()
    assert reg is registry()
    quantity = reg.Quantity(Decimal(2), "thousand_cubic_meter").to("meter ** 3")
    assert quantity.magnitude == Decimal(2000)
