"""Words shared by the command line's table and the HTML report, in Chinese and English: the size
behind each share, the verdict (undetermined with its reason), the table's headers, and the notes.

Everything here is plain text (no maps extra needed); :mod:`urbancover.report` and
:mod:`urbancover.cli` both read it.
"""

from __future__ import annotations

import math
import re

LANGS = ("zh", "en")

#: Headers of the command line's summary table.
HEADERS = {
    "zh": {"rule": "规则", "name": "名称", "value": "数值", "target": "目标", "passed": "结论",
           "residents": "居民覆盖（路网｜直线）", "street": "街道覆盖（路网｜直线）", "reason": "说明"},
    "en": {"rule": "rule", "name": "name", "value": "value", "target": "target", "passed": "passed",
           "residents": "residents served (network | straight)", "street": "street served (network | straight)",
           "reason": "why undetermined"},
}

#: Verdict words.
VERDICTS = {
    "zh": {True: "达标", False: "未达标", None: "无法判断", "listed": "清单"},
    "en": {True: "yes", False: "NO", None: "undetermined", "listed": "list"},
}

#: How each share's base is said: summary column of the size, and the words around it.
_SIZES = {
    "residents": ("residents", {"zh": "共 {n} 人", "en": "of {n} residents"}),
    "buildings": ("buildings", {"zh": "共 {n} 栋", "en": "of {n} homes"}),
    "compounds": ("compounds", {"zh": "共 {n} 个小区", "en": "of {n} compounds"}),
    "street": ("street_km", {"zh": "共 {n} 公里", "en": "of {n} km"}),
}


def check_lang(lang: str) -> str:
    """``lang`` when it is ``"zh"`` or ``"en"``, else an InputError naming the choices."""
    from urbancover.errors import InputError

    if lang not in LANGS:
        raise InputError(f"lang: use 'zh' or 'en', not {lang!r}.")
    return lang


def _number(v: float, km: bool) -> str:
    if km:
        return f"{v:,.2f}" if v < 10 else f"{v:,.1f}"
    return f"{v:,.0f}"


def fmt_share(x) -> str:
    """A share as a percentage, or a dash when undefined."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{100 * float(x):.1f}%"


def fmt_value(x) -> str:
    """A rule's value for a table: a dash when missing, few digits otherwise."""
    if x is None:
        return "—"
    x = float(x)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞"
    if abs(x) >= 100 or x.is_integer():
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"



def share_size(row, key: str, lang: str = "en") -> str:
    """The size behind the share of ``key`` (residents, buildings, compounds, street) of a summary
    row: ``"of 6,702 residents"``, ``"共 0.20 公里"``; empty when the row has no such size.

    Examples
    --------
    >>> share_size({"residents": 6702.4}, "residents")
    'of 6,702 residents'
    >>> share_size({"street_km": 0.2}, "street", "zh")
    '共 0.20 公里'
    """
    col, words = _SIZES[key]
    v = row.get(col) if hasattr(row, "get") else None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return ""
    if math.isnan(v):
        return ""
    return words[lang].format(n=_number(v, key == "street"))


def share_text(row, key: str, lang: str = "en") -> str:
    """``"37.7 % of 6,702 residents"`` (network share and its size); ``""`` without the share."""
    v = row.get(f"{key}_served") if hasattr(row, "get") else None
    if v is None or (isinstance(v, float) and math.isnan(v)):
        size = share_size(row, key, lang)
        return f"— ({size})" if size else ""
    return f"{100 * float(v):.1f} % {share_size(row, key, lang)}".strip()


def verdict(passed, lang: str = "en", *, listed: bool = False) -> str:
    """The verdict word: pass, fail, or undetermined (``passed`` None or NaN), or "list" for a listed kind."""
    if passed is None or (isinstance(passed, float) and math.isnan(passed)):
        return VERDICTS[lang]["listed" if listed else None]
    return VERDICTS[lang][bool(passed)]


#: Notes in Chinese: (English pattern, Chinese template). Python names (settings.x, evaluate(...)
#: parameters) are left out of the Chinese text, which addresses a planner.
_NOTES_ZH = (
    (r"^analysed area: the extract's bounds \(([\d.]+) km²\)\.$", r"分析范围：数据范围（\1 平方公里）。"),
    (r"^analysed area: ([\d.]+) km² given by the user\.$", r"分析范围：用户给定，\1 平方公里。"),
    (r"^the extract reaches only (\d+) m beyond the analysed area, less than the largest threshold \((\d+) m\).*$",
     r"数据只超出分析范围 \1 米，小于所评规则的最大服务半径（\2 米）：范围外的设施缺失，边缘地带的覆盖率可能偏低。请使用向外扩展至少该距离的数据。"),
    (r"^([\w.]+): no (.+?) in the data matches .*; reported as a gap everywhere\.$",
     r"\1：数据中没有符合条件的设施（\2），全部按未覆盖计。"),
    (r"^([\w.]+): the user's layer facilities\[.*?\] gives no (.+?); reported as a gap everywhere\.$",
     r"\1：用户提供的设施图层中没有设施（\2），全部按未覆盖计。"),
    (r"^([\w.]+): no (residents|buildings|compounds)( in old compounds)? in the area; its share is undefined \(NaN\)\.$",
     lambda m: f"{m[1]}：分析范围内{'老旧小区中' if m[3] else ''}没有{_UNIT_ZH[m[2]]}，比例无法计算（无法判断）。"),
    (r"^([\w.]+): no street in the area matches the rule's street demand; share undefined\.$",
     r"\1：分析范围内没有该规则所指的街道，比例无法计算（无法判断）。"),
    (r"^([\w.]+): (\d+) of (\d+) (residents|buildings|compounds) cannot reach any facility along the walking network.*$",
     lambda m: f"{m[1]}：{m[3]} 个{_UNIT_ZH[m[4]]}中有 {m[2]} 个沿步行路网无法到达任何设施（位于与设施不连通的路网部分，或离街道过远），按未覆盖计。"),
    (r"^compounds: (.*?); (\d+) in the area, (\d+) old\.$", r"小区：\1；范围内 \2 个，其中老旧小区 \3 个。"),
    (r"^([\w.]+): (\d+) facilities count for no category .*$",
     r"\1：\2 处设施不属于任何类别（如未注明学段的学校），已列入图层 unmatched 供核查。"),
    (r"^([\w.]+): ([\d.]+) km of the streets are not walkable themselves .*every ([\d.]+) m from the nearest walkable point\.$",
     r"\1：其中 \2 公里道路本身不可步行（人行道单独绘制），按每 \3 米从最近的可步行处计算。"),
    (r"^([\w.]+): no area units \(subdistrict boundaries\) in the data or given; the rule is undetermined\.$",
     r"\1：没有街道单元（未提供，数据中也没有街道边界），无法判断。"),
    (r"^residents: residents estimated from residential building footprints.*\(([\d,]+) in the area\)\.$", r"居民：由住宅建筑占地面积 × 层数 / 人均面积估算（范围内约 \1 人）。"),
)

_UNIT_ZH = {"residents": "居民", "buildings": "住宅", "compounds": "小区"}


def note_text(note: str, lang: str = "en") -> str:
    """A note of the evaluation in ``lang``: English as written; Chinese for the notes urbancover
    writes most (area, margin, compounds, residents, missing facilities, undetermined shares,
    unreachable places), others in English without Python names in parentheses.

    Examples
    --------
    >>> note_text("bus_stop_500: no residents in the area; its share is undefined (NaN).", "zh")
    'bus_stop_500：分析范围内没有居民，比例无法计算（无法判断）。'
    """
    if lang != "zh":
        return note
    note = re.sub(r"\s*\((?:[^()]*\b(?:settings|evaluate|urbancover)\.[^()]*)\)", "", note)
    for pattern, repl in _NOTES_ZH:
        if re.match(pattern, note, flags=re.S):
            note = re.sub(pattern, repl, note, flags=re.S)
            break
    for pattern, repl in _PHRASES_ZH:
        note = re.sub(pattern, repl, note)
    return note


#: Phrases inside notes (compound sources ...) in Chinese.
_PHRASES_ZH = (
    (r"OSM landuse=residential polygons", "OSM 居住用地（landuse=residential）"),
    (r"(\d+) of (\d+) have no year and are assumed old", r"其中 \1/\2 个无建成年代，按老旧小区计"),
    (r"the user's compounds", "用户提供的小区"),
)


#: Target texts of the summary in Chinese.
_TARGETS_ZH = [
    (r"^list of candidates to connect$", "列出待打通的候选"),
    (r"^all$", "全部达标"),
    (r"^≥ (\S+) in every unit$", r"每个单元 ≥ \1 处"),
    (r"^one per (\S+) residents$", r"每 \1 名居民一处"),
    (r" per km²$", " 处/km²"),
    (r" m² per resident$", " m²/人"),
]


def target_text(text, lang: str) -> str:
    """The summary's ``target_text`` for people: ≥/≤ signs, and in Chinese for the known forms."""
    import re

    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    text = str(text).replace(">=", "≥").replace("<=", "≤")
    if lang == "zh":
        for pat, rep in _TARGETS_ZH:
            text = re.sub(pat, rep, text)
    return text


#: Reasons of undetermined rules in Chinese.
_REASONS_ZH = (
    (r"^no (residents|buildings|compounds)( in old compounds)? in the area: nothing to serve$",
     lambda m: f"范围内{'老旧小区中' if m[2] else ''}没有{_UNIT_ZH[m[1]]}：无服务对象"),
    (r"^no street of the rule's street demand in the area: nothing to serve$", "范围内没有该规则所指的街道：无服务对象"),
    (r"^no subdistrict units:.*$", "没有街道单元（未提供，数据中也没有街道边界）"),
    (r"^a list of candidates to connect, not a pass or fail$", "待打通的候选清单，不判定达标与否"),
)


def reason_text(reason, lang: str = "en") -> str:
    """Why a rule is undetermined, in ``lang`` (Chinese for the common reasons)."""
    if not isinstance(reason, str):
        return ""
    if lang == "zh":
        for pattern, repl in _REASONS_ZH:
            if re.match(pattern, reason):
                return re.sub(pattern, repl, reason)
    return reason
