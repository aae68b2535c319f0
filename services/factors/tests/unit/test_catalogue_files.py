import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from tanso_factors.domain.catalogue_files import (
    COLUMNS,
    DATA_ROOT,
    LEGACY_COLUMNS,
    CatalogueFileError,
    iter_editions,
    load_edition,
)

CURRENT_FUELS = DATA_ROOT / "jp-shk-fuels" / "R6-2024"
PREVIOUS_FUELS = DATA_ROOT / "jp-shk-fuels" / "H22-2010"
#: The header written before scope3_category existed: the shipped SHK files still use it.
HEADER = ",".join(LEGACY_COLUMNS)
GOOD_ROW = "x.fuel.a,A重油,Heavy fuel oil A,fuel,1,kL,2.75,t-CO2/kL,CO2,38.9,0.0193,VERIFIED,S1,"
NEW_HEADER = ",".join(COLUMNS)
SCOPE3_ROW = "x.s3.air,旅客航空機（国内線）,Domestic air,scope3,3,6,円,0.005250,kg-CO2/円,CO2,,,VERIFIED,S20,"


def _editions():
    return {(e.source_id, e.edition): e for e in iter_editions()}


def _edition_with(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    folder = tmp_path / "edition"
    folder.mkdir()
    shutil.copy(CURRENT_FUELS / "meta.toml", folder / "meta.toml")
    (folder / "factors.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


def test_every_shipped_edition_loads_and_is_sorted():
    editions = list(iter_editions())
    assert {(e.source_id, e.edition) for e in editions} >= {
        ("jp-shk-fuels", "R6-2024"),
        ("jp-shk-fuels", "H22-2010"),
        ("jp-electricity-shk-defaults", "R6-actual"),
        ("jp-electricity-suppliers", "R6-actual"),
        ("jp-city-gas-suppliers", "R7-supply"),
        ("jp-heat-suppliers", "R6-supply"),
    }
    keys = [(e.source_id, e.valid_from_fy, e.edition) for e in editions]
    assert keys == sorted(keys)
    assert all(e.rows and len(e.content_sha256) == 64 for e in editions)


def test_golden_values_are_exactly_as_printed_in_the_sources():
    editions = _editions()
    current = editions["jp-shk-fuels", "R6-2024"]
    previous = editions["jp-shk-fuels", "H22-2010"]
    assert current.row("shk.fuel.a_heavy_oil").value == Decimal("2.75")
    assert current.row("shk.fuel.a_heavy_oil").value_unit == "t-CO2/kL"
    assert previous.row("shk.fuel.a_heavy_oil").value == Decimal("2.71")
    city_gas = current.row("shk.fuel.city_gas")
    assert (city_gas.value, city_gas.value_unit, city_gas.category) == (
        Decimal("2.05"),
        "t-CO2/千m3",
        "city_gas",
    )
    substitute = editions["jp-electricity-shk-defaults", "R6-actual"].row(
        "shk.electricity.substitute"
    )
    assert (str(substitute.value), substitute.value_unit, substitute.scope) == (
        "0.000416",
        "t-CO2/kWh",
        2,
    )
    tepco = editions["jp-electricity-suppliers", "R6-actual"].row(
        "jp.electricity.tepco_ep.residual.basic"
    )
    assert tepco.value == Decimal("0.000452") and tepco.status == "VERIFIED"
    assert str(current.row("shk.fuel.kerosene").value) == "2.50"


def test_ten_kilolitres_of_a_heavy_oil_emit_exactly_27_5_tonnes():
    factor = load_edition(CURRENT_FUELS).row("shk.fuel.a_heavy_oil").value
    assert Decimal(10) * factor == Decimal("27.5")


def test_editions_cover_the_fiscal_years_of_their_rules():
    editions = _editions()
    current, previous = editions["jp-shk-fuels", "R6-2024"], editions["jp-shk-fuels", "H22-2010"]
    assert current.applies_to(2023) and current.applies_to(2030) and not current.applies_to(2022)
    assert previous.applies_to(2022) and not previous.applies_to(2023)
    electricity = editions["jp-electricity-suppliers", "R6-actual"]
    assert (electricity.valid_from_fy, electricity.valid_to_fy) == (2025, 2025)


def test_statuses_are_preserved_including_the_unverified_old_city_gas_heat_value():
    previous = load_edition(PREVIOUS_FUELS)
    city_gas = previous.row("shk.fuel.city_gas")
    assert city_gas.activity_unit == "千Nm3" and city_gas.value == Decimal("2.23")
    assert city_gas.heat_value_gj_per_unit == Decimal("44.8")
    assert "UNVERIFIED" in city_gas.note
    assert previous.row("shk.fuel.lng").status == "DERIVED"
    current = load_edition(CURRENT_FUELS)
    assert current.row("shk.fuel.converter_gas").status == "SECONDARY"
    kansai = _editions()["jp-electricity-suppliers", "R6-actual"].row(
        "jp.electricity.kansai_ep.residual.adjusted"
    )
    assert kansai.status == "SECONDARY"


def test_every_row_unit_parses_and_matches_its_activity_unit():
    for edition in iter_editions():
        for row in edition.rows:
            assert row.value_unit == f"{row.emission_unit}/{row.activity_unit}"


def test_rereading_the_same_files_gives_the_same_hash(tmp_path):
    first = load_edition(CURRENT_FUELS)
    copy = tmp_path / "copy"
    shutil.copytree(CURRENT_FUELS, copy)
    assert (
        load_edition(copy).content_sha256
        == first.content_sha256
        == load_edition(CURRENT_FUELS).content_sha256
    )
    text = (copy / "factors.csv").read_text(encoding="utf-8").replace("2.75", "2.76")
    (copy / "factors.csv").write_text(text, encoding="utf-8")
    assert load_edition(copy).content_sha256 != first.content_sha256


def test_a_malformed_value_names_the_file_row_and_column(tmp_path):
    bad = GOOD_ROW.replace("x.fuel.a", "x.fuel.b").replace(",2.75,", ",2.75e0,")
    folder = _edition_with(tmp_path, GOOD_ROW, bad)
    with pytest.raises(CatalogueFileError) as info:
        load_edition(folder)
    message = str(info.value)
    assert "factors.csv" in message and "row 2" in message and "line 3" in message
    assert "column 'value'" in message and "plain decimal" in message


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (GOOD_ROW.replace("VERIFIED", "CHECKED"), "status"),
        (GOOD_ROW.replace(",2.75,", ",,"), "value"),
        (GOOD_ROW.replace(",2.75,", ",nan,"), "value"),
        (GOOD_ROW.replace("t-CO2/kL", "t-CO2/gallon"), "value_unit"),
        (GOOD_ROW.replace("t-CO2/kL", "t-CO2/kWh"), "value_unit"),
        (GOOD_ROW.replace(",kL,", ",kl,"), "activity_unit"),
        (GOOD_ROW.replace(",fuel,", ",water,"), "category"),
        (GOOD_ROW.replace(",38.9,", ",38.9 GJ,"), "heat_value_gj_per_unit"),
        (GOOD_ROW.rstrip(","), "note"),
    ],
)
def test_invalid_cells_are_rejected_with_their_column(tmp_path, row, column):
    with pytest.raises(CatalogueFileError, match=f"row 1 \\(line 2\\), column '{column}'"):
        load_edition(_edition_with(tmp_path, row))


def test_duplicate_codes_are_rejected(tmp_path):
    with pytest.raises(CatalogueFileError, match="row 2 .*duplicate code 'x.fuel.a'"):
        load_edition(_edition_with(tmp_path, GOOD_ROW, GOOD_ROW))


def test_unknown_columns_are_rejected(tmp_path):
    folder = _edition_with(tmp_path, GOOD_ROW + ",extra", header=HEADER + ",comment")
    with pytest.raises(CatalogueFileError, match="unknown columns: comment"):
        load_edition(folder)


def test_meta_toml_is_validated(tmp_path):
    folder = _edition_with(tmp_path, GOOD_ROW)
    meta = folder / "meta.toml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace("valid_from_fy = 2023", 'valid_from_fy = "2023"'),
        encoding="utf-8",
    )
    with pytest.raises(CatalogueFileError, match="meta.toml, key 'valid_from_fy'"):
        load_edition(folder)


def test_data_files_are_inside_the_package():
    from importlib import resources

    data = resources.files("tanso_factors") / "data" / "jp-shk-fuels" / "R6-2024" / "factors.csv"
    assert data.read_text(encoding="utf-8").startswith(HEADER)


def test_the_new_header_has_an_optional_scope3_category(tmp_path):
    empty = SCOPE3_ROW.replace("x.s3.air", "x.s3.other").replace(",3,6,", ",3,,")
    edition = load_edition(_edition_with(tmp_path, SCOPE3_ROW, empty, header=NEW_HEADER))

    assert edition.row("x.s3.air").scope3_category == 6 and edition.row("x.s3.air").scope == 3
    assert edition.row("x.s3.other").scope3_category is None
    assert edition.row("x.s3.air").value == Decimal("0.005250")


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (SCOPE3_ROW.replace(",3,6,", ",3,16,"), "scope3_category"),
        (SCOPE3_ROW.replace(",3,6,", ",3,six,"), "scope3_category"),
        (SCOPE3_ROW.replace(",3,6,", ",2,6,"), "scope3_category"),
        (SCOPE3_ROW.replace(",3,6,", ",4,6,"), "scope"),
        (SCOPE3_ROW.replace(",3,6,", ",,6,"), "scope"),
        (SCOPE3_ROW.replace("kg-CO2/円", "kg-CO2/千円"), "value_unit"),
    ],
)
def test_scope3_cells_are_checked(tmp_path, row, column):
    with pytest.raises(CatalogueFileError, match=f"row 1 \\(line 2\\), column '{column}'"):
        load_edition(_edition_with(tmp_path, row, header=NEW_HEADER))


def test_legacy_and_new_headers_give_the_same_rows(tmp_path):
    legacy = load_edition(_edition_with(tmp_path, GOOD_ROW))
    (tmp_path / "new").mkdir()
    new_folder = _edition_with(tmp_path / "new", GOOD_ROW.replace(",fuel,1,", ",fuel,1,,"), header=NEW_HEADER)
    assert load_edition(new_folder).rows == legacy.rows
