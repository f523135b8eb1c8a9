"""What the static map, the interactive map and the HTML page share: words in two languages, the
CJK font, the checks of a rule, and the distance along every street.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover import intervals
from urbancover.errors import InputError
from urbancover.measure import Measurement
from urbancover.measure import distance_rules as measured_by_distance
from urbancover.network import line_substrings
from urbancover.rules import KINDS
from urbancover.wording import fmt_share

LANGS = ("zh", "en")

#: Family name of the shipped font (a GB 2312 subset of Noto Sans CJK SC, SIL OFL 1.1).
FONT_FAMILY = "Noto Sans SC urbancover"
FONT_FILE = "NotoSansSC-urbancover-Regular.otf"

#: Full CJK fonts matplotlib may find on a machine; used after the shipped one, for characters
#: outside its GB 2312 subset.
SYSTEM_CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Noto Sans CJK JP",
)

#: Every word the maps and the page print, per language. Tests check that the font has every glyph.
TEXT = {
    "zh": {
        "street_gap": "超出服务距离的街道",
        "street_served": "路网距离 ≤ {t} 的街道",
        "street_beyond": "路网距离 > {t} 的街道",
        "street_demand": "考核街道（加粗）",
        "street_other": "其他街道",
        "street_unreachable": "无法到达的街道",
        "home": "住宅",
        "facility_meets": "设施（面积达标）",
        "facility_below": "设施（面积不足）",
        "home_served": "住宅（已覆盖）",
        "not_in_data": "数据中没有：{names}",
        "home_unserved": "住宅（未覆盖）",
        "resident_unserved": "未覆盖居民点",
        "compound": "小区",
        "compound_unserved": "未达标小区",
        "gap": "覆盖缺口（居住用地）",
        "facility": "设施",
        "facility_area": "设施用地",
        "circle": "直线 {t} 范围（对照）",
        "area": "分析范围",
        "zone": "示范片区候选",
        "dead_end": "断头路端点",
        "unit_ok": "达标单元",
        "unit_fail": "未达标单元",
        "roads": "道路",
        "cbar_radius": "到最近设施的路网步行距离（米）",
        "cbar_all_same": "到齐全部类别设施的路网步行距离（米）",
        "cbar_all_ratio": "最远一类设施的路网距离 / 服务半径",
        "north": "北",
        "attribution": "地图数据 © OpenStreetMap contributors（ODbL）",
        "straight": "直线",
        "residents": "居民",
        "buildings": "住宅",
        "compounds": "小区",
        "street": "街道",
        "target": "目标",
        "passed": "达标",
        "failed": "未达标",
        "undefined": "无法判断",
        "listed": "清单",
        "distance_rule": "路网距离 ≤ {t}",
        "served_pair": "{what}覆盖 {net}（直线法 {line}）",
        "value_of": "{measure}：{value}",
        "network_distance": "路网距离",
        "status_served": "已覆盖", "status_beyond": "超出", "status_no_path": "路网不可达", "status_no_facility": "数据中无设施",
        "straight_distance": "直线距离",
        "distance_range": "到最近设施的路网距离",
        "fails": "未达标规则",
        "none": "无",
        "missing": "缺少",
        "name": "名称",
        "category": "类别",
        "old": "老旧小区",
        "yes": "是",
        "no": "否",
        "homes_n": "住宅数",
        "residents_n": "居民（估算）",
        "streets_layer": "街道网络",
        "compounds_layer": "小区（未达标规则）",
        "zones_layer": "示范片区候选",
        "area_km2": "面积（km²）",
        "score": "得分",
        "reason": "理由",
        "compound_names": "包含小区",
        "report_title": "老旧片区公共服务覆盖评估",
        "notes": "说明与假设",
        "summary": "规则汇总（路网距离 与 直线距离 对照）",
        "col_rule": "规则",
        "col_clause": "条款",
        "col_requirement": "要求",
        "col_residents": "居民覆盖<br>路网 ｜ 直线",
        "col_buildings": "住宅覆盖<br>路网 ｜ 直线",
        "col_compounds": "小区覆盖<br>路网 ｜ 直线",
        "col_street": "街道覆盖<br>路网 ｜ 直线",
        "col_value": "其他指标",
        "col_result": "结论",
        "maps": "缺口地图（按规则）",
        "interactive": "交互地图",
        "interactive_help": "右上角可逐条打开或关闭各规则图层；点击要素查看距离与未达标规则。",
        "interactive_missing": "未安装 folium，交互地图未生成（pip install \"urbancover[maps]\"）。",
        "interactive_too_large": "路网有 {n:,} 段街道，超过网页能流畅打开的规模（{limit:,} 段），交互地图未嵌入；"
                                 "请在 GIS 中打开 GeoPackage 图层，或对单条规则调用 interactive_map。",
        "zones": "示范片区候选",
        "zones_none": "未提供示范片区候选。",
        "gpkg": "全部图层已导出至 GeoPackage：",
        "generated_by": "由 urbancover {version} 生成。",
        "offline_note": "本页自包含，离线可用（Leaflet 已内嵌，无底图瓦片）。",
        "online_note": "交互地图从网络加载 Leaflet 脚本与底图瓦片，离线时无法显示。",
        "scale_m": "米",
        "scale_km": "千米",
        "legend_title": "图例",
        "facilities_needed": "需设施数",
        "units_failing": "未达标单元数",
        "detail": "明细",
    },
    "en": {
        "street_gap": "Street beyond the rule's distance",
        "street_served": "Street within {t} (network)",
        "street_beyond": "Street beyond {t} (network)",
        "street_demand": "Streets assessed (bold)",
        "street_other": "Other streets",
        "street_unreachable": "Street with no facility reachable",
        "home": "Home",
        "facility_meets": "Facility (meets the minimum)",
        "facility_below": "Facility (below the minimum)",
        "home_served": "Home (served)",
        "not_in_data": "None in the data: {names}",
        "home_unserved": "Home (not served)",
        "resident_unserved": "Residents not served",
        "compound": "Compound",
        "compound_unserved": "Compound not served",
        "gap": "Coverage gap (residential land)",
        "facility": "Facility",
        "facility_area": "Facility (area)",
        "circle": "Straight-line {t} (for comparison)",
        "area": "Analysed area",
        "zone": "Demonstration zone candidate",
        "dead_end": "Dead-end street",
        "unit_ok": "Unit meeting the rule",
        "unit_fail": "Unit failing the rule",
        "roads": "Roads",
        "cbar_radius": "Walking distance to the nearest facility along streets (m)",
        "cbar_all_same": "Walking distance to reach every category along streets (m)",
        "cbar_all_ratio": "Network distance to the farthest category / its radius",
        "north": "N",
        "attribution": "Map data © OpenStreetMap contributors (ODbL)",
        "straight": "straight line",
        "residents": "residents",
        "buildings": "homes",
        "compounds": "compounds",
        "street": "street length",
        "target": "target",
        "passed": "met",
        "failed": "not met",
        "undefined": "undefined",
        "listed": "listed",
        "distance_rule": "network distance ≤ {t}",
        "served_pair": "{what} served {net} (straight line {line})",
        "value_of": "{measure}: {value}",
        "network_distance": "Network distance",
        "status_served": "served", "status_beyond": "beyond", "status_no_path": "no path", "status_no_facility": "no facility in the data",
        "straight_distance": "Straight-line distance",
        "distance_range": "Network distance to the nearest facility",
        "fails": "Rules failed",
        "none": "none",
        "missing": "Missing",
        "name": "Name",
        "category": "Category",
        "old": "Old compound",
        "yes": "yes",
        "no": "no",
        "homes_n": "Homes",
        "residents_n": "Residents (estimated)",
        "streets_layer": "Street network",
        "compounds_layer": "Compounds (rules failed)",
        "zones_layer": "Demonstration zone candidates",
        "area_km2": "Area (km²)",
        "score": "Score",
        "reason": "Reason",
        "compound_names": "Compounds",
        "report_title": "Public service coverage of an old district",
        "notes": "Notes and assumptions",
        "summary": "Rules (network distance next to straight-line distance)",
        "col_rule": "Rule",
        "col_clause": "Clause",
        "col_requirement": "Requirement",
        "col_residents": "Residents served<br>network | straight",
        "col_buildings": "Homes served<br>network | straight",
        "col_compounds": "Compounds served<br>network | straight",
        "col_street": "Street length served<br>network | straight",
        "col_value": "Other measure",
        "col_result": "Result",
        "maps": "Gap maps, one per rule",
        "interactive": "Interactive map",
        "interactive_help": "Switch each rule's layer on and off at the top right; click a feature for its distances and failed rules.",
        "interactive_missing": "folium is not installed: no interactive map (pip install \"urbancover[maps]\").",
        "interactive_too_large": "The network has {n:,} street pieces, more than a browser opens smoothly in one page ({limit:,}): "
                                 "the interactive map is not embedded. Open the GeoPackage layers in a GIS, or call interactive_map "
                                 "for one rule.",
        "zones": "Demonstration zone candidates",
        "zones_none": "No demonstration zone candidates were given.",
        "gpkg": "Every layer exported to the GeoPackage ",
        "generated_by": "Made with urbancover {version}.",
        "offline_note": "This page is self-contained and works offline (Leaflet inlined, no background tiles).",
        "online_note": "The interactive map loads Leaflet and background tiles from the internet; it is blank offline.",
        "scale_m": "m",
        "scale_km": "km",
        "legend_title": "Legend",
        "facilities_needed": "facilities needed",
        "units_failing": "units failing",
        "detail": "detail",
    },
}

#: Measures of the summary, translated (the engine writes them in English).
MEASURES_ZH = {
    "facilities per km²": "每平方千米设施数",
    "residents per facility": "每处设施服务居民数",
    "m² per resident": "人均面积（m²）",
    "share of facilities of known area meeting the minimum": "面积达标设施比例",
    "fewest facilities in a unit": "单元最少设施数",
    "km of road per km²": "路网密度（km/km²）",
    "dead-end streets": "断头路数",
    "share of residents served": "居民覆盖率",
    "share of residential buildings served": "住宅覆盖率",
    "share of compounds served": "小区覆盖率",
    "share of streets served": "街道覆盖率",
}


#: Colours both the static and the interactive maps use: unserved (beyond the threshold), facilities.
BEYOND, FACILITY = "#d7191c", "#2166ac"


def check_lang(lang: str) -> dict:
    """The strings of a language (``zh`` or ``en``) for maps and reports."""
    if lang not in TEXT:
        raise InputError(f"lang must be one of {LANGS}, not {lang!r}.")
    return TEXT[lang]


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
    if report is not None:
        for res in report.results.values():
            r = res.rule
            out += [r.name_zh, r.name_en, r.clause] + [c.name_zh for c in r.categories] + [c.name for c in r.categories]
    return out


# ---------------------------------------------------------------------------------------- numbers


def fmt_m(d: float, lang: str) -> str:
    """A distance for people: ``480 m`` / ``1.2 km`` / ``—`` for none."""
    if d is None or not math.isfinite(d):
        return "—"
    if d >= 1000:
        return f"{d / 1000:.1f} km"
    return f"{d:.0f} m"


def result_word(passed, kind: str, T: dict) -> str:
    """The verdict in words: passed, failed, undetermined, or listed for list kinds."""
    if passed is None or (isinstance(passed, float) and math.isnan(passed)):
        return T["listed"] if KINDS[kind].listed else T["undefined"]
    return T["passed"] if bool(passed) else T["failed"]


def rule_name(rule, lang: str) -> str:
    """The rule's name in ``lang``, falling back to the other language and then its id."""
    name = rule.name_zh if lang == "zh" else rule.name_en
    return name or rule.name_en or rule.name_zh or rule.id


def category_name(cat, lang: str) -> str:
    """A category's name in ``lang``."""
    return (cat.name_zh or cat.name) if lang == "zh" else cat.name


def summary_row(report, rule_id: str) -> dict:
    """The summary row of a rule as a dict."""
    s = report.summary
    row = s[s["id"] == rule_id]
    if len(row) == 0:
        return {}
    return {k: v for k, v in row.iloc[0].items() if not (isinstance(v, float) and math.isnan(v))}


def served_pairs(row: dict, rule, T: dict) -> list[tuple[str, str, str]]:
    """(what, network share, straight share) for each demand layer measured."""
    out = []
    for key, word in (("residents", "residents"), ("buildings", "buildings"), ("compounds", "compounds"), ("street", "street")):
        if f"{key}_served" in row:
            out.append((T[word], fmt_share(row.get(f"{key}_served")), fmt_share(row.get(f"{key}_served_straight"))))
    return out




def measure_text(measure: str, lang: str) -> str:
    """What a rule's value measures, in ``lang``."""
    if lang == "zh":
        return MEASURES_ZH.get(measure, measure)
    return measure


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


def street_distances(report, rule_id: str, *, step: float | None = None, resolution: float = 0.0,
                     beyond_steps: bool = True, geometry: bool = True) -> gpd.GeoDataFrame | pd.DataFrame:
    """Every street of the network cut into pieces, each with its network distance to the rule's
    facilities: what the gap map colours.

    Pieces break at every point where the distance crosses the threshold (exactly), at the ends of
    the rule's street demand, and at most every ``step`` metres (default: a twentieth of the
    threshold, 10 to 50 m), so that colours change smoothly within the threshold; with
    ``step=math.inf`` only at those points (the fewest pieces, for export). ``resolution`` (metres)
    raises ``step`` to at least that: a map passes the ground length of one printed dot, so a whole
    city is not cut finer than its paper can show. With ``beyond_steps=False`` the regular breaks
    are left out where every category is beyond its threshold (a gap map colours all of that
    alike): far fewer pieces for a city where most streets are beyond.

    Returns a GeoDataFrame (the network's CRS): ``edge``, ``start``, ``end`` (metres from the
    edge's ``u`` end), ``network_distance`` (metres at the middle of the piece, ``inf`` if no facility is
    reachable; for an ``all_of`` rule the distance to the farthest category), ``distance_from`` and
    ``distance_to`` (the same at the piece's two ends), ``ratio`` (distance
    over threshold; for ``all_of`` the largest over the categories), ``served`` (every category
    within its threshold), ``demand`` (the piece is street demand of the rule), ``highway``,
    ``name``, and the piece's LineString (with ``geometry=False`` a DataFrame without it: cutting
    the lines is most of the cost, and a caller that merges pieces first needs none).
    """
    checks = rule_checks(report, rule_id)
    if checks is None:
        raise InputError(f"{rule_id}: a {report.results[rule_id].rule.kind!r} rule has no distance to map.")
    net = report.network
    m = net.n_edges
    L = net.length
    if step is None:
        step = float(np.clip(checks.thresholds.min() / 20.0, 10.0, 50.0))
        # keep a city-wide map to about half a million pieces
        step = max(step, float(L.sum()) / 500_000.0)
    step = max(step, resolution)
    n_seg = np.maximum(1, np.ceil(L / step)).astype(np.int64)
    e_reg = np.repeat(np.arange(m), n_seg + 1)
    k_reg = intervals.ranges(n_seg + 1)
    p_reg = k_reg * (L / n_seg)[e_reg]
    limits = checks.measurement.limits  # within the threshold: at most threshold + the rule's tolerance
    covered = [fld.covered_intervals(T) for fld, T in zip(checks.fields, limits)]
    if not beyond_steps:
        # regular breaks only where some category is within its threshold, and at the edges' ends
        union = intervals.merge(*(np.concatenate(parts) for parts in zip(*covered)))
        keep = (k_reg == 0) | (k_reg == n_seg[e_reg]) | _within(union, e_reg, p_reg)
        e_reg, p_reg = e_reg[keep], p_reg[keep]
    be, bp = [e_reg], [p_reg]
    for ce, cs, cn in covered:
        be += [ce, ce]
        bp += [cs, cn]
    demand = street_demand(report, rule_id)
    if demand is not None:
        be += [demand[0], demand[0]]
        bp += [demand[1], demand[2]]
    e = np.concatenate(be).astype(np.int64)
    p = np.clip(np.concatenate(bp).astype(float), 0.0, L[np.concatenate(be).astype(np.int64)])
    order = np.lexsort((p, e))
    e, p = e[order], p[order]
    nxt_same = np.r_[e[1:] == e[:-1], False]
    pe = e[nxt_same]
    ps = p[nxt_same]
    pn = p[np.r_[False, nxt_same[:-1]]]
    keep = pn - ps > 1e-6
    pe, ps, pn = pe[keep], ps[keep], pn[keep]
    mid = (ps + pn) / 2.0
    dists = checks.along(pe, mid)
    d_from = checks.along(pe, ps).max(axis=1)
    d_to = checks.along(pe, pn).max(axis=1)
    ratio = (dists / checks.thresholds[None, :]).max(axis=1)
    served = (dists <= limits[None, :]).all(axis=1)
    distance = dists.max(axis=1)
    in_demand = np.zeros(len(pe), bool)
    if demand is not None and len(demand[0]):
        # a piece is demand when its middle lies in a demand interval of its edge
        in_demand = _within(demand, pe, mid)
    cols = {
        "edge": pe, "start": ps, "end": pn, "network_distance": distance, "distance_from": d_from, "distance_to": d_to,
        "ratio": ratio, "served": served, "demand": in_demand,
        "highway": net.edge_values("highway", pe),
        "name": net.edge_values("name", pe),
    }
    if len(checks.fields) > 1:
        for k, fld in enumerate(checks.fields):
            cols[f"network_distance_{report.results[rule_id].rule.categories[k].name}"] = dists[:, k]
    if not geometry:
        return pd.DataFrame(cols)
    geom = line_substrings(net.lines(pe), ps, pn) if len(pe) else np.zeros(0, dtype=object)
    return gpd.GeoDataFrame(cols, geometry=geom, crs=net.crs)


def _within(iv, e: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Whether each point (edge ``e``, ``p`` metres along it) lies in the interval of ``iv``
    (edge, start, end) that starts last before it on its edge (for disjoint intervals: in any),
    by :func:`urbancover.intervals.locate`.
    """
    de, ds, dn = (np.asarray(x) for x in iv)
    if len(de) == 0:
        return np.zeros(len(e), dtype=bool)
    o = np.lexsort((ds, de))
    k = intervals.locate((de[o], ds[o], dn[o]), e, p)
    return (k >= 0) & (dn[o][np.maximum(k, 0)] >= p)


def home_failures(report) -> dict:
    """(element, osmid) of a home -> the rules it is not served by (every distance rule)."""
    out: dict = {}
    for rid, res in report.results.items():
        layer = res.layers.get("homes_unserved")
        if layer is None or len(layer) == 0 or "osmid" not in layer:
            continue
        elements = layer["element"] if "element" in layer else pd.Series([""] * len(layer))
        for el, oid in zip(elements, layer["osmid"]):
            out.setdefault((str(el), str(oid)), []).append(rid)
    return out


def zones_frame(zones, crs) -> gpd.GeoDataFrame | None:
    """The demonstration-zone candidates in ``crs`` with the columns the outputs read (tolerant of
    missing ones), or None.
    """
    if zones is None:
        return None
    if not isinstance(zones, gpd.GeoDataFrame):
        raise TypeError(f"zones must be a GeoDataFrame (urbancover.zones.find_zones), got {type(zones).__name__}.")
    if zones.crs is None:
        raise InputError("zones: the GeoDataFrame has no CRS; set it (e.g. zones.set_crs(...)) first.")
    z = zones.to_crs(crs).reset_index(drop=True)
    g = z.geometry.values
    z = z[~shapely.is_missing(g) & ~shapely.is_empty(g)].reset_index(drop=True)
    if "area_km2" not in z:
        z["area_km2"] = shapely.area(z.geometry.values) / 1e6
    for col in ("compound_names", "reason", "score"):
        if col not in z:
            z[col] = None
    z["compound_names"] = [
        ", ".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray))
        else ("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
                           for v in z["compound_names"]]
    return z


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
