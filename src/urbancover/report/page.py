"""The HTML report of a district (one self-contained page; printed, A4 pages), and the export of every layer to one GeoPackage."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import geopandas as gpd
import numpy as np

from urbancover.core.progress import tell
from urbancover.core.settings import Settings, resolve
from urbancover.present import Note, Verdict, say
from urbancover.present.formats import share, size, value, value_of
from urbancover.present.words import target_text, verdict_text
from urbancover.report.common import (
    WEB_FONT_FAMILY,
    check_lang,
    distance_rules,
    esc,
    measure_text,
    rule_name,
    verdict_word,
    with_web_font,
    zones_frame,
)

CSS = """
:root{--fail:#b2182b;--pass:#1a9850;--muted:#666;--line:#d9d9d9}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 40px;font-family:'%(font)s','Helvetica Neue',Arial,'Noto Sans CJK SC','Microsoft YaHei',
'PingFang SC',sans-serif;color:#222;line-height:1.5;max-width:1280px;margin:auto}
h1{font-size:26px;font-weight:600;margin:0 0 4px}
h2{font-size:19px;font-weight:600;margin:34px 0 10px;padding-bottom:4px;border-bottom:2px solid #222}
.sub{color:var(--muted);margin:0 0 6px}
ul.notes{margin:0;padding-left:20px;color:#333;font-size:14px}
table{border-collapse:collapse;width:100%%;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 7px;text-align:left;vertical-align:top}
td.rule{min-width:210px}td.rule b{font-weight:600}td.rule code{color:#555}
th{background:#f4f4f4;font-weight:600}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.pair{white-space:nowrap;font-variant-numeric:tabular-nums}
td.pair .line{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;white-space:nowrap;color:#fff}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}.badge.none{background:#999}
code{font-size:12px;background:#f4f4f4;padding:0 3px;border-radius:3px}
figure{margin:18px 0 26px;page-break-inside:avoid}
figure img{width:100%%;height:auto;border:1px solid var(--line)}
figcaption{font-size:13px;color:var(--muted)}
iframe.map{width:100%%;height:640px;border:1px solid var(--line)}
footer{margin-top:36px;font-size:12px;color:var(--muted);border-top:1px solid var(--line);padding-top:8px}
@media print{iframe.map{display:none}body{padding:0}}
"""

#: Print stylesheet: A4 pages, the summary table first, the interactive map left out (it cannot
#: print), and each gap map alone on a page of its own orientation, filling it: a gap map is an A4
#: page with its own margins, so its page has none and the map prints at its true scale.
PRINT_CSS = """
@page{size:A4 portrait;margin:12mm 11mm}
@page landscape{size:A4 landscape;margin:0}
@page portrait{size:A4 portrait;margin:0}
@media print{
body{max-width:none;padding:0;font-size:10pt;line-height:1.35}
h1{font-size:17pt}h2{font-size:12.5pt;margin:12pt 0 5pt;break-after:avoid;page-break-after:avoid}
table{font-size:7pt}th,td{padding:1pt 2.5pt;line-height:1.25}td.rule{min-width:0}td.rule code{font-size:6.5pt}
td.pair{white-space:nowrap;font-size:6.5pt}td.pair .line{display:inline}td.pair .size{white-space:normal}
table.summary{table-layout:fixed;width:100%}table.summary th:nth-child(1){width:15%}table.summary th:nth-child(2){width:15%}
table.summary th:nth-child(n+3):nth-child(-n+6){width:10.5%}table.summary th:nth-child(7){width:16%}
table.summary th:nth-child(8){width:12%}td.rule code{overflow-wrap:anywhere}
thead{display:table-header-group}tr{break-inside:avoid;page-break-inside:avoid}
.badge{padding:0 3pt;font-size:6.5pt;border:1px solid #666;-webkit-print-color-adjust:exact;print-color-adjust:exact}
ul.notes{font-size:8.5pt;overflow-wrap:anywhere}
#interactive,iframe.map,#maps>h2{display:none}
figure.map{margin:0;break-before:page;page-break-before:always;break-inside:avoid;page-break-inside:avoid}
figure.map.landscape{page:landscape}figure.map.portrait{page:portrait}
figure.map img{display:block;border:none;margin:0;max-width:none}
figure.map.landscape img{width:auto;height:209.5mm}figure.map.portrait img{width:auto;height:296.5mm}
figure.map figcaption{display:none}
footer{display:none}.printonly{display:block;font-size:8pt}
}
@media screen{.printonly{display:none}}
"""


def _b64_png(fig, dpi: int) -> str:
    """The figure as a base64 PNG, reduced to 256 colours (a quarter of the bytes, same look)."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    small = io.BytesIO()
    fast = getattr(getattr(Image, "Quantize", Image), "FASTOCTREE")  # Pillow < 9.1 has the plain constants
    no_dither = getattr(getattr(Image, "Dither", Image), "NONE")
    img.quantize(colors=256, method=fast, dither=no_dither).save(small, format="PNG", optimize=True)
    return base64.b64encode(small.getvalue()).decode("ascii")


def _district(report) -> str:
    path = getattr(getattr(report.context, "osm", None), "path", None)
    if path is None:
        return ""
    name = Path(str(path)).name
    for suffix in (".osm.bz2", ".osm.gz", ".osm.pbf", ".osm", ".pbf"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def _requirement(m, row, lang, T) -> str:
    """The rule's requirement in words: its distance(s) from the measurement, else its target."""
    if m is None:
        return esc(target_text(row.target_text, lang))
    unit = "\u00a0米" if lang == "zh" else "\u00a0m"  # no break inside "≤ 500 米" (it printed "≤ 500" / "米")
    if len(m.checks) == 1:
        text = T["distance_rule"].format(t=f"{m.checks[0].threshold:g}{unit}")
    else:
        sep = "，" if lang == "zh" else ", "
        text = sep.join(f"{(c.name_zh or c.name) if lang == 'zh' else c.name} ≤ {c.threshold:g}{unit}" for c in m.checks)
    text = text.replace("≤ ", "≤\u00a0")
    return f"{esc(text)}<br><span class='sub'>{esc(T['target'])}\u00a0{100 * m.rule.target:g}%</span>"


def _pair(row, key, lang: str = "en") -> str:
    s = row.shares.get(key)
    if s is None:
        return "<td class='pair'></td>"
    words = size(s, lang)  # every share carries its size: "37.7% | 30.1% of 6,702 residents"
    return (f"<td class='pair'>{esc(share(s.served))} "
            f"<span class='line'>｜ {esc(share(s.straight))}</span>"
            + (f"<br><span class='sub size'>{esc(words)}</span>" if words else "") + "</td>")


#: CSS class of each verdict's badge.
_BADGE = {Verdict.PASS: "pass", Verdict.FAIL: "fail", Verdict.UNDETERMINED: "none", Verdict.LIST: "none"}


def _badge(row, lang: str = "en") -> str:
    why = (f"<br><span class='sub reason'>{esc(say(row.reason, lang))}</span>"
           if row.verdict in (Verdict.UNDETERMINED, Verdict.LIST) and row.reason else "")
    return f"<span class='badge {_BADGE[row.verdict]}'>{esc(verdict_word(row, lang))}</span>{why}"


def summary_table(report, lang: str = "zh") -> str:
    """The summary as an HTML table: one row per rule (``id="rule-<id>"``), network and
    straight-line shares side by side.
    """
    T = check_lang(lang)
    head = ["col_rule", "col_requirement", "col_residents", "col_buildings", "col_compounds", "col_street", "col_value",
            "col_result"]
    out = ["<table class='summary'><thead><tr>" + "".join(f"<th>{T[h]}</th>" for h in head) + "</tr></thead><tbody>"]
    for rid, res in report.results.items():
        rule = res.rule
        row = res.summary
        other = ""
        if res.measurement is None:
            other = f"{esc(measure_text(row.measure, lang))}: <b>{esc(value_of(row.value, row.measure, lang))}</b>"
            for extra in ("facilities_needed", "units_failing", "detail"):
                if row.extra.get(extra) not in ("", None):
                    val = row.extra[extra]
                    val = value(val) if isinstance(val, (int, float, np.number)) else say(val, lang)
                    other += f"<br><span class='sub'>{esc(T[extra])}: {esc(val)}</span>"
        elif isinstance(row.get("missing"), str) and row.get("missing") not in ("", "none"):
            other = f"<span class='sub'>{esc(T['missing'])}: {esc(say(row['missing'], lang))}</span>"
        out.append(
            f"<tr id='rule-{esc(rid)}' data-rule='{esc(rid)}'><td class='rule'><b>{esc(rule_name(rule, lang))}</b><br>"
            f"<code>{esc(rid)}</code>{(' · ' + esc(T['col_clause']) + ' ' + esc(rule.clause)) if rule.clause else ''}</td>"
            f"<td>{_requirement(res.measurement, row, lang, T)}</td>"
            + "".join(_pair(row, k, lang) for k in ("residents", "buildings", "compounds", "street"))
            + f"<td>{other}</td><td>{_badge(row, lang)}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _zones_table(z, T, diagnosis: str = "") -> str:
    if z is None or len(z) == 0:
        return f"<p class='sub'>{esc(diagnosis or T['zones_none'])}</p>"
    rows = ["<table class='zones'><thead><tr><th>#</th>"
            f"<th>{esc(T['area_km2'])}</th><th>{esc(T['compound_names'])}</th><th>{esc(T['score'])}</th><th>{esc(T['reason'])}</th>"
            "</tr></thead><tbody>"]
    for k, r in z.iterrows():
        score = value(r.get("score")) if r.get("score") is not None else ""
        rows.append(f"<tr id='zone-{k + 1}'><td>{k + 1}</td><td class='num'>{float(r['area_km2']):.2f}</td>"
                    f"<td>{esc(r['compound_names'])}</td><td class='num'>{esc(score)}</td><td>{esc(r['reason'])}</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def page_head(heading: str, lang: str) -> str:
    """The page's ``<head>`` (language, generator, title, the styles for screen and print) and the
    opening ``<body>``: the same for the report and the before-and-after page.
    """
    from urbancover.core.version import __version__

    rs = "zh-CN" if lang == "zh" else "en"
    return (f"<!DOCTYPE html><html lang='{rs}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<meta name='generator' content='urbancover {esc(__version__)}'>"
            f"<title>{esc(heading)}</title><style>{CSS % {'font': WEB_FONT_FAMILY}}{PRINT_CSS}</style></head><body>")


def html_report(
    report,
    path: str | os.PathLike,
    *,
    zones: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    title: str | None = None,
    maps: bool | list[str] = True,
    interactive: bool = True,
    dpi: int = 130,
    gpkg: str | os.PathLike | bool | None = None,
    offline: bool = True,
    settings: Settings | None = None,
) -> Path:
    """Write the HTML report of a district: one self-contained page.

    The page holds: the title, the summary table of every rule (shares served by network distance
    next to straight-line distance, pass/fail), the notes of the evaluation (what it assumed:
    estimated residents, old compounds, edge effects ...), the demonstration-zone candidates with
    their reasons, the interactive map (when folium is installed) and the static gap map of every
    distance rule. Everything is inside the one file (maps as base64 PNG, the interactive map in
    an ``iframe srcdoc``, Leaflet and the characters of the CJK font inlined), so it opens offline.

    Printed (or saved as PDF from a browser) it is A4: the summary and notes first (compact: the
    summary of the preset on one page in Chinese), the interactive map left out, and each gap map
    alone on a page of its own orientation, filling it (the map's own A4 page, so its scale bar is true).

    Parameters
    ----------
    report
        What :func:`urbancover.evaluate` returned.
    path
        The HTML file to write.
    zones
        Demonstration-zone candidates (:func:`urbancover.zones.find_zones`), listed and drawn.
    lang
        ``"zh"`` or ``"en"``.
    title
        Page title (default: "<report title> — <extract name>").
    maps
        Embed a static gap map per distance rule (``True``), for the listed rule ids, or none.
    interactive
        Embed the interactive map (needs folium; without it the page says so).
    dpi
        Resolution of the embedded maps.
    gpkg
        Also export every layer (and the zones, and the street distances) to a GeoPackage: a path,
        or ``True`` for ``path`` with the suffix ``.gpkg``; the page links to it.
    offline
        Passed to :func:`interactive_map`.
    settings
        The :class:`~urbancover.core.settings.Settings` of the page and its maps
        (``report_interactive_max_edges`` ...); default :func:`urbancover.core.settings.current`.

    Returns
    -------
    pathlib.Path of the page.
    """
    from urbancover.core.version import __version__
    from urbancover.report.static import gap_map

    s = resolve(settings)
    T = check_lang(lang)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    z = zones_frame(zones, report.network.crs, lang)
    district = _district(report)
    heading = title if title is not None else (f"{T['report_title']} — {district}" if district else T["report_title"])
    parts = [
        page_head(heading, lang),
        f"<header><h1>{esc(heading)}</h1>",
        f"<p class='sub'>{esc(_facts(report, lang))}</p>",
        # on paper the footer would take a page of its own after the last map: its words go here
        f"<p class='sub printonly'>{esc(T['attribution'])} · {esc(T['generated_by'].format(version=__version__))}"
        f"{' · ' + run_line(report, lang) if getattr(report, 'run', None) else ''}</p></header>",
    ]
    # the summary first (on screen and on paper), then what the evaluation assumed
    parts.append(f"<section id='summary'><h2>{esc(T['summary'])}</h2>{summary_table(report, lang)}</section>")
    if report.notes:
        parts.append(f"<section id='notes'><h2>{esc(T['notes'])}</h2><ul class='notes'>"
                     + "".join(f"<li>{esc(say(n, lang))}</li>" for n in report.notes) + "</ul></section>")
    diagnosis = say(getattr(zones, "attrs", {}).get("diagnosis", ""), lang)
    parts.append(f"<section id='zones'><h2>{esc(T['zones'])}</h2>{_zones_table(z, T, diagnosis)}</section>")
    embedded = None
    too_large = report.network.n_edges > s.report_interactive_max_edges
    if interactive and too_large:  # a page a browser cannot open helps nobody: say where the layers are
        parts.append(f"<section id='interactive'><h2>{esc(T['interactive'])}</h2><p class='sub'>"
                     + esc(T["interactive_too_large"].format(n=report.network.n_edges, limit=s.report_interactive_max_edges))
                     + "</p></section>")
    elif interactive:
        parts.append(f"<section id='interactive'><h2>{esc(T['interactive'])}</h2>")
        try:
            from urbancover.report.interactive import interactive_map

            tell("HTML report: interactive map")
            m = interactive_map(report, zones=zones, lang=lang, offline=offline, settings=s)
            tell("HTML report: interactive map, written into the page")
            doc = m.get_root().render()
            parts.append(f"<p class='sub'>{esc(T['interactive_help'])} {esc(T['offline_note'] if offline else T['online_note'])}</p>")
            # an attribute in single quotes needs only & and ' escaped (JSON's many " stay as they are)
            srcdoc = doc.replace("&", "&amp;").replace("'", "&#39;")
            parts.append(f"<iframe class='map' title='{esc(T['interactive'])}' srcdoc='")
            embedded = len(parts)  # the map's document has a font of its own
            parts.append(srcdoc)
            parts.append("'></iframe>")
        except ImportError:
            parts.append(f"<p class='sub'>{esc(T['interactive_missing'])}</p>")
        parts.append("</section>")
    chosen = distance_rules(report) if maps is True else (list(maps) if maps else [])
    if chosen:
        parts.append(f"<section id='maps'><h2>{esc(T['maps'])}</h2>")
        for k, rid in enumerate(chosen):
            tell(f"HTML report: map {k + 1}/{len(chosen)} {rid}")
            fig = gap_map(report, rid, lang=lang, zones=zones, settings=s)
            w, h = fig.get_size_inches()
            data = _b64_png(fig, dpi)
            name = rule_name(report.results[rid].rule, lang)
            orient = "landscape" if w > h else "portrait"
            parts.append(f"<figure id='map-{esc(rid)}' class='map {orient}'><img alt='{esc(name)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption><code>{esc(rid)}</code> {esc(name)}</figcaption></figure>")
        parts.append("</section>")
    foot = [esc(T["attribution"]), esc(T["generated_by"].format(version=__version__))]
    if getattr(report, "run", None) is not None:  # what made the result (urbancover.evaluation.runinfo)
        foot.append(run_line(report, lang))
    if gpkg:
        gpath = path.with_suffix(".gpkg") if gpkg is True else Path(gpkg)
        export_gpkg(report, gpath, zones=zones)
        try:
            rel = os.path.relpath(gpath, path.parent)
        except ValueError:  # another drive on Windows
            rel = str(gpath)
        foot.append(f"{esc(T['gpkg'])}<a href='{esc(rel)}'>{esc(gpath.name)}</a>")
    parts.append("<footer>" + "<br>".join(foot) + "</footer></body></html>")
    tell("HTML report: fonts")
    page = with_web_font("".join(parts), text=None if embedded is None else "".join(parts[:embedded] + parts[embedded + 1:]))
    path.write_text(page, encoding="utf-8")
    return path


def run_line(report, lang: str) -> str:
    """The report's run record (``report.run``) as one sentence of ``lang`` in HTML (identifiers,
    hashes and dates as ``<code>``): the page's footer.
    """
    T, run = check_lang(lang), report.run

    def code(text) -> str:
        return f"<code>{esc(str(text))}</code>"

    changed = ", ".join(f"{k}={v}" for k, v in sorted(run.settings_changed.items()))
    return esc(T["run_record"]).format(
        created=code(run.created_utc.replace("+00:00", "")), rules=code(run.rules_id), rules_sha256=code(run.rules_sha256),
        rules_of=esc(T["run_rules_of_file" if run.rules_sha256_of == "file bytes" else "run_rules_of_json"]),
        extract=code(run.extract or "-"),
        extract_sha256=code(run.extract_sha256 or "-"),
        osm=code(run.osm_timestamp) if run.osm_timestamp else esc(T["run_no_osm_date"]),
        area=esc(Note("area.label", source=run.area_source, km2=run.area_km2).text(lang)),
        settings=code(changed) if changed else esc(T["run_no_changes"]))


def _facts(report, lang: str) -> str:
    ctx = report.context
    homes = len(ctx.homes)
    residents = float(ctx.population["residents"].sum()) if len(ctx.population) else 0.0
    est = getattr(ctx, "residents_estimated", False)
    area = Note("area.label", source=getattr(ctx, "area_source", "user"), km2=ctx.area_km2).text(lang)
    if lang == "zh":
        return (f"{area} · 住宅 {homes} 栋 · 居民 {residents:,.0f} 人{'（估算）' if est else ''} · "
                f"小区 {len(ctx.compounds)} 个 · 步行路网 {float(report.network.length.sum()) / 1000:.1f} km")
    return (f"{area[0].upper() + area[1:]} · {homes} homes · {residents:,.0f} residents{' (estimated)' if est else ''} · "
            f"{len(ctx.compounds)} compounds · {float(report.network.length.sum()) / 1000:.1f} km of walkable network")


def export_gpkg(report, path: str | os.PathLike, *, zones: gpd.GeoDataFrame | None = None, street_distance: bool = True) -> Path:
    """Write every layer of the report to one GeoPackage with named layers, replacing it atomically:
    :meth:`Report.to_gpkg` (the one writer, :func:`urbancover.evaluation.export.write_report`).

    The layers ``<rule id>__<layer>``, ``compounds``, the ``summary`` table, ``zones`` when given
    and, with ``street_distance``, ``<rule id>__street_distance`` for every distance rule: the
    streets cut where the distance crosses the threshold, each piece with its network distance at
    both ends and in the middle and whether it is served (what the gap maps colour, for restyling
    in a desktop GIS).
    """
    return Path(report.to_gpkg(path, zones=zones, street_distance=street_distance))




# ------------------------------------------------------------------------------- before and after


def change_report(comparison, path: str | os.PathLike, *, lang: str = "zh", dpi: int = 130,
                  settings: Settings | None = None) -> Path:
    """Write the before-and-after page of a comparison (:func:`urbancover.compare`): the two extracts,
    the change of every rule (share before and after with its size, homes served, homes and street
    metres newly served / no longer served, facilities added / removed, verdicts), the comparison's
    notes and the change map of every distance rule (:func:`urbancover.report.static.change_map`),
    in one self-contained file that prints on A4 as the gap report does.
    """
    from urbancover.core.version import __version__
    from urbancover.present.words import COMPARE
    from urbancover.report.static import change_map

    s = resolve(settings)
    T = check_lang(lang)
    W = COMPARE[lang]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    heading = W["page_title"]
    names = [_district(comparison.before), _district(comparison.after)]
    sub = W["page_sub"].format(before=names[0] or "—", after=names[1] or "—")
    parts = [
        page_head(heading, lang),
        f"<header><h1>{esc(heading)}</h1><p class='sub'>{esc(sub)}</p>",
        f"<p class='sub printonly'>{esc(T['attribution'])} · {esc(T['generated_by'].format(version=__version__))}</p></header>",
    ]
    head = [W[k] for k in ("col_rule", "col_share", "col_homes", "col_newly", "col_street", "col_facilities", "col_verdict")]
    rows = []
    lines = comparison.lines(lang)
    for rid, r in comparison.summary.iterrows():
        rule = comparison.after.results[rid].rule
        cells = [lines[rid].split("；" if lang == "zh" else "; ")[0]]
        cells.append("" if _nan(r["homes_before"]) else
                     f"{r['homes_served_before']:,.0f}/{r['homes_before']:,.0f} → {r['homes_served_after']:,.0f}/{r['homes_after']:,.0f}")
        cells.append("" if _nan(r["homes_newly_served"]) else f"+{r['homes_newly_served']:,.0f} / -{r['homes_newly_unserved']:,.0f}")
        cells.append("" if _nan(r["street_m_newly_served"]) else
                     f"+{r['street_m_newly_served']:,.0f} / -{r['street_m_newly_unserved']:,.0f} m")
        cells.append("" if _nan(r["facilities_added"]) else f"+{r['facilities_added']:,.0f} / -{r['facilities_removed']:,.0f}")
        cells.append(f"{verdict_text(r['verdict_before'], lang)} → {verdict_text(r['verdict_after'], lang)}")
        rows.append(f"<tr><td class='rule'><b>{esc(rule_name(rule, lang))}</b><br><code>{esc(rid)}</code></td>"
                    + "".join(f"<td class='{'pair' if k == 0 else 'num'}'>{esc(c)}</td>" for k, c in enumerate(cells)) + "</tr>")
    parts.append(f"<section id='summary'><h2>{esc(W['page_summary'])}</h2><table class='summary'><thead><tr>"
                 + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>")
    if comparison.notes:
        parts.append(f"<section id='notes'><h2>{esc(T['notes'])}</h2><ul class='notes'>"
                     + "".join(f"<li>{esc(say(n, lang))}</li>" for n in comparison.notes) + "</ul></section>")
    chosen = [rid for rid in comparison.summary.index if comparison.after.results[rid].measurement is not None]
    if chosen:
        parts.append(f"<section id='maps'><h2>{esc(W['page_maps'])}</h2>")
        for rid in chosen:
            fig = change_map(comparison, rid, lang=lang, settings=s)
            w, h = fig.get_size_inches()
            data = _b64_png(fig, dpi)
            name = rule_name(comparison.after.results[rid].rule, lang)
            orient = "landscape" if w > h else "portrait"
            parts.append(f"<figure id='map-{esc(rid)}' class='map {orient}'><img alt='{esc(name)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption><code>{esc(rid)}</code> {esc(lines[rid])}</figcaption></figure>")
        parts.append("</section>")
    parts.append(f"<footer>{esc(T['attribution'])}<br>{esc(T['generated_by'].format(version=__version__))}</footer></body></html>")
    path.write_text(with_web_font("".join(parts)), encoding="utf-8")
    return path


def _nan(v) -> bool:
    """None, NaN or pandas' NA (a count a rule does not make)."""
    import pandas as pd

    return v is None or (np.ndim(v) == 0 and bool(pd.isna(v)))
