"""One formatter per kind of number, for every output (the command line's table, the notebook
view, the HTML report, the maps): shares, values, sizes, distances; and the languages.

>>> share(0.3772), value(1.3125), value(float("inf")), number(6702.4), number(0.2, km=True), distance(1234)
('37.7%', '1.31', '∞', '6,702', '0.20', '1.2 km')
"""

from __future__ import annotations

import math

from urbancover.core.errors import InputError

__all__ = ["LANGS", "check_lang", "distance", "is_missing", "number", "share", "share_pair", "size", "value", "value_of"]

#: The languages of every output.
LANGS = ("zh", "en")


def check_lang(lang: str) -> str:
    """``lang`` when it is ``"zh"`` or ``"en"``, else an InputError (a ValueError) naming the choices."""
    if lang not in LANGS:
        raise InputError(f"lang: use 'zh' or 'en', not {lang!r}.")
    return lang


def is_missing(x) -> bool:
    """None or NaN: a value that is not there."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def share(x) -> str:
    """A share as a percentage with one decimal (``"37.7%"``), or a dash when undefined."""
    if is_missing(x):
        return "—"
    return f"{100 * float(x):.1f}%"


def value(x) -> str:
    """A rule's value for a table: a dash when missing, ``∞``, few digits otherwise."""
    if is_missing(x):
        return "—"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isinf(x):
        return "∞"
    if abs(x) >= 100 or x.is_integer():
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def value_of(x, measure: str = "") -> str:
    """A summary value by what it measures: shares (``measure`` starting with "share") in percent,
    other numbers by :func:`value`.
    """
    return share(x) if "share" in str(measure) and not is_missing(x) and not _is_inf(x) else value(x)


def _is_inf(x) -> bool:
    try:
        return math.isinf(float(x))
    except (TypeError, ValueError):
        return False


def number(v: float, km: bool = False) -> str:
    """A size: whole numbers with thousands separators; kilometres with two decimals below 10, one above."""
    if km:
        return f"{v:,.2f}" if v < 10 else f"{v:,.1f}"
    return f"{v:,.0f}"


def distance(d) -> str:
    """A distance for people: ``480 m`` / ``1.2 km`` / ``—`` for none."""
    if d is None or not math.isfinite(d):
        return "—"
    if d >= 1000:
        return f"{d / 1000:.1f} km"
    return f"{d:.0f} m"


def size(s, lang: str = "en") -> str:
    """The size behind a share (a :class:`~urbancover.evaluation.results.Share`): ``"of 6,702 residents"``,
    ``"共 0.20 公里"``; empty when it has none.
    """
    from urbancover.present.words import size_text

    if s is None or is_missing(s.size):
        return ""
    return size_text(number(float(s.size), km=s.unit == "street"), s.unit, lang)


def share_pair(s, lang: str = "en", sep: str = " | ") -> str:
    """``"37.7% | 46.4% of 6,702 residents"``: a share by network and by straight line, and its size."""
    return f"{share(s.served)}{sep}{share(s.straight)} {size(s, lang)}".strip()
