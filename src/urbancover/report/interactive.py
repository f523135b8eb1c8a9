"""Interactive map (folium / Leaflet): one layer per rule, popups with distances and failed rules.

By default the page is self-contained: Leaflet's script and style (BSD-2-Clause, shipped in
``urbancover/report/assets``) are inlined and no background tiles are loaded, so it works offline.
With ``offline=False`` folium's own links to its CDNs are kept (Leaflet, jQuery, Bootstrap, Font
Awesome), and the page needs the internet.

At city scale (Malta: 11 distance rules, 43k street stretches beyond a threshold in one layer, 129k
features in all) the layers are not GeoJSON: each is compact arrays (coordinates in millionths of a
degree, each the difference from the one before; popup values as columns, repeated values coded
once) that ``assets/uclayers.js`` turns into Leaflet layers on the canvas renderer when the layer
is first shown, with one popup template per layer filled from the columns on click. Malta's map is
~9 MB (54 MB as folium GeoJSON) and opens in a few seconds; see benchmarks/results/outputs.md.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from urbancover.core import intervals
from urbancover.core.errors import InputError
from urbancover.core.progress import tell
from urbancover.core.settings import Settings, resolve
from urbancover.evaluation import gaps, indicators
from urbancover.present.formats import value
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


def _json(obj) -> str:
    """JSON that is safe inside a ``<script>`` (and an ``iframe srcdoc``): ``<``, ``>``, ``&`` and
    the JavaScript line separators escaped, other characters as they are (the page is UTF-8).
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _escaped(values) -> list:
    """HTML-escaped text of each value (None and NaN become None: no popup row), all escaped in one
    pass over the joined text (NUL characters, which no popup shows, are dropped).
    """
    vals = values.tolist() if hasattr(values, "tolist") else list(values)
    none = [v is None or (isinstance(v, float) and v != v) for v in vals]
    joined = "\0".join("" if n else str(v).replace("\0", "") for v, n in zip(vals, none))
    return [None if n else t for t, n in zip(esc(joined).split("\0"), none)]


def _encode(geoms: np.ndarray, kind: str, merge: bool) -> dict:
    """Geometries in EPSG:4326 as the compact arrays of ``assets/uclayers.js``: vertices in
    millionths of a degree (about 0.1 m), each the difference from the one before (a city's
    coordinates shrink to a few digits each), with vertex, ring and part counts. Polygon rings
    lose their closing vertex (Leaflet closes them). ``merge`` makes the whole layer one feature.
    Cost: O(v) numpy passes over the v vertices.
    """
    if kind == "point":
        xy = shapely.get_coordinates(geoms)
        out = {}
    else:
        parts, part_of = shapely.get_parts(geoms, return_index=True)
        f = np.bincount(part_of, minlength=len(geoms))
        out = {"f": [int(f.sum())] if merge else f.tolist()}
        if kind == "poly":
            rings, ring_of = shapely.get_rings(parts, return_index=True)
            out["p"] = np.bincount(ring_of, minlength=len(parts)).tolist()
            xy, idx = shapely.get_coordinates(rings, return_index=True)
            last = np.r_[idx[1:] != idx[:-1], True]
            xy, idx = xy[~last], idx[~last]
            out["r"] = np.bincount(idx, minlength=len(rings)).tolist()
        else:
            xy, idx = shapely.get_coordinates(parts, return_index=True)
            out["r"] = np.bincount(idx, minlength=len(parts)).tolist()
    q = np.round(xy * 1e6).astype(np.int64)
    out["v"] = np.diff(q, axis=0, prepend=np.zeros((1, 2), np.int64)).ravel().tolist()
    return out


def _layers(s: Settings, gdf: gpd.GeoDataFrame, style: dict, *, point_radius: float | None = None, title=None,
            fields: list | None = None, styles: list | None = None, merge: bool = False) -> list[dict]:
    """A layer of the map as data for ``UC.lazy``: one per kind of geometry in ``gdf`` (polygons,
    lines, points), in EPSG:4326, simplified by ``settings.interactive_simplify_m`` (invisible at
    street zoom) and rounded to 1e-6°.

    ``title`` (one text, or one per feature) and ``fields`` (``[(label, values)]``, one value per
    feature) make the popup: escaped here, written once per layer as labels and value columns,
    assembled in the browser when a feature is clicked. ``styles`` gives each feature Leaflet
    style overrides (merged with ``style``). ``point_radius`` draws every feature as a circle
    marker (at a point on the surface of a non-point). ``merge`` makes the layer one feature (no
    popup: nothing per feature is needed).
    """
    if gdf is None or len(gdf) == 0:
        return []
    g = np.asarray(gdf.geometry.values, dtype=object)
    ok = ~shapely.is_missing(g)
    ok[ok] = ~shapely.is_empty(g[ok])
    if point_radius is not None:
        g = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
    dims = np.full(len(g), -1)
    dims[ok] = shapely.get_dimensions(g[ok])
    if point_radius is None and s.interactive_simplify_m > 0:
        # streets (long lines of many vertices) only: buildings and compounds lose ~5% of their
        # vertices, not worth keeping their topology at every rule's layer
        lines = ok & (dims == 1)
        g[lines] = shapely.simplify(g[lines], s.interactive_simplify_m, preserve_topology=False)
    g = np.asarray(gpd.GeoSeries(g, crs=gdf.crs).to_crs(4326).values, dtype=object)
    out = []
    for dim, kind in ((2, "poly"), (1, "line"), (0, "point")):
        sel = np.flatnonzero(ok & (dims == dim))
        if len(sel) == 0:
            continue
        d = {"k": kind, **_encode(g[sel], kind, merge), "s": style}
        if kind == "point":
            d["rad"] = point_radius if point_radius is not None else 4
            d["s"] = {"fill": True, **style}
        if not merge and fields:
            d["t"] = title if title is None or isinstance(title, str) else [title[i] for i in sel]
            d["l"] = [esc(label) for label, _ in fields]
            d["c"] = [_column([values[i] for i in sel]) for _, values in fields]
        if not merge and styles is not None:
            keys = [json.dumps(st, sort_keys=True) for st in styles]
            index = {k: i for i, k in enumerate(sorted(set(keys)))}
            d["ss"] = [json.loads(k) for k in index]
            d["si"] = [index[keys[i]] for i in sel]
        out.append(d)
    return out


def _column(values: list):
    """A popup column: the values, or ``{"u": distinct values, "i": index of each}`` when that is
    shorter (street names, lists of failed rules and yes/no repeat across thousands of features).
    """
    index: dict = {}
    codes = [index.setdefault(v, len(index)) for v in values]
    if len(index) * 2 > len(values):
        return values
    return {"u": list(index), "i": codes}


_ELEMENTS: dict = {}


def _element(kind: str, text: str):
    """A folium element that writes ``text`` as it is: ``"raw"`` into the page (a style or script
    block), ``"lazy"`` as ``UC.lazy(<parent feature group>, text)`` in the map's script. Neither
    compiles ``text`` as a Jinja template, as ``folium.Element(text)`` and a MacroElement's script
    do: seconds for Leaflet's script and a city's data, and a ``{#`` in a street name would break
    the page.
    """
    if not _ELEMENTS:
        from branca.element import Element, MacroElement
        from jinja2 import Template

        class Raw(Element):
            _template = Template("{{ this.text }}")

            def __init__(self, text: str):
                super().__init__()
                self._name = "Raw"
                self.text = text

        class LazyLayers(MacroElement):
            def __init__(self, text: str):
                super().__init__()
                self._name = "LazyLayers"
                self.text = text

            def render(self, **kwargs):
                # into the map's script after the parent's own, as Raw: MacroElement.render would
                # compile the rendered script (a city's data) as a Jinja template
                script = f"UC.lazy({self._parent.get_name()}, {self.text});"
                self.get_root().script.add_child(Raw(script), name=self.get_name())

        _ELEMENTS.update(raw=Raw, lazy=LazyLayers)
    return _ELEMENTS[kind](text)


def _lazy(folium, parent, layers: list[dict]) -> None:
    """Attach ``layers`` to a feature group: built in the browser when the group is first shown."""
    if layers:
        parent.add_child(_element("lazy", _json(layers)))


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
    settings: Settings | None = None,
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
    settings
        The :class:`~urbancover.core.settings.Settings` of the drawing (``interactive_simplify_m``);
        default :func:`urbancover.core.settings.current`.

    Returns
    -------
    folium.Map

    Each distance rule's layer holds the street stretches beyond its threshold (popup: the
    network distance there), the homes and compounds not served (popup: network and straight-line
    distance, and every rule the place fails), the gap polygons and the facilities. Only the first
    rule's layer is shown at first; the layer control switches the others on (a layer's features
    are made in the browser when it is first shown).
    """
    s = resolve(settings)
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
        root.header.add_child(_element("raw", f"<style>{_asset('leaflet.css')}</style>"), name="leaflet_css_inline")
        root.header.add_child(_element("raw", f"<script>{_asset('leaflet.js')}</script>"), name="leaflet_js_inline")
    # the layers' data is compact arrays, turned into Leaflet layers in the browser (assets/uclayers.js)
    m.get_root().header.add_child(_element("raw", f"<script>{_asset('uclayers.js')}</script>"), name="urbancover_layers_js")
    if basemap is not None:
        folium.TileLayer(basemap, name=str(basemap), control=True).add_to(m)
    # leave room on the right for the layer control
    m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding_top_left=(10, 10), padding_bottom_right=(330, 10))
    m.get_root().header.add_child(_element(
        "raw", "<style>.leaflet-container{background:#fbfbf8;font-family:'" + WEB_FONT_FAMILY + "','Helvetica Neue',Arial,"
        "'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif}"
        ".leaflet-control-layers{max-height:70vh;overflow:auto;font-size:12px}"
        ".uclegend{font-family:'" + WEB_FONT_FAMILY + "',Arial,sans-serif}.ucpopup table{font-size:12px;border-collapse:collapse}"
        ".ucpopup th{text-align:left;padding:1px 8px 1px 0;"
        "white-space:nowrap;color:#444}.ucpopup th:empty{display:none}.ucpopup tr:first-child td{font-weight:600}</style>"),
        name="urbancover_css")

    # base: streets (one feature: nothing per street is needed), area
    base = folium.FeatureGroup(name=T["streets_layer"], show=True, control=True)
    streets = gpd.GeoDataFrame(geometry=net.geometry, crs=crs) if net.n_edges else None
    area = gpd.GeoDataFrame(geometry=[ctx.area.boundary], crs=crs)
    _lazy(folium, base, _layers(s, streets, {"color": STREET, "weight": 1, "opacity": 0.7}, merge=True)
          + _layers(s, area, {"color": "#000000", "weight": 1.5, "dashArray": "6 4", "fill": False}))
    base.add_to(m)

    fails = home_failures(report)
    chosen = rules if rules is not None else list(report.results)
    first = True
    for k, rid in enumerate(chosen):
        tell(f"interactive map: layer {k + 1}/{len(chosen)} {rid}")
        res = report.results[rid]
        name = f"{rid} · {rule_name(res.rule, lang)}"
        fg = folium.FeatureGroup(name=name, show=first, control=True)
        if res.measurement is not None:
            _lazy(folium, fg, _distance_layers(s, report, rid, lang, T, fails))
        else:
            _lazy(folium, fg, _other_layers(s, report, rid, lang, T))
        fg.add_to(m)
        first = False

    tell("interactive map: compounds and zones")
    _compound_layer(s, folium, m, report, T)
    z = zones_frame(zones, crs, lang)
    if z is not None and len(z):
        zg = folium.FeatureGroup(name=T["zones_layer"], show=True, control=True)
        fields = [(T["area_km2"], [f"{a:.2f}" for a in z["area_km2"]]), (T["score"], _escaped(_fmt_score(v) for v in z["score"])),
                  (T["compound_names"], _escaped(z["compound_names"])), (T["reason"], _escaped(z["reason"]))]
        _lazy(folium, zg, _layers(s, z, {"color": ZONE, "weight": 3, "fillColor": ZONE, "fillOpacity": 0.08},
                                  title=[esc(f"{T['zone']} {k + 1}") for k in range(len(z))], fields=fields))
        zg.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.get_root().html.add_child(_element("raw", _legend_html(T, zones is not None, lang, len(report.compounds) > 0)))
    if embed_font:
        css = web_font_css(m.get_root().render())
        if css:
            m.get_root().header.add_child(_element("raw", css), name="urbancover_web_font")
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        m.save(str(path))
    return m


def _fmt_score(s) -> str:
    return "" if s is None else value(s)


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


def _distance_layers(s: Settings, report, rid, lang, T, fails) -> list[dict]:
    """The layers of a distance rule: street demand beyond the threshold, gaps, places not served
    (popups: distances, the rules each fails), its facilities. Built column by column.
    """
    res = report.results[rid]
    rule = res.rule
    checks = rule_checks(report, rid, lang)
    out = []
    # street demand beyond the threshold (rules on streets), merged per edge, with its distance range
    if "streets" in rule.demand:
        pieces = street_distances(report, rid, geometry=False)
        bad = pieces[~pieces["served"].to_numpy(dtype=bool) & pieces["demand"].to_numpy(dtype=bool)]
        if len(bad):
            runs = _runs(report, checks, bad)
            fields = [(T["name"], [esc(n) if isinstance(n, str) else "—" for n in runs["name"]]),
                      (T["distance_range"], _escaped(runs["range"]))]
            out += _layers(s, runs, {"color": BEYOND, "weight": 3, "opacity": 0.85}, title=esc(T["street_gap"]), fields=fields)
    gap_layer = res.layers.get(gaps.GAPS)
    if gap_layer is not None and len(gap_layer):
        out += _layers(s, gap_layer, {"color": BEYOND, "weight": 0.5, "fillColor": BEYOND, "fillOpacity": 0.25}, merge=True)
    comp_failed = _compound_failures(report)
    for key in (gaps.HOMES_UNSERVED, gaps.RESIDENTS_UNSERVED, gaps.COMPOUNDS_UNSERVED):
        layer = res.layers.get(key)
        if layer is None or len(layer) == 0:
            continue
        n = len(layer)
        fields = []
        if "name" in layer:
            fields.append((T["name"], _escaped(v if isinstance(v, str) and v else None for v in layer["name"].tolist())))
        fields += _distance_columns(layer, checks, lang, T)
        if "missing" in layer:
            fields.append((T["missing"], _escaped(v if isinstance(v, str) and v else None for v in layer["missing"].tolist())))
        if key == gaps.HOMES_UNSERVED:
            elements = [str(v) for v in layer["element"].tolist()] if "element" in layer else [""] * n
            osmids = [str(v) for v in layer["osmid"].tolist()] if "osmid" in layer else ["None"] * n
            fields.append((T["fails"], _escaped(", ".join(fails.get((el, oid), [rid])) for el, oid in zip(elements, osmids))))
        elif key == "compounds_unserved":
            osmids = layer["osmid"].tolist() if "osmid" in layer else [None] * n
            fields.append((T["fails"], _escaped((comp_failed.get(str(o)) if o is not None else "") or rid for o in osmids)))
        title = {gaps.HOMES_UNSERVED: T["home_unserved"], gaps.RESIDENTS_UNSERVED: T["resident_unserved"],
                 gaps.COMPOUNDS_UNSERVED: T["compound_unserved"]}[key]
        if key == gaps.COMPOUNDS_UNSERVED:
            style = {"color": BEYOND, "weight": 3, "fill": True, "fillOpacity": 0.0}
        elif key == "residents_unserved":
            style = {"color": BEYOND, "weight": 1, "fillColor": BEYOND, "fillOpacity": 0.9}
        else:
            style = {"color": "#67000d", "weight": 1, "fillColor": BEYOND, "fillOpacity": 0.85}
        out += _layers(s, layer, style, point_radius=4 if key == "residents_unserved" else None, title=esc(title), fields=fields)
    for label, fac in zip(checks.labels, checks.facilities):
        out += _facility_layers(s, fac, label if len(checks.labels) > 1 else T["facility"], T)
    return out


def _distance_columns(layer, checks, lang, T) -> list[tuple[str, list]]:
    """Popup columns of the distances of places: network (or why there is none) and straight line."""
    n = len(layer)
    cols = []

    def col(name):
        return layer[name].tolist() if name in layer else [None] * n

    if len(checks.labels) == 1:
        if "network_m" in layer:
            cols.append((T["network_distance"], _escaped(_fmt_status(d, st, lang, T)
                                                         for d, st in zip(col("network_m"), col("status")))))
        if "straight_m" in layer:
            cols.append((T["straight_distance"], _escaped(fmt_m(d, lang) for d in col("straight_m"))))
    else:
        cats = [str(k)[len("network_m_"):] for k in layer.columns if str(k).startswith("network_m_")]
        for cat, label in zip(cats, checks.labels):
            texts = (f"{_fmt_status(nd, st, lang, T)} ({T['straight']} {fmt_m(sd, lang)})"
                     for nd, st, sd in zip(col(f"network_m_{cat}"), col(f"status_{cat}"), col(f"straight_m_{cat}")))
            cols.append((label, _escaped(texts)))
    return cols


def _fmt_status(d, status, lang, T) -> str:
    """A layer's distance, or what its ``status`` says when there is none (NaN: no path, no facility)."""
    if d is None or (isinstance(d, float) and d != d):
        return T.get(f"status_{str(status).replace(' ', '_')}", str(status)) if status else fmt_m(float("inf"), lang)
    return fmt_m(d, lang)


def _compound_failures(report) -> dict:
    """Compound osmid (as text) -> the rules it fails, from the report's compounds."""
    comp = report.compounds
    if comp is None or len(comp) == 0 or "osmid" not in comp or "failed_rules" not in comp:
        return {}
    out: dict = {}
    for oid, failed in zip((str(v) for v in comp["osmid"].tolist()), comp["failed_rules"].tolist()):
        out.setdefault(oid, str(failed))  # the first compound of an osmid, as a lookup would find
    return out


def _runs(report, checks, bad) -> gpd.GeoDataFrame:
    """Merge adjacent unserved pieces of an edge into runs, with the distance range along each."""
    from urbancover.network.walk import line_substrings

    e, s, n = intervals.merge(bad["edge"].to_numpy(), bad["start"].to_numpy(), bad["end"].to_numpy())
    net = report.network
    # distance at the run ends and, through the pieces' middles, inside it
    ends = np.column_stack([
        checks.along(e, s).max(axis=1),
        checks.along(e, n).max(axis=1),
    ])
    mid = (bad["start"].to_numpy() + bad["end"].to_numpy()) / 2
    run_of = intervals.locate((e, s, n), bad["edge"].to_numpy(), mid)  # (every piece lies in its run)
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
    names = net.edge_values("name", e)
    names = names if names is not None else np.full(len(e), None)
    return gpd.GeoDataFrame({"edge": e, "name": names, "range": rng}, geometry=line_substrings(net.geometry[e], s, n), crs=net.crs)


def _facility_layers(s: Settings, fac, label, T) -> list[dict]:
    if fac is None or len(fac) == 0:
        return []
    f = fac.reset_index(drop=True)
    n = len(f)
    fields = []
    if label != T["facility"]:
        fields.append((T["category"], [esc(label)] * n))
    names = f["name"] if "name" in f else [None] * n
    fields.append((T["name"], _escaped(nm if isinstance(nm, str) and nm else None for nm in names)))
    if "osmid" in f:
        elements = f["element"] if "element" in f else [""] * n
        fields.append(("OSM", _escaped(f"{el} {oid}".strip() for el, oid in zip(elements, f["osmid"]))))
    dims = shapely.get_dimensions(f.geometry.values)
    poly = dims == 2
    title = esc(T["facility"])
    out = []
    if poly.any():
        out += _layers(s, f[poly], {"color": FACILITY, "weight": 1, "fillColor": FACILITY, "fillOpacity": 0.25}, title=title,
                       fields=[(lab, [v for v, keep in zip(vals, poly) if keep]) for lab, vals in fields])
    if (~poly).any():
        out += _layers(s, f[~poly], {"color": "#ffffff", "weight": 1.5, "fillColor": FACILITY, "fillOpacity": 1.0}, point_radius=5,
                       title=title, fields=[(lab, [v for v, keep in zip(vals, ~poly) if keep]) for lab, vals in fields])
    return out


def _other_layers(s: Settings, report, rid, lang, T) -> list[dict]:
    res = report.results[rid]
    out = []
    units = res.layers.get(indicators.UNITS)
    if units is not None and len(units):
        meets = list(units[indicators.MEETS])
        counts = units[indicators.COUNT]
        fields = [(T["name"], _escaped(units["unit"])), (T["facility"], _escaped(counts))]
        out += _layers(s, units, {"weight": 2, "fillOpacity": 0.1}, title=[esc(T["unit_ok"] if ok else T["unit_fail"]) for ok in meets],
                       fields=fields, styles=[{"color": "#1a9850" if ok else BEYOND, "fillColor": "#1a9850" if ok else BEYOND}
                                              for ok in meets])
    fac = res.layers.get(indicators.FACILITIES)
    if fac is not None and len(fac):
        out += _facility_layers(s, fac, rule_name(res.rule, lang), T)
    ends = res.layers.get(indicators.DEAD_ENDS)
    if ends is not None and len(ends):
        n = len(ends)
        streets = ends["street"] if "street" in ends else [None] * n
        highways = ends["highway"] if "highway" in ends else [None] * n
        fields = [(T["name"], [esc(v) if isinstance(v, str) else "—" for v in streets]), ("highway", _escaped(highways))]
        out += _layers(s, ends, {"color": "#ffffff", "weight": 1, "fillColor": BEYOND, "fillOpacity": 1.0}, point_radius=5,
                       title=esc(T["dead_end"]), fields=fields)
    return out


def _compound_layer(s: Settings, folium, m, report, T):
    comp = report.compounds
    if comp is None or len(comp) == 0:
        return
    fg = folium.FeatureGroup(name=T["compounds_layer"], show=True, control=True)
    n = len(comp)
    fields = []
    if "name" in comp:
        fields.append((T["name"], _escaped(v if isinstance(v, str) and v else None for v in comp["name"])))
    olds = comp["old"] if "old" in comp else [None] * n
    fields.append((T["old"], [T["yes"] if bool(v) else T["no"] for v in olds]))
    if "homes" in comp:
        fields.append((T["homes_n"], [esc(int(v)) for v in comp["homes"]]))
    if "residents" in comp:
        fields.append((T["residents_n"], [esc(f"{float(v):,.0f}") for v in comp["residents"]]))
    failed = comp["failed_rules"] if "failed_rules" in comp else [None] * n
    fields.append((T["fails"], _escaped(v or T["none"] for v in failed)))
    n_failed = comp["n_failed"] if "n_failed" in comp else [0] * n
    styles = []
    for v in n_failed:
        k = int(v or 0)
        styles.append({"color": COMPOUND_OK if k == 0 else (COMPOUND_SOME if k <= 2 else BEYOND)})
    _lazy(folium, fg, _layers(s, comp, {"weight": 2, "dashArray": "5 3", "fillOpacity": 0.05}, title=esc(T["compound"]),
                              fields=fields, styles=styles))
    fg.add_to(m)
