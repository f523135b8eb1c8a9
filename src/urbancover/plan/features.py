"""Facility clean-up: what one OSM facility is, and what its tags mean.

OSM maps one facility in several ways (a toilet as a node inside its building, both tagged
``amenity=toilets``), and writes facts in mini-languages (``opening_hours``). The functions here turn
such data into what a rule counts. They know no distances and no rules.

* :func:`dedupe_points_in_polygons`: a point inside or within 10 m of a polygon (or way) of the same
  facilities is the same facility (counted once, as the polygon), unless the two are named differently;
* :func:`always_open`: whether an ``opening_hours`` value means open around the clock
  (:func:`hours_readable`: whether it is read at all);
* :func:`floor_area`: footprint x floors of polygon facilities (建筑面积);
* :func:`unmatched`: features of a pool that no category selector takes (schools of unknown level).
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError
from urbancover.core.settings import Settings, resolve

__all__ = ["always_open", "dedupe_points_in_polygons", "floor_area", "hours_readable", "parse_levels", "week_hours"]


def dedupe_points_in_polygons(features: gpd.GeoDataFrame, within_m: float | None = None, *,
                              settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Drop the points that are the same facility as a way or polygon of the same layer: one
    facility mapped twice (PLAN_RULES.md rev 3, section G).

    A toilet is often mapped as a node *and* as the building it stands in, both tagged
    ``amenity=toilets``, the node sometimes at the door a few metres outside; a bus stop as a node
    and as its platform way. Counted naively that is two. A point inside a polygon, or within
    ``within_m`` metres of a polygon or line of the layer (default
    :data:`settings.same_facility_m`, 10 m), is dropped, unless both carry a ``name`` and the
    names differ (two shops in one building). The polygon or line is kept (it carries the area).
    Other points and all lines and polygons stay.

    O(N log N) (one STRtree query of the points against the polygons and lines). ``within_m`` is in
    the layer's CRS units: give projected features (metres), as a Context holds them.

    Parameters
    ----------
    features
        Facilities of one category (e.g. what ``Context.facilities`` returned for a selector).
    within_m
        Largest distance (metres) from a point to a polygon or line of the same facility.
    settings
        Where ``within_m`` comes from when not given (default :func:`urbancover.core.settings.current`).

    Returns
    -------
    GeoDataFrame
        The same rows minus the duplicated points, in the input's order, index and CRS.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> f = gpd.GeoDataFrame({"name": ["wc node", None, "other wc", None]},
    ...     geometry=[shapely.Point(5, 5), shapely.box(0, 0, 10, 10), shapely.Point(50, 50), shapely.Point(14, 5)])
    >>> dedupe_points_in_polygons(f)["name"].tolist()
    [None, 'other wc']
    """
    if len(features) == 0:
        return features
    within_m = resolve(settings).same_facility_m if within_m is None else float(within_m)
    geoms = features.geometry.values
    dims = shapely.get_dimensions(geoms)
    points, ways = np.flatnonzero(dims == 0), np.flatnonzero(dims >= 1)
    if len(points) == 0 or len(ways) == 0:
        return features
    if within_m > 0:
        pi, wi = shapely.STRtree(geoms[ways]).query(geoms[points], predicate="dwithin", distance=within_m)
    else:
        pi, wi = shapely.STRtree(geoms[ways]).query(geoms[points], predicate="intersects")
    names = np.asarray(_column(features, "name"), dtype=object)
    a, b = names[points[pi]], names[ways[wi]]
    named = np.array([isinstance(x, str) and bool(x.strip()) for x in a], dtype=bool) & np.array(
        [isinstance(x, str) and bool(x.strip()) for x in b], dtype=bool)
    other = named & (a != b)  # two named facilities of different names: not one
    drop = np.zeros(len(features), dtype=bool)
    drop[points[np.unique(pi[~other])]] = True
    return features[~drop]


def parse_levels(values) -> np.ndarray:
    """Floors from ``building:levels`` values ('6', '6;7', ' 3 ', None) as floats; NaN when missing
    or not a plausible count (not in 0 < levels < 200).
    """
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        try:
            f = float(str(v).split(";")[0].strip())
        except (TypeError, ValueError):
            continue
        if 0 < f < 200:
            out[i] = f
    return out


def floor_area(features: gpd.GeoDataFrame, *, default_levels: float) -> np.ndarray:
    """Floor area (建筑面积, m²) of each feature: footprint x ``building:levels``, with
    ``default_levels`` where the tag is missing; NaN for points and lines (no known footprint).

    ``features`` must be in a projected CRS in metres.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> f = gpd.GeoDataFrame({"building:levels": ["3", None]},
    ...     geometry=[shapely.box(0, 0, 10, 20), shapely.box(0, 0, 10, 10)], crs=32650)
    >>> floor_area(f, default_levels=2).tolist()
    [600.0, 200.0]
    """
    if features.crs is None or not features.crs.is_projected:
        raise InputError("floor_area: features must be in a projected CRS in metres (e.g. their UTM zone).")
    geoms = features.geometry.values
    levels = parse_levels(_column(features, "building:levels"))
    levels = np.where(np.isnan(levels), float(default_levels), levels)
    return np.where(shapely.get_dimensions(geoms) == 2, shapely.area(geoms) * levels, np.nan)


def _column(frame: pd.DataFrame, key: str) -> list:
    """Values of an OSM key: the column when there is one, else from the ``tags`` dicts."""
    if key in frame:
        return frame[key].to_list()
    if "tags" in frame:
        return [t.get(key) if isinstance(t, dict) else None for t in frame["tags"]]
    return [None] * len(frame)


# ----------------------------------------------------------------------------- opening_hours

_DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
_MINUTES = 24 * 60
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<comment>"[^"]*")
    | (?P<always>24\s*/\s*7)
    | (?P<time>(?P<h0>\d{1,2}):(?P<m0>\d{2})\s*-\s*(?P<h1>\d{1,2}):(?P<m1>\d{2})(?P<plus>\+)?)
    | (?P<days>(?P<d0>Mo|Tu|We|Th|Fr|Sa|Su)(?:\s*-\s*(?P<d1>Mo|Tu|We|Th|Fr|Sa|Su))?)(?![A-Za-z\[])
    | (?P<holiday>PH|SH)(?![A-Za-z\[])
    | (?P<modifier>open|closed|off|unknown)\b
    | (?P<comma>,)
    | (?P<colon>:)
    )""",
    re.IGNORECASE | re.VERBOSE,
)


class _Unsupported(ValueError):
    """A part of an opening_hours value this parser does not read (months, week numbers ...)."""


def _tokens(rule: str):
    pos, out = 0, []
    rule = rule.strip()
    while pos < len(rule):
        m = _TOKEN.match(rule, pos)
        if not m or m.end() == pos:
            raise _Unsupported(rule[pos:])
        kind = next(k for k in ("comment", "always", "time", "days", "holiday", "modifier", "comma", "colon") if m.group(k))
        out.append((kind, m))
        pos = m.end()
        while pos < len(rule) and rule[pos].isspace():
            pos += 1
    return out


def week_hours(value: str | None) -> np.ndarray | None:
    """Open minutes of a typical week (Monday 00:00 first) from an OSM ``opening_hours`` value.

    Reads the part of the opening_hours syntax that says whether a place is open around the
    clock: ``24/7``; rules of weekdays (``Mo-Fr``, ``Sa,Su``, wrapping ``Fr-Mo``) and times
    (``08:00-20:00``, several separated by commas, past midnight as ``22:00-06:00`` or
    ``18:00-26:00``, ``00:00-24:00``; ``HH:MM-HH:MM`` with equal ends is 24 hours); rules separated by
    ``;`` (a range ending at 23:59 ends at 24:00: ``Mo-Su 00:00-23:59`` is open around the clock,
    PLAN_RULES.md rev 3); rules separated by ``;`` (a later rule replaces the days it names) or by ``,`` / ``||`` (it adds); ``off`` /
    ``closed``; ``PH`` / ``SH`` holiday rules (an open holiday rule changes no weekday; an ``off``
    holiday rule makes the place not always open); comments in quotes are ignored.

    Returns
    -------
    numpy.ndarray of bool, shape (7, 1440), or None
        None when the value is missing or uses syntax outside that subset (months, dates, week
        numbers, ``Mo[1]``, sunrise ...): then nothing is claimed.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    week = np.zeros((7, _MINUTES), dtype=bool)
    try:
        for normal in re.split(r";|\|\|", text):
            if normal.strip():
                week = _apply_rule(week, _tokens(normal))
    except _Unsupported:
        return None
    return week


def _apply_rule(week: np.ndarray, tokens) -> np.ndarray:
    """Apply one ';'-rule (which may hold ','-separated additional rules) to the week."""
    groups, current, seen_time = [], [], False
    for kind, m in tokens:
        if kind == "comment":
            continue
        if kind in ("days", "always") and seen_time:  # "Mo-Fr 00:00-24:00, Sa-Su 00:00-24:00"
            groups.append(current)
            current, seen_time = [], False
        current.append((kind, m))
        seen_time |= kind in ("time", "modifier", "always")
    groups.append(current)
    first = True
    for group in groups:
        week = _apply_group(week, group, replace=first)
        first = False
    return week


def _apply_group(week: np.ndarray, group, *, replace: bool) -> np.ndarray:
    days = np.zeros(7, dtype=bool)
    any_day = holiday = always = False
    spans: list[tuple[int, int]] = []
    modifier = "open"
    for kind, m in group:
        if kind == "always":
            always = True
        elif kind == "days":
            a = _DAYS.index(m.group("d0").lower())
            b = _DAYS.index(m.group("d1").lower()) if m.group("d1") else a
            days[[(a + k) % 7 for k in range(((b - a) % 7) + 1)]] = True
            any_day = True
        elif kind == "holiday":
            holiday = True
        elif kind == "time":
            if m.group("plus"):
                raise _Unsupported("open end")
            h0, m0, h1, m1 = (int(m.group(k)) for k in ("h0", "m0", "h1", "m1"))
            start, end = h0 * 60 + m0, h1 * 60 + m1
            if end % _MINUTES == _MINUTES - 1 and end > start:  # "...-23:59" means to midnight (rev 3)
                end += 1
            if m0 > 59 or m1 > 59 or start >= _MINUTES or end > 2 * _MINUTES:
                raise _Unsupported(m.group(0))
            if end <= start:  # past midnight; equal ends: 24 hours
                end += _MINUTES
            spans.append((start, end))
        elif kind == "modifier":
            modifier = m.group("modifier").lower()
    if holiday and not any_day:
        # a rule for public/school holidays only: it changes no ordinary day
        if modifier in ("off", "closed", "unknown") or (spans and not _whole_day(spans)):
            raise _Unsupported("holiday closure")
        return week
    if modifier == "unknown":
        raise _Unsupported("unknown")
    if always or not any_day:
        days[:] = True
    if not spans:
        spans = [(0, _MINUTES)]
    week = week.copy()
    if replace:
        week[days] = False
    if modifier in ("off", "closed"):
        if holiday:
            raise _Unsupported("holiday closure")
        _paint(week, days, spans, False)
    else:
        _paint(week, days, spans, True)
    return week


def _whole_day(spans) -> bool:
    return any(s <= 0 and e >= _MINUTES for s, e in spans)


def _paint(week: np.ndarray, days: np.ndarray, spans, value: bool) -> None:
    flat = week.reshape(-1)
    for d in np.flatnonzero(days):
        for s, e in spans:
            idx = (d * _MINUTES + np.arange(s, e)) % (7 * _MINUTES)
            flat[idx] = value


def always_open(opening_hours) -> bool:
    """Whether an OSM ``opening_hours`` value means open around the clock, every day.

    Parsed, not string-matched (see :func:`week_hours` for the syntax read): ``24/7``,
    ``Mo-Su 00:00-24:00``, ``00:00-24:00``, ``Mo-Fr 00:00-24:00; Sa-Su 00:00-24:00``,
    ``Mo-Su 00:00-12:00,12:00-24:00``, ``Mo-Su 18:00-06:00,06:00-18:00`` and ``Mo-Su 00:00-23:59`` (a
    range ending at 23:59 ends at midnight) are always open;
    ``Mo-Fr 08:00-20:00``, ``24/7; Su off``, ``24/7; PH off`` and values this parser does not read
    (months, dates, ``sunrise`` ...) are not: a rule only counts what the tag proves.

    No maintained Python parser of opening_hours exists on PyPI (the reference implementation is
    the JavaScript opening_hours.js), hence this small one. O(length of the value).

    Examples
    --------
    >>> always_open("24/7"), always_open("Mo-Su 00:00-24:00"), always_open("Mo-Fr 08:00-20:00")
    (True, True, False)
    >>> always_open(None)
    False
    """
    week = week_hours(opening_hours)
    return bool(week is not None and week.all())


def hours_readable(opening_hours) -> bool:
    """Whether an ``opening_hours`` value is there and read by :func:`week_hours` (False when it is
    missing, empty or uses syntax outside that subset): only then do the hours, not the name, say
    whether a shop is open around the clock (PLAN_RULES.md rev 3, ``living_10min``).

    Examples
    --------
    >>> hours_readable("Mo-Su 07:00-23:00"), hours_readable(None), hours_readable("24小时")
    (True, False, False)
    """
    return week_hours(opening_hours) is not None
