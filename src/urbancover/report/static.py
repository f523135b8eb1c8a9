"""Static gap maps (matplotlib, Agg): one print-quality map per rule, PNG or PDF."""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from urbancover.core.errors import InputError, UnknownRuleError
from urbancover.core.settings import Settings, resolve
from urbancover.evaluation import gaps, indicators
from urbancover.io.crs import transformer
from urbancover.network.walk import substring_coords
from urbancover.plan.rules import KINDS
from urbancover.present.formats import value as fmt_value

# colours (one definition with the GeoPackage's styles): green near a facility, yellow-orange
# towards the threshold, red beyond it (and for everything not served), blue for facilities
from urbancover.present.palette import (
    COMPOUND_EDGE,
    COMPOUND_FILL,
    FACILITY_FILL,
    HOME,
    HOME_EDGE,
    NEAR,
    RAMP,
    STREET,
    UNREACHABLE,
    UNSERVED_EDGE,
    ZONE,
)
from urbancover.present.words import target_text
from urbancover.report.common import (
    BEYOND,
    FACILITY,
    check_lang,
    font_families,
    measure_text,
    rule_checks,
    rule_name,
    served_pairs,
    street_distances,
    summary_row,
    verdict_word,
    zones_frame,
)

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "h"]

#: ISO 216 paper sizes in inches, portrait (A4: 210 x 297 mm, A3: 297 x 420 mm).
PAPER = {"A4": (210 / 25.4, 297 / 25.4), "A3": (297 / 25.4, 420 / 25.4)}
#: Page layout in inches: margin, gap between map and panel, legend panel width (beside the map)
#: or height (under it), and the strip under the map for the attribution.
MARGIN, GAP, PANEL_W, PANEL_H, ATTRIB_H = 0.45, 0.25, 2.65, 2.35, 0.22
TITLE_PT, SUB_PT, LEGEND_PT = 17.0, 9.5, 8.5
ORIENTATIONS = ("portrait", "landscape")


_MAP_FIGURE = []


def _map_figure(**kwargs):
    """A matplotlib Figure that shows itself in Jupyter (as a PNG), whatever the backend, and is
    on an Agg canvas of its own (no pyplot state, no window).
    """
    if not _MAP_FIGURE:
        from matplotlib.figure import Figure

        class MapFigure(Figure):
            __module__ = __name__

            def _repr_png_(self) -> bytes:
                buf = io.BytesIO()
                self.savefig(buf, format="png", dpi=100)
                return buf.getvalue()

        _MAP_FIGURE.append(MapFigure)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _MAP_FIGURE[0](**kwargs)
    FigureCanvasAgg(fig)
    return fig


@dataclass(frozen=True)
class Layout:
    """Where everything goes on the page (inches from the lower left corner)."""

    page: tuple[float, float]
    orientation: str
    panel: str  # "right" (beside the map) or "below"
    map_box: tuple[float, float, float, float]  # x, y, width, height
    panel_box: tuple[float, float, float, float]
    title_xy: tuple[float, float]
    title: str
    subtitle: str
    ncol: int = 1


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _wrap_width(width_in: float, pt: float) -> int:
    """How many half-width characters of a ``pt`` font fit in ``width_in`` inches."""
    return max(20, int(width_in * 72 / (0.56 * pt)))


def _legend_height(n_entries: int, ncol: int = 1) -> float:
    rows = math.ceil(n_entries / ncol)
    return 0.4 + rows * LEGEND_PT * 1.95 / 72


def _layout(extent, paper: str, orientation: str | None, heading: str, sub_parts: list[str], sub_sep: str,
            n_entries: int, colorbar: bool) -> Layout:
    """The page and the biggest map scale it allows: every orientation (unless fixed) with the legend
    panel beside or under the map; the map box keeps the area's shape, and map, panel and title are
    centred on the page as one block, so no strip is left empty between them.
    """
    x0, x1, y0, y1 = extent
    dw, dh = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    furniture = 1.05 + (0.75 if colorbar else 0.0)  # scale bar and north arrow, colour bar
    best = None
    for orient in ([orientation] if orientation else ORIENTATIONS):
        pw, ph = PAPER[paper] if orient == "portrait" else PAPER[paper][::-1]
        inner_w = pw - 2 * MARGIN
        title = _fill(list(heading) if " " not in heading else heading.split(" "), "" if " " not in heading else " ",
                      _wrap_width(inner_w, TITLE_PT))
        sub = _fill(sub_parts, sub_sep, _wrap_width(inner_w, SUB_PT))
        title_h = _lines(title) * TITLE_PT * 1.3 / 72 + 0.12 + _lines(sub) * SUB_PT * 1.5 / 72 + 0.18
        avail_h = ph - 2 * MARGIN - title_h - ATTRIB_H
        for panel in ("right", "below"):
            if panel == "right":
                aw, ah = inner_w - PANEL_W - GAP, avail_h
                need = _legend_height(n_entries) + furniture  # the panel's height, at least
                if need > avail_h:
                    continue
            else:
                ncol = max(1, int((inner_w - 2.6) // 2.5))
                need_h = max(_legend_height(n_entries, ncol), furniture)
                aw, ah = inner_w, avail_h - need_h - GAP
            if aw <= 0.5 or ah <= 0.5:
                continue
            scale = min(aw / dw, ah / dh)
            if best is None or scale > best[0] * 1.02:
                best = (scale, orient, panel, (pw, ph), title, sub, title_h,
                        need_h if panel == "below" else 0.0, need if panel == "right" else 0.0, ncol if panel == "below" else 1)
    if best is None:
        raise InputError(f"the legend does not fit on {paper} paper: use paper='A3' or a smaller legend.")
    scale, orient, panel, (pw, ph), title, sub, title_h, need_h, need, ncol = best
    mw, mh = scale * dw, scale * dh
    if panel == "right":
        block_w, panel_h = mw + GAP + PANEL_W, max(mh, need)
        block_h = title_h + panel_h + ATTRIB_H
        bx = (pw - block_w) / 2
        top = ph - (ph - block_h) / 2
        map_box = (bx, top - title_h - mh, mw, mh)
        panel_box = (bx + mw + GAP, top - title_h - panel_h, PANEL_W, panel_h)
    else:
        block_w = max(mw, min(pw - 2 * MARGIN, 7.0))
        block_h = title_h + mh + ATTRIB_H + GAP + need_h
        bx = (pw - block_w) / 2
        top = ph - (ph - block_h) / 2
        map_box = (bx + (block_w - mw) / 2, top - title_h - mh, mw, mh)
        panel_box = (bx, map_box[1] - ATTRIB_H - GAP - need_h, block_w, need_h)
    # the title starts at the page margin: it is wrapped to the page's width, not the block's
    return Layout((pw, ph), orient, panel, map_box, panel_box, (min(bx, MARGIN), top), title, sub, ncol)


def _entries(handles) -> int:
    """Lines the legend takes: one per handle, more for wrapped labels."""
    return sum(_lines(str(h.get_label())) for h in handles)


def _page(fig, ax, report, crs, T, lang, heading, parts, sep, handles, cbar_info, paper, orientation) -> None:
    """Lay the drawn map out on its page: title, map, legend panel with colour bar, scale bar and
    north arrow (beside or under the map, clear of the data), attribution under the map.
    """
    lay = _layout(_extent(report), paper, orientation, heading, parts, sep, _entries(handles), cbar_info is not None)
    W, H = lay.page
    fig.set_size_inches(W, H)

    def frac(x, y, w, h):
        return (x / W, y / H, w / W, h / H)

    mx, my, mw, mh = lay.map_box
    ax.set_position(frac(mx, my, mw, mh))
    tx, ty = lay.title_xy
    fig.text(tx / W, ty / H, lay.title, fontsize=TITLE_PT, ha="left", va="top", linespacing=1.15)
    sub_top = ty - _lines(lay.title) * TITLE_PT * 1.3 / 72 - 0.12
    fig.text(tx / W, sub_top / H, lay.subtitle, fontsize=SUB_PT, ha="left", va="top", color="#333333", linespacing=1.5)
    fig.text((mx + mw) / W, (my - 0.05) / H, T["attribution"], ha="right", va="top", fontsize=6.5, color="#333333")
    px, py, pw, ph = lay.panel_box
    furniture = 1.05 + (0.75 if cbar_info is not None else 0.0)
    if lay.panel == "right":
        legend_box = (px, py + furniture, pw, ph - furniture)
        col = px
    else:
        legend_box = (px, py, pw - 2.6, ph)
        col = px + pw - 2.5
    legend_ax = fig.add_axes(frac(*legend_box))
    legend_ax.axis("off")
    leg = legend_ax.legend(handles=handles, loc="upper left", frameon=False, fontsize=LEGEND_PT, title=T["legend_title"],
                           title_fontsize=10, alignment="left", handlelength=2.4, borderaxespad=0.0, ncol=lay.ncol,
                           columnspacing=1.2)
    leg._legend_box.align = "left"
    if cbar_info is not None:
        cy = py + 1.6 if lay.panel == "right" else py + ph - 0.3
        _colorbar(fig, fig.add_axes(frac(col + 0.1, cy, 2.3, 0.16)), cbar_info, lang)
    x0, x1 = ax.get_xlim()
    _panel_scale_bar(fig.add_axes(frac(col + 0.1, py + 0.1, 1.8, 0.55)), (x1 - x0) / mw, T)
    y0, y1 = ax.get_ylim()
    _panel_north_arrow(fig.add_axes(frac(col + 1.95, py + 0.05, 0.55, 0.95)), crs, (x0 + x1) / 2, (y0 + y1) / 2, T)


def _panel_scale_bar(sax, m_per_in: float, T: dict) -> None:
    """A scale bar at the map's scale in an axes of its own (beside the map, not on it)."""
    from matplotlib.patches import Rectangle

    width_in = sax.get_position().width * sax.figure.get_size_inches()[0]
    span = width_in * m_per_in
    sax.set_xlim(-0.04 * span, span)
    sax.set_ylim(0, 1)
    sax.axis("off")
    # the longest round length that fits in 90% of the axes (_nice_length gives a fifth of its argument)
    length = _nice_length(span * 0.9 * 5)
    n = 4
    seg = length / n
    for k in range(n):
        sax.add_patch(Rectangle((k * seg, 0.2), seg, 0.16, facecolor="black" if k % 2 == 0 else "white",
                                edgecolor="black", linewidth=0.6))
    unit_km = length >= 1000
    for frac_, val in ((0.0, 0.0), (0.5, length / 2), (1.0, length)):
        label = f"{val / 1000:g}" if unit_km else f"{val:g}"
        if frac_ == 1.0:
            label += " " + (T["scale_km"] if unit_km else T["scale_m"])
        sax.text(frac_ * length, 0.45, label, ha="center", va="bottom", fontsize=7.5)


def _panel_north_arrow(nax, crs, x: float, y: float, T: dict) -> None:
    """A north arrow turned by the grid convergence at the map's centre, in an axes of its own."""
    nax.axis("off")
    try:
        angle = _north_angle(crs, x, y)
    except Exception:  # pragma: no cover - a CRS pyproj cannot invert
        angle = 0.0
    a = math.radians(angle)
    length = 30.0  # points
    dx, dy = length * math.sin(a), length * math.cos(a)
    nax.annotate("", xy=(0.5, 0.72), xycoords="axes fraction", xytext=(-dx, -dy), textcoords="offset points",
                 arrowprops=dict(arrowstyle="-|>,head_length=0.9,head_width=0.45", color="black", linewidth=2.0,
                                 shrinkA=0, shrinkB=0))
    nax.annotate(T["north"], xy=(0.5, 0.72), xycoords="axes fraction", xytext=(3 * math.sin(a), 3),
                 textcoords="offset points", ha="center", va="bottom", fontsize=12)


def _cmap():
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("urbancover_near_far", list(RAMP), N=256)
    return cmap.with_extremes(over=BEYOND, bad=UNREACHABLE)


def _line_paths(geoms: np.ndarray, keys: np.ndarray | None = None) -> tuple[list, np.ndarray]:
    """Lines as one compound matplotlib Path per distinct key (MOVETO at the start of each part).

    A city's 100k+ street pieces then make a few hundred paths instead of one Path object each:
    building them is a handful of numpy passes over the vertices, and Agg strokes each compound
    path in one call. Cost: O(v log v) for v vertices (one stable sort by key).

    Returns the paths and their keys (sorted ascending; ``keys=None`` gives one path, key 0).
    """
    geoms = np.asarray(geoms, dtype=object)
    keys = np.zeros(len(geoms), np.int64) if keys is None else np.asarray(keys)
    if len(geoms) == 0:
        return [], keys[:0]
    parts, of = shapely.get_parts(geoms, return_index=True)  # a MultiLineString's parts are not joined
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    return _coord_paths(xy, idx, keys[of])


def _coord_paths(xy: np.ndarray, idx: np.ndarray, keys: np.ndarray) -> tuple[list, np.ndarray]:
    """:func:`_line_paths` of lines given as vertices ``xy`` of parts ``idx`` (ascending), each
    part of key ``keys[idx]``.
    """
    from matplotlib.path import Path as MPath

    if len(xy) == 0:
        return [], keys[:0]
    first = np.r_[True, idx[1:] != idx[:-1]]
    vkey = keys[idx]
    # a part that starts where the previous one (same key) ends continues its subpath: for opaque
    # round-capped strokes the same shape, with a round join instead of two caps (fewer to stroke)
    cont = first & np.r_[False, (vkey[1:] == vkey[:-1]) & np.all(xy[1:] == xy[:-1], axis=1)]
    codes = np.where(first & ~cont, MPath.MOVETO, MPath.LINETO).astype(np.uint8)
    order = np.argsort(vkey, kind="stable")  # a part's vertices stay together and in order
    xy, codes, vkey = xy[order], codes[order], vkey[order]
    cuts = np.flatnonzero(vkey[1:] != vkey[:-1]) + 1
    starts = np.r_[0, cuts]
    paths = [MPath(a, c) for a, c in zip(np.split(xy, cuts), np.split(codes, cuts))]
    return paths, vkey[starts]


def _add_lines(ax, geoms, keys=None, **kw):
    """Draw lines as compound paths (:func:`_line_paths`) in one collection (see :func:`_add_paths`)."""
    return _add_paths(ax, *_line_paths(geoms, keys), **kw)


def _add_paths(ax, paths, keys, *, colors, linewidths, rasterize: bool = False, **kw):
    """Stroke compound paths in one collection; ``colors`` and ``linewidths`` are one value or
    functions of the paths' keys; ``rasterize`` makes the collection a raster image in PDF/SVG
    output (a city's streets would be megabytes of vectors).
    """
    from matplotlib.collections import PathCollection

    if not paths:
        return keys
    col = PathCollection(paths, facecolors="none", edgecolors=colors(keys) if callable(colors) else colors,
                         linewidths=linewidths(keys) if callable(linewidths) else linewidths, **kw)
    col.set_rasterized(rasterize)
    ax.add_collection(col, autolim=False)
    return keys


def _dense(n: int, s: Settings) -> bool:
    """Whether a layer of ``n`` features is rasterized in vector output (PDF, SVG)."""
    return n > s.map_rasterize_min_features


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
    to_ll, to_xy = transformer(crs, 4326), transformer(4326, crs)
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


def _poly_paths(geoms, merge: bool = False) -> list:
    """One matplotlib Path per polygon (its exterior, then its holes), or with ``merge`` one path
    of them all, built from the coordinate arrays in a few numpy passes: O(v) for v vertices, no
    Python loop over rings.
    """
    from matplotlib.path import Path as MPath

    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    parts = parts[~shapely.is_missing(parts)]
    parts = parts[(shapely.get_dimensions(parts) == 2) & ~shapely.is_empty(parts)]
    if len(parts) == 0:
        return []
    rings, poly = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    first = np.r_[True, ring[1:] != ring[:-1]]
    last = np.r_[ring[1:] != ring[:-1], True]
    codes = np.full(len(xy), MPath.LINETO, dtype=np.uint8)
    codes[first] = MPath.MOVETO
    codes[last] = MPath.CLOSEPOLY
    if merge:
        return [MPath(xy, codes)]
    cuts = np.flatnonzero(np.diff(poly[ring])) + 1
    return [MPath(a, c) for a, c in zip(np.split(xy, cuts), np.split(codes, cuts))]


def _draw_polys(ax, s: Settings, geoms, merge: bool = False, **kw):
    """Polygons as one collection. ``merge`` draws them as one compound path, for layers that look
    the same either way (a hatch and no outline: Agg makes the hatch pattern once, not per polygon).
    """
    from matplotlib.collections import PathCollection

    paths = _poly_paths(geoms, merge)
    if paths:
        col = PathCollection(paths, **kw)
        col.set_rasterized(_dense(len(paths), s))
        ax.add_collection(col, autolim=False)
    return len(paths)


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


def _dot_m(ax, paper: str | None, s: Settings) -> float:
    """Ground length (metres) of ``settings.map_piece_mm`` of paper on the largest the map can be
    printed: the long side of ``paper``, or of the caller's figure. Street colours need no finer
    pieces than that (all of Malta on A4: about 70 m; a district: a few metres).
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    long_in = max(PAPER[paper]) if paper is not None else max(ax.figure.get_size_inches())
    return max(x1 - x0, y1 - y0) / (long_in * 25.4) * s.map_piece_mm


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
    paper: str = "A4",
    orientation: str | None = None,
    settings: Settings | None = None,
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
        A matplotlib Axes to draw into (the legend, scale bar and north arrow then sit inside it);
        default: a new figure of the size of the ``paper``, with legend, colour bar, scale bar and
        north arrow beside or under the map, clear of the data.
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
    paper
        ``"A4"`` (default) or ``"A3"``: the figure is exactly that page (A4 landscape is 842 x 595
        pt), so a PDF prints at 1:1 with the scale bar true.
    orientation
        ``"portrait"`` or ``"landscape"``; default: whichever shows the area at the larger scale
        (a tall area gets a portrait page, a wide one landscape), with the legend panel beside the
        map or under it, whichever leaves the map bigger.
    settings
        The :class:`~urbancover.core.settings.Settings` of the drawing (``map_piece_mm``,
        ``map_rasterize_min_features``); default :func:`urbancover.core.settings.current`.

    Returns
    -------
    matplotlib.figure.Figure
        It shows itself in a Jupyter notebook (as a PNG) when it is a cell's last expression.

    Examples
    --------
    >>> fig = gap_map(report, "bus_stop_500", lang="en", paper="A3", path="bus_stop_500.pdf")  # doctest: +SKIP
    >>> fig.get_size_inches() * 72                        # doctest: +SKIP
    array([1190.55, 841.89])

    Streets are coloured continuously from green (at a facility) to orange (at the threshold) and
    red beyond it; the break falls exactly where the distance reaches the threshold, inside the
    street. Unserved homes are red, unserved compounds outlined in red, gaps on residential land
    hatched, facilities blue. Map data © OpenStreetMap contributors (ODbL), printed on the map.
    """
    s = resolve(settings)
    T = check_lang(lang)
    if rule_id not in report.results:
        raise UnknownRuleError(f"rule_id: the report has no rule {rule_id!r}; it has {list(report.results)}.")
    if paper not in PAPER:
        raise InputError(f"gap_map(paper={paper!r}): unknown paper size; use one of {sorted(PAPER)}.")
    if orientation is not None and orientation not in ORIENTATIONS:
        raise InputError(f"gap_map(orientation={orientation!r}): use 'portrait', 'landscape' or None (chosen from the area's shape).")
    import matplotlib

    families = font_families(lang)
    rc = {"font.family": families, "pdf.fonttype": 3, "ps.fonttype": 3, "svg.fonttype": "path", "axes.unicode_minus": False}
    with matplotlib.rc_context(rc):
        fig = _draw(report, rule_id, lang, T, ax, zones, circles, title, paper, orientation, s=s)
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


def frame_map(ax, report) -> None:
    """Frame a map of ``report`` on ``ax``: the extent the report's maps zoom to (the analysed area),
    equal scales, no ticks, a white sheet in a thin frame.
    """
    x0, x1, y0, y1 = _extent(report)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("white")
    for sp in ax.spines.values():
        sp.set_linewidth(0.8)


def draw_area(ax, area, label: str, *, color: str, linewidth: float, zorder: float):
    """Draw the analysed area's outline dashed on ``ax`` and return its legend handle: its rings as
    one collection (built-up land has thousands of rings, Malta's ~2 000: a plot call each is slow).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    rings = shapely.get_rings(shapely.get_parts(np.asarray([area], dtype=object)))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    if len(xy):
        ax.add_collection(LineCollection(np.split(xy, np.flatnonzero(np.diff(ring)) + 1), colors=color,
                                         linewidths=linewidth, linestyles=[(0, (6, 3))], zorder=zorder))
    return Line2D([], [], color=color, linewidth=linewidth, linestyle=(0, (6, 3)), label=label)


def _draw(report, rule_id, lang, T, ax, zones, circles, title, paper="A4", orientation=None, *, s: Settings):
    import matplotlib
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    res = report.results[rule_id]
    rule = res.rule
    ctx = report.context
    net = report.network
    row = summary_row(report, rule_id)
    own_figure = ax is None
    if own_figure:
        # drawn first on a provisional page; the page and the map's place follow from the legend
        fig = _map_figure(figsize=PAPER[paper][::-1])
        ax = fig.add_axes((0.05, 0.05, 0.6, 0.8))
    else:
        fig = ax.figure
    frame_map(ax, report)
    handles: list = []
    distance_rule = res.measurement is not None
    checks = rule_checks(report, rule_id, lang) if distance_rule else None
    cbar_info = None

    # compounds and homes under the streets
    comp = ctx.compounds
    if len(comp):
        _draw_polys(ax, s, _polys(comp), facecolor=COMPOUND_FILL, edgecolor=COMPOUND_EDGE, linewidth=0.7, linestyle="--", zorder=1)
        handles.append(Patch(facecolor=COMPOUND_FILL, edgecolor=COMPOUND_EDGE, linestyle="--", label=T["compound"]))
    homes = ctx.homes
    if len(homes):
        _draw_polys(ax, s, _polys(homes), facecolor=HOME, edgecolor=HOME_EDGE, linewidth=0.3, zorder=3)
        home_rule = distance_rule and ("residential_buildings" in rule.demand or "residents" in rule.demand)
        uh = res.layers.get(gaps.HOMES_UNSERVED)
        if not home_rule:
            handles.append(Patch(facecolor=HOME, edgecolor=HOME_EDGE, label=T["home"]))
        elif uh is None or len(uh) < len(homes):
            handles.append(Patch(facecolor=HOME, edgecolor=HOME_EDGE, label=T["home_served"]))

    if distance_rule:
        resolution = _dot_m(ax, paper if own_figure else None, s)
        cbar_info = _draw_streets_by_distance(ax, report, rule_id, checks, lang, T, handles, resolution, s)
        gap_layer = res.layers.get(gaps.GAPS)
        if gap_layer is not None and len(gap_layer):
            _draw_polys(ax, s, _polys(gap_layer), merge=True, facecolor="none", edgecolor=BEYOND, hatch="////", linewidth=0.0,
                        alpha=0.75, zorder=4)
            handles.append(Patch(facecolor="none", edgecolor=BEYOND, hatch="////", linewidth=0.0, label=T["gap"]))
        uh = res.layers.get(gaps.HOMES_UNSERVED)
        if uh is not None and len(uh):
            _draw_polys(ax, s, _polys(uh), facecolor=BEYOND, edgecolor=UNSERVED_EDGE, linewidth=0.5, zorder=6)
            handles.append(Patch(facecolor=BEYOND, edgecolor=UNSERVED_EDGE, label=T["home_unserved"]))
        ur = res.layers.get(gaps.RESIDENTS_UNSERVED)
        if ur is not None and len(ur):
            xy = _points(ur)
            ax.scatter(xy[:, 0], xy[:, 1], s=10, color=BEYOND, edgecolor=UNSERVED_EDGE, linewidth=0.3, zorder=6)
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=4, color=BEYOND, label=T["resident_unserved"]))
        uc_ = res.layers.get(gaps.COMPOUNDS_UNSERVED)
        if uc_ is not None and len(uc_):
            _draw_polys(ax, s, _polys(uc_), facecolor="none", edgecolor=BEYOND, linewidth=2.0, zorder=7)
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
            _draw_facilities(ax, s, fac, MARKERS[k % len(MARKERS)], label, T, handles, with_area=(k == 0))
        labels = checks.labels if len(checks.labels) > 1 else [T["facility"]]
        empty = [lab for lab, fac in zip(labels, checks.facilities) if len(fac) == 0]
        if empty:
            names = ("、" if lang == "zh" else ", ").join(empty)
            handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", markeredgecolor=FACILITY,
                                  markersize=6.5, label=_wrap(T["not_in_data"].format(names=names), 38)))
    else:
        _draw_other(ax, report, rule_id, T, handles, s)

    # analysed area and zones on top
    handles.append(draw_area(ax, ctx.area, T["area"], color="black", linewidth=1.1, zorder=9))
    z = zones_frame(zones, net.crs)
    if z is not None and len(z):
        _draw_polys(ax, s, _polys(z), facecolor="none", edgecolor=ZONE, linewidth=2.2, zorder=10)
        for k, g in enumerate(z.geometry.values):
            p = shapely.point_on_surface(g)
            ax.text(p.x, p.y, str(k + 1), color=ZONE, fontsize=10, ha="center", va="center", zorder=11,
                    bbox=dict(boxstyle="circle,pad=0.2", facecolor="white", edgecolor=ZONE, linewidth=1.0))
        handles.append(Patch(facecolor="none", edgecolor=ZONE, linewidth=2.2, label=T["zone"]))

    heading = title if title is not None else _title(rule, lang)
    parts, sep = _subtitle_parts(rule, row, lang, T, checks)
    if own_figure:
        _page(fig, ax, report, net.crs, T, lang, heading, parts, sep, handles, cbar_info, paper, orientation)
    else:
        _scale_bar(ax, T)
        _north_arrow(ax, net.crs, T)
        ax.text(0.995, 0.006, T["attribution"], transform=ax.transAxes, ha="right", va="bottom", fontsize=6.5,
                color="#333333", zorder=23, bbox=dict(facecolor="white", edgecolor="none", alpha=0.75, pad=1.5))
        # the title Text belongs to the caller's axes, made before our fonts were set: name them
        ax.set_title(heading + "\n" + _fill(parts, sep, 150), fontsize=10, loc="left",
                     fontfamily=matplotlib.rcParams["font.family"])
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


def _subtitle_parts(rule, row, lang: str, T: dict, checks) -> tuple[list[str], str]:
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
        parts.append(T["value_of"].format(measure=measure_text(row.measure, lang), value=fmt_value(row.value)))
        if row.target_text:
            parts.append(f"{T['target']} {target_text(row.target_text, lang)}")
    parts.append(verdict_word(row, lang))
    return parts, sep


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


def _draw_streets_by_distance(ax, report, rule_id, checks, lang, T, handles, resolution: float, s: Settings) -> dict:
    from matplotlib.lines import Line2D

    pieces = street_distances(report, rule_id, resolution=resolution, beyond_steps=False, geometry=False)
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
    demand = pieces["demand"].to_numpy()
    has_demand = "streets" in report.results[rule_id].rule.demand
    # a style per piece as one integer: the colour map's entry (it has cmap.N, the index that
    # Colormap.__call__ takes for a value in [0, 1]), then beyond, then unreachable; bold demand
    # after the rest. The pieces take a few hundred styles: one compound path each, drawn in key
    # order: thin before bold (bold demand on top) and, where streets overlap, beyond the threshold
    # over served and unreachable over beyond (the gaps stay visible)
    N = cmap.N
    code = np.full(len(pieces), N + 1)
    code[~served & finite] = N
    code[served] = np.minimum((np.clip(value[served] / vmax, 0.0, 1.0) * N).astype(np.int64), N - 1)
    bold = demand if has_demand else np.zeros(len(pieces), bool)
    key = np.where(bold, N + 2, 0) + code

    def colors(k):
        c = k % (N + 2)
        out = np.empty((len(k), 4))
        out[c < N] = cmap(c[c < N])
        out[c == N] = _rgba(BEYOND)
        out[c == N + 1] = _rgba(UNREACHABLE)
        if has_demand:
            # other streets faded (blended with white, opaque, so that round caps leave no dots): the
            # rule does not assess them
            faded = k < N + 2
            out[faded, :3] = 0.4 * out[faded, :3] + 0.6
        return out

    def widths(k):
        return np.where(k >= N + 2, 2.0, 0.6) if has_demand else np.full(len(k), 1.3)

    xy, part = substring_coords(report.network.geometry, pieces["edge"].to_numpy(), pieces["start"].to_numpy(),
                             pieces["end"].to_numpy())
    _add_paths(ax, *_coord_paths(xy, part, key), colors=colors, linewidths=widths, rasterize=_dense(len(pieces), s),
               capstyle="round", joinstyle="round", zorder=5)
    t = _t(threshold, lang) if (len(checks.fields) == 1 or same) else "100%"
    if served.any():
        handles.append(Line2D([], [], color=NEAR, linewidth=2.0, label=T["street_served"].format(t=t)))
    if (~served & finite).any():
        handles.append(Line2D([], [], color=BEYOND, linewidth=2.0, label=T["street_beyond"].format(t=t)))
    if (~finite).any():
        handles.append(Line2D([], [], color=UNREACHABLE, linewidth=2.0, label=T["street_unreachable"]))
    if has_demand:
        handles.append(Line2D([], [], color=STREET, linewidth=2.0, label=T["street_demand"]))
        handles.append(Line2D([], [], color=STREET, linewidth=0.6, alpha=0.6, label=T["street_other"]))
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


def _draw_facilities(ax, s: Settings, fac, marker, label, T, handles, with_area=True):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if fac is None or len(fac) == 0:
        return
    g = fac.geometry.values
    dims = shapely.get_dimensions(g)
    polys = g[dims == 2]
    if len(polys):
        _draw_polys(ax, s, polys, facecolor=FACILITY_FILL, edgecolor=FACILITY, linewidth=0.6, alpha=0.55, zorder=2)
        if with_area:
            handles.append(Patch(facecolor=FACILITY_FILL, edgecolor=FACILITY, alpha=0.55, label=T["facility_area"]))
    lines = g[dims == 1]
    if len(lines):
        _add_lines(ax, lines, colors=FACILITY, linewidths=1.5, rasterize=_dense(len(lines), s), zorder=8)
    # a marker on points, and on polygons too small to see at the map's scale
    x0, x1 = ax.get_xlim()
    small = (dims == 0) | ((dims == 2) & (shapely.area(g) < ((x1 - x0) / 100.0) ** 2))
    xy = _points(fac[small])
    ax.scatter(xy[:, 0], xy[:, 1], s=34, marker=marker, color=FACILITY, edgecolor="white", linewidth=0.8, zorder=12)
    handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=6.5, color=FACILITY,
                          markeredgecolor="white", label=label))


def _draw_other(ax, report, rule_id, T, handles, s: Settings):
    """Map of a rule that is not measured by distance: streets, its facilities, units, dead ends."""
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
            _add_lines(ax, net.geometry, colors="#c8c8c8", linewidths=0.5, rasterize=_dense(net.n_edges, s), zorder=4)
            streets = sub.geometry
    _add_lines(ax, streets, colors="#4d4d4d" if road_rule else "#9e9e9e", linewidths=1.1 if road_rule else 0.7,
               rasterize=_dense(len(streets), s), zorder=5)
    handles.append(Line2D([], [], color="#4d4d4d" if road_rule else "#9e9e9e", linewidth=1.1, label=T["roads"]))
    units = res.layers.get(indicators.UNITS)
    if units is not None and len(units):
        meets = units[indicators.MEETS].to_numpy(dtype=bool)
        for ok, color, key in ((True, NEAR, "unit_ok"), (False, BEYOND, "unit_fail")):
            sel = units[meets == ok]
            if len(sel):
                _draw_polys(ax, s, _polys(sel), facecolor=color, edgecolor=color, alpha=0.12, linewidth=1.5, zorder=1)
                handles.append(Patch(facecolor=color, edgecolor=color, alpha=0.3, label=T[key]))
        for g, c in zip(units.geometry.values, units[indicators.COUNT]):
            p = shapely.point_on_surface(g)
            ax.text(p.x, p.y, str(c), fontsize=12, ha="center", va="center", zorder=11,
                    bbox=dict(facecolor="white", edgecolor="#444444", alpha=0.85, boxstyle="round,pad=0.25"))
    fac = res.layers.get(indicators.FACILITIES)
    if fac is not None and len(fac):
        if indicators.MEETS in fac:  # the kinds with a minimum size (areas) say which facilities meet it
            _draw_facilities(ax, s, fac[fac[indicators.MEETS].astype(bool)], "o", T["facility_meets"], T, handles)
            bad = fac[~fac[indicators.MEETS].astype(bool)]
            if len(bad):
                xy = _points(bad)
                ax.scatter(xy[:, 0], xy[:, 1], s=34, marker="o", color=BEYOND, edgecolor="white", linewidth=0.8, zorder=12)
                handles.append(Line2D([], [], linestyle="none", marker="o", markersize=6.5, color=BEYOND, label=T["facility_below"]))
        else:
            _draw_facilities(ax, s, fac, "o", T["facility"], T, handles)
    elif fac is not None:
        handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", markeredgecolor=FACILITY,
                              markersize=6.5, label=T["not_in_data"].format(names=T["facility"])))
    ends = res.layers.get(indicators.DEAD_ENDS)
    if ends is not None and len(ends):
        xy = _points(ends)
        ax.scatter(xy[:, 0], xy[:, 1], s=40, marker="X", color=BEYOND, edgecolor="white", linewidth=0.6, zorder=12)
        handles.append(Line2D([], [], linestyle="none", marker="X", markersize=7, color=BEYOND, markeredgecolor="white",
                              label=T["dead_end"]))


# ------------------------------------------------------------------------------- before and after

#: Colours of the change map: newly served (green; homes darker than streets, so a home stands out on
#: its street), no longer served (red), still not served (light red).
NEWLY_SERVED, NEWLY_UNSERVED, STILL_UNSERVED = "#1a9850", "#b2182b", "#f4a582"
STREET_NEWLY_SERVED, STREET_NEWLY_UNSERVED = "#66bd63", "#f46d43"


def change_map(
    comparison,
    rule_id: str,
    *,
    lang: str = "zh",
    path: str | os.PathLike | None = None,
    dpi: int = 200,
    paper: str = "A4",
    orientation: str | None = None,
    settings: Settings | None = None,
):
    """Static map of what changed for one rule between two evaluations
    (:func:`urbancover.compare`): homes newly served (green) and no longer served (dark
    red), homes still not served (light red), street demand newly served or no longer served (thick
    green / red lines), facilities added (green star) and removed (red cross), over the after
    evaluation's streets, compounds and homes; title, share before and after with its size, legend,
    scale bar and north arrow as on the gap maps (:func:`gap_map`).

    Parameters
    ----------
    comparison
        A :class:`urbancover.change.Comparison`.
    rule_id
        A rule of the comparison.
    lang, path, dpi, paper, orientation, settings
        As for :func:`gap_map`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = resolve(settings)
    T = check_lang(lang)
    comparison.rule(rule_id)  # an unknown rule: UnknownRuleError naming the rules compared
    if paper not in PAPER:
        raise InputError(f"change_map(paper={paper!r}): unknown paper size; use one of {sorted(PAPER)}.")
    if orientation is not None and orientation not in ORIENTATIONS:
        raise InputError(f"change_map(orientation={orientation!r}): use 'portrait', 'landscape' or None.")
    import matplotlib

    rc = {"font.family": font_families(lang), "pdf.fonttype": 3, "ps.fonttype": 3, "svg.fonttype": "path",
          "axes.unicode_minus": False}
    with matplotlib.rc_context(rc):
        fig = _draw_change(comparison, rule_id, lang, T, paper, orientation, s)
        if path is not None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=dpi, metadata=_metadata(path, comparison.after, rule_id, lang))
    return fig


def _draw_change(comparison, rule_id, lang, T, paper, orientation, s: Settings):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from urbancover.present.words import COMPARE

    W = COMPARE[lang]
    report = comparison.after
    ctx = report.context
    net = report.network
    res = report.results[rule_id]
    rule = res.rule
    fig = _map_figure(figsize=PAPER[paper][::-1])
    ax = fig.add_axes((0.05, 0.05, 0.6, 0.8))
    frame_map(ax, report)
    handles: list = []
    if len(ctx.compounds):
        _draw_polys(ax, s, _polys(ctx.compounds), facecolor="#f4f1ea", edgecolor="#6e6e6e", linewidth=0.7, linestyle="--",
                    zorder=1)
        handles.append(Patch(facecolor="#f4f1ea", edgecolor="#6e6e6e", linestyle="--", label=T["compound"]))
    _add_lines(ax, net.geometry, colors="#bdbdbd", linewidths=0.6, rasterize=_dense(net.n_edges, s), zorder=2)
    handles.append(Line2D([], [], color="#bdbdbd", linewidth=0.8, label=W["street"]))
    homes = comparison.homes[comparison.homes["rule"] == rule_id]
    if len(ctx.homes):
        _draw_polys(ax, s, _polys(ctx.homes), facecolor=HOME, edgecolor=HOME_EDGE, linewidth=0.3, zorder=3)
        handles.append(Patch(facecolor=HOME, edgecolor=HOME_EDGE, label=W["home"]))
    still = res.layers.get(gaps.HOMES_UNSERVED)
    if still is not None and len(still):
        _draw_polys(ax, s, _polys(still), facecolor=STILL_UNSERVED, edgecolor=HOME_EDGE, linewidth=0.3, zorder=4)
        handles.append(Patch(facecolor=STILL_UNSERVED, edgecolor=HOME_EDGE, label=W["home_still_unserved"]))
    streets = comparison.streets[comparison.streets["rule"] == rule_id]
    for change, color, street_color, key in (("newly served", "#006837", STREET_NEWLY_SERVED, "newly_served"),
                                             ("newly unserved", NEWLY_UNSERVED, STREET_NEWLY_UNSERVED, "newly_unserved")):
        sel = streets[streets["change"] == change]
        if len(sel):
            _add_lines(ax, sel.geometry.values, colors=street_color, linewidths=2.4, rasterize=_dense(len(sel), s), zorder=5,
                       capstyle="round")
            handles.append(Line2D([], [], color=street_color, linewidth=2.4, label=W[f"street_{key}"]))
        sel = homes[homes["change"] == change]
        if len(sel):
            _draw_polys(ax, s, _polys(sel), facecolor=color, edgecolor="#252525", linewidth=0.6, zorder=6)
            # and ringed: a home is a speck on a city's map
            xy = _points(sel)
            ax.scatter(xy[:, 0], xy[:, 1], s=70, marker="o", facecolor="none", edgecolor=color, linewidth=1.1, zorder=6)
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=9, markerfacecolor=color,
                                  markeredgecolor=color, markeredgewidth=1.1, label=W[f"home_{key}"]))
    fac = comparison.facilities[comparison.facilities["rule"] == rule_id]
    m = res.measurement
    if m is not None:
        kept = [c.facilities for c in m.checks]
        xy = np.concatenate([_points(f) for f in kept]) if kept else np.zeros((0, 2))
        added = fac[fac["change"] == "added"]
        if len(added):  # the added ones are drawn as such, not as kept
            axy = shapely.get_coordinates(added.geometry.values)
            near = shapely.STRtree(shapely.points(axy)).query(shapely.points(xy), predicate="dwithin", distance=0.5)[0]
            xy = np.delete(xy, np.unique(near), axis=0)
        if len(xy):
            small = len(xy) > 300  # a city's hundreds of stops: dots, so the changes stay visible
            ax.scatter(xy[:, 0], xy[:, 1], s=8 if small else 30, marker="o", color=FACILITY, edgecolor="white",
                       linewidth=0.3 if small else 0.8, zorder=12)
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=6, color=FACILITY, markeredgecolor="white",
                                  label=W["facility_kept"]))
    for change, color, marker, size, key in (("added", NEWLY_SERVED, "*", 190, "facility_added"),
                                             ("removed", NEWLY_UNSERVED, "X", 90, "facility_removed")):
        sel = fac[fac["change"] == change]
        if len(sel):
            xy = shapely.get_coordinates(sel.geometry.values)
            size = size if len(sel) <= 100 else size / 3
            ax.scatter(xy[:, 0], xy[:, 1], s=size, marker=marker, color=color, edgecolor="white", linewidth=0.6, zorder=13)
            handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=11 if marker == "*" else 8, color=color,
                                  markeredgecolor="white", label=W[key]))
    # the area under the changes, in grey
    handles.append(draw_area(ax, ctx.area, T["area"], color="#737373", linewidth=0.8, zorder=2.5))
    heading = W["title"].format(name=_title(rule, lang))
    parts = [p for p in comparison.lines(lang)[rule_id].split("；" if lang == "zh" else "; ")]
    _page(fig, ax, report, net.crs, T, lang, heading, parts, "；" if lang == "zh" else "; ", handles, None, paper,
          orientation)
    return fig
