"""What the static map, the interactive map and the HTML page share: words in two languages, the
CJK font, the checks of a rule, and the distance along every street.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from urbancover.evaluation.export import street_distances, zones_layer  # noqa: F401 (street_distances: public here too)
from urbancover.evaluation.gaps import HOMES_UNSERVED
from urbancover.evaluation.measure import Measurement
from urbancover.evaluation.measure import distance_rules as measured_by_distance
from urbancover.evaluation.results import SummaryRow
from urbancover.present import LANGS, say  # noqa: F401 - the words moved to urbancover.present; these names stay
from urbancover.present import check_lang as _lang
from urbancover.present.formats import distance, share
from urbancover.present.palette import BEYOND, FACILITY  # noqa: F401 - the maps' colours, named here
from urbancover.present.words import MEASURES_ZH, TEXT, VERDICTS, measure_text, verdict_text  # noqa: F401

#: Family name of the shipped font (a GB 2312 subset of Noto Sans CJK SC, SIL OFL 1.1).
FONT_FAMILY = "Noto Sans SC urbancover"
FONT_FILE = "NotoSansSC-urbancover-Regular.otf"

#: Full CJK fonts matplotlib may find on a machine; used after the shipped one, for characters
#: outside its GB 2312 subset.
SYSTEM_CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK JP",
)

#: Colours both the static and the interactive maps use: unserved (beyond the threshold), facilities
#: (defined once, in :mod:`urbancover.present.palette`, imported above).


def check_lang(lang: str) -> dict:
    """The strings of a language (``zh`` or ``en``) for maps and reports."""
    return TEXT[_lang(lang)]


def esc(value) -> str:
    """HTML-escaped text of a value (empty for None)."""
    return html.escape("" if value is None else str(value), quote=True)


# ---------------------------------------------------------------------------------------- fonts


def font_path() -> Path:
    """Path of the shipped CJK font (Noto Sans CJK SC subset to GB 2312 and symbols, SIL OFL 1.1)."""
    return Path(str(resources.files("urbancover") / "fonts" / FONT_FILE))


_registered: list[str] | None = None


def font_families(lang: str = "zh") -> list[str]:
    """Matplotlib ``font.family`` list for ``lang``: the shipped CJK font first for Chinese, after
    DejaVu Sans for English (so Latin text keeps its usual look and Chinese names still render);
    then full CJK fonts of the machine for characters outside the shipped subset. Registers the
    shipped font with matplotlib once.
    """
    global _registered
    from matplotlib import font_manager

    if _registered is None:
        path = font_path()
        if not path.exists():  # pragma: no cover - a broken install
            raise FileNotFoundError(f"the CJK font of urbancover is missing: {path}; reinstall urbancover.")
        if not any(Path(f.fname) == path for f in font_manager.fontManager.ttflist):
            font_manager.fontManager.addfont(str(path))
        have = {f.name for f in font_manager.fontManager.ttflist}
        _registered = [f for f in SYSTEM_CJK_FAMILIES if f in have]
    check_lang(lang)
    first = [FONT_FAMILY, "DejaVu Sans"] if lang == "zh" else ["DejaVu Sans", FONT_FAMILY]
    return first + _registered


def strings_used(report=None) -> list[str]:
    """Every fixed string the maps print, and the names of the rules of ``report`` (for tests)."""
    out = [v for lang in TEXT.values() for v in lang.values()] + list(MEASURES_ZH.values())
    out += [v for lang in VERDICTS.values() for v in lang.values()]
    if report is not None:
        for res in report.results.values():
            r = res.rule
            out += [r.name_zh, r.name_en, r.clause] + [c.name_zh for c in r.categories] + [c.name for c in r.categories]
    return out


# ---------------------------------------------------------------------------------------- numbers


def fmt_m(d: float, lang: str = "en") -> str:
    """A distance for people: ``480 m`` / ``1.2 km`` / ``—`` for none (units are the same in both languages)."""
    return distance(d)


def verdict_word(row: SummaryRow, lang: str) -> str:
    """The verdict of a rule's summary row in words: the one its kind set."""
    return verdict_text(row.verdict, lang)


def rule_name(rule, lang: str) -> str:
    """The rule's name in ``lang``, falling back to the other language and then its id."""
    name = rule.name_zh if lang == "zh" else rule.name_en
    return name or rule.name_en or rule.name_zh or rule.id


def category_name(cat, lang: str) -> str:
    """A category's name in ``lang``."""
    return (cat.name_zh or cat.name) if lang == "zh" else cat.name


def summary_row(report, rule_id: str) -> SummaryRow:
    """The typed summary row of a rule (:class:`urbancover.evaluation.results.SummaryRow`)."""
    return report.results[rule_id].summary


def served_pairs(row: SummaryRow, rule, T: dict) -> list[tuple[str, str, str]]:
    """(what, network share, straight share) for each demand layer measured."""
    return [(T[key], share(s.served), share(s.straight)) for key, s in row.shares.items()]


# ---------------------------------------------------------------------------------------- rules


@dataclass
class RuleChecks:
    """The categories of a distance rule as the outputs label them, read from its measurement."""

    labels: list
    fields: list
    facilities: list
    thresholds: np.ndarray
    measurement: Measurement

    @property
    def same_threshold(self) -> bool:
        """Whether every category has the same threshold."""
        return bool(np.allclose(self.thresholds, self.thresholds[0]))

    def along(self, edge: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """(points x categories) network distances of points on edges (see Measurement.along)."""
        return self.measurement.along(edge, offset)


def is_distance_rule(report, rule_id: str) -> bool:
    """Whether a rule of the report was measured by distance (it has a measurement)."""
    return report.results[rule_id].measurement is not None


def rule_checks(report, rule_id: str, lang: str = "en") -> RuleChecks | None:
    """The checks of a distance rule, from the measurement the evaluation made (the user's facility
    layers included), or None for other kinds.
    """
    m = report.results[rule_id].measurement
    if m is None:
        return None
    if len(m.checks) == 1:
        labels = [rule_name(m.rule, lang)]
    else:
        labels = [(c.name_zh or c.name) if lang == "zh" else c.name for c in m.checks]
    return RuleChecks(labels, [c.field for c in m.checks], [c.facilities for c in m.checks], m.thresholds, m)


def distance_rules(report) -> list[str]:
    """Ids of the report's rules measured by distance."""
    return measured_by_distance(report.results)


def street_demand(report, rule_id: str):
    """Intervals of the rule's street demand (edge, start, end), or None when it has none."""
    m = report.results[rule_id].measurement
    return None if m is None else m.streets


def home_failures(report) -> dict:
    """(element, osmid) of a home -> the rules it is not served by (every distance rule)."""
    out: dict = {}
    for rid, res in report.results.items():
        layer = res.layers.get(HOMES_UNSERVED)
        if layer is None or len(layer) == 0 or "osmid" not in layer:
            continue
        elements = layer["element"] if "element" in layer else pd.Series([""] * len(layer))
        for el, oid in zip(elements, layer["osmid"]):
            out.setdefault((str(el), str(oid)), []).append(rid)
    return out


def zones_frame(zones, crs, lang: str = "en") -> gpd.GeoDataFrame | None:
    """The demonstration-zone candidates in ``crs`` with the columns the outputs read (tolerant of
    missing ones; names and reasons said in ``lang``), or None (:func:`urbancover.evaluation.export.zones_layer`,
    what the exports write).
    """
    return zones_layer(zones, crs, lang)


# ---------------------------------------------------------------------------------------- web font

WEB_FONT_FAMILY = "urbancover CJK"
_ESCAPED = __import__("re").compile(r"\\u([0-9a-fA-F]{4})")


def web_font_css(text: str) -> str:
    r"""A ``<style>`` with an ``@font-face`` holding the shipped CJK font cut down to the characters
    of ``text`` (``\\uXXXX`` escapes included), as a WOFF data URI: pages show Chinese on machines
    with no CJK font, offline. Empty when ``text`` has no character beyond ASCII.

    The face holds no ASCII, so a page lists it *first* in ``font-family`` and Latin text falls
    through to the next fonts (Chromium on Linux does not fall back from a local font such as
    Liberation Sans, matched for "Arial", to a web font listed after it).
    """
    import base64
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    chars = {ord(c) for c in set(text) if ord(c) > 0x7F}
    chars |= {int(h, 16) for h in set(_ESCAPED.findall(text)) if int(h, 16) > 0x7F}
    if not chars:
        return ""
    font = TTFont(str(font_path()))
    cmap = font.getBestCmap()
    keep = sorted(c for c in chars if c in cmap)
    if not keep:
        return ""
    opts = subset.Options()
    opts.flavor = "woff"
    opts.layout_features = []
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and licence records
    opts.hinting = False
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=keep)
    sub.subset(font)
    buf = io.BytesIO()
    font.flavor = "woff"
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        "<style>/* Noto Sans CJK SC subset, SIL Open Font License 1.1 */"
        f"@font-face{{font-family:'{WEB_FONT_FAMILY}';src:url(data:font/woff;base64,{data}) format('woff');"
        "font-weight:400;font-style:normal}</style>"
    )


def with_web_font(page: str, text: str | None = None) -> str:
    """``page`` (an HTML document) with :func:`web_font_css` of its own text (or of ``text``: the
    page without an embedded document that carries its own font) inserted in its head.
    """
    css = web_font_css(page if text is None else text)
    if not css:
        return page
    i = page.find("</head>")
    return page[:i] + css + page[i:] if i >= 0 else css + page
