"""Cell rules of the activity CSV: headers, months as Excel writes them, numbers, formulas, key matching."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tanso_activities.domain.csv_format import (
    column_of,
    escape_cell,
    is_formula,
    normalise_key,
    parse_amount,
    parse_period,
)
from tanso_activities.domain.csv_rows import decode


@pytest.mark.parametrize("cell, key", [("拠点ID/org_unit_id", "org_unit_id"), ("\ufeff拠点ID", "org_unit_id"),
                                       ("Amount", "amount"), ("数量 / amount", "amount"), ("単位", "unit"),
                                       ("備考/note", "note"), ("拠点名/org_unit_name", "org_unit_name"),
                                       ("colour", None)])
def test_header_cells_in_japanese_english_or_both(cell, key):
    assert column_of(cell) == key


@pytest.mark.parametrize("cell", ["2025-04", "2025-4", "2025/04", "2025/4", "2025/4/1", "2025-04-01",
                                  "2025年4月", "2025年04月", "202504", "Apr-25", "２０２５－０４", " 2025-04 "])
def test_months_in_the_forms_excel_writes_them(cell):
    assert parse_period(cell) == "2025-04"


@pytest.mark.parametrize("cell", ["2025-13", "2025-00", "2025/4/15", "25-04", "April 2025", "2025", "x"])
def test_not_months(cell):
    assert parse_period(cell) is None


@pytest.mark.parametrize("cell, amount", [("1200", "1200"), ("1,200", "1200"), ("1,234,567.25", "1234567.25"),
                                          ("0.5", "0.5"), ("１，２００", "1200"), ("0", "0"), ("007", "7")])
def test_plain_and_grouped_numbers(cell, amount):
    assert parse_amount(cell) == Decimal(amount)


@pytest.mark.parametrize("cell, code", [("1.200,5", "ambiguous_amount"), ("12,00", "ambiguous_amount"),
                                        ("1e3", "bad_amount"), (".5", "bad_amount"), ("5.", "bad_amount"),
                                        ("Infinity", "bad_amount"), ("1 200", "bad_amount"), ("٣", "bad_amount")])
def test_malformed_or_ambiguous_numbers(cell, code):
    assert parse_amount(cell) == code


def test_formula_cells_are_detected_on_import_and_escaped_on_export():
    for cell in ("=1+1", "+81", "-5", "@SUM(A1)", "\t=1", "\r=1", "\0", " =1", "＝1", "－5"):
        assert is_formula(cell), cell
    for cell in ("東京", "1-2", "", "'=1", "a=b"):
        assert not is_formula(cell), cell
    assert [escape_cell(c) for c in ("=1", "+1", "-1", "@a", "\tx", "\rx", "\0", "ok", "")] == [
        "'=1", "'+1", "'-1", "'@a", "'\tx", "'\rx", "'\0", "ok", ""]


def test_keys_match_across_cp932_round_trips_and_full_width_input():
    assert normalise_key("A〜B−C") == normalise_key("A～B－C") == normalise_key("ａ~ｂ-ｃ") == "a~b-c"
    assert "〜".encode("cp932").decode("cp932") == "～"  # why: CP932 reads 81 60 back as U+FF5E


def test_encodings_are_detected_and_strict_shift_jis_is_not_used():
    text = "拠点,備考\r\nx,髙橋①\r\n"
    assert decode(text.encode("cp932")) == (text, "cp932")
    assert decode(("\ufeff" + text).encode()) == (text, "utf-8-sig")
    assert decode(text.encode()) == (text, "utf-8")
