"""Interactive map (folium / Leaflet): one layer per rule, popups with distances and failed rules.

By default the page is self-contained: Leaflet's script and style (BSD-2-Clause, shipped in
``urbancover/report/assets``) are inlined and no background tiles are loaded, so it works offline.
With ``offline=False`` folium's own links to its CDNs are kept (Leaflet, jQuery, Bootstrap, Font
Awesome), and the page needs the internet.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover import intervals
from urbancover.errors import InputError
from urbancover.report.common import (
    BEYOND,
    FACILITY,
    WEB_FONT_FAMILY,
    check_lang,
    esc,
    fmt_m,
    home_failures,
    rule_checks,
    rule_name,
    street_distances,
    web_font_css,
    zones_frame,
)

ZONE, STREET = "#6a3d9a", "#8a8a8a"
#: Outline of a compound by the number of rules it fails: none, one or two, three or more.
COMPOUND_OK, COMPOUND_SOME = "#1a9850", "#fdae61"

#: Legend words of the compound layer (the other words are shared, in ``common.TEXT``).
LEGEND_WORDS = {
    "zh": {"compound_ok": "小区：全部达标", "compound_some": "小区：1–2 项未达标", "compound_many": "小区：3 项及以上未达标"},
    "en": {"compound_ok": "Compound: meets every rule", "compound_some": "Compound: fails 1–2 rules",
           "compound_many": "Compound: fails 3 or more rules"},
}


def _metric_scale(folium):
    """A Leaflet scale control in metres and kilometres only (folium's ``control_scale`` adds miles)."""
    from branca.element import MacroElement
    from jinja2 import Template

    class MetricScale(MacroElement):
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "L.control.scale({metric: true, imperial: false, maxWidth: 160, position: 'bottomright'})"
            ".addTo({{ this._parent.get_name() }});"
            "{% endmacro %}"
        )

    return MetricScale()


def _folium():
    try:
        import folium
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the interactive map needs folium: pip install \"urbancover[maps]\" (or pip install folium)."
        ) from err
    return folium


def _asset(name: str) -> str:
    return (resources.files("urbancover.report") / "assets" / name).read_text(encoding="utf-8")


def _wgs84(gdf: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    """Layer in EPSG:4326 with only ``columns``, coordinates rounded to 1e-6° (about 0.1 m)."""
    out = gpd.GeoDataFrame(gdf[[c for c in columns if c in gdf]].reset_index(drop=True), geometry=gdf.geometry.values, crs=gdf.crs)
    out = out.to_crs(4326)
    out = out.set_geometry(shapely.transform(out.geometry.values, lambda c: np.round(c, 6)))
    g = out.geometry.values
    out = out[~shapely.is_missing(g) & ~shapely.is_empty(g)]
    return out.reset_index(drop=True)


def _props(rows: list[tuple[str, str]], title: str | None = None) -> dict:
    """Popup fields of one feature: ``{label: escaped value}``, ``_title`` first."""
    out = {"_title": title} if title else {}
    out.update(rows)
    return out


def _popup_frame(gdf: gpd.GeoDataFrame, popups: list[dict]) -> tuple[gpd.GeoDataFrame, list[str]]:
    """``gdf`` with one column per popup field (short keys f0, f1 ...), and the labels."""
    labels: list[str] = []
    for p in popups:
        for k in p:
            if k not in labels:
                labels.append(k)
    cols = {f"f{i}": [p.get(k) for p in popups] for i, k in enumerate(labels)}
    return gdf.reset_index(drop=True).assign(**cols), labels


def _add_geojson(folium, parent, gdf, style: dict, *, point_radius: float | None = None, popups: list[dict] | None = None,
                 style_column: str | None = None):
    """Add a layer; ``popups`` (one dict of label -> escaped value per feature) become a compact
    popup: the labels are written once, the values are feature properties.
    """
    if gdf is None or len(gdf) == 0:
        return
    fields, aliases = [], []
    cols = [style_column] if style_column else []
    if popups is not None:
        gdf, labels = _popup_frame(gdf, popups)
        fields = [f"f{i}" for i in range(len(labels))]
        aliases = [("" if lab == "_title" else esc(lab)) for lab in labels]
    data = _wgs84(gdf, fields + cols)
    if point_radius is not None:
        style = {"fill": True, **style}
    if style_column is not None:
        def style_function(feature, _base=style, _col=style_column):
            return {**_base, **feature["properties"][_col]}
    else:
        def style_function(feature, _s=style):
            return _s
    kwargs = {}
    if point_radius is not None:
        kwargs["marker"] = folium.CircleMarker(radius=point_radius, fill=True)
    popup = None
    if fields:
        popup = folium.GeoJsonPopup(fields=fields, aliases=aliases, labels=True, localize=False, max_width=380,
                                    class_name="ucpopup")
    folium.GeoJson(data.to_json(drop_id=True), style_function=style_function, popup=popup, **kwargs).add_to(parent)


def interactive_map(
    report,
    *,
    zones: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
    path: str | os.PathLike | None = None,
    offline: bool = True,
    tiles: str | None = None,
    rules: list[str] | None = None,
    embed_font: bool = True,
    basemap: str | None = None,
):
    """Interactive map of a report: one toggleable layer per rule.

    Parameters
    ----------
    report
        What :func:`urbancover.evaluate` returned.
    zones
        Demonstration-zone candidates (:func:`urbancover.zones.find_zones`): a layer of their own,
        with score, compounds and reason in the popup.
    lang
        ``"zh"`` or ``"en"``.
    path
        Also write the map there as one HTML file.
    offline
        Inline Leaflet (shipped with urbancover) so the file works with no internet (default). With
        ``False`` the page loads Leaflet, jQuery, Bootstrap and Font Awesome from folium's CDNs.
    tiles
        The former name of ``basemap`` (kept working; give one of the two).
    rules
        Rule ids to draw (default: every rule).
    embed_font
        Embed the shipped CJK font, cut down to the characters of the page (about 50 kB), so that
        Chinese shows on a machine with no CJK font.
    basemap
        A background map only when you ask for one: a folium tile layer name or URL
        (``"OpenStreetMap"``, ``"CartoDB positron"`` ...), drawn under the layers. Default none:
        the streets of the network are drawn instead and nothing is fetched. A basemap always
        needs the internet, whatever ``offline`` says.

    Returns
    -------
    folium.Map

    Each distance rule's layer holds the street stretches beyond its threshold (popup: the
    network distance there), the homes and compounds not served (popup: network and straight-line
    distance, and every rule the place fails), the gap polygons and the facilities. Only the first
    rule's layer is shown at first; the layer control switches the others on.
    """
    folium = _folium()
    T = check_lang(lang)
    if basemap is not None and tiles is not None and basemap != tiles:
        raise InputError(f"interactive_map(basemap={basemap!r}, tiles={tiles!r}): give one of the two (tiles is the old name).")
    basemap = basemap if basemap is not None else tiles
    ctx = report.context
    net = report.network
    crs = net.crs
    bounds = gpd.GeoSeries([ctx.area], crs=crs).to_crs(4326).total_bounds
    m = folium.Map(tiles=None, control_scale=False, prefer_canvas=True, zoom_control=True)
    _metric_scale(folium).add_to(m)
    if offline:
        # instance lists shadow folium's class-level CDN links; Leaflet is inlined instead
        m.default_js = []
        m.default_css = []
        root = m.get_root()
        root.header.add_child(folium.Element(f"<style>{_asset('leaflet.css')}</style>"), name="leaflet_css_inline")
        root.header.add_child(folium.Element(f"<script>{_asset('leaflet.js')}</script>"), name="leaflet_js_inline")
    if basemap is not None:
        folium.TileLayer(basemap, name=str(basemap), control=True).add_to(m)
    # leave room on the right for the layer control
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding_top_left=(10, 10), padding_bottom_right=(330, 10))
    m.get_root().header.add_child(folium.Element(
        "<style>.leaflet-container{background:#fbfbf8;font-family:'" + WEB_FONT_FAMILY + "','Helvetica Neue',Arial,"
        "'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif}"
        ".leaflet-control-layers{max-height:70vh;overflow:auto;font-size:12px}"
        ".uclegend{font-family:'" + WEB_FONT_FAMILY + "',Arial,sans-serif}.ucpopup table{font-size:12px;border-collapse:collapse}"
        ".ucpopup th{text-align:left;padding:1px 8px 1px 0;"
        "white-space:nowrap;color:#444}.ucpopup th:empty{display:none}.ucpopup tr:first-child td{font-weight:600}</style>"),
        name="urbancover_css")

    # base: streets, area
    base = folium.FeatureGroup(name=T["streets_layer"], show=True, control=True)
    streets = gpd.GeoDataFrame(geometry=[shapely.multilinestrings(list(net.geometry))], crs=crs) if net.n_edges else None
    if streets is not None:
        _add_geojson(folium, base, streets, {"color": STREET, "weight": 1, "opacity": 0.7})
    area = gpd.GeoDataFrame(geometry=[ctx.area.boundary], crs=crs)
    _add_geojson(folium, base, area, {"color": "#000000", "weight": 1.5, "dashArray": "6 4", "fill": False})
    base.add_to(m)

    fails = home_failures(report)
    chosen = rules if rules is not None else list(report.results)
    first = True
    for rid in chosen:
        res = report.results[rid]
        name = f"{rid} · {rule_name(res.rule, lang)}"
        fg = folium.FeatureGroup(name=name, show=first, control=True)
        if res.measurement is not None:
            _distance_layers(folium, fg, report, rid, lang, T, fails)
        else:
            _other_layers(folium, fg, report, rid, lang, T)
        fg.add_to(m)
        first = False

    _compound_layer(folium, m, report, lang, T)
    z = zones_frame(zones, crs)
    if z is not None and len(z):
        zg = folium.FeatureGroup(name=T["zones_layer"], show=True, control=True)
        popups = [
            _props([(T["area_km2"], f"{a:.2f}"), (T["score"], esc(_fmt_score(s))), (T["compound_names"], esc(c)), (T["reason"], esc(r))],
                   title=esc(f"{T['zone']} {k + 1}"))
            for k, (a, s, c, r) in enumerate(zip(z["area_km2"], z["score"], z["compound_names"], z["reason"]))
        ]
        _add_geojson(folium, zg, z, {"color": ZONE, "weight": 3, "fillColor": ZONE, "fillOpacity": 0.08}, popups=popups)
        zg.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.get_root().html.add_child(folium.Element(_legend_html(T, zones is not None, lang, len(report.compounds) > 0)))
    if embed_font:
        css = web_font_css(m.get_root().render())
        if css:
            m.get_root().header.add_child(folium.Element(css), name="urbancover_web_font")
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        m.save(str(path))
    return m


def _fmt_score(s) -> str:
    try:
        return f"{float(s):.3g}"
    except (TypeError, ValueError):
        return "" if s is None else str(s)


def _legend_html(T: dict, zones: bool, lang: str = "en", compounds: bool = True) -> str:
    """Every kind of feature the map draws, with its symbol."""
    W = LEGEND_WORDS[lang]
    line = "<span style='display:inline-block;width:18px;height:0;border-top:{w}px {style} {c};vertical-align:middle'></span>"
    items = [
        (line.format(w=1, style="solid", c=STREET), T["streets_layer"]),
        (line.format(w=2, style="dashed", c="#000000"), T["area"]),
        (line.format(w=3, style="solid", c=BEYOND), T["street_gap"]),
        (f"<span style='display:inline-block;width:12px;height:10px;background:{BEYOND}'></span>", T["home_unserved"]),
        (f"<span style='display:inline-block;width:12px;height:10px;border:2px solid {BEYOND}'></span>", T["compound_unserved"]),
        (f"<span style='display:inline-block;width:12px;height:10px;background:{BEYOND};opacity:.3'></span>", T["gap"]),
        (f"<span style='display:inline-block;width:10px;height:10px;border-radius:50%;background:{FACILITY}'></span>", T["facility"]),
    ]
    if compounds:
        box = "<span style='display:inline-block;width:12px;height:10px;border:2px dashed {c}'></span>"
        items += [(box.format(c=COMPOUND_OK), W["compound_ok"]), (box.format(c=COMPOUND_SOME), W["compound_some"]),
                  (box.format(c=BEYOND), W["compound_many"])]
    if zones:
        items.append((f"<span style='display:inline-block;width:12px;height:10px;border:2px solid {ZONE}'></span>", T["zone"]))
    rows = "".join(f"<div>{sw} {esc(label)}</div>" for sw, label in items)
    return (
        "<div class='uclegend' style='position:fixed;bottom:64px;left:10px;z-index:1000;background:rgba(255,255,255,.92);"
        "padding:6px 9px;border-radius:4px;font-size:12px;line-height:1.6;box-shadow:0 1px 4px rgba(0,0,0,.3)'>"
        f"{rows}<div style='color:#555;font-size:11px'>{esc(T['attribution'])}</div></div>"
    )


def _distance_layers(folium, fg, report, rid, lang, T, fails):
    res = report.results[rid]
    rule = res.rule
    checks = rule_checks(report, rid, lang)
    crs = report.network.crs
    # street demand beyond the threshold (rules on streets), merged per edge, with its distance range
    pieces = street_distances(report, rid) if "streets" in rule.demand else None
    if pieces is None:
        pieces = gpd.GeoDataFrame({"served": [], "demand": []}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    bad = pieces[~pieces["served"].to_numpy(dtype=bool) & pieces["demand"].to_numpy(dtype=bool)]
    if len(bad):
        runs = _runs(report, checks, bad)
        popups = [_props([(T["name"], esc(n) if isinstance(n, str) else "—"), (T["distance_range"], esc(rng))],
                         title=esc(T["street_gap"])) for n, rng in zip(runs["name"], runs["range"])]
        _add_geojson(folium, fg, runs, {"color": BEYOND, "weight": 3, "opacity": 0.85}, popups=popups)
    gaps = res.layers.get("gaps")
    if gaps is not None and len(gaps):
        _add_geojson(folium, fg, gaps, {"color": BEYOND, "weight": 0.5, "fillColor": BEYOND, "fillOpacity": 0.25})
    for key in ("homes_unserved", "residents_unserved", "compounds_unserved"):
        layer = res.layers.get(key)
        if layer is None or len(layer) == 0:
            continue
        popups = []
        for _, row in layer.iterrows():
            rows = []
            nm = row.get("name")
            if isinstance(nm, str) and nm:
                rows.append((T["name"], esc(nm)))
            rows += _distance_rows(row, checks, lang, T)
            if isinstance(row.get("missing"), str) and row.get("missing"):
                rows.append((T["missing"], esc(row["missing"])))
            if key == "homes_unserved":
                failed = fails.get((str(row.get("element", "")), str(row.get("osmid"))), [rid])
                rows.append((T["fails"], esc(", ".join(failed))))
            elif key == "compounds_unserved":
                rows.append((T["fails"], esc(_compound_failed(report, row) or rid)))
            title = {"homes_unserved": T["home_unserved"], "residents_unserved": T["resident_unserved"],
                     "compounds_unserved": T["compound_unserved"]}[key]
            popups.append(_props(rows, title=esc(title)))
        if key == "compounds_unserved":
            style = {"color": BEYOND, "weight": 3, "fill": True, "fillOpacity": 0.0}
        elif key == "residents_unserved":
            style = {"color": BEYOND, "weight": 1, "fillColor": BEYOND, "fillOpacity": 0.9}
        else:
            style = {"color": "#67000d", "weight": 1, "fillColor": BEYOND, "fillOpacity": 0.85}
        _add_geojson(folium, fg, layer, style, point_radius=4 if key == "residents_unserved" else None, popups=popups)
    for label, fac in zip(checks.labels, checks.facilities):
        _facility_geojson(folium, fg, fac, label if len(checks.labels) > 1 else T["facility"], T)


def _distance_rows(row, checks, lang, T) -> list[tuple[str, str]]:
    rows = []
    if len(checks.labels) == 1:
        if "network_m" in row:
            rows.append((T["network_distance"], esc(_fmt_status(row["network_m"], row.get("status"), lang, T))))
        if "straight_m" in row:
            rows.append((T["straight_distance"], esc(fmt_m(row["straight_m"], lang))))
    else:
        for cat, label in zip(_categories(row), checks.labels):
            nd, sd = row.get(f"network_m_{cat}"), row.get(f"straight_m_{cat}")
            if nd is not None:
                nd_text = _fmt_status(nd, row.get(f"status_{cat}"), lang, T)
                rows.append((esc(label), esc(f"{nd_text} ({T['straight']} {fmt_m(sd, lang)})")))
    return rows


def _fmt_status(d, status, lang, T) -> str:
    """A layer's distance, or what its ``status`` says when there is none (NaN: no path, no facility)."""
    if d is None or (isinstance(d, float) and d != d):
        return T.get(f"status_{str(status).replace(' ', '_')}", str(status)) if status else fmt_m(float("inf"), lang)
    return fmt_m(d, lang)


def _categories(row) -> list[str]:
    return [k[len("network_m_"):] for k in row.index if str(k).startswith("network_m_")]


def _compound_failed(report, row) -> str:
    comp = report.compounds
    if "osmid" in comp and "osmid" in row and row["osmid"] is not None:
        hit = comp[comp["osmid"].astype(str) == str(row["osmid"])]
        if len(hit):
            return str(hit["failed_rules"].iloc[0])
    return ""


def _runs(report, checks, bad: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Merge adjacent unserved pieces of an edge into runs, with the distance range along each."""
    from urbancover.network import line_substrings

    e, s, n = intervals.merge(bad["edge"].to_numpy(), bad["start"].to_numpy(), bad["end"].to_numpy())
    net = report.network
    # distance at the run ends and, through the pieces' middles, inside it
    ends = np.column_stack([
        checks.along(e, s).max(axis=1),
        checks.along(e, n).max(axis=1),
    ])
    span = float(net.length.max()) + 1.0
    key_r = e.astype(float) * span + s
    mid = (bad["start"].to_numpy() + bad["end"].to_numpy()) / 2
    run_of = np.searchsorted(key_r, bad["edge"].to_numpy().astype(float) * span + mid, side="right") - 1
    d = bad["network_distance"].to_numpy()
    lo = np.minimum(ends.min(axis=1), np.inf)
    hi = ends.max(axis=1)
    np.minimum.at(lo, run_of, d)
    np.maximum.at(hi, run_of, d)
    rng = []
    for a, b in zip(lo, hi):
        if not np.isfinite(a):
            rng.append("∞")
        elif not np.isfinite(b) or abs(b - a) < 1:
            rng.append(fmt_m(a, "en") if np.isfinite(b) else f"{fmt_m(a, 'en')} – ∞")
        else:
            rng.append(f"{fmt_m(a, 'en')} – {fmt_m(b, 'en')}")
    names = net.edges["name"].to_numpy()[e] if "name" in net.edges else np.full(len(e), None)
    return gpd.GeoDataFrame({"edge": e, "name": names, "range": rng}, geometry=line_substrings(net.geometry[e], s, n), crs=net.crs)


def _facility_geojson(folium, fg, fac, label, T):
    if fac is None or len(fac) == 0:
        return
    names = fac["name"] if "name" in fac else pd.Series([None] * len(fac))
    popups = []
    for k, nm in enumerate(names):
        rows = [(T["category"], esc(label))] if label != T["facility"] else []
        if isinstance(nm, str) and nm:
            rows.append((T["name"], esc(nm)))
        if "osmid" in fac:
            rows.append(("OSM", esc(f"{fac['element'].iloc[k] if 'element' in fac else ''} {fac['osmid'].iloc[k]}".strip())))
        popups.append(_props(rows, title=esc(T["facility"])))
    f = fac.reset_index(drop=True)
    dims = shapely.get_dimensions(f.geometry.values)
    poly = np.flatnonzero(dims == 2)
    if len(poly):
        _add_geojson(folium, fg, f.iloc[poly], {"color": FACILITY, "weight": 1, "fillColor": FACILITY, "fillOpacity": 0.25},
                     popups=[popups[i] for i in poly])
    pt = np.flatnonzero(dims != 2)
    if len(pt):
        pts = f.iloc[pt]
        pts = pts.set_geometry(np.where(shapely.get_type_id(pts.geometry.values) == 0, pts.geometry.values,
                                        shapely.point_on_surface(pts.geometry.values)))
        _add_geojson(folium, fg, pts, {"color": "#ffffff", "weight": 1.5, "fillColor": FACILITY, "fillOpacity": 1.0},
                     point_radius=5, popups=[popups[i] for i in pt])


def _other_layers(folium, fg, report, rid, lang, T):
    res = report.results[rid]
    units = res.layers.get("units")
    if units is not None and len(units):
        popups = [_props([(T["name"], esc(n)), (T["facility"], esc(c))], title=esc(T["unit_ok"] if ok else T["unit_fail"]))
                  for n, c, ok in zip(units["unit"], units.get("count", [""] * len(units)), units.get("meets", [True] * len(units)))]
        u = units.assign(_style=[{"color": "#1a9850" if ok else BEYOND, "fillColor": "#1a9850" if ok else BEYOND}
                                 for ok in units.get("meets", [True] * len(units))])
        _add_geojson(folium, fg, u, {"weight": 2, "fillOpacity": 0.1}, style_column="_style", popups=popups)
    fac = res.layers.get("facilities")
    if fac is not None and len(fac):
        _facility_geojson(folium, fg, fac, rule_name(res.rule, lang), T)
    ends = res.layers.get("dead_ends")
    if ends is not None and len(ends):
        popups = [_props([(T["name"], esc(s) if isinstance(s, str) else "—"), ("highway", esc(h))], title=esc(T["dead_end"]))
                  for s, h in zip(ends.get("street", [None] * len(ends)), ends.get("highway", [None] * len(ends)))]
        _add_geojson(folium, fg, ends, {"color": "#ffffff", "weight": 1, "fillColor": BEYOND, "fillOpacity": 1.0}, point_radius=5,
                     popups=popups)


def _compound_layer(folium, m, report, lang, T):
    comp = report.compounds
    if comp is None or len(comp) == 0:
        return
    fg = folium.FeatureGroup(name=T["compounds_layer"], show=True, control=True)
    popups, styles = [], []
    for _, row in comp.iterrows():
        rows = []
        if isinstance(row.get("name"), str) and row.get("name"):
            rows.append((T["name"], esc(row["name"])))
        rows.append((T["old"], T["yes"] if bool(row.get("old")) else T["no"]))
        if "homes" in row:
            rows.append((T["homes_n"], esc(int(row["homes"]))))
        if "residents" in row:
            rows.append((T["residents_n"], esc(f"{float(row['residents']):,.0f}")))
        rows.append((T["fails"], esc(row.get("failed_rules") or T["none"])))
        popups.append(_props(rows, title=esc(T["compound"])))
        n = int(row.get("n_failed", 0) or 0)
        styles.append({"color": COMPOUND_OK if n == 0 else (COMPOUND_SOME if n <= 2 else BEYOND)})
    c = comp.assign(_style=styles)
    _add_geojson(folium, fg, c, {"weight": 2, "dashArray": "5 3", "fillOpacity": 0.05}, style_column="_style", popups=popups)
    fg.add_to(m)
