"""Static gap maps (matplotlib, Agg): one print-quality map per rule, PNG or PDF."""

from __future__ import annotations

import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from urbancover.rules import KINDS
from urbancover.errors import UnknownRuleError
from urbancover.report._common import (
    check_lang,
    fmt_value,
    font_families,
    measure_text,
    result_word,
    rule_checks,
    rule_name,
    served_pairs,
    street_distances,
    summary_row,
    target_text,
    zones_frame,
)

# colours: green near a facility, yellow-orange towards the threshold, red beyond it (and for
# everything not served), blue for facilities
NEAR, FAR, BEYOND, UNREACHABLE = "#1a9850", "#fdae61", "#d7191c", "#7f0000"
FACILITY, FACILITY_FILL = "#2166ac", "#92c5de"
HOME, HOME_EDGE, UNSERVED_EDGE = "#d9d9d9", "#8c8c8c", "#67000d"
ZONE = "#6a3d9a"
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "h"]

#: Figure width in inches (A4 landscape less margins); the height follows the map's shape.
FIG_WIDTH = 11.0
MAP_WIDTH, MAP_MAX_HEIGHT, TOP_BAND, BOTTOM = 7.7, 8.6, 1.05, 0.2
PANEL_X, PANEL_W = 8.1, 2.8


def _layout(report) -> tuple[tuple[float, float], tuple[float, ...], float]:
    """Figure size and map axes box (figure fractions) for the area's shape; also the map top in inches."""
    x0, x1, y0, y1 = _extent(report)
    aspect = (y1 - y0) / max(x1 - x0, 1e-9)
    mw = MAP_WIDTH
    mh = mw * aspect
    if mh > MAP_MAX_HEIGHT:
        mh = MAP_MAX_HEIGHT
        mw = mh / aspect
    height = max(mh + TOP_BAND + BOTTOM, 6.6)
    box = (0.15 / FIG_WIDTH, BOTTOM / height, mw / FIG_WIDTH, mh / height)
    return (FIG_WIDTH, height), box, BOTTOM + mh


def _cmap():
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("urbancover_near_far", [NEAR, "#a6d96a", "#ffffbf", FAR], N=256)
    return cmap.with_extremes(over=BEYOND, bad=UNREACHABLE)


def _segments(geoms: np.ndarray) -> list[np.ndarray]:
    """LineStrings as lists of (x, y) arrays for a LineCollection."""
    if len(geoms) == 0:
        return []
    xy, idx = shapely.get_coordinates(geoms, return_index=True)
    cuts = np.flatnonzero(np.diff(idx)) + 1
    return np.split(xy, cuts)


def _nice_length(span: float) -> float:
    """A round length (1, 2, 2.5 or 5 x 10^n metres) about a fifth of ``span``."""
    target = span / 5.0
    exp = 10 ** math.floor(math.log10(target))
    for f in (5, 2.5, 2, 1):
        if f * exp <= target:
            return f * exp
    return exp


def _scale_bar(ax, T: dict) -> None:
    """A black-and-white scale bar in the lower left corner of a metric map."""
    from matplotlib.patches import Rectangle

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    length = _nice_length(w)
    n = 4
    seg = length / n
    bx, by = x0 + 0.035 * w, y0 + 0.045 * h
    bh = 0.012 * h
    ax.add_patch(Rectangle((bx - 0.012 * w, by - 0.022 * h), length + 0.06 * w, bh + 0.07 * h,
                           facecolor="white", edgecolor="none", alpha=0.8, zorder=20))
    for k in range(n):
        ax.add_patch(Rectangle((bx + k * seg, by), seg, bh, facecolor="black" if k % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=21))
    unit_km = length >= 1000
    for k, frac in ((0, 0.0), (n // 2, 0.5), (n, 1.0)):
        val = frac * length
        label = (f"{val / 1000:g}" if unit_km else f"{val:g}")
        if k == n:
            label += " " + (T["scale_km"] if unit_km else T["scale_m"])
        ax.text(bx + frac * length, by + bh + 0.008 * h, label, ha="center", va="bottom", fontsize=7.5, zorder=22)


def _north_angle(crs, x: float, y: float) -> float:
    """Angle (degrees, clockwise from the map's up) of true north at (x, y): the grid convergence."""
    import pyproj

    to_ll = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    to_xy = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    lon, lat = to_ll.transform(x, y)
    x2, y2 = to_xy.transform(lon, min(lat + 0.01, 89.9))
    return math.degrees(math.atan2(x2 - x, y2 - y))


def _north_arrow(ax, crs, T: dict) -> None:
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=4.5, foreground="white")]
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    try:
        angle = _north_angle(crs, (x0 + x1) / 2, (y0 + y1) / 2)
    except Exception:  # pragma: no cover - a CRS pyproj cannot invert
        angle = 0.0
    a = math.radians(angle)
    length = 34.0  # points
    dx, dy = length * math.sin(a), length * math.cos(a)
    ax.annotate(
        "", xy=(0.955, 0.905), xycoords="axes fraction", xytext=(-dx, -dy), textcoords="offset points",
        arrowprops=dict(arrowstyle="-|>,head_length=0.9,head_width=0.45", color="black", linewidth=2.0, shrinkA=0, shrinkB=0,
                        path_effects=halo),
        zorder=22,
    )
    ax.annotate(T["north"], xy=(0.955, 0.905), xycoords="axes fraction", xytext=(3 * math.sin(a), 4),
                textcoords="offset points", ha="center", va="bottom", fontsize=12, zorder=22, path_effects=halo)


def _draw_polys(ax, geoms, **kw):
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MPath

    patches = []
    for g in shapely.get_parts(np.asarray(geoms, dtype=object)):
        if g is None or g.is_empty or shapely.get_dimensions(g) != 2:
            continue
        rings = [g.exterior, *g.interiors]
        verts, codes = [], []
        for r in rings:
            xy = np.asarray(r.coords)
            verts.append(xy)
            codes.append(np.r_[MPath.MOVETO, np.full(len(xy) - 2, MPath.LINETO), MPath.CLOSEPOLY])
        patches.append(PathPatch(MPath(np.concatenate(verts), np.concatenate(codes))))
    if patches:
        ax.add_collection(PatchCollection(patches, match_original=False, **kw))
    return len(patches)


def _polys(layer) -> np.ndarray:
    if layer is None or len(layer) == 0:
        return np.zeros(0, dtype=object)
    g = layer.geometry.values
    return np.asarray(g[shapely.get_dimensions(g) == 2], dtype=object)


def _points(layer) -> np.ndarray:
    """(n, 2) coordinates: points as they are, other geometries at a point on their surface."""
    if layer is None or len(layer) == 0:
        return np.zeros((0, 2))
    g = layer.geometry.values
    g = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
    return shapely.get_coordinates(g)


def _extent(report, pad: float = 0.03):
    minx, miny, maxx, maxy = report.context.area.bounds
    w, h = maxx - minx, maxy - miny
    p = pad * max(w, h, 1.0)
    return minx - p, maxx + p, miny - p, maxy + p


def gap_map(
    report,
    rule_id: str,
    *,
    lang: str = "zh",
    ax=None,
    path: str | os.PathLike | None = None,
    dpi: int = 200,
    zones: gpd.GeoDataFrame | None = None,
    circles: bool = True,
    title: str | None = None,
):
    """Static map of one rule: the streets coloured by network distance to the nearest facility.

    Parameters
    ----------
    report
        What :func:`urbancover.evaluate` returned.
    rule_id
        A rule of the report. Distance rules (``radius``, ``all_of``) get the gap map; the other
        kinds a map of their facilities (units, dead ends ...) with the measured value.
    lang
        ``"zh"`` (Chinese, with the shipped Noto Sans SC subset) or ``"en"``.
    ax
        A matplotlib Axes to draw into (the legend then sits inside it); default: a new A4-landscape
        figure with the legend and colour bar beside the map.
    path
        Write the figure there too: ``.png``, ``.pdf`` or ``.svg`` (by suffix; 300 dpi suits print).
    dpi
        Resolution of raster output.
    zones
        Demonstration-zone candidates (:func:`urbancover.zones.find_zones`) to outline.
    circles
        For ``radius`` rules, outline the straight-line buffers of the facilities for comparison.
    title
        Replace the title (default: the rule's name in ``lang`` and its clause).

    Returns
    -------
    matplotlib.figure.Figure

    Streets are coloured continuously from green (at a facility) to orange (at the threshold) and
    red beyond it; the break falls exactly where the distance reaches the threshold, inside the
    street. Unserved homes are red, unserved compounds outlined in red, gaps on residential land
    hatched, facilities blue. Map data © OpenStreetMap contributors (ODbL), printed on the map.
    """
    T = check_lang(lang)
    if rule_id not in report.results:
        raise UnknownRuleError(f"rule_id: the report has no rule {rule_id!r}; it has {list(report.results)}.")
    import matplotlib

    families = font_families(lang)
    with matplotlib.rc_context({"font.family": families, "pdf.fonttype": 3, "ps.fonttype": 3, "svg.fonttype": "path", "axes.unicode_minus": False}):
        fig = _draw(report, rule_id, lang, T, ax, zones, circles, title)
        if path is not None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=dpi, metadata=_metadata(path, report, rule_id, lang))
    return fig


def _metadata(path: Path, report, rule_id, lang) -> dict:
    rule = report.results[rule_id].rule
    title = rule_name(rule, lang)
    if path.suffix.lower() == ".pdf":
        return {"Title": title, "Creator": "urbancover", "Subject": "Map data © OpenStreetMap contributors (ODbL)"}
    if path.suffix.lower() == ".png":
        return {"Title": title, "Software": "urbancover", "Copyright": "Map data © OpenStreetMap contributors (ODbL)"}
    return {}


def _draw(report, rule_id, lang, T, ax, zones, circles, title):
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    res = report.results[rule_id]
    rule = res.rule
    ctx = report.context
    net = report.network
    row = summary_row(report, rule_id)
    own_figure = ax is None
    if own_figure:
        size, box, map_top = _layout(report)
        # a Figure of its own on the Agg canvas: no pyplot state, no window, whatever the backend
        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        ax = fig.add_axes(box)
    else:
        fig = ax.figure
    x0, x1, y0, y1 = _extent(report)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("white")
    for sp in ax.spines.values():
        sp.set_linewidth(0.8)
    handles: list = []
    distance_rule = res.measurement is not None
    checks = rule_checks(report, rule_id, lang) if distance_rule else None
    cbar_info = None

    # compounds and homes under the streets
    comp = ctx.compounds
    if len(comp):
        _draw_polys(ax, _polys(comp), facecolor="#f4f1ea", edgecolor="#6e6e6e", linewidth=0.7, linestyle="--", zorder=1)
        handles.append(Patch(facecolor="#f4f1ea", edgecolor="#6e6e6e", linestyle="--", label=T["compound"]))
    homes = ctx.homes
    if len(homes):
        _draw_polys(ax, _polys(homes), facecolor=HOME, edgecolor=HOME_EDGE, linewidth=0.3, zorder=3)
        home_rule = distance_rule and ("residential_buildings" in rule.demand or "residents" in rule.demand)
        uh = res.layers.get("homes_unserved")
        if not home_rule:
            handles.append(Patch(facecolor=HOME, edgecolor=HOME_EDGE, label=T["home"]))
        elif uh is None or len(uh) < len(homes):
            handles.append(Patch(facecolor=HOME, edgecolor=HOME_EDGE, label=T["home_served"]))

    if distance_rule:
        cbar_info = _draw_streets_by_distance(ax, report, rule_id, checks, lang, T, handles)
        gaps = res.layers.get("gaps")
        if gaps is not None and len(gaps):
            _draw_polys(ax, _polys(gaps), facecolor="none", edgecolor=BEYOND, hatch="////", linewidth=0.0, alpha=0.75, zorder=4)
            handles.append(Patch(facecolor="none", edgecolor=BEYOND, hatch="////", linewidth=0.0, label=T["gap"]))
        uh = res.layers.get("homes_unserved")
        if uh is not None and len(uh):
            _draw_polys(ax, _polys(uh), facecolor=BEYOND, edgecolor=UNSERVED_EDGE, linewidth=0.5, zorder=6)
            handles.append(Patch(facecolor=BEYOND, edgecolor=UNSERVED_EDGE, label=T["home_unserved"]))
        ur = res.layers.get("residents_unserved")
        if ur is not None and len(ur):
            xy = _points(ur)
            ax.scatter(xy[:, 0], xy[:, 1], s=10, color=BEYOND, edgecolor=UNSERVED_EDGE, linewidth=0.3, zorder=6)
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=4, color=BEYOND, label=T["resident_unserved"]))
        uc_ = res.layers.get("compounds_unserved")
        if uc_ is not None and len(uc_):
            _draw_polys(ax, _polys(uc_), facecolor="none", edgecolor=BEYOND, linewidth=2.0, zorder=7)
            handles.append(Patch(facecolor="none", edgecolor=BEYOND, linewidth=2.0, label=T["compound_unserved"]))
        if circles and len(checks.facilities) == 1:
            fac = checks.facilities[0]
            if 0 < len(fac) <= 5000:
                buf = shapely.union_all(shapely.buffer(fac.geometry.values, float(checks.thresholds[0]), quad_segs=16))
                for ring in _rings(buf):
                    ax.plot(*np.asarray(ring.coords).T, color=FACILITY, linewidth=0.8, linestyle=(0, (4, 3)), alpha=0.8, zorder=8)
                handles.append(Line2D([], [], color=FACILITY, linewidth=0.8, linestyle=(0, (4, 3)),
                                      label=T["circle"].format(t=_t(checks.thresholds[0], lang))))
        for k, fac in enumerate(checks.facilities):
            label = T["facility"] if len(checks.facilities) == 1 else f"{T['facility']}: {checks.labels[k]}"
            _draw_facilities(ax, fac, MARKERS[k % len(MARKERS)], label, T, handles, with_area=(k == 0))
        labels = checks.labels if len(checks.labels) > 1 else [T["facility"]]
        empty = [lab for lab, fac in zip(labels, checks.facilities) if len(fac) == 0]
        if empty:
            names = ("、" if lang == "zh" else ", ").join(empty)
            handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", markeredgecolor=FACILITY,
                                  markersize=6.5, label=_wrap(T["not_in_data"].format(names=names), 38)))
    else:
        _draw_other(ax, report, rule_id, T, handles)

    # analysed area and zones on top
    area = ctx.area
    for ring in _rings(area):
        ax.plot(*np.asarray(ring.coords).T, color="black", linewidth=1.1, linestyle=(0, (6, 3)), zorder=9)
    handles.append(Line2D([], [], color="black", linewidth=1.1, linestyle=(0, (6, 3)), label=T["area"]))
    z = zones_frame(zones, net.crs)
    if z is not None and len(z):
        _draw_polys(ax, _polys(z), facecolor="none", edgecolor=ZONE, linewidth=2.2, zorder=10)
        for k, g in enumerate(z.geometry.values):
            p = shapely.point_on_surface(g)
            ax.text(p.x, p.y, str(k + 1), color=ZONE, fontsize=10, ha="center", va="center", zorder=11,
                    bbox=dict(boxstyle="circle,pad=0.2", facecolor="white", edgecolor=ZONE, linewidth=1.0))
        handles.append(Patch(facecolor="none", edgecolor=ZONE, linewidth=2.2, label=T["zone"]))

    # furniture
    _scale_bar(ax, T)
    _north_arrow(ax, net.crs, T)
    ax.text(0.995, 0.006, T["attribution"], transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5, color="#333333",
            zorder=23, bbox=dict(facecolor="white", edgecolor="none", alpha=0.75, pad=1.5))
    heading = title if title is not None else _title(rule, lang)
    sub = _subtitle(rule, row, lang, T, checks)
    if own_figure:
        W, H = fig.get_size_inches()
        fig.text(0.15 / W, 1 - 0.18 / H, heading, fontsize=17, ha="left", va="top")
        fig.text(0.15 / W, 1 - 0.55 / H, sub, fontsize=9.5, ha="left", va="top", color="#333333", linespacing=1.5)
        legend_ax = fig.add_axes((PANEL_X / W, (BOTTOM + 1.5) / H, PANEL_W / W, (map_top - BOTTOM - 1.5) / H))
        legend_ax.axis("off")
        leg = legend_ax.legend(handles=handles, loc="upper left", frameon=False, fontsize=8.5, title=T["legend_title"],
                               title_fontsize=10, alignment="left", handlelength=2.4, borderaxespad=0.0)
        leg._legend_box.align = "left"
        if cbar_info is not None:
            cax = fig.add_axes(((PANEL_X + 0.1) / W, (BOTTOM + 0.75) / H, 2.3 / W, 0.16 / H))
            _colorbar(fig, cax, cbar_info, lang)
    else:
        # the title Text belongs to the caller's axes, made before our fonts were set: name them
        ax.set_title(heading + "\n" + sub, fontsize=10, loc="left", fontfamily=matplotlib.rcParams["font.family"])
        ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.85, title=T["legend_title"], title_fontsize=8)
        if cbar_info is not None:
            cax = ax.inset_axes((0.62, 0.075, 0.33, 0.022))
            _colorbar(fig, cax, cbar_info, lang)
    return fig


def _rings(geom):
    out = []
    for part in shapely.get_parts(geom):
        if shapely.get_dimensions(part) == 2:
            out += [part.exterior, *part.interiors]
    return out


def _t(threshold: float, lang: str) -> str:
    return f"{threshold:g} 米" if lang == "zh" else f"{threshold:g} m"


def _title(rule, lang: str) -> str:
    name = rule_name(rule, lang)
    if rule.clause:
        return f"{name}（{rule.clause}）" if lang == "zh" else f"{name} (clause {rule.clause})"
    return name


def _subtitle(rule, row: dict, lang: str, T: dict, checks) -> str:
    sep = " · "
    parts = []
    if checks is not None:
        if len(checks.labels) == 1:
            parts.append(T["distance_rule"].format(t=_t(checks.thresholds[0], lang)))
        else:
            parts.append("，".join(f"{lab} ≤ {_t(t, lang)}" for lab, t in zip(checks.labels, checks.thresholds)) if lang == "zh"
                         else ", ".join(f"{lab} ≤ {_t(t, lang)}" for lab, t in zip(checks.labels, checks.thresholds)))
        for what, net, line in served_pairs(row, rule, T):
            parts.append(T["served_pair"].format(what=what, net=net, line=line))
        parts.append(f"{T['target']} {100 * rule.target:g}%")
    else:
        if "value" in row or "measure" in row:
            parts.append(T["value_of"].format(measure=measure_text(str(row.get("measure", "")), lang), value=fmt_value(row.get("value"))))
        if row.get("target_text"):
            parts.append(f"{T['target']} {target_text(row['target_text'], lang)}")
    parts.append(result_word(row.get("passed"), rule.kind, T))
    return _fill(parts, sep, 150)


def _text_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _wrap(text: str, width: int) -> str:
    """Wrap a label at spaces (English) or anywhere (Chinese) to ``width`` half-width characters."""
    if " " in text:
        return _fill(text.split(" "), " ", width)
    return _fill(list(text), "", width)


def _fill(tokens: list[str], joiner: str, width: int) -> str:
    """Greedy line filling of ``tokens`` up to ``width`` half-width characters (a hanzi counts two)."""
    out, cur = [], ""
    for tok in tokens:
        cand = tok if not cur else cur + joiner + tok
        if cur and _text_width(cand) > width:
            out.append(cur)
            cur = tok
        else:
            cur = cand
    out.append(cur)
    return "\n".join(out)


def _draw_streets_by_distance(ax, report, rule_id, checks, lang, T, handles) -> dict:
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    pieces = street_distances(report, rule_id)
    same = checks.same_threshold
    threshold = float(checks.thresholds[0])
    if len(checks.fields) == 1 or same:
        value = pieces["network_distance"].to_numpy()
        vmax = threshold
        label = T["cbar_radius"] if len(checks.fields) == 1 else T["cbar_all_same"]
    else:
        value = pieces["ratio"].to_numpy()
        vmax = 1.0
        label = T["cbar_all_ratio"]
    cmap = _cmap()
    served = pieces["served"].to_numpy()
    finite = np.isfinite(value)
    colors = np.empty((len(pieces), 4))
    colors[served] = cmap(np.clip(value[served] / vmax, 0.0, 1.0))
    colors[~served & finite] = _rgba(BEYOND)
    colors[~finite] = _rgba(UNREACHABLE)
    demand = pieces["demand"].to_numpy()
    has_demand = "streets" in report.results[rule_id].rule.demand
    width = np.where(demand, 2.0, 0.6) if has_demand else np.full(len(pieces), 1.3)
    if has_demand:
        # other streets faded (blended with white, opaque, so that round caps leave no dots): the
        # rule does not assess them
        colors[~demand, :3] = 0.4 * colors[~demand, :3] + 0.6
    segs = _segments(pieces.geometry.values)
    order = np.argsort(width, kind="stable")  # bold demand on top
    ax.add_collection(LineCollection([segs[i] for i in order], colors=colors[order], linewidths=width[order],
                                     capstyle="round", joinstyle="round", zorder=5))
    t = _t(threshold, lang) if (len(checks.fields) == 1 or same) else "100%"
    if served.any():
        handles.append(Line2D([], [], color=NEAR, linewidth=2.0, label=T["street_served"].format(t=t)))
    if (~served & finite).any():
        handles.append(Line2D([], [], color=BEYOND, linewidth=2.0, label=T["street_beyond"].format(t=t)))
    if (~finite).any():
        handles.append(Line2D([], [], color=UNREACHABLE, linewidth=2.0, label=T["street_unreachable"]))
    if has_demand:
        handles.append(Line2D([], [], color="#555555", linewidth=2.0, label=T["street_demand"]))
        handles.append(Line2D([], [], color="#555555", linewidth=0.6, alpha=0.6, label=T["street_other"]))
    return {"cmap": cmap, "vmax": vmax, "label": label, "ratio": not (len(checks.fields) == 1 or same)}


def _rgba(c):
    from matplotlib.colors import to_rgba

    return np.array(to_rgba(c))


def _colorbar(fig, cax, info, lang):
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    sm = ScalarMappable(norm=Normalize(0, info["vmax"]), cmap=info["cmap"])
    cb = fig.colorbar(sm, cax=cax, orientation="horizontal", extend="max", extendfrac=0.12)
    vmax = info["vmax"]
    if info["ratio"]:
        cb.set_ticks([0, 0.5, 1.0], labels=["0", "50%", "100%"])
    else:
        cb.set_ticks([0, vmax / 2, vmax], labels=["0", f"{vmax / 2:g}", f"{vmax:g}"])
    cb.ax.tick_params(labelsize=8)
    cb.set_label(_wrap(info["label"], 40), fontsize=8.5)
    cb.outline.set_linewidth(0.6)


def _draw_facilities(ax, fac, marker, label, T, handles, with_area=True):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if fac is None or len(fac) == 0:
        return
    g = fac.geometry.values
    dims = shapely.get_dimensions(g)
    polys = g[dims == 2]
    if len(polys):
        _draw_polys(ax, polys, facecolor=FACILITY_FILL, edgecolor=FACILITY, linewidth=0.6, alpha=0.55, zorder=2)
        if with_area:
            handles.append(Patch(facecolor=FACILITY_FILL, edgecolor=FACILITY, alpha=0.55, label=T["facility_area"]))
    lines = g[dims == 1]
    if len(lines):
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(_segments(lines), colors=FACILITY, linewidths=1.5, zorder=8))
    # a marker on points, and on polygons too small to see at the map's scale
    x0, x1 = ax.get_xlim()
    small = (dims == 0) | ((dims == 2) & (shapely.area(g) < ((x1 - x0) / 100.0) ** 2))
    xy = _points(fac[small])
    ax.scatter(xy[:, 0], xy[:, 1], s=34, marker=marker, color=FACILITY, edgecolor="white", linewidth=0.8, zorder=12)
    handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=6.5, color=FACILITY,
                          markeredgecolor="white", label=label))


def _draw_other(ax, report, rule_id, T, handles):
    """Map of a rule that is not measured by distance: streets, its facilities, units, dead ends."""
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    res = report.results[rule_id]
    rule = res.rule
    net = report.network
    road_rule = KINDS[rule.kind].roads
    streets = net.geometry
    if road_rule and rule.params.get("streets"):
        sub = report.context.street_network(rule.params["streets"])
        if sub is not None:
            ax.add_collection(LineCollection(_segments(net.geometry), colors="#c8c8c8", linewidths=0.5, zorder=4))
            streets = sub.geometry
    ax.add_collection(LineCollection(_segments(streets), colors="#4d4d4d" if road_rule else "#9e9e9e",
                                     linewidths=1.1 if road_rule else 0.7, zorder=5))
    handles.append(Line2D([], [], color="#4d4d4d" if road_rule else "#9e9e9e", linewidth=1.1, label=T["roads"]))
    units = res.layers.get("units")
    if units is not None and len(units):
        meets = units["meets"].to_numpy(dtype=bool) if "meets" in units else np.ones(len(units), bool)
        for ok, color, key in ((True, NEAR, "unit_ok"), (False, BEYOND, "unit_fail")):
            sel = units[meets == ok]
            if len(sel):
                _draw_polys(ax, _polys(sel), facecolor=color, edgecolor=color, alpha=0.12, linewidth=1.5, zorder=1)
                handles.append(Patch(facecolor=color, edgecolor=color, alpha=0.3, label=T[key]))
        if "count" in units:
            for g, c in zip(units.geometry.values, units["count"]):
                p = shapely.point_on_surface(g)
                ax.text(p.x, p.y, str(c), fontsize=12, ha="center", va="center", zorder=11,
                        bbox=dict(facecolor="white", edgecolor="#444444", alpha=0.85, boxstyle="round,pad=0.25"))
    fac = res.layers.get("facilities")
    if fac is not None and len(fac):
        if "meets" in fac:
            _draw_facilities(ax, fac[fac["meets"].astype(bool)], "o", T["facility_meets"], T, handles)
            bad = fac[~fac["meets"].astype(bool)]
            if len(bad):
                xy = _points(bad)
                ax.scatter(xy[:, 0], xy[:, 1], s=34, marker="o", color=BEYOND, edgecolor="white", linewidth=0.8, zorder=12)
                handles.append(Line2D([], [], linestyle="none", marker="o", markersize=6.5, color=BEYOND, label=T["facility_below"]))
        else:
            _draw_facilities(ax, fac, "o", T["facility"], T, handles)
    elif fac is not None:
        handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", markeredgecolor=FACILITY,
                              markersize=6.5, label=T["not_in_data"].format(names=T["facility"])))
    ends = res.layers.get("dead_ends")
    if ends is not None and len(ends):
        xy = _points(ends)
        ax.scatter(xy[:, 0], xy[:, 1], s=40, marker="X", color=BEYOND, edgecolor="white", linewidth=0.6, zorder=12)
        handles.append(Line2D([], [], linestyle="none", marker="X", markersize=7, color=BEYOND, markeredgecolor="white", label=T["dead_end"]))
