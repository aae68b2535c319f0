"""The activity CSV format: columns, bilingual headers and how one cell is read or written.

Decisions (also in the template endpoint's description):

* Header cells may be ``拠点ID/org_unit_id`` (the template), ``拠点ID`` or ``org_unit_id``; order is
  free, unknown or repeated columns are errors. ``拠点名`` and ``項目名`` are reference columns for
  the person filling the file: they are ignored on import (never stored, so never checked).
* Keys (site id, item code, unit) are matched after NFKC, dash/wave-dash unification and case
  folding: CP932 round trips turn 〜 into ～ and − into －, full-width input is common.
* Amounts are plain decimals ≥ 0. ``1,200`` and ``1,200.5`` (Excel's thousands separators, quoted
  in the CSV) are accepted; ``1.200,5``, ``1,20``, exponents (``1.2E+07``), signs and currency
  symbols are rejected. Full-width digits are accepted.
* Months: ``2025-04`` and the forms Excel writes for it (``2025/4``, ``2025/4/1``, ``2025年4月``,
  ``202504``, ``Apr-25``) become ``2025-04``; a date other than the 1st is rejected.
* A cell that starts with = + - @ (or TAB, CR, NUL, or their full-width forms) is rejected on import
  as a possible formula; on export such cells get a leading ``'`` (OWASP ASVS 1.2.10).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Column:
    key: str
    ja: str
    imported: bool = True

    @property
    def header(self) -> str:
        return f"{self.ja}/{self.key}"


COLUMNS: tuple[Column, ...] = (
    Column("org_unit_id", "拠点ID"),
    Column("org_unit_name", "拠点名", imported=False),
    Column("item_code", "項目コード"),
    Column("item_name", "項目名", imported=False),
    Column("period", "年月"),
    Column("amount", "数量"),
    Column("unit", "単位"),
    Column("note", "備考"),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED = ("org_unit_id", "item_code", "period", "amount", "unit")
FORMULA_START = frozenset("=+-@\t\r\0＝＋－＠−")
_EXPORT_ESCAPE = frozenset("=+-@\t\r\0")

_UNIFY = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"} | {"\u301c": "~"})


def normalise_key(text: str) -> str:
    """Matching form of a key: NFKC, one dash and one wave dash, no surrounding space, case folded."""
    return unicodedata.normalize("NFKC", text).translate(_UNIFY).strip().casefold()


def _header_aliases() -> dict[str, str]:
    aliases = {}
    for c in COLUMNS:
        for spelling in (c.key, c.ja, c.header, f"{c.key}/{c.ja}"):
            aliases[normalise_key(spelling).replace(" ", "")] = c.key
    return aliases


_HEADERS = _header_aliases()


def column_of(header_cell: str) -> str | None:
    """The column key a header cell names, or None."""
    return _HEADERS.get(normalise_key(header_cell.lstrip("\ufeff")).replace(" ", ""))


def is_formula(cell: str) -> bool:
    return bool(cell) and (cell[0] in FORMULA_START or cell.lstrip(" \u3000")[:1] in FORMULA_START)


def escape_cell(value: str) -> str:
    """Export: a cell a spreadsheet would run as a formula gets a leading single quote."""
    return "'" + value if value and value[0] in _EXPORT_ESCAPE else value


PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_NUMBERISH = re.compile(r"[0-9.,]+")


def parse_amount(cell: str) -> Decimal | str:
    """The amount of a non-blank cell, or the code of the reason it was refused."""
    if PLAIN_NUMBER.fullmatch(cell):
        return Decimal(cell)
    text = unicodedata.normalize("NFKC", cell).strip()
    if PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)
    if _GROUPED.fullmatch(text):
        return Decimal(text.replace(",", ""))
    if "," in text and _NUMBERISH.fullmatch(text):
        return "ambiguous_amount"
    return "bad_amount"


_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_PERIOD_FORMS = (
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})(?:[-/.](?P<d>\d{1,2}))?"),
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})日)?"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})"),
    re.compile(r"(?P<mon>[a-z]{3})-(?P<yy>\d{2})"),
)


def parse_period(cell: str) -> str | None:
    """``YYYY-MM`` of a month cell, or None when it is not a month."""
    text = unicodedata.normalize("NFKC", cell).strip().casefold()
    for form in _PERIOD_FORMS:
        match = form.fullmatch(text)
        if match is None:
            continue
        parts = match.groupdict()
        if parts.get("mon"):
            year, month = 2000 + int(parts["yy"]), _MONTHS.get(parts["mon"], 0)
        else:
            year, month = int(parts["y"]), int(parts["m"])
        if parts.get("d") and int(parts["d"]) != 1:
            return None
        return f"{year:04d}-{month:02d}" if 1 <= month <= 12 and 1900 <= year <= 2999 else None
    return None
