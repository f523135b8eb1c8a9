"""OSM tag selectors: which features are facilities of a rule.

A selector is a list of alternatives; a feature matches when it matches any alternative. An
alternative is a table of ``key = condition`` that must all hold:

=====================  =====================================================
condition              holds when the feature's value for ``key`` ...
=====================  =====================================================
``"bus_stop"``         equals the string
``["park", "garden"]`` equals one of the strings
``true``               exists (any value)
``false``              does not exist
``{not = [...]}``      is missing or is none of the strings
``{exists = true}``    exists (``false``: is missing); with ``not``:
                       ``{exists = true, not = ["dentist"]}`` is any value but
                       those, and never a missing one
``{contains = [...]}`` contains one of the substrings (``name`` patterns such
                       as 社区卫生服务站; a single string is allowed)
``{not_contains = [...]}`` is missing or contains none of the substrings
                       (a market whose name marks a non-food trade: 建材 ...)
``{regex = "..."}``    matches the Python regular expression (``re.search``)
``{always_open = true}`` is an ``opening_hours`` value meaning open around the
                       clock, parsed by :func:`urbancover.plan.features.always_open`
                       (``false``: not proven always open, or missing)
``{readable = true}``  is an ``opening_hours`` value the parser reads
                       (:func:`urbancover.plan.features.hours_readable`); ``false``:
                       missing or unreadable (then a name may say 24小时)
=====================  =====================================================

A table may combine these conditions (``{ contains = ["中学"], not = ["..."] }``): all must hold.
The pseudo-key ``geometry`` tests the feature's shape instead of a tag: ``geometry = { min_area_m2 =
10000 }`` holds for polygons of at least that area (points and lines have none); it needs features
in a projected CRS in metres, as a :class:`~urbancover.evaluation.context.Context` holds them.
``geometry = { not_within = [{ access = ["private", "no"] }] }`` holds for features whose point on
surface lies inside no *other* polygon of the same table matching that selector (a pitch inside a
school's private grounds, PLAN_RULES.md rev 3).

Example (TOML)::

    facilities = [
      { highway = "bus_stop" },
      { public_transport = "platform", bus = "yes" },
      { amenity = "toilets", access = { not = ["private", "customers"] } },
      { amenity = ["clinic", "doctors"], name = { contains = ["社区卫生服务站", "卫生室"] } },
      { shop = "convenience", opening_hours = { always_open = true } },
      { leisure = "park", geometry = { min_area_m2 = 10000 } },
    ]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError
from urbancover.plan.features import always_open, hours_readable

#: Keys a condition table may hold (all given must hold).
CONDITION_KEYS = ("not", "exists", "contains", "not_contains", "regex", "always_open", "readable")

#: The pseudo-key testing a feature's geometry, and the conditions it takes.
GEOMETRY_KEY = "geometry"
GEOMETRY_CONDITIONS = ("min_area_m2", "not_within")

Selector = Sequence[Mapping[str, object]]


def validate_selector(selector: object, where: str) -> list[dict]:
    """Check a selector's form; return it as a list of dicts. ``where`` names it in errors."""
    if isinstance(selector, Mapping):
        selector = [selector]
    if not isinstance(selector, Sequence) or isinstance(selector, str) or not selector:
        raise InputError(f"{where}: a tag selector must be a non-empty list of tables like {{ amenity = \"toilets\" }}.")
    out = []
    for alt in selector:
        if not isinstance(alt, Mapping) or not alt:
            raise InputError(f"{where}: each alternative must be a non-empty table of tag = condition, got {alt!r}.")
        for key, cond in alt.items():
            if not isinstance(key, str) or not key:
                raise InputError(f"{where}: tag keys must be non-empty strings, got {key!r}.")
            if key == GEOMETRY_KEY:
                _check_geometry(cond, where)
                continue
            ok = (
                isinstance(cond, (str, bool))
                or (isinstance(cond, list) and cond and all(isinstance(c, str) for c in cond))
                or (isinstance(cond, Mapping) and _condition_table_ok(cond, key, where))
            )
            if not ok:
                raise InputError(
                    f"{where}: bad condition for tag {key!r}: {cond!r}. Use a string, a list of strings, "
                    "true, false or a table of {not = [...]}, {exists = true}, {contains = [...]}, "
                    "{not_contains = [...]}, {regex = \"...\"}, {always_open = true}, {readable = true}."
                )
        out.append(dict(alt))
    return out


def _strings(val) -> bool:
    return isinstance(val, list) and bool(val) and all(isinstance(c, str) and c for c in val)


def _condition_table_ok(cond: Mapping, key: str, where: str) -> bool:
    if not cond or set(cond) - set(CONDITION_KEYS):
        return False
    if "not" in cond and not (isinstance(cond["not"], list) and all(isinstance(c, str) for c in cond["not"])):
        return False
    for sub in ("contains", "not_contains"):
        if sub in cond and not (_strings(cond[sub]) or (isinstance(cond[sub], str) and cond[sub])):
            return False
    if "regex" in cond:
        if not isinstance(cond["regex"], str) or not cond["regex"]:
            return False
        try:
            re.compile(cond["regex"])
        except re.error as err:
            raise InputError(f"{where}: tag {key!r}: regex {cond['regex']!r} is not a valid regular expression ({err}).") from err
    if any(k in cond and not isinstance(cond[k], bool) for k in ("always_open", "readable", "exists")):
        return False
    return True


def _check_geometry(cond, where: str) -> None:
    ok = (
        isinstance(cond, Mapping) and cond and not set(cond) - set(GEOMETRY_CONDITIONS)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 and v == v and v != float("inf")
                for k, v in cond.items() if k != "not_within")
    )
    if ok and "not_within" in cond:
        inner = cond["not_within"]
        ok = isinstance(inner, (list, Mapping)) and not any(
            isinstance(alt, Mapping) and GEOMETRY_KEY in alt for alt in ([inner] if isinstance(inner, Mapping) else inner))
        if ok:
            validate_selector(inner, f"{where}: geometry.not_within")
    if not ok:
        raise InputError(
            f"{where}: bad condition for 'geometry': {cond!r}. Use {{ min_area_m2 = <square metres> }} "
            "(e.g. geometry = { min_area_m2 = 10000 }) or { not_within = [{ access = [\"private\", \"no\"] }] } "
            "(a selector of polygons, without a geometry condition of its own)."
        )


class TagValues:
    """The values of each tag key over a table's ``tags`` column (dicts), read once per key.

    :func:`select` reads a key's values for every row the first time it is asked for them over
    all rows, then keeps them: many selectors over one table (a rule set's dozens over the
    features of a city) cost one Python pass per key, then numpy. A
    :class:`~urbancover.evaluation.context.Context` keeps one for the features, the ways and the edges.

    Examples
    --------
    >>> import pandas as pd
    >>> tv = TagValues(pd.Series([{"highway": "bus_stop"}, {"amenity": "toilets"}]))
    >>> tv.get("amenity").tolist()
    [None, 'toilets']
    """

    def __init__(self, tags) -> None:
        self.tags = tags.to_list() if hasattr(tags, "to_list") else list(tags)
        # per key: the values of every row (object array), or, for a key most rows lack (a city's
        # "amenity", "shop", ...), the rows having it and their values: a few bytes a row, not 8
        self._columns: dict[str, np.ndarray | tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.tags)

    def get(self, key: str, rows: np.ndarray | None = None) -> np.ndarray:
        """Values of ``key`` (None where absent) as an object array, for every row or for ``rows``.

        O(N) the first time a key is read over all N rows, O(len(rows) log N) after that; a read of
        a few rows of a key not yet kept looks at those rows only and keeps nothing.
        """
        kept = self._columns.get(key)
        if kept is None and rows is None:
            col = np.empty(len(self.tags), dtype=object)
            col[:] = [t.get(key) for t in self.tags]
            have = np.flatnonzero(col != None)  # noqa: E711 -- elementwise
            kept = col if 2 * len(have) > len(col) else (have.astype(np.int32 if len(col) < 2**31 else np.int64), col[have])
            self._columns[key] = kept
            return col
        if isinstance(kept, np.ndarray):
            return kept if rows is None else kept[rows]
        if kept is not None:
            have, values = kept
            if rows is None:
                out = np.full(len(self.tags), None, dtype=object)
                out[have] = values
                return out
            rows = np.asarray(rows, dtype=np.int64)
            out = np.full(len(rows), None, dtype=object)
            if len(have):
                pos = np.minimum(np.searchsorted(have, rows), len(have) - 1)
                hit = have[pos] == rows
                out[hit] = values[pos[hit]]
            return out
        out = np.empty(len(rows), dtype=object)
        out[:] = [self.tags[i].get(key) for i in rows.tolist()]
        return out


def select(features: pd.DataFrame, selector: Selector, *, values: TagValues | None = None) -> np.ndarray:
    """Boolean mask of the rows of ``features`` (with a ``tags`` column of dicts) matching ``selector``.

    ``values`` are the :class:`TagValues` of ``features["tags"]`` when the caller keeps them for
    many selections (the same rows, in the same order); otherwise they are read here.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"tags": [{"highway": "bus_stop"}, {"amenity": "toilets", "access": "private"}]})
    >>> select(f, [{"highway": "bus_stop"}]).tolist()
    [True, False]
    """
    if values is None:
        values = TagValues(features["tags"] if len(features) else [])
    elif len(values) != len(features):
        raise ValueError(f"select: the tag values hold {len(values)} rows, the features {len(features)}")
    n = len(values)
    mask = np.zeros(n, dtype=bool)
    for alt in selector:
        # each condition narrows the rows the next one looks at (the first key of an alternative,
        # e.g. highway=bus_stop, leaves a few rows of tens of thousands)
        rows = None  # None: every row
        for key, cond in alt.items():
            if rows is not None and len(rows) == 0:
                break
            if key == GEOMETRY_KEY:
                ok = _geometry_holds(features, cond, rows, values)
            else:
                vals = values.get(key, rows)
                ok = _table_holds(vals, cond) if isinstance(cond, Mapping) else _holds_all(vals, cond)
            rows = np.flatnonzero(ok) if rows is None else rows[ok]
        mask[np.arange(n) if rows is None else rows] = True
    return mask


def _holds_all(arr: np.ndarray, cond) -> np.ndarray:
    """:func:`_holds` over an object array of values, vectorised."""
    if cond is True:
        return arr != None  # noqa: E711 -- elementwise
    if cond is False:
        return arr == None  # noqa: E711
    if isinstance(cond, str):
        return arr == cond
    if isinstance(cond, list):
        return pd.Series(arr, dtype=object).isin(cond).to_numpy(dtype=bool)
    return np.fromiter((_holds(v, cond) for v in arr), dtype=bool, count=len(arr))


def _table_holds(vals: np.ndarray, cond: Mapping) -> np.ndarray:
    """A condition table on the values of one key (vectorised over the features)."""
    m = np.ones(len(vals), dtype=bool)
    if not len(vals):
        return m
    series = pd.Series(vals, dtype=object)
    if "not" in cond:
        m &= ~series.isin(cond["not"]).to_numpy() | series.isna().to_numpy()
    if "exists" in cond:
        m &= series.notna().to_numpy() if cond["exists"] else series.isna().to_numpy()
    for sub, want in (("contains", True), ("not_contains", False)):
        if sub in cond:
            subs = [cond[sub]] if isinstance(cond[sub], str) else cond[sub]
            hit = series.str.contains("|".join(re.escape(s) for s in subs), regex=True, na=False).to_numpy(dtype=bool)
            m &= hit if want else ~hit
    if "regex" in cond:
        with warnings.catch_warnings():  # pandas warns on groups in a pattern; they are only matched here
            warnings.filterwarnings("ignore", "This pattern is interpreted as a regular expression", UserWarning)
            m &= series.str.contains(cond["regex"], regex=True, na=False).to_numpy(dtype=bool)
    if "always_open" in cond:
        opened = np.fromiter((always_open(v) for v in vals), dtype=bool, count=len(vals))
        m &= opened if cond["always_open"] else ~opened
    if "readable" in cond:
        read = np.fromiter((hours_readable(v) for v in vals), dtype=bool, count=len(vals))
        m &= read if cond["readable"] else ~read
    return m


def _geometry_holds(features: pd.DataFrame, cond: Mapping, rows: np.ndarray | None, values: TagValues) -> np.ndarray:
    """A ``geometry`` condition on the features of ``rows`` (None: every row)."""
    geoms = getattr(features, "geometry", None)
    if geoms is None:
        raise InputError("selector: a 'geometry' condition needs features with geometries (a GeoDataFrame).")
    geoms = geoms.values if rows is None else geoms.values[rows]
    ok = np.ones(len(geoms), dtype=bool)
    if "min_area_m2" in cond:
        if len(features) and (features.crs is None or not features.crs.is_projected):
            raise InputError(
                "selector: a 'geometry = { min_area_m2 = ... }' condition needs features in a projected CRS in "
                "metres; reproject them (e.g. OSMData.projected('features'))."
            )
        area = np.where(shapely.get_dimensions(geoms) == 2, shapely.area(geoms), 0.0)
        ok &= area >= cond["min_area_m2"]
    if "not_within" in cond and len(geoms):
        inner = cond["not_within"]
        inner = [inner] if isinstance(inner, Mapping) else inner
        all_geoms = features.geometry.values
        holders = np.flatnonzero(select(features, inner, values=values) & (shapely.get_dimensions(all_geoms) == 2))
        if len(holders):
            # a feature is inside a holder when its point on surface is; a holder never holds itself
            pi, hi = shapely.STRtree(all_geoms[holders]).query(shapely.point_on_surface(geoms), predicate="within")
            own = np.arange(len(features)) if rows is None else np.asarray(rows)
            inside = pi[own[pi] != holders[hi]]
            ok[np.unique(inside)] = False
    return ok


def _holds(value, cond) -> bool:
    if cond is True:
        return value is not None
    if cond is False:
        return value is None
    if isinstance(cond, str):
        return value == cond
    if isinstance(cond, list):
        return value in cond
    return value is None or value not in cond["not"]


def describe(selector: Selector) -> str:
    """Human-readable form of a selector, for warnings and reports."""
    def one(alt):
        parts = []
        for k, c in alt.items():
            if c is True:
                parts.append(f"{k}=*")
            elif c is False:
                parts.append(f"no {k}")
            elif isinstance(c, str):
                parts.append(f"{k}={c}")
            elif isinstance(c, list):
                parts.append(f"{k}={'|'.join(c)}")
            elif k == GEOMETRY_KEY:
                if "min_area_m2" in c:
                    parts.append(f"area >= {c['min_area_m2']:g} m²")
                if "not_within" in c:
                    inner = [c["not_within"]] if isinstance(c["not_within"], Mapping) else c["not_within"]
                    parts.append(f"not inside ({describe(inner)})")
            else:
                if c.get("exists") is True and "not" in c:
                    parts.append(f"{k}=* but not {'|'.join(c['not'])}")
                elif c.get("exists") is not None:
                    parts.append(f"{k}=*" if c["exists"] else f"no {k}")
                if "not" in c and c.get("exists") is not True:
                    parts.append(f"{k} not {'|'.join(c['not'])}")
                for sub, word in (("contains", "contains"), ("not_contains", "contains none of")):
                    if sub in c:
                        subs = [c[sub]] if isinstance(c[sub], str) else c[sub]
                        parts.append(f"{k} {word} {'|'.join(subs)}")
                if "regex" in c:
                    parts.append(f"{k} ~ {c['regex']}")
                if "always_open" in c:
                    parts.append(f"{k} {'' if c['always_open'] else 'not '}always open")
                if "readable" in c:
                    parts.append(f"{k} {'read' if c['readable'] else 'missing or unreadable'}")
        return " + ".join(parts)

    return " or ".join(one(a) for a in selector)


def unmatched(
    features: pd.DataFrame, pool: Selector, selectors: Sequence[Selector], *, values: TagValues | None = None
) -> pd.DataFrame:
    """Rows matching ``pool`` but none of ``selectors``: e.g. schools whose level is unknown, which
    count as neither primary nor middle school and are listed for the planner to check
    (``values``: as for :func:`select`).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"tags": [{"amenity": "school", "name": "第一小学"}, {"amenity": "school", "name": "育才学校"}]})
    >>> primary = [{"amenity": "school", "name": {"contains": ["小学"]}}]
    >>> unmatched(f, [{"amenity": "school"}], [primary])["tags"].tolist()
    [{'amenity': 'school', 'name': '育才学校'}]
    """
    mask = select(features, pool, values=values)
    for s in selectors:
        mask &= ~select(features, s, values=values)
    return features[mask]
