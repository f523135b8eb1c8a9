"""The catalogue of words: every note, reason, verdict, header, measure, status, category and unit
urbancover prints, in Chinese and English, keyed by code. Outputs say a :class:`~urbancover.present.Note`
with :func:`render` (through ``Note.text``) and take fixed words from the tables here; nothing else
translates, and nothing here imports more than the errors.

Entries of :data:`NOTES` are ``{"en": template, "zh": template}``: a template is a ``str.format``
string over the note's parameters, or a function of the parameters (already said in the output's
language: a parameter that is itself a note is rendered first). Python names (settings, evaluate's
parameters) appear only in the English text, which addresses the programmer; the Chinese text
addresses a planner.
"""

from __future__ import annotations

__all__ = ["COMPARE", "HEADERS", "HEADERS_NARROW", "LAYER_WORDS", "MEASURES_ZH", "NOTES", "STATUS", "TEXT", "VERDICTS", "ZONE_HEADERS",
           "measure_text", "render", "size_text", "target_text", "verdict_text"]

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
        "style_ratio": "路网距离为阈值的 {lo:g}–{hi:g} 倍",
        "style_ratio_top": "路网距离为阈值的 {lo:g} 倍至阈值",
        "style_all_rules": "全部规则达标",
        "style_some_rule": "至少一条规则未达标",
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
        "distance_rule": "路网距离 ≤ {t}",
        "served_pair": "{what}覆盖 {net}（直线法 {line}）",
        "value_of": "{measure}：{value}",
        "network_distance": "路网距离",
        "status_served": "已覆盖", "status_beyond": "超出", "status_no_path": "路网不可达", "status_no_facility": "数据中无设施",
        "straight_distance": "直线距离",
        "distance_range": "到最近设施的路网距离",
        "fails": "未达标规则",
        "none": "无",
        "no_facility": "无",
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
        "run_record": "运行记录：{created}（UTC）· 规则集 {rules}（SHA-256 {rules_sha256}，{rules_of}）· "
                      "OSM 数据 {extract}（SHA-256 {extract_sha256}；数据日期 {osm}）· {area} · 改动的设置：{settings}。",
        "run_rules_of_file": "规则文件字节",
        "run_rules_of_json": "规则集的规范 JSON",
        "run_no_osm_date": "文件头未注明",
        "run_no_changes": "无",
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
        "style_ratio": "Network distance {lo:g}–{hi:g} × the threshold",
        "style_ratio_top": "Network distance {lo:g} × the threshold up to it",
        "style_all_rules": "Meets every rule",
        "style_some_rule": "Fails at least one rule",
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
        "distance_rule": "network distance ≤ {t}",
        "served_pair": "{what} served {net} (straight line {line})",
        "value_of": "{measure}: {value}",
        "network_distance": "Network distance",
        "status_served": "served", "status_beyond": "beyond", "status_no_path": "no path", "status_no_facility": "no facility in the data",
        "straight_distance": "Straight-line distance",
        "distance_range": "Network distance to the nearest facility",
        "fails": "Rules failed",
        "none": "none",
        "no_facility": "no facility",
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
        "run_record": "Run record: {created} (UTC) · rule set {rules} (SHA-256 {rules_sha256}, of the {rules_of}) · "
                      "OSM extract {extract} (SHA-256 {extract_sha256}; data of {osm}) · {area} · settings changed: {settings}.",
        "run_rules_of_file": "file's bytes",
        "run_rules_of_json": "rule set's canonical JSON",
        "run_no_osm_date": "no date in the file header",
        "run_no_changes": "none",
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



#: Verdict words (:class:`urbancover.present.Verdict` values), one vocabulary for every output.
VERDICTS = {
    "zh": {"pass": "达标", "fail": "未达标", "undetermined": "无法判断", "list": "清单"},
    "en": {"pass": "passed", "fail": "failed", "undetermined": "undetermined", "list": "list"},
}

#: Headers of the command line's summary table.
HEADERS = {
    "zh": {"rule": "规则", "name": "名称", "value": "数值", "target": "目标", "passed": "结论",
           "residents": "居民覆盖（路网｜直线）", "street": "街道覆盖（路网｜直线）", "reason": "说明"},
    "en": {"rule": "rule", "name": "name", "value": "value", "target": "target", "passed": "verdict",
           "residents": "residents served (network | straight)", "street": "street served (network | straight)",
           "reason": "why undetermined"},
}

#: Headers of the command line's summary table at 120 columns (``--wide`` has :data:`HEADERS`):
#: the shares' columns are ``<network> | <straight line>``, their sizes left to ``--wide``.
HEADERS_NARROW = {
    "zh": {"rule": "规则", "name": "名称", "value": "数值", "target": "目标", "passed": "结论",
           "residents": "居民覆盖", "street": "街道覆盖", "network": "路网", "straight": "直线"},
    "en": {"rule": "rule", "name": "name", "value": "value", "target": "target", "passed": "verdict",
           "residents": "residents", "street": "street length", "network": "net", "straight": "line"},
}

#: Words of the command line's ``zones`` and ``analyze`` output around the tables.
ZONE_HEADERS = {
    "zh": {"rank": "排名", "area_km2": "面积（km²）", "old_compounds": "老旧小区", "residents": "居民", "score": "得分",
           "reason": "理由", "old_source": "老旧小区来源", "wrote": "已写出", "no_zone": "未找到示范片区",
           "note": "说明", "files": "个文件", "warning": "警告"},
    "en": {"rank": "rank", "area_km2": "area_km2", "old_compounds": "old_compounds", "residents": "residents",
           "score": "score", "reason": "reason", "old_source": "old compounds", "wrote": "wrote", "no_zone": "no zone",
           "note": "note", "files": "files", "warning": "warning"},
}

#: Words of before and after (urbancover.compare, urbancover.change): the change map's title and legend, the command
#: line's table, and the change of each home, street piece or facility (the files' ``change`` column
#: holds the English key; ``change_<key with _>`` says it).
COMPARE = {
    "zh": {
        "title": "{name}：前后对比",
        "street": "街道",
        "street_newly_served": "新覆盖的街道",
        "street_newly_unserved": "失去覆盖的街道",
        "home": "住宅（不变）",
        "home_still_unserved": "住宅（仍未覆盖）",
        "home_newly_served": "新覆盖的住宅",
        "home_newly_unserved": "失去覆盖的住宅",
        "facility_kept": "设施（不变）",
        "facility_added": "新增设施",
        "facility_removed": "撤除的设施",
        "share": "{what}覆盖 {before} → {after}",
        "homes": "住宅 {sb}/{nb} → {sa}/{na} 栋",
        "homes_newly": "新覆盖 {n} 栋，失去覆盖 {m} 栋",
        "street_newly": "街道新覆盖 {n}，失去覆盖 {m}",
        "facilities": "设施新增 {added} 处，撤除 {removed} 处",
        "col_rule": "规则",
        "col_share": "覆盖率",
        "col_size": "已覆盖/总数",
        "col_homes": "已覆盖住宅",
        "col_newly": "住宅 +/-",
        "col_street": "街道米 +/-",
        "col_facilities": "设施 +/-",
        "col_verdict": "结论",
        "page_title": "前后对比",
        "page_sub": "之前：{before} · 之后：{after}",
        "page_summary": "各规则的变化",
        "page_maps": "变化地图（按规则）",
        "change_newly_served": "新覆盖", "change_newly_unserved": "失去覆盖", "change_added": "新增", "change_removed": "撤除",
        "wrote": "已写出",
        "note": "说明",
        "km": "公里",
    },
    "en": {
        "title": "{name}: before and after",
        "street": "Street",
        "street_newly_served": "Street newly served",
        "street_newly_unserved": "Street no longer served",
        "home": "Home (no change)",
        "home_still_unserved": "Home (still not served)",
        "home_newly_served": "Home newly served",
        "home_newly_unserved": "Home no longer served",
        "facility_kept": "Facility (no change)",
        "facility_added": "Facility added",
        "facility_removed": "Facility removed",
        "share": "{what} served {before} → {after}",
        "homes": "homes {sb}/{nb} → {sa}/{na}",
        "homes_newly": "{n} newly served, {m} no longer served",
        "street_newly": "street {n} newly served, {m} no longer served",
        "facilities": "facilities {added} added, {removed} removed",
        "col_rule": "rule",
        "col_share": "served",
        "col_size": "of all",
        "col_homes": "homes served",
        "col_newly": "homes +/-",
        "col_street": "street m +/-",
        "col_facilities": "facilities +/-",
        "col_verdict": "verdict",
        "page_title": "Before and after",
        "page_sub": "before: {before} · after: {after}",
        "page_summary": "What changed, per rule",
        "page_maps": "Change maps, one per rule",
        "change_newly_served": "newly served", "change_newly_unserved": "no longer served", "change_added": "added",
        "change_removed": "removed",
        "wrote": "wrote",
        "note": "note",
        "km": "km",
    },
}

#: The demand layers' units, as a share's size says them and as notes name them.
LAYER_WORDS = {
    "zh": {"residents": "居民", "buildings": "住宅", "compounds": "小区", "street": "街道"},
    "en": {"residents": "residents", "buildings": "buildings", "compounds": "compounds", "street": "street"},
}

#: The size behind a share, per unit.
_SIZES = {
    "zh": {"residents": "共 {n} 人", "buildings": "共 {n} 栋", "compounds": "共 {n} 个小区", "street": "共 {n} 公里"},
    "en": {"residents": "of {n} residents", "buildings": "of {n} homes", "compounds": "of {n} compounds", "street": "of {n} km"},
}

#: Status of a place or street piece (the layers' ``status`` column), in words.
STATUS = {
    "zh": {"served": "已覆盖", "beyond": "超出", "no path": "路网不可达", "no facility": "数据中无设施"},
    "en": {"served": "served", "beyond": "beyond", "no path": "no path", "no facility": "no facility in the data"},
}


def verdict_text(verdict, lang: str = "en") -> str:
    """A verdict (a :class:`~urbancover.present.Verdict` or its value) in words."""
    return VERDICTS[lang][str(getattr(verdict, "value", verdict))]


def size_text(n: str, unit: str, lang: str = "en") -> str:
    """``"of 6,702 residents"`` / ``"共 6,702 人"`` for a size already formatted as ``n``."""
    return _SIZES[lang][unit].format(n=n)


def measure_text(measure: str, lang: str) -> str:
    """What a rule's value measures, in ``lang``."""
    return MEASURES_ZH.get(measure, measure) if lang == "zh" else measure


#: Target texts of the summary in Chinese (the kinds write them in English): (pattern, replacement).
_TARGETS_ZH = [
    (r"^list of candidates to connect$", "列出待打通的候选"),
    (r"^all$", "全部达标"),
    (r"^≥ (\S+) in every unit$", r"每个单元 ≥ \1 处"),
    (r"^one per (\S+) residents$", r"每 \1 名居民一处"),
    (r" per km²$", " 处/km²"),
    (r" m² per resident$", " m²/人"),
]


def target_text(text, lang: str) -> str:
    """The summary's ``target_text`` for people: ≥/≤ signs, and in Chinese."""
    import math
    import re

    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    text = str(text).replace(">=", "≥").replace("<=", "≤")
    if lang == "zh":
        for pat, rep in _TARGETS_ZH:
            text = re.sub(pat, rep, text)
    return text


# ------------------------------------------------------------------------------------ notes


#: What an analysed area is, by its source (:attr:`urbancover.evaluation.context.Context.area_source`).
AREA_SOURCES = {
    "en": {"user": "given by the user", "built-up": "built-up land", "streets": "the streets' hull", "bounds": "the extract's bounds"},
    "zh": {"user": "用户给定", "built-up": "建成区", "streets": "街道外包范围", "bounds": "数据外框"},
}


def _km2(x: float) -> str:
    """An area in km²: one decimal from 1 km² (``123.4``), two significant digits below (``0.31``)."""
    return f"{x:.1f}" if x >= 1 else f"{x:.2g}"


def _unit(p: dict, lang: str) -> str:
    return LAYER_WORDS[lang][p["unit"]]


def _old_zh(p: dict) -> str:
    return "老旧小区中" if p.get("old") else ""


def _what_zh(p: dict) -> str:
    return p.get("what_zh") or "设施"


def _relation(p: dict, lang: str) -> str:
    """``relation 5 (multipolygon, leisure=park: 2 member way(s) not in the file)``, in ``lang``."""
    if lang == "zh":
        what = ", ".join(x for x in (f"type={p['type']}" if p["type"] else "", p["label"]) if x)
        why = "，".join(x for x in (f"{p['missing']} 条成员路径不在文件中" if p["missing"] else "",
                                   f"{p['cut']} 条缺少部分节点" if p["cut"] else "") if x)
        return f"关系 {p['rid']}（{what}：{why}）"
    what = ", ".join(x for x in (p["type"], p["label"]) if x)
    why = " and ".join(x for x in (f"{p['missing']} member way(s) not in the file" if p["missing"] else "",
                                   f"{p['cut']} without all their nodes" if p["cut"] else "") if x)
    return f"relation {p['rid']} ({what}: {why})"


NOTES: dict[str, dict] = {
    # a sentence written elsewhere (another module's note, a reader's): said as it is
    "plain": {"en": "{text}", "zh": "{text}"},
    # the analysed area
    "area.outside": {
        "en": "area: only {share:.1f} % of the analysed area ({km2:.2f} km²) lies inside the extract's bounds ({extract}); "
              "the data hold no streets, homes or facilities beyond them. Counts and shares describe the part inside only, "
              "and densities per km² (facilities, street length) are divided by the whole area: they come out at "
              "{share:.1f} % of their value over the part inside. Use an extract that covers the area, or cut the area "
              "to the extract.",
        "zh": "分析范围：只有 {share:.1f}% 的分析范围（{km2:.2f} 平方公里）位于数据（{extract}）范围内，范围外没有道路、住宅或设施数据。"
              "数量和比例只反映范围内的部分，而每平方公里的密度（设施、道路长度）按整个范围计算，只有范围内实际值的 {share:.1f}%。"
              "请使用覆盖整个范围的数据，或把分析范围裁剪到数据范围内。"},
    "osm.truncated": {
        "en": "{path}: possibly truncated: {problem}. Results from it may be wrong; download or export the extract again "
              "(and check its size or checksum).",
        "zh": "{path}：数据可能不完整（被截断）：{problem}。由它得出的结果可能有误；请重新下载或导出数据（并核对文件大小或校验和）。"},
    "osm.no_bounds_compact": {
        "en": lambda p: (f"{p['name']}: no <bounds> in the header; the default area is where the extract is complete: the "
                         f"extent of its {p['n']:,} ways and areas at most {p['m']:,.0f} m across ({p['box']}; {p['km2']:,.1f} km²)."
                         + (f" The streets reach farther ({p['far']}; {p['far_km2']:,.1f} km²), as the ways crossing the edge of "
                            "a bounding-box export do; give clip= to analyse another area." if p.get("far") else "")),
        "zh": lambda p: (f"{p['name']}：文件头没有 <bounds>；默认分析范围取数据完整之处：其中 {p['n']:,} 条跨度不超过 {p['m']:,.0f} 米的"
                         f"路段和面的范围（{p['box']}；{p['km2']:,.1f} 平方公里）。"
                         + (f"道路延伸得更远（{p['far']}；{p['far_km2']:,.1f} 平方公里），这是按矩形导出时跨越边界的道路所致；"
                            "如需分析其他范围，请给出 clip=。" if p.get("far") else "")),
    },
    "osm.no_bounds": {
        "en": "{name}: no <bounds> in the header and fewer than {min} ways or areas at most {m:,.0f} m across; the default "
              "area is the {what_en} extent ({box}).",
        "zh": "{name}：文件头没有 <bounds>，且跨度不超过 {m:,.0f} 米的路段和面少于 {min} 个；默认分析范围取{what_zh}的范围（{box}）。"},
    "offset.none": {
        "en": "{name}: points sit a median {given:.0f} m from the streets; converting from GCJ-02 or BD-09 does not bring "
              "them closer: no systematic offset found.",
        "zh": "{name}：点位距道路的中位距离为 {given:.0f} 米；按 GCJ-02 或 BD-09 转换后并未更近：未发现系统性偏移。"},
    "offset.found": {
        "en": "{name}: points sit a median {given:.0f} m from the streets, {after:.0f} m after converting from {system}: "
              "the layer is probably {system}; pass crs='{likely}'.",
        "zh": "{name}：点位距道路的中位距离为 {given:.0f} 米，按 {system} 转换后为 {after:.0f} 米：该图层很可能是 {system} 坐标；"
              "请传入 crs='{likely}'。"},
    "area.built_up": {
        "en": lambda p: (f"analysed area: built-up land, {_km2(p['km2'])} km² ("
                         + ("as asked" if p.get("given") else "no area given")
                         + f": built-up landuse and buildings grown by {p['buffer']:g} m, holding {p['share']:.0%} of the "
                           "street vertices; not the extract's box)."),
        "zh": lambda p: (f"分析范围：建成区，{_km2(p['km2'])} 平方公里（" + ("按要求" if p.get("given") else "未给定范围")
                         + f"：建设用地及外扩 {p['buffer']:g} 米的建筑物，含 {p['share']:.0%} 的街道节点；不取数据外框）。")},
    # the analysed area named in a line (the report page's facts): "analysed area: built-up land, 117.0 km²"
    "area.label": {
        "en": lambda p: f"analysed area: {AREA_SOURCES['en'][p['source']]}, {_km2(p['km2'])} km²",
        "zh": lambda p: f"分析范围：{AREA_SOURCES['zh'][p['source']]}，{_km2(p['km2'])} 平方公里"},
    "area.built_up_in_bounds": {
        "en": lambda p: (f"built-up land inside the extract's bounds, {_km2(p['km2'])} km² (built-up landuse and buildings "
                         f"grown by {p['buffer']:g} m: the box holds hills and water)."),
        "zh": lambda p: (f"数据外框内的建成区，{_km2(p['km2'])} 平方公里"
                         f"（建设用地及外扩 {p['buffer']:g} 米的建筑物：外框含山地和水面）。")},
    "area.streets": {
        "en": lambda p: (f"analysed area: the streets' hull, {_km2(p['km2'])} km² (no area given, and "
                         + (f"little built-up land mapped: {_km2(p['built_km2'])} km² holding {p['share']:.0%} of the street "
                            f"vertices, under {p['min_share']:.0%}" if p["built_km2"] > 0 else "no built-up land mapped")
                         + "; not the extract's box)."),
        "zh": lambda p: (f"分析范围：街道外包范围，{_km2(p['km2'])} 平方公里（未给定范围，且"
                         + (f"建成区数据少：{_km2(p['built_km2'])} 平方公里，仅含 {p['share']:.0%} 的街道节点，低于 {p['min_share']:.0%}"
                            if p["built_km2"] > 0 else "数据中没有建成区")
                         + "；不取数据外框）。")},
    "area.streets_given": {"en": lambda p: f"analysed area: the streets' hull, {_km2(p['km2'])} km² (as asked).",
                           "zh": lambda p: f"分析范围：街道外包范围，{_km2(p['km2'])} 平方公里（按要求）。"},
    "area.bounds": {
        "en": lambda p: (f"analysed area: the extract's bounds, {_km2(p['km2'])} km² ("
                         + ("as asked" if p.get("given") else "the streets hold no area") + ")."),
        "zh": lambda p: (f"分析范围：数据外框，{_km2(p['km2'])} 平方公里（"
                         + ("按要求" if p.get("given") else "街道不成面") + "）。")},
    "area.user": {"en": "analysed area: {km2:.2f} km² given by the user.", "zh": "分析范围：用户给定，{km2:.2f} 平方公里。"},
    "area.margin": {
        "en": "the extract reaches only {margin:.0f} m beyond the analysed area, less than the largest threshold "
              "({need:.0f} m): facilities just outside it are missing, so coverage near the edge may be understated. "
              "Use an extract with that margin around the area.",
        "zh": "数据只超出分析范围 {margin:.0f} 米，小于所评规则的最大服务半径（{need:.0f} 米）：范围外的设施缺失，"
              "边缘地带的覆盖率可能偏低。请使用向外扩展至少该距离的数据。"},
    # compounds and residents
    "compounds.osm": {"en": "OSM landuse=residential polygons", "zh": "OSM 居住用地（landuse=residential）"},
    "compounds.user": {"en": "user compound layer", "zh": "用户提供的小区"},
    "compounds.report": {"en": "the report's compounds", "zh": "评估结果中的小区"},
    "compounds.no_year_old": {
        "en": "{source}; {unknown} of {total} have no year and are assumed old (settings.assume_old_without_year)",
        "zh": "{source}；其中 {unknown}/{total} 个无建成年代，按老旧小区计"},
    "compounds.no_year_new": {
        "en": "{source}; {unknown} of {total} have no year and are not counted as old",
        "zh": "{source}；其中 {unknown}/{total} 个无建成年代，不计为老旧小区"},
    "compounds": {"en": "compounds: {source}; {n} in the area, {old} old.",
                  "zh": "小区：{source}；范围内 {n} 个，其中老旧小区 {old} 个。"},
    "residents.estimated": {
        "en": "residents estimated from residential building footprints x floors (where building:levels is missing: "
              "by building type, settings.default_levels_by_building, e.g. apartments {apartments:g}) / "
              "{per_person:g} m² per person",
        "zh": "由住宅建筑占地面积 × 层数（缺少 building:levels 时按建筑类型取默认层数，如 apartments {apartments:g} 层）"
              "/ 人均 {per_person:g} m² 估算"},
    "residents.points": {"en": "user population points", "zh": "用户提供的人口点"},
    "residents.raster": {"en": "user population grid (GeoTIFF), one point per cell", "zh": "用户提供的人口栅格（GeoTIFF），每个像元一个点"},
    "residents.polygons": {"en": "user population polygons, spread over the homes inside by floor area",
                           "zh": "用户提供的人口面，按建筑面积分配到其中的住宅"},
    "residents": {"en": "residents: {source} ({total:,.0f} in the area).", "zh": "居民：{source}（范围内约 {total:,.0f} 人）。"},
    "residents.unchecked": {
        "en": "residents ({total:,.0f}) cannot be checked: no residential land (landuse=residential) is mapped.",
        "zh": "居民（{total:,.0f} 人）无法核验：数据中没有居住用地（landuse=residential）。"},
    "residents.plausible": {
        "en": "residents plausible: {density:,.0f} per km² of residential land ({lo:,.0f}-{hi:,.0f} expected).",
        "zh": "居民数合理：居住用地每平方公里 {density:,.0f} 人（合理范围 {lo:,.0f}-{hi:,.0f}）。"},
    # the advice follows the residents' source: estimated from the map (give a population layer), or
    # the user's layer (check it, or the residential land it is divided by)
    "residents.implausible": {
        "en": lambda p: (f"residents implausible: {p['density']:,.0f} per km² of residential land ({p['land_km2']:.2f} km²), "
                         f"{p['lo']:,.0f}-{p['hi']:,.0f} expected in old districts; "
                         + (f"the population layer gives too {'few' if p['few'] else 'many'} residents for the residential "
                            "land mapped, so per-resident results are unreliable. Check the population layer (its counts, "
                            "their unit and its extent) and the residential land (landuse=residential) in the extract."
                            if p.get("user") else
                            f"too {'few' if p['few'] else 'many'} homes or floors are mapped, so per-resident results are "
                            "unreliable. Give a population layer or totals per subdistrict.")),
        "zh": lambda p: (f"居民数不合理：居住用地（{p['land_km2']:.2f} 平方公里）每平方公里 {p['density']:,.0f} 人，"
                         f"老旧片区应为 {p['lo']:,.0f}-{p['hi']:,.0f} 人；"
                         + (f"人口图层给出的居民相对于数据中的居住用地{'过少' if p['few'] else '过多'}，按人均计算的结果不可靠。"
                            "请核对人口图层（人数、单位和范围）以及数据中的居住用地（landuse=residential）。"
                            if p.get("user") else
                            f"数据中的住宅或层数{'过少' if p['few'] else '过多'}，按人均计算的结果不可靠。"
                            "请提供人口图层或各街道的人口总数。"))},
    "homes.none": {"en": "no residential buildings in the area: building-based shares are undefined.",
                   "zh": "分析范围内没有住宅建筑：按住宅计的比例无法计算。"},
    # the user's layers
    "layer.unusable": {
        "en": "{name}: {n} of {total} rows have no usable geometry (missing, empty or with NaN coordinates) and are ignored.",
        "zh": "{name}：{total} 行中有 {n} 行没有可用的几何（缺失、为空或坐标无效），已忽略。"},
    "layer.repaired": {"en": "{name}: {n} invalid geometries (e.g. self-intersecting outlines) repaired.",
                       "zh": "{name}：已修复 {n} 个无效几何（如自相交的轮廓）。"},
    "facilities.user": {"en": "{key}: facilities from the user's layer ({n} features) instead of OSM.",
                        "zh": "{key}：设施取自用户提供的图层（{n} 个要素），不用 OSM 数据。"},
    # distance rules
    "facility.none": {
        "en": "{rule}: no {what} in the data matches {selector}; reported as a gap everywhere.",
        "zh": lambda p: f"{p['rule']}：数据中没有符合条件的{_what_zh(p)}，全部按未覆盖计。"},
    "facility.none_user": {
        "en": "{rule}: the user's layer facilities[{key!r}] gives no {what}; reported as a gap everywhere.",
        "zh": lambda p: f"{p['rule']}：用户提供的设施图层中没有{_what_zh(p)}，全部按未覆盖计。"},
    "demand.none": {
        "en": lambda p: f"{p['rule']}: no {p['unit']}{' in old compounds' if p.get('old') else ''} in the area; "
                        "its share is undefined (NaN).",
        "zh": lambda p: f"{p['rule']}：分析范围内{_old_zh(p)}没有{_unit(p, 'zh')}，比例无法计算（无法判断）。"},
    "demand.unreachable": {
        "en": "{rule}: {n} of {total} {unit} cannot reach any facility along the walking network (they lie on a part "
              "of it joined to none, or too far from every street); they count as unserved.",
        "zh": lambda p: (f"{p['rule']}：{p['total']} 个{_unit(p, 'zh')}中有 {p['n']} 个沿步行路网无法到达任何设施"
                         "（位于与设施不连通的路网部分，或离街道过远），按未覆盖计。")},
    "facility.unmatched": {
        "en": "{rule}: {n} facilities count for no category (e.g. schools of unknown level); they are listed in the "
              "layer 'unmatched' for checking.",
        "zh": "{rule}：{n} 处设施不属于任何类别（如未注明学段的学校），已列入图层 unmatched 供核查。"},
    # barriers (PLAN_RULES rev 3, section G)
    "barriers.read": {
        "en": "barriers: {n} walls, fences, water areas, rivers and railways ({segments} segments) and {openings} openings "
              "on them (gates, entrances, level crossings); access legs do not cross them.",
        "zh": "障碍：{n} 处围墙、栅栏、水面、河道和铁路（{segments} 段），其上开口 {openings} 处（大门、入口、平交道口）；"
              "到路网的接入段不穿越它们。"},
    "walls.behind": {
        "en": lambda p: (
            f"{p['rule']}: " + (f"{p['behind']:,.0f} of {p['total']:,.0f} residents" if p["residents"]
                                 else f"{p['behind']} of {p['total']} {p['label']}")
            + " lie behind walls, water or railways (their straight way to the nearest street crosses one); "
            + (f"their walk changes by a median {p['median']:+.0f} m ({p['farther']} walk farther, {p['nearer']} less far: "
               "the nearest street they reach may lead more directly)" if p["reached"]
               else "none of them reaches a facility either way")
            + (f"; {p['no_path']} reach no street or gate within the snap limit (no path)" if p["no_path"] else "") + "."),
        "zh": lambda p: (
            f"{p['rule']}：" + (f"{p['total']:,.0f} 名居民中有 {p['behind']:,.0f} 名" if p["residents"]
                               else f"{p['total']} 个中有 {p['behind']} 个")
            + "位于围墙、水面或铁路之后（到最近道路的直线穿越障碍）；"
            + (f"步行距离中位数变化 {p['median']:+.0f} 米（{p['farther']} 个更远，{p['nearer']} 个更近：能到达的最近道路可能更直接）"
               if p["reached"] else "无论有无障碍都到不了设施")
            + (f"；{p['no_path']} 个在接驳距离内到不了任何道路或大门（无路可达）" if p["no_path"] else "") + "。"),
    },
    "streets.not_walkable": {
        "en": "{rule}: {km:.2f} km of the streets are not walkable themselves (sidewalks mapped as separate ways): "
              "measured every {step:g} m from the nearest walkable point.",
        "zh": "{rule}：其中 {km:.2f} 公里道路本身不可步行（人行道单独绘制），按每 {step:g} 米从最近的可步行处计算。"},
    "streets.none": {"en": "{rule}: no street in the area matches the rule's street demand; share undefined.",
                     "zh": "{rule}：分析范围内没有该规则所指的街道，比例无法计算（无法判断）。"},
    # other kinds
    "facility.no_area": {"en": "{rule}: {n} facilities are points with no area and add nothing.",
                         "zh": "{rule}：{n} 处设施只有点位、没有面积，不计入。"},
    "units.none": {"en": "{rule}: no area units (subdistrict boundaries) in the data or given; the rule is undetermined.",
                   "zh": "{rule}：没有街道单元（未提供，数据中也没有街道边界），无法判断。"},
    # reasons of undetermined rules (the summary's ``reason``)
    "reason.nothing_to_serve": {
        "en": lambda p: ("no street of the rule's street demand" if p["unit"] == "street" else f"no {p['unit']}")
                        + (" in old compounds" if p.get("old") else "") + " in the area: nothing to serve",
        "zh": lambda p: ("范围内没有该规则所指的街道" if p["unit"] == "street"
                         else f"范围内{_old_zh(p)}没有{_unit(p, 'zh')}") + "：无服务对象"},
    "reason.empty_area": {"en": "the area is empty", "zh": "分析范围为空"},
    "reason.no_residents": {
        "en": "no residents in the area (no homes found, or a population of 0): the per-resident figure is unknown",
        "zh": "范围内没有居民（未找到住宅，或人口为 0）：无法计算人均指标"},
    "reason.no_known_area": {"en": "no facility of known area in: {tiers}", "zh": "以下类别没有已知面积的设施：{tiers_zh}"},
    "reason.no_units": {"en": "no subdistrict units: none given (units=...) and no subdistrict boundaries in the data",
                        "zh": "没有街道单元（未提供，数据中也没有街道边界）"},
    "reason.list": {"en": "a list of candidates to connect, not a pass or fail", "zh": "待打通的候选清单，不判定达标与否"},
    # details of other kinds (the summary's ``detail``)
    "detail.above_range": {"en": "above the range ({value:.1f} > {hi:g} per km²): meets the standard",
                           "zh": "高于上限（{value:.1f} > {hi:g} 处/km²）：达标"},
    "detail.tier": {
        "en": lambda p: (f"{p['tier']}: {p['ok']} of {p['n']} >= {p['min_m2']:g} m² of {'floor area' if p['floor'] else 'area'} "
                         f"({p['unknown']} without area)"),
        "zh": lambda p: (f"{p['tier_zh']}：{p['n']} 处中 {p['ok']} 处{'建筑面积' if p['floor'] else '用地面积'} ≥ {p['min_m2']:g} m²"
                         f"（{p['unknown']} 处无面积）")},
    "detail.list": {"en": "{items}", "zh": "{items}", "sep": {"en": "; ", "zh": "；"}},
    "missing.share": {"en": "{what} {share:.0%}", "zh": "{what_zh} {share:.0%}"},
    # the reader (io.osm.read_osm): what it left out of an extract
    "osm.items": {
        "en": lambda p: p["items"] + (f"; and {p['more']:,} more" if p.get("more", 0) > 0 else ""),
        "zh": lambda p: p["items"] + (f"；另有 {p['more']:,} 个" if p.get("more", 0) > 0 else "")},
    "osm.relation": {"en": lambda p: _relation(p, "en"), "zh": lambda p: _relation(p, "zh")},
    "osm.way": {"en": "way {wid} ({label})", "zh": "路径 {wid}（{label}）"},
    "osm.relations_dropped": {
        "en": "{path}: {n:,} multipolygon/boundary relation(s) are incomplete in this extract (member ways missing or cut at "
              "its edge) and were left out of the features: {named}. The areas they map (parks, landuse, boundaries ...) "
              "are missing from the results; to keep them whole, cut the extract with 'osmium extract --strategy smart' "
              "(or complete_ways) or download it with its relations' members.",
        "zh": "{path}：{n:,} 个多边形/边界关系在本数据中不完整（成员路径缺失或在数据边缘被截断），未计入要素：{named}。"
              "它们所表示的区域（公园、用地、边界等）不在结果中；如需完整保留，请用 osmium 的 smart 或 complete_ways "
              "方式裁切数据，或连同关系成员一起下载。"},
    "osm.relations_partial": {
        "en": "{path}: {n:,} multipolygon/boundary relation(s) were assembled from their complete rings only, other member "
              "ways being missing or cut at the extract's edge: {named}. Their parts beyond those rings are missing from "
              "the results.",
        "zh": "{path}：{n:,} 个多边形/边界关系仅由其完整的环拼合（其他成员路径缺失或在数据边缘被截断）：{named}。"
              "这些环以外的部分不在结果中。"},
    "osm.ways_lost": {
        "en": "{path}: {n:,} tagged way(s) (areas such as parks and buildings, or lines) lack nodes that are not in the "
              "extract, as at the edge of a cut without complete ways, and were left out of the features: {named}. To "
              "keep them, cut the extract with 'osmium extract --strategy complete_ways' or smart.",
        "zh": "{path}：{n:,} 条带标签的路径（公园、建筑等面或线）缺少不在数据中的节点（如在未保留完整路径的裁切边缘），"
              "未计入要素：{named}。如需保留，请用 osmium 的 complete_ways 或 smart 方式裁切数据。"},
    "osm.deleted": {
        "en": "{path}: {n:,} object(s) marked deleted (action=\"delete\", as JOSM saves them, or visible=\"false\") were "
              "left out: they are not part of the data.",
        "zh": "{path}：{n:,} 个标记为已删除的对象（action=delete 或 visible=false）已忽略，不属于数据。"},
    "osm.outliers": {
        "en": "{path}: {n} lone vertex/vertices more than {gap:,.0f} m from {others} were left out of the default "
              "analysed area (stray nodes?).",
        "zh": "{path}：{n} 个孤立节点距其他要素超过 {gap:,.0f} 米，未计入默认分析范围（可能是误置的节点）。"},
    # siting (siting.propose_sites): the notes of a SitingResult
    "siting.unsnapped": {
        "en": "{n} demand places ({w:,.0f} {unit}) lie farther than settings.max_snap_distance from every walkable "
              "street: no site can serve them.",
        "zh": lambda p: f"{p['n']} 个需求点（{p['w']:,.0f} {_unit_word(p['unit'])}）离所有可步行街道都过远：任何选址都无法服务。"},
    "siting.unreachable": {
        "en": "{u:,.1f} {unit} of unserved demand ({share:.1%}) are more than {threshold:g} m from every candidate site "
              "(beyond any street, across a gap in the network, or outside the candidate area): no site can serve them; "
              "they stay in the share's denominator.",
        "zh": lambda p: (f"未覆盖需求中有 {p['u']:,.1f} {_unit_word(p['unit'])}（{p['share']:.1%}）距所有候选点超过 "
                         f"{p['threshold']:g} 米（离街道过远、路网不连通或在候选范围外）：任何选址都无法服务，仍计入比例的分母。")},
    "siting.target_unreachable": {
        "en": "the target {target:.1%} cannot be reached: with every candidate site at most {attainable:.1%} is served; "
              "the sites aim at {attainable:.1%}.",
        "zh": "目标 {target:.1%} 无法达到：即使选用全部候选点，最多覆盖 {attainable:.1%}；选址以 {attainable:.1%} 为目标。"},
    "siting.no_site_needed": {"en": "the existing facilities already serve {share:.1%}: no new site needed.",
                              "zh": "现有设施已覆盖 {share:.1%}：无需新增选址。"},
    "siting.min_area": {
        "en": "{rule} counts only facilities of at least {min_area:g} m²: a proposed site stands for such a facility "
              "reached at that point of the street; added as a point it would not count when the rule is measured again.",
        "zh": "{rule} 只计面积不小于 {min_area:g} m² 的设施：选址点代表在该街道位置可到达的此类设施；"
              "若仅以点加入数据，重新评估时不会被计入。"},
    # demonstration zones (zones.find_zones): a zone's reason is a list of these, joined
    "zone.reason": {"en": "{items}.", "zh": "{items}。"},
    "zone.compounds": {
        "en": lambda p: f"{p['n']} old compound{'s' if p['n'] != 1 else ''}" + (f" ({p['names']})" if p["n"] else ""),
        "zh": lambda p: f"老旧小区 {p['n']} 个" + (f"（{p['names']}）" if p["n"] else "")},
    "zone.lacks": {
        "en": lambda p: f"of its {p['residents']:,.0f} residents " + (p["shown"] or "none lacks a service"),
        "zh": lambda p: f"{p['residents']:,.0f} 名居民中" + (p["shown"] or "无服务缺口"), "sep": {"en": ", ", "zh": "，"}},
    "zone.lack": {"en": lambda p: f"{p['share']:.0%} lack {p['label'][0].lower() + p['label'][1:]}",
                  "zh": "{share:.0%} 缺少{label_zh}"},
    "zone.no_residents": {"en": "no residents found inside", "zh": "片区内未找到居民"},
    "zone.size": {"en": "{km2:.2f} km² in {n} blocks", "zh": "{km2:.2f} km²，{n} 个街块"},
    "zone.score": {"en": "score {score:,.0f} = need {need:,.0f} + {n} x {w_old:,.0f}",
                   "zh": "得分 {score:,.0f} = 需求 {need:,.0f} + {n} × {w_old:,.0f}"},
    "zone.first": {"en": "ranks 1st: highest score of {n_valid:,} valid candidate zones found ({score})",
                   "zh": "排名第 1：在找到的 {n_valid:,} 个有效候选片区中得分最高（{score}）"},
    "zone.rank": {
        "en": lambda p: f"ranks {_ordinal(p['rank'])}, below #{p['rank'] - 1} for {p['why']} ({p['score']})",
        "zh": "排名第 {rank}，低于第 {above} 名，因为{why}（{score}）"},
    "zone.fewer_old": {"en": "fewer old compounds ({n} vs {prev})", "zh": "老旧小区较少（{n} 个，对方 {prev} 个）"},
    "zone.less_need": {"en": "less need ({need:,.0f} vs {prev:,.0f} weighted unserved residents)",
                       "zh": "需求较低（加权未覆盖居民 {need:,.0f}，对方 {prev:,.0f}）"},
    "names": {"en": "{items}", "zh": "{items}", "sep": {"en": ", ", "zh": ", "}},
    "zone.unnamed_osm": {"en": "unnamed (OSM {osmid})", "zh": "未命名（OSM {osmid}）"},
    "zone.unnamed": {"en": "unnamed #{i}", "zh": "未命名 #{i}"},
    # why no zone was found (zones.attrs["diagnosis"])
    "zone.none.area": {
        "en": lambda p: (f"no union of adjacent blocks has an area in {p['lo']:.2f}-{p['hi']:.2f} km²: "
                         + (f"the largest union below it reaches {p['below']:.2f} km²" if p["below"] > 0 else "no union is smaller")
                         + ", " + (f"the smallest above it is {p['above']:.2f} km²" if p["above"] < float("inf") else "no union is larger")
                         + ". Widen band_km2= or choose another road level."),
        "zh": lambda p: (f"没有面积在 {p['lo']:.2f}-{p['hi']:.2f} km² 之间的相邻街块组合："
                         + (f"小于该范围的最大组合 {p['below']:.2f} km²" if p["below"] > 0 else "没有更小的组合")
                         + "，" + (f"大于该范围的最小组合 {p['above']:.2f} km²" if p["above"] < float("inf") else "没有更大的组合")
                         + "。请放宽面积范围或选择其他道路等级。")},
    "zone.none.old": {
        "en": lambda p: (f"best {p['km2']:.2f} km² enclosed area holds only {p['old']} old compound{'s' if p['old'] != 1 else ''} "
                         f"(need {p['k']}; {p['n_old']} old in the area, {p['source']}). Lower min_old_compounds=, widen "
                         "band_km2=, or give a compound layer."),
        "zh": "最佳的 {km2:.2f} km² 围合区域只含 {old} 个老旧小区（需要 {k} 个；范围内共 {n_old} 个老旧小区，{source}）。"
              "请降低老旧小区数量要求、放宽面积范围，或提供小区图层。"},
    "zone.none.compact": {
        "en": "unions of {lo:.2f}-{hi:.2f} km² with {k}+ old compounds exist but are all elongated: the most compact "
              "({km2:.2f} km², {old} old compounds) has compactness {c:.2f} < min_compactness {min_c:g}.",
        "zh": "存在 {lo:.2f}-{hi:.2f} km² 且含 {k} 个以上老旧小区的组合，但形状都过于狭长：最紧凑的一个"
              "（{km2:.2f} km²，{old} 个老旧小区）紧凑度 {c:.2f} < 要求 {min_c:g}。"},
    "compare.area": {
        "en": "compare: the two evaluations analysed different areas ({before:.2f} km² before, {after:.2f} km² after, "
              "{shared:.0%} shared); shares and counts compare different districts. Evaluate both with the same area= "
              "(--area).",
        "zh": "前后对比：两次评估的分析范围不同（之前 {before:.2f} 平方公里，之后 {after:.2f} 平方公里，重合 {shared:.0%}），"
              "比例和数量比较的是不同的片区。请用同一分析范围评估两次。"},
    "compare.settings": {
        "en": "compare: the two evaluations used different settings ({names}); a change may come from them, not from the data.",
        "zh": "前后对比：两次评估的设置不同（{names}），变化可能来自设置而非数据。"},
    "compare.only_one": {
        "en": "compare: rule(s) {rules} were evaluated in only one of the two reports; they are left out.",
        "zh": "前后对比：规则 {rules} 只在其中一次评估中计算，未作比较。"},
    "compare.unmatched": {
        "en": "compare: {gone} home(s) of before and {new} of after have no counterpart in the other (not the same OSM id, "
              "none within {tol:g} m): built or demolished, or mapped anew; they count in each side's totals only.",
        "zh": "前后对比：之前有 {gone} 栋住宅、之后有 {new} 栋住宅在另一次中找不到对应（OSM 编号不同，{tol:g} 米内也没有）："
              "新建、拆除或重新绘制；它们只计入各自一方的总数。"},
    "zone.none.few_old": {
        "en": "the area holds only {n} old compound(s) ({source}); a zone needs {k}. Give a compound layer (compounds=..., "
              "with year_built), or change before_year / assume_old.",
        "zh": "分析范围内只有 {n} 个老旧小区（{source}），一个片区需要 {k} 个。请提供含建成年代的小区图层，或调整老旧小区的年代标准。"},
    "zone.none.geometry": {
        "en": "{n} unions met the constraints on the block sums, but none on its exact geometry (area, compounds or "
              "compactness changed when measured); widen band_km2= or lower min_compactness=.",
        "zh": "{n} 个组合按街块汇总满足条件，但按实际几何测量后都不满足（面积、小区数或紧凑度发生变化）；请放宽面积范围或降低紧凑度要求。"},
}


def _unit_word(unit: str) -> str:
    """A siting unit in Chinese (``street_m``: metres of street)."""
    return {"street_m": "米街道", "demand": "需求"}.get(unit, LAYER_WORDS["zh"].get(unit, unit))


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def render(code: str, params: dict, lang: str = "en") -> str:
    """Say the note ``code`` with ``params`` in ``lang``; parameters that are notes (or lists of
    notes, joined as :data:`NOTES` ``["detail.list"]`` joins them) are said in ``lang`` first.
    """
    from urbancover.present.notes import Note

    if code not in NOTES:
        raise KeyError(f"no note {code!r} in the catalogue of words")
    p = {}
    for k, v in params.items():
        if isinstance(v, Note):
            v = v.text(lang)
        elif isinstance(v, (list, tuple)) and all(isinstance(x, Note) for x in v):
            v = NOTES.get(code, {}).get("sep", NOTES["detail.list"]["sep"])[lang].join(x.text(lang) for x in v)
        p[k] = v
    template = NOTES[code][lang]
    return template(p) if callable(template) else template.format(**p)
