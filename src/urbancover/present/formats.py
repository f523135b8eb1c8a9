"""One formatter per kind of number, for every output (the command line's table, the notebook
view, the HTML report, the maps): shares, values, sizes, distances; and the languages.

>>> share(0.3772), value(1.3125), value(float("inf")), number(6702.4), number(0.2, km=True), distance(1234)
('37.7%', '1.31', '∞', '6,702', '0.20', '1.2 km')

And the columns of a terminal: :func:`width` counts East Asian wide characters as two columns,
:func:`clip` shortens a text with "…", :func:`text_table` lines up a table within a width.

>>> width("公交站点 500"), clip("Public toilet within 300 m", 14), clip("公交站点500米覆盖", 9)
(12, 'Public toilet…', '公交站点…')
"""

from __future__ import annotations

import math
import unicodedata

from urbancover.core.errors import InputError

__all__ = ["LANGS", "check_lang", "clip", "distance", "is_missing", "number", "share", "share_pair", "size",
           "text_table", "value", "value_of", "width"]

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


def value_of(x, measure: str = "", lang: str | None = None) -> str:
    """A summary value by what it measures: shares (``measure`` starting with "share") in percent,
    other numbers by :func:`value`. With ``lang``, a count per facility that is infinite (no
    facility at all: ``residents per facility``) says so in words ("no facility" / "无") instead
    of ``∞``.

    >>> value_of(float("inf"), "residents per facility", "en"), value_of(float("inf"), "residents per facility", "zh")
    ('no facility', '无')
    >>> value_of(20.0, "dead-end streets"), value_of(0.3772, "share of residents served")
    ('20', '37.7%')
    """
    if lang is not None and _is_inf(x) and "per facility" in str(measure):
        from urbancover.present.words import TEXT

        return TEXT[lang]["no_facility"]
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


# ------------------------------------------------------------------------------------ terminal columns


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide and fullwidth characters
    (``unicodedata.east_asian_width`` W and F: 汉字, ＂｜＂) count two, combining marks none, others one.
    """
    n = 0
    for ch in str(text):
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def clip(text: str, cols: int) -> str:
    """``text`` cut to at most ``cols`` columns (:func:`width`), ending with "…" when cut."""
    text = str(text)
    if width(text) <= cols:
        return text
    out, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > cols - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def _pad(text: str, cols: int, align: str) -> str:
    gap = " " * max(cols - width(text), 0)
    return gap + text if align == "right" else text + gap


def text_table(header: list[str], rows: list[list[str]], *, align: str = "", max_width: int | None = None,
               shrink: tuple[int, ...] = (), min_width: int | tuple[int, ...] = 8, sep: str = "  ") -> str:
    """A plain text table whose columns line up on a terminal, CJK included (:func:`width`).

    Parameters
    ----------
    header
        One text per column; a line break in it makes a header of several lines.
    rows
        Cells, one text per column. A row shorter than the header ends with a cell spanning the
        columns left (a sentence in place of the figures): it never widens them and is clipped to them.
    align
        One letter per column, ``l`` or ``r`` (default: all left).
    max_width
        Fit the table in this many columns by narrowing the columns ``shrink`` (indices), the widest
        first and none below ``min_width`` (one for all, or one per column of ``shrink``); their texts
        are clipped with "…". None: natural widths.

    Returns
    -------
    str
        The lines, without trailing spaces.
    """
    n = len(header)
    align = (align or "l" * n).ljust(n, "l")
    heads = [str(h).split("\n") for h in header]
    depth = max(len(h) for h in heads)
    heads = [h + [""] * (depth - len(h)) for h in heads]
    # a spanning cell (the last of a short row) widens no column; the cells before it do
    widths = [max([width(x) for x in heads[i]] + [width(r[i]) for r in rows if i < len(r) - (len(r) < n)])
              for i in range(n)]
    if max_width is not None:
        total = sum(widths) + len(sep) * (n - 1)
        least = dict(zip(shrink, min_width if isinstance(min_width, tuple) else [min_width] * len(shrink)))
        while total > max_width:
            wide = [i for i in shrink if widths[i] > least[i]]
            if not wide:
                break
            i = max(wide, key=lambda k: widths[k])
            widths[i] -= 1
            total -= 1

    def line(cells: list[str], spanned: bool) -> str:
        out = []
        for i, cell in enumerate(cells):
            if spanned and i == len(cells) - 1:
                cols = sum(widths[i:]) + len(sep) * (n - 1 - i)
                out.append(clip(cell, cols))
            else:
                out.append(_pad(clip(cell, widths[i]), widths[i], "right" if align[i] == "r" else "left"))
        return sep.join(out).rstrip()

    lines = [line([h[k] for h in heads], False) for k in range(depth)]
    lines += [line([str(c) for c in r], len(r) < n) for r in rows]
    return "\n".join(lines)
