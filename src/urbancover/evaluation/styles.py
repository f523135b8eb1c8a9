"""QGIS styles of the GeoPackage's layers: the colours and classes of the static maps
(:mod:`urbancover.present.palette`), as QML and SLD in the GeoPackage's ``layer_styles`` table, so a
layer opens in QGIS as the gap map draws it.

A layer's style follows from its name (after ``<rule id>__``, without the ``_points`` / ``_lines`` /
``_areas`` of a layer split by geometry type), its geometry type and its columns, never from a
list of rule kinds, so layers added later are styled too. The first that applies:

1. ``*street_distance``: classes of network distance over the threshold (``ratio``) while
   ``status`` is ``served``, on the gap map's green-to-orange ramp; ``beyond`` red; ``no path``
   and ``no facility`` dark red.
2. ``*_unserved``: red (homes and compounds filled, residents as dots, street pieces as lines).
3. ``*gaps``: red hatching.
4. a ``served`` column: served green (homes grey, as on the maps), not served red; else an
   ``n_failed`` column (homes, streets, compounds with every rule): no rule failed as served,
   one or more failed red; else a ``meets`` column (area units of a count rule, facilities of a
   minimum-area rule): green (facilities blue) or red.
5. ``*facilities*`` and ``*unmatched``: blue points, lines and pale blue areas.
6. ``compounds``: pale fill, dashed grey outline. ``zones``: purple outline. ``*dead_ends``: red crosses.
7. anything else: a neutral grey of its geometry type (the documented fallback).

Each row of ``layer_styles`` is the default style (``useAsDefault``) of one spatial layer; the
legend's words are those of the maps (:mod:`urbancover.present.words`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

from urbancover.present.palette import (
    BEYOND,
    COMPOUND_EDGE,
    COMPOUND_FILL,
    DISTANCE_CLASSES,
    FACILITY,
    FACILITY_FILL,
    HOME,
    HOME_EDGE,
    NEAR,
    STREET,
    UNREACHABLE,
    UNSERVED_EDGE,
    ZONE,
    ramp_colour,
)
from urbancover.present.words import STATUS, TEXT

__all__ = ["LAYER_STYLES_COLUMNS", "Style", "layer_style", "layer_styles_table", "qml", "sld"]

#: The columns of QGIS's ``layer_styles`` table (its own schema, as QGIS writes it in a GeoPackage).
LAYER_STYLES_COLUMNS = ("f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName", "styleQML",
                        "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time")

_NS = uuid.UUID("6f1c4c1e-2b7e-4c39-9a53-0e2b1b7f6a10")  # rule keys: the same layer, the same keys


@dataclass(frozen=True)
class Symbol:
    """How one class is drawn: ``fill`` (``None`` for no fill), ``stroke``, ``width`` (mm), ``dash``,
    ``hatch`` (a hatched fill), ``alpha``, point ``shape`` and ``size`` (mm).
    """

    fill: str | None
    stroke: str
    width: float = 0.26
    dash: bool = False
    hatch: bool = False
    alpha: float = 1.0
    shape: str = "circle"
    size: float = 2.4


@dataclass(frozen=True)
class Class:
    """One legend entry: its ``label``, the ``where`` conditions (``(column, op, value)`` all true,
    op one of ``=``, ``<``, ``>=``, ``>``, ``in``; empty: every feature; ``None``: every feature no
    other class took) and its :class:`Symbol`.
    """

    label: str
    where: tuple | None
    symbol: Symbol


@dataclass(frozen=True)
class Style:
    """A layer's style: ``kind`` (which rule of the module's list chose it), ``geometry``
    (``point``, ``line`` or ``polygon``) and its :class:`Class` es.
    """

    kind: str
    geometry: str
    classes: tuple = field(default_factory=tuple)


def _family(geometry_type: str | None) -> str | None:
    g = (geometry_type or "").lower()
    return "point" if "point" in g else "line" if "line" in g else "polygon" if "polygon" in g else None


def _plain(fam: str, colour: str, edge: str, *, width: float | None = None) -> Symbol:
    """A symbol of one colour for any geometry: a filled area with ``edge``, a line, or a dot."""
    if fam == "line":
        return Symbol(None, colour, width=width or 0.6)
    if fam == "point":
        return Symbol(colour, edge, width=0.2)
    return Symbol(colour, edge, width=width or 0.26)


def layer_style(name: str, geometry_type: str | None, columns=(), lang: str = "en") -> Style | None:
    """The style of a layer (see the module's docstring), or None for a table without geometry."""
    fam = _family(geometry_type)
    if fam is None:
        return None
    T, S = TEXT[lang], STATUS[lang]
    cols = set(columns)
    base = name.rsplit("__", 1)[-1]
    for part in ("_points", "_lines", "_areas"):  # a layer split by geometry type (export.one_type) is styled as its whole
        base = base.removesuffix(part)
    if base.endswith("street_distance"):
        classes = [Class(T["style_ratio"].format(lo=lo, hi=hi) if hi is not None else T["style_ratio_top"].format(lo=lo),
                         (("status", "=", "served"), ("ratio", ">=", lo)) + ((("ratio", "<", hi),) if hi is not None else ()),
                         Symbol(None, ramp_colour(t), width=0.7))
                   for lo, hi, t in DISTANCE_CLASSES]
        classes += [Class(S["beyond"], (("status", "=", "beyond"),), Symbol(None, BEYOND, width=0.7)),
                    Class(T["street_unreachable"], (("status", "in", ("no path", "no facility")),), Symbol(None, UNREACHABLE, width=0.7)),
                    Class(T["street_other"], None, Symbol(None, STREET, width=0.3))]
        return Style("street_distance", fam, tuple(classes))
    if base.endswith("_unserved"):
        word = {"homes_unserved": "home_unserved", "residents_unserved": "resident_unserved",
                "compounds_unserved": "compound_unserved"}.get(base)
        label = T[word] if word else f"{name}: {S['beyond']}"
        if base.startswith("compounds"):
            sym = Symbol(None, BEYOND, width=0.7)
        else:
            sym = _plain(fam, BEYOND, UNSERVED_EDGE, width=0.9 if fam == "line" else None)
        return Style("unserved", fam, (Class(label, (), sym),))
    if base.endswith("gaps"):
        return Style("gaps", fam, (Class(T["gap"], (), Symbol(BEYOND, BEYOND, width=0.0, hatch=True, alpha=0.75)),))
    if "served" in cols or "n_failed" in cols:
        compound = base == "compounds"
        ok = (Symbol(COMPOUND_FILL, COMPOUND_EDGE, dash=True) if compound else
              _plain(fam, HOME if fam == "polygon" else NEAR, HOME_EDGE if fam == "polygon" else "#ffffff"))
        bad = (Symbol(COMPOUND_FILL, BEYOND, width=0.7) if compound else
               _plain(fam, BEYOND, UNSERVED_EDGE if fam == "polygon" else "#ffffff"))
        if "served" in cols:
            yes, no, words = (("served", "=", True),), (("served", "=", False),), (S["served"], S["beyond"])
        else:
            yes, no, words = (("n_failed", "=", 0),), (("n_failed", ">", 0),), (T["style_all_rules"], T["style_some_rule"])
        return Style("served", fam, (Class(words[0], yes, ok), Class(words[1], no, bad),
                                     Class(name, None, _plain(fam, HOME, HOME_EDGE))))
    if "meets" in cols:  # area units meeting a count rule, facilities meeting a minimum area
        facilities = "facilities" in base
        words = (T["facility"], T["facility_below"]) if facilities else (T["unit_ok"], T["unit_fail"])
        ok = _plain(fam, FACILITY if facilities else NEAR, "#ffffff" if fam == "point" else FACILITY if facilities else NEAR)
        bad = _plain(fam, BEYOND, "#ffffff" if fam == "point" else BEYOND)
        if fam == "polygon":
            ok, bad = (Symbol(sym.fill, sym.stroke, width=0.5, alpha=0.35) for sym in (ok, bad))
        return Style("meets", fam, (Class(words[0], (("meets", "=", True),), ok), Class(words[1], (("meets", "=", False),), bad),
                                    Class(name, None, _plain(fam, HOME, HOME_EDGE))))
    if "facilities" in base or base.endswith("unmatched"):
        if fam == "polygon":
            sym = Symbol(FACILITY_FILL, FACILITY, width=0.3, alpha=0.55)
        else:
            sym = _plain(fam, FACILITY, "#ffffff", width=0.9 if fam == "line" else None)
        return Style("facilities", fam, (Class(T["facility_area"] if fam == "polygon" else T["facility"], (), sym),))
    if base == "compounds":
        return Style("compounds", fam, (Class(T["compound"], (), Symbol(COMPOUND_FILL, COMPOUND_EDGE, dash=True)),))
    if base == "zones":
        return Style("zones", fam, (Class(T["zone"], (), Symbol(None, ZONE, width=0.8)),))
    if base.endswith("dead_ends"):
        return Style("dead_ends", fam, (Class(T["dead_end"], (), Symbol(BEYOND, "#ffffff", width=0.2, shape="cross2", size=3.0)),))
    return Style("plain", fam, (Class(name, (), _plain(fam, HOME if fam != "line" else STREET, HOME_EDGE)),))


# --------------------------------------------------------------------------- QML (QGIS)


def _rgba(colour: str | None, alpha: float = 1.0) -> str:
    if colour is None:
        return "0,0,0,0"
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{round(255 * alpha)}"


def _expression(where) -> str:
    if where is None:
        return "ELSE"
    parts = []
    for col, op, value in where:
        field_ = '"' + col.replace('"', '""') + '"'
        if op == "in":
            parts.append(f"{field_} IN ({', '.join(_literal(v) for v in value)})")
        else:
            parts.append(f"{field_} {op} {_literal(value)}")
    return " AND ".join(parts)


def _literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return "'" + str(value).replace("'", "''") + "'"


def _options(props: dict) -> str:
    """Symbol-layer properties as QGIS 3 writes them: an ``Option`` map, and the older ``prop`` list."""
    opts = "".join(f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>' for k, v in props.items())
    old = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return f'<Option type="Map">{opts}</Option>{old}'


def _qml_symbol(sym: Symbol, geometry: str, name: str) -> str:
    if geometry == "line":
        kind, cls = "line", "SimpleLine"
        props = {"line_color": _rgba(sym.stroke), "line_width": f"{sym.width:g}", "line_width_unit": "MM",
                 "line_style": "dash" if sym.dash else "solid", "capstyle": "round", "joinstyle": "round"}
    elif geometry == "point":
        kind, cls = "marker", "SimpleMarker"
        props = {"name": sym.shape, "color": _rgba(sym.fill), "outline_color": _rgba(sym.stroke),
                 "outline_width": f"{sym.width:g}", "outline_width_unit": "MM", "size": f"{sym.size:g}", "size_unit": "MM",
                 "outline_style": "solid"}
    else:
        kind, cls = "fill", "SimpleFill"
        style = "b_diagonal" if sym.hatch else ("no" if sym.fill is None else "solid")
        props = {"color": _rgba(sym.fill), "style": style, "outline_color": _rgba(sym.stroke),
                 "outline_width": f"{sym.width:g}", "outline_width_unit": "MM",
                 "outline_style": "no" if sym.width == 0 else ("dash" if sym.dash else "solid")}
    return (f'<symbol type="{kind}" name={quoteattr(name)} alpha="{sym.alpha:g}" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{cls}" enabled="1" locked="0" pass="0">{_options(props)}</layer></symbol>')


def qml(style: Style, layer: str) -> str:
    """The QGIS style document (QML) of a layer: a rule-based renderer, one rule per class."""
    rules, symbols = [], []
    for k, c in enumerate(style.classes):
        key = "{" + str(uuid.uuid5(_NS, f"{layer}/{k}")) + "}"
        expr = _expression(c.where)
        filt = f" filter={quoteattr(expr)}" if expr else ""
        rules.append(f"<rule key={quoteattr(key)} symbol=\"{k}\" label={quoteattr(c.label)}{filt}/>")
        symbols.append(_qml_symbol(c.symbol, style.geometry, str(k)))
    root = "{" + str(uuid.uuid5(_NS, layer)) + "}"
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.28.0-Firenze" styleCategories="Symbology">'
            '<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">'
            f"<rules key={quoteattr(root)}>{''.join(rules)}</rules>"
            f"<symbols>{''.join(symbols)}</symbols>"
            "</renderer-v2><blendMode>0</blendMode><featureBlendMode>0</featureBlendMode>"
            f"<layerGeometryType>{ {'point': 0, 'line': 1, 'polygon': 2}[style.geometry] }</layerGeometryType></qgis>\n")


# --------------------------------------------------------------------------- SLD (OGC SE 1.1)


def _ogc_filter(where) -> str:
    if where is None:
        return "<se:ElseFilter/>"
    if not where:
        return ""
    ops = {"=": "PropertyIsEqualTo", "<": "PropertyIsLessThan", ">=": "PropertyIsGreaterThanOrEqualTo",
           ">": "PropertyIsGreaterThan"}
    parts = []
    for col, op, value in where:
        if op == "in":
            ors = "".join(_ogc_compare("PropertyIsEqualTo", col, v) for v in value)
            parts.append(f"<ogc:Or>{ors}</ogc:Or>" if len(value) > 1 else ors)
        else:
            parts.append(_ogc_compare(ops[op], col, value))
    body = parts[0] if len(parts) == 1 else f"<ogc:And>{''.join(parts)}</ogc:And>"
    return f"<ogc:Filter>{body}</ogc:Filter>"


def _ogc_compare(op: str, col: str, value) -> str:
    lit = ("true" if value else "false") if isinstance(value, bool) else (f"{value:g}" if isinstance(value, (int, float)) else str(value))
    return f"<ogc:{op}><ogc:PropertyName>{escape(col)}</ogc:PropertyName><ogc:Literal>{escape(lit)}</ogc:Literal></ogc:{op}>"


def _svg(name: str, value: str) -> str:
    return f'<se:SvgParameter name="{name}">{escape(value)}</se:SvgParameter>'


def _px(mm: float) -> str:
    return f"{mm * 96 / 25.4:.2g}"  # SLD sizes are pixels (96 dpi)


def _stroke(sym: Symbol) -> str:
    if sym.width == 0:
        return ""
    dash = _svg("stroke-dasharray", "4 2") if sym.dash else ""
    return f"<se:Stroke>{_svg('stroke', sym.stroke)}{_svg('stroke-width', _px(sym.width))}{dash}</se:Stroke>"


def _sld_symbolizer(sym: Symbol, geometry: str) -> str:
    opacity = _svg("fill-opacity", f"{sym.alpha:g}")
    if geometry == "line":
        return f"<se:LineSymbolizer>{_stroke(sym)}</se:LineSymbolizer>"
    fill = f"<se:Fill>{_svg('fill', sym.fill)}{opacity}</se:Fill>" if sym.fill else ""
    if geometry == "point":
        shape = {"circle": "circle", "cross2": "x"}.get(sym.shape, "circle")
        return (f"<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>{shape}</se:WellKnownName>{fill}{_stroke(sym)}"
                f"</se:Mark><se:Size>{_px(sym.size)}</se:Size></se:Graphic></se:PointSymbolizer>")
    if sym.hatch:
        fill = (f"<se:Fill><se:GraphicFill><se:Graphic><se:Mark><se:WellKnownName>horline</se:WellKnownName>"
                f"<se:Stroke>{_svg('stroke', sym.fill)}{_svg('stroke-width', '1')}</se:Stroke></se:Mark>"
                f"<se:Size>8</se:Size><se:Rotation>-45</se:Rotation></se:Graphic></se:GraphicFill></se:Fill>")
    return f"<se:PolygonSymbolizer>{fill}{_stroke(sym)}</se:PolygonSymbolizer>"


def sld(style: Style, layer: str) -> str:
    """The layer's style as an OGC Styled Layer Descriptor 1.1 (one rule per class)."""
    rules = "".join(
        f"<se:Rule><se:Name>{escape(c.label)}</se:Name><se:Description><se:Title>{escape(c.label)}</se:Title></se:Description>"
        f"{_ogc_filter(c.where)}{_sld_symbolizer(c.symbol, style.geometry)}</se:Rule>"
        for c in style.classes)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
            'xmlns:se="http://www.opengis.net/se" xmlns:xlink="http://www.w3.org/1999/xlink" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" '
            'xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">'
            f"<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle><se:Name>{escape(layer)}</se:Name>"
            f"<se:FeatureTypeStyle>{rules}</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>\n")


def layer_styles_table(layers, *, geometry_column: str = "geom", owner: str = "urbancover") -> pd.DataFrame:
    """QGIS's ``layer_styles`` table for ``layers``: ``(name, geometry type, columns)`` of each layer
    written; one default style per spatial layer (tables without geometry get none).
    """
    now = pd.Timestamp(datetime.now(UTC).replace(microsecond=0))
    rows = []
    for name, gtype, columns in layers:
        style = layer_style(name, gtype, columns)
        if style is None:
            continue
        rows.append({"f_table_catalog": "", "f_table_schema": "", "f_table_name": name, "f_geometry_column": geometry_column,
                     "styleName": name, "styleQML": qml(style, name), "styleSLD": sld(style, name), "useAsDefault": True,
                     "description": f"urbancover: {style.kind}", "owner": owner, "ui": "", "update_time": now})
    table = pd.DataFrame(rows, columns=list(LAYER_STYLES_COLUMNS))
    table["useAsDefault"] = table["useAsDefault"].astype(bool)
    table["update_time"] = pd.to_datetime(table["update_time"], utc=True)
    return table
