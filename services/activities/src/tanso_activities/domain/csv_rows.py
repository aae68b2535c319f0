"""Reading an activity CSV: its encoding, its header, and every row checked against the tenant's facts.

Encodings: UTF-8 (with or without BOM) is tried first, then CP932 (Excel's "CSV" on Japanese
Windows; a superset of Shift_JIS with ①, 髙, ㈱ …). Strict ``shift_jis`` is never used: it
rejects those characters. A CP932 file is almost never valid UTF-8, so the order is safe.

Rows whose amount is blank are unfilled template rows: skipped and counted, unless the row has a
note (then it is an error: the amount was probably forgotten). Write 0 to record zero.

Speed: site, item, month and unit cells repeat, so each distinct raw cell is checked once (formula,
blank, lookup) and its outcome cached for the file; amounts take a regex fast path. About 2 µs a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from tanso_ghg.fiscal import fiscal_year_of
from tanso_ghg.items import DEFAULT_ITEMS, ActivityItem

DEFAULT_CODES = frozenset(i.code for i in DEFAULT_ITEMS)
from tanso_ghg.units import UnitError, accepted_units, conversion_factor, normalise_unit

from .csv_errors import CellError, cell_error
from .csv_format import (
    COLUMNS,
    PLAIN_NUMBER,
    REQUIRED,
    column_of,
    is_formula,
    normalise_key,
    parse_amount,
    parse_period,
)

#: One valid row in :class:`~tanso_activities.domain.model.ActivityFacts` field order:
#: (org_unit_id, item_code, period, fiscal_year, amount, unit, note).
Facts = tuple[str, str, str, int, Decimal, str, "str | None"]


class UndecodableFile(ValueError):
    def __init__(self, detail: str, detail_ja: str) -> None:
        super().__init__(detail)
        self.detail_ja = detail_ja


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and encoding name (``utf-8``, ``utf-8-sig`` or ``cp932``)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise UndecodableFile("The file is UTF-16 (Excel's 'Unicode text'); save it as 'CSV UTF-8' instead.",
                              "UTF-16 のファイルは読めません。Excel で「CSV UTF-8」形式で保存してください。")
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data[:3] == b"\xef\xbb\xbf" else "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("cp932"), "cp932"
        except UnicodeDecodeError:
            raise UndecodableFile(
                f"The file is neither UTF-8 nor CP932 (Shift_JIS): byte {utf8_error.start} is invalid. "
                "Save it as 'CSV UTF-8' or 'CSV (comma delimited)'.",
                f"文字コードが UTF-8 でも CP932（Shift_JIS）でもありません（{utf8_error.start} バイト目）。"
                "「CSV UTF-8」または「CSV（コンマ区切り）」で保存してください。") from None


def delimiter_of(text: str) -> str:
    """Comma, unless the header line has tabs and no comma (a TSV saved by mistake)."""
    first = text[:4096].split("\n", 1)[0]
    return "\t" if "\t" in first and "," not in first else ","


def _item_lookup(items: Iterable[ActivityItem]) -> dict[str, ActivityItem]:
    lookup: dict[str, ActivityItem] = {}
    for item in items:
        for spelling in (item.name_en, item.name_ja, item.code):
            lookup[normalise_key(spelling)] = item
    return lookup


_CACHE_LIMIT = 10_000


class RowValidator:
    """Checks rows one by one; keeps valid rows as :data:`Facts` and every error (up to a cap)."""

    def __init__(self, org_unit_ids: Iterable[str], start_month: int, *, max_field_chars: int = 2000,
                 max_columns: int = 20, max_reported_errors: int = 10_000,
                 year_items: Mapping[int, list[ActivityItem]] | None = None) -> None:
        """``year_items``: the tenant's own items per fiscal year; other years use the built-in items."""
        self.org_units = {normalise_key(u): u for u in org_unit_ids}
        self.year_items = {fy: {i.code for i in items} for fy, items in (year_items or {}).items()}
        self.items = _item_lookup([*DEFAULT_ITEMS, *(i for items in (year_items or {}).values() for i in items)])
        self.start_month = start_month
        self.max_field_chars, self.max_columns, self.max_reported = max_field_chars, max_columns, max_reported_errors
        self.rows: list[Facts] = []
        self.errors: list[CellError] = []
        self.error_count = self.bad_rows = self.skipped = 0
        self.width, self._at = 0, [None] * 6
        # raw cell → outcome (value or CellError), per column; units per item code
        self._orgs: dict[str, object] = {}
        self._items: dict[str, object] = {}
        self._periods: dict[str, object] = {}
        self._units: dict[str, dict[str, object]] = {}

    # -- header ---------------------------------------------------------------------------------
    def header(self, cells: list[str]) -> bool:
        if len(cells) > self.max_columns:
            self.fail(cell_error(1, None, None, "too_many_columns", limit=self.max_columns))
            return False
        positions: dict[str, int] = {}
        for i, cell in enumerate(cells):
            key = column_of(cell)
            if key is None and cell.strip():
                self.fail(cell_error(1, None, cell, "unknown_column",
                                     columns=", ".join(c.header for c in COLUMNS)))
            elif key in positions:
                self.fail(cell_error(1, key, cell, "duplicate_column"))
            elif key is not None:
                positions[key] = i
        for key in REQUIRED:
            if key not in positions:
                self.fail(cell_error(1, key, None, "missing_column"))
        self.width = len(cells)
        self._at = [positions.get(k) for k in (*REQUIRED, "note")]
        return not self.error_count

    # -- rows -----------------------------------------------------------------------------------
    def row(self, number: int, cells: list[str]) -> None:
        if len(cells) != self.width:
            if len(cells) < self.width:  # trailing cells left out (e.g. no note): blank
                cells = cells + [""] * (self.width - len(cells))
            else:  # an unquoted 1,200 splits into two cells: never guess which
                self._bad([cell_error(number, None, None, "cell_count", got=len(cells), limit=self.width)])
                return
        i_org, i_item, i_period, i_amount, i_unit, i_note = self._at
        raw_amount, note = cells[i_amount], cells[i_note] if i_note is not None else ""
        if not raw_amount or raw_amount.isspace():
            if note.strip():
                self._bad([cell_error(number, "amount", raw_amount, "note_without_amount")])
            elif any(c.strip() for c in cells):
                self.skipped += 1
            return
        raw = cells[i_org]
        org = self._orgs.get(raw) or self._miss(self._orgs, raw, "org_unit_id", self._org_unit)
        raw = cells[i_item]
        item = self._items.get(raw) or self._miss(self._items, raw, "item_code", self._item)
        raw = cells[i_period]
        period = self._periods.get(raw) or self._miss(self._periods, raw, "period", self._period)
        amount = Decimal(raw_amount) if PLAIN_NUMBER.fullmatch(raw_amount) else _amount(raw_amount)
        unit = None
        if item.__class__ is ActivityItem:
            units, raw = self._units.setdefault(item.code, {}), cells[i_unit]
            unit = units.get(raw) or self._miss(units, raw, "unit", lambda v, it=item: _unit_for(v, it))
        elif is_formula(cells[i_unit]):
            unit = _checked(cells[i_unit], "unit", lambda v: v)
        note_error = None
        if note and is_formula(note):
            note_error = _formula(note, "note")
        elif len(note) > self.max_field_chars:
            note_error = cell_error(0, "note", note, "too_long", limit=self.max_field_chars)
        elif "\0" in note:
            note_error = cell_error(0, "note", note, "nul")
        if item.__class__ is ActivityItem and period.__class__ is tuple and \
                item.code not in self.year_items.get(period[1], DEFAULT_CODES):
            item = cell_error(0, "item_code", cells[i_item], "item_not_in_logic", fiscal_year=period[1])
        outcome = (org, item, period, amount, unit, note_error)
        if any(v.__class__ is CellError for v in outcome):
            self._bad([v.at(number) for v in outcome if v.__class__ is CellError])
        else:
            self.rows.append((org, item.code, period[0], period[1], amount, unit, note or None))

    @staticmethod
    def _miss(cache: dict, raw: str, column: str, resolve):
        found = _checked(raw, column, resolve)
        if len(cache) < _CACHE_LIMIT:  # a file of a million distinct bad values must not fill memory
            cache[raw] = found
        return found

    def _org_unit(self, value: str):
        return self.org_units.get(normalise_key(value)) or cell_error(0, None, value, "unknown_org_unit")

    def _item(self, value: str):
        return self.items.get(normalise_key(value)) or cell_error(0, None, value, "unknown_item")

    def _period(self, value: str):
        period = parse_period(value)
        if period is None:
            return cell_error(0, None, value, "bad_period")
        return period, fiscal_year_of(period, self.start_month)

    def _bad(self, errors: list[CellError]) -> None:
        self.bad_rows += 1
        for error in errors:
            self.fail(error)

    def fail(self, error: CellError) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_reported:
            self.errors.append(error)


def _checked(raw: str, column: str, resolve):
    """The outcome of one non-amount cell: formula and blank checks, then ``resolve(stripped)``."""
    if is_formula(raw):
        return _formula(raw, column)
    value = raw.strip()
    if not value:
        return cell_error(0, column, raw, "required")
    found = resolve(value)
    if found.__class__ is CellError:
        return CellError(0, column, found.value, found.code, found.reason_en, found.reason_ja)
    return found


def _formula(raw: str, column: str) -> CellError:
    return cell_error(0, column, raw, "formula", first=raw.lstrip(" \u3000")[:1])


def _amount(raw: str) -> Decimal | CellError:
    if is_formula(raw):
        return _formula(raw, "amount")
    amount = parse_amount(raw.strip())
    return cell_error(0, "amount", raw, amount) if isinstance(amount, str) else amount


def _unit_for(raw: str, item: ActivityItem) -> str | CellError:
    facts = {"item": item.name_en, "item_ja": item.name_ja, "unit": item.unit}
    try:
        unit = normalise_unit(normalise_key(raw))
    except UnitError:
        return cell_error(0, None, raw, "unknown_unit", **facts, units=", ".join(accepted_units()))
    try:
        conversion_factor(unit, item.unit)
    except UnitError:
        return cell_error(0, None, raw, "unit_mismatch", **facts)
    return unit
