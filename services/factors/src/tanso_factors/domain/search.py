"""The matching form of text for the factor search: NFKC, one kind of dash, case folded.

``ＣＨ４`` and ``ch4``, ``ｶﾞｽ`` and ``ガス``, ``Ａ重油`` and ``a重油`` match each other. A query is split on
white space (ASCII or ideographic) into terms that must all occur (AND).
"""

from __future__ import annotations

import re
import unicodedata

#: Dash variants become "-" (the long vowel mark ー is not a dash: it is part of ガソリン, メーター).
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"} | {"\u301c": "~"})
_SPACE = re.compile(r"\s+")


def search_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_DASHES)
    return _SPACE.sub(" ", text).strip().casefold()


def search_terms(query: str | None) -> list[str]:
    """The distinct terms of a query, in order; empty for a blank query."""
    terms: list[str] = []
    for term in search_key(query or "").split(" "):
        if term and term not in terms:
            terms.append(term)
    return terms


def search_document(*parts: str | None) -> str:
    """The stored text a factor version is matched against (parts joined by a line break, so a term
    never matches across two fields)."""
    return "\n".join(search_key(p) for p in parts if p)


def name_document(name_ja: str, name_en: str) -> str:
    """``"\n<name_ja>\n<name_en>"`` in matching form: ``LIKE '%\n<term>%'`` finds a name starting with a term."""
    return f"\n{search_key(name_ja)}\n{search_key(name_en)}"
