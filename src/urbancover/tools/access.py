"""Accessibility measures users know (cityseer, pandana, OSMnx recipes, QGIS Service Area, PySAL
``access``), measured along the walking network with the distance of :mod:`urbancover.engine`.

* :func:`service_areas`: isochrone polygons per facility and per distance band (or merged over all
  facilities), from the exact reachable street pieces;
* for every place (home): :func:`count_within` (facilities within a distance), :func:`k_nearest`
  (distances to the k nearest), :func:`gravity` (decayed sum of supply) and :func:`two_step_fca`
  (two-step floating catchment: supply per resident);
* :func:`minutes`: walking minutes beside metres, from a rule set's walking table
  (:mod:`urbancover.plan.walking`: 5 min = 300 m, 10 = 500, 15 = 1000 m in the shipped preset,
  piecewise-linear between rows) or at ``speed_kmh=`` when one is given; every result with a
  distance column gives the minutes beside it.

Unreachable: a place with no facility within reach has NaN (missing) metres and minutes in the
tables returned here (``k_nearest``), as in the evaluation's layers, where ``status`` says why; the
engine's arrays (:class:`urbancover.DistanceField`) and :func:`minutes` of an array keep ``inf``.

Distance is the engine's (access leg of the place + shortest path along the streets between the two
projections, the direct run when both lie on one edge + access leg of the facility; a polygon
facility is met wherever it touches a street and a place inside it is at distance 0).

How it is measured: **one bounded search per facility**, all in a few vectorised Dijkstra calls, by
the engine's :mod:`urbancover.engine.bounded` (the searches siting uses too): each facility is a
virtual node joined to both ends of every edge it touches, and :func:`scipy.sparse.csgraph.dijkstra`
runs from a chunk of virtual nodes at once with ``limit=`` the cut-off, over the nodes within the
cut-off in a straight line from the chunk's facilities only. Reached nodes are then joined to the
places on their edges; no Python loop runs over facilities, places or pairs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError
from urbancover.core.settings import Settings, resolve
from urbancover.engine import distance_field
from urbancover.engine.bounded import Places, Sources, dedupe_min, pairs, reach_intervals
from urbancover.io.crs import require_crs
from urbancover.network.snap import TOUCH, seeds, snap_points
from urbancover.network.walk import Network, piece_areas
from urbancover.plan.rules import RuleSet
from urbancover.plan.walking import walking_time

__all__ = [
    "count_within",
    "gravity",
    "k_nearest",
    "minutes",
    "pair_distances",
    "reachable_intervals",
    "service_areas",
    "two_step_fca",
]

Layer = gpd.GeoDataFrame | gpd.GeoSeries



# -- units ----------------------------------------------------------------------------------------
def minutes(metres, speed_kmh: float | None = None, *, rules: RuleSet | str | None = None):
    """Walking minutes for a distance in metres (``inf`` stays ``inf``).

    Parameters
    ----------
    metres
        A number or array of distances in metres.
    speed_kmh
        Walking speed in km/h (4-5 km/h is usual): ``metres / (speed_kmh * 1000 / 60)``. Default:
        the walking table of ``rules`` (:func:`urbancover.plan.walking.walking_time`).
    rules
        The rule set (or preset name) whose ``[walking]`` table converts; default the shipped preset
        (5 min = 300 m, 10 = 500 m, 15 = 1000 m; piecewise-linear between rows, beyond the last
        row at its pace: see :mod:`urbancover.plan.walking`).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> minutes(500, 3.0)
    10.0
    >>> minutes([300, 400, 500])
    array([ 5. ,  7.5, 10. ])
    """
    if speed_kmh is not None:
        _speed(speed_kmh)
    return walking_time(rules, speed_kmh=speed_kmh).minutes(metres)


def _speed(speed_kmh) -> float:
    try:
        speed = float(speed_kmh)
    except (TypeError, ValueError) as err:
        raise InputError(f"speed_kmh must be a walking speed in km/h (e.g. 4.5), got {speed_kmh!r}.") from err
    if not (math.isfinite(speed) and speed > 0):
        raise InputError(f"speed_kmh must be a positive finite speed in km/h (e.g. 4.5), got {speed_kmh!r}.")
    return speed


def _distance(value, name: str, *, allow_none: bool = False) -> float:
    """A distance in metres >= 0 (``None`` -> inf when allowed)."""
    if value is None and allow_none:
        return math.inf
    try:
        d = float(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a distance in metres, got {value!r}.") from err
    if math.isnan(d) or d < 0 or (math.isinf(d) and not allow_none):
        fix = " (or None for no limit)" if allow_none else ""
        raise InputError(f"{name} must be a finite distance >= 0 in metres{fix}, got {value!r}.")
    return d


# -- the per-facility search ----------------------------------------------------------------------
def _geoms(layer, crs, name: str) -> np.ndarray:
    if not isinstance(layer, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise InputError(
            f"{name}: expected a GeoDataFrame or GeoSeries with a CRS, got {type(layer).__name__}. "
            "Wrap coordinates with geopandas.points_from_xy(..., crs=...)."
        )
    layer = require_crs(layer, name).to_crs(crs)
    return layer.geometry.to_numpy() if isinstance(layer, gpd.GeoDataFrame) else layer.to_numpy()


def _sources(network: Network, facilities: Layer, *, name: str, reach: float,
             settings: Settings | None = None) -> tuple[Sources, np.ndarray]:
    """Facilities as sources of the engine's bounded searches (every edge each touches, as
    :func:`urbancover.distance_field` places them), and the mask of polygon facilities.
    """
    s, geoms = seeds(network, facilities, name=name, reach=reach, settings=settings)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return Sources(s, geoms, margin=reach), valid & (shapely.get_dimensions(geoms) == 2)


def _pair_chunks(network: Network, facilities: Layer, places: Layer, limit: float, *, reach: float,
                 fac_name: str = "facilities", place_name: str = "places", settings: Settings | None = None):
    """``(generator, number of places)``: the generator yields ``(facility, place, distance)`` of
    every pair within ``limit``, chunk by chunk (:func:`urbancover.engine.bounded.pairs`); each
    facility's pairs all come in one chunk, one row per pair (its shortest distance). A place inside
    (or on) a polygon facility is at distance 0 from it.
    """
    sources, is_polygon = _sources(network, facilities, name=fac_name, reach=reach, settings=settings)
    geoms = _geoms(places, network.crs, place_name)
    sn = snap_points(network, gpd.GeoSeries(geoms, crs=network.crs), name=place_name, settings=settings)
    places_on = Places(sn.edge, sn.offset, sn.access, geoms)
    return _with_inside(network, sources, is_polygon, places_on, limit), len(geoms)


def _with_inside(network, sources: Sources, is_polygon: np.ndarray, places: Places, limit: float):
    nt = len(places)
    tree = shapely.STRtree(places.geometry) if is_polygon.any() and nt else None
    seen = np.zeros(len(sources), dtype=bool)
    for chunk, f, p, d in pairs(network, sources, places, limit):
        seen[chunk] = True
        polys = chunk[is_polygon[chunk]]
        if tree is None or len(polys) == 0:
            yield f, p, d
            continue
        gi, ti = tree.query(sources.geometry[polys], predicate="intersects")
        yield dedupe_min(np.r_[f, polys[gi]], np.r_[p, ti], np.r_[d, np.zeros(len(ti))], nt)
    rest = np.flatnonzero(is_polygon & ~seen)  # polygons on no street still hold the places inside
    if tree is not None and len(rest):
        gi, ti = tree.query(sources.geometry[rest], predicate="intersects")
        if len(gi):
            yield dedupe_min(rest[gi], ti, np.zeros(len(ti)), nt)


def pair_distances(
    network: Network, facilities: Layer, places: Layer, cutoff: float | None = None, *, reach: float = TOUCH,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Network distance of every (facility, place) pair within ``cutoff``: an origin-destination
    table, sparse.

    Parameters
    ----------
    network
        From :func:`urbancover.walk_network`.
    facilities
        Points, lines or polygons in any CRS (placed on the network as by
        :func:`urbancover.distance_field`, with ``reach``).
    places
        Points (other geometries by their point nearest to the streets) in any CRS.
    cutoff
        Metres; pairs farther apart are left out. ``None`` keeps every connected pair (K x T rows).
    settings
        The :class:`~urbancover.core.settings.Settings` to snap with (every function of this module
        takes it); default :func:`urbancover.core.settings.current`.

    Returns
    -------
    pandas.DataFrame
        ``facility`` and ``place`` (0-based positions in the inputs) and ``distance_m``, one row per
        pair within the cut-off, sorted by facility then place.

    Notes
    -----
    One bounded search per facility (see the module notes): O(K (V_r + E_r) log V_r) for K
    facilities whose straight-line neighbourhood of radius ``cutoff`` holds V_r nodes and E_r edges,
    plus O(T log E) to snap the places and O(pairs) to join them.

    Examples
    --------
    >>> od = pair_distances(net, stops, homes, cutoff=500)
    >>> od.groupby("place").distance_m.min()      # = network_distance(net, stops, homes, 500)
    """
    limit = _distance(cutoff, "cutoff", allow_none=True)
    gen, _ = _pair_chunks(network, facilities, places, limit, reach=reach, settings=settings)
    parts = list(gen)
    if parts:
        f, p, d = (np.concatenate(c) for c in zip(*parts))
    else:
        f, p, d = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    order = np.lexsort((p, f))
    return pd.DataFrame({"facility": f[order], "place": p[order], "distance_m": d[order]})


# -- per-place measures ---------------------------------------------------------------------------
def _out(places: Layer) -> gpd.GeoDataFrame:
    return places.copy() if isinstance(places, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=places)


def _label(d: float) -> str:
    return f"{d:g}".replace(".", "_")


def count_within(
    network: Network, facilities: Layer, places: Layer, distance, *, reach: float = TOUCH,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Number of facilities within a network distance of every place (cityseer / pandana
    ``aggregate(type="count")``).

    Parameters
    ----------
    network, facilities, places
        As for :func:`pair_distances`.
    distance
        Metres, or a sequence of distances (one column each, from one search at the largest).

    Returns
    -------
    GeoDataFrame
        ``places`` with a column ``count_<d>m`` per distance (e.g. ``count_500m``), integers.

    Notes
    -----
    Cost of :func:`pair_distances` at the largest distance, without holding the pairs.

    Examples
    --------
    >>> homes = count_within(net, shops, homes, [300, 500])
    >>> homes[["count_300m", "count_500m"]].describe()
    """
    ds = np.atleast_1d(np.asarray(distance, dtype=object))
    if ds.size == 0:
        raise InputError("count_within: distance must be a distance in metres or a non-empty list of them.")
    ds = np.array([_distance(d, "distance") for d in ds])
    gen, nt = _pair_chunks(network, facilities, places, float(ds.max()), reach=reach, settings=settings)
    counts = np.zeros((len(ds), nt), dtype=np.int64)
    for _, p, d in gen:
        for i, lim in enumerate(ds):  # a few distances
            counts[i] += np.bincount(p[d <= lim], minlength=nt)
    out = _out(places)
    for i, lim in enumerate(ds):
        out[f"count_{_label(lim)}m"] = counts[i]
    return out


def k_nearest(
    network: Network,
    facilities: Layer,
    places: Layer,
    k: int,
    *,
    cutoff: float | None = None,
    speed_kmh: float | None = None,
    rules: RuleSet | str | None = None,
    id_column: str | None = None,
    reach: float = TOUCH,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Network distances from every place to its ``k`` nearest facilities (pandana ``nearest_pois``).

    Parameters
    ----------
    network, facilities, places
        As for :func:`pair_distances`.
    k
        How many facilities (>= 1).
    cutoff
        Metres: farther facilities are not looked for (their distance is ``inf``); ``None``
        searches the whole network (cost grows with K x V).
    speed_kmh, rules
        The minutes: at ``speed_kmh`` when given, else from the walking table of ``rules``
        (default the shipped preset's, see :func:`minutes`).
    id_column
        The column of ``facilities`` that names a facility (default ``osmid`` when it has one, else
        the index label).

    Returns
    -------
    GeoDataFrame
        ``places`` with, for i = 1..k, ``nearest_<i>_m`` (metres, NaN when fewer than i facilities
        are reachable), ``nearest_<i>_min`` (walking minutes), ``nearest_<i>_facility`` (the
        facility's ``id_column``, missing when none) and, when ``facilities`` has a ``name`` column,
        ``nearest_<i>_name``. ``nearest_1_m`` is :func:`urbancover.network_distance` (which keeps
        ``inf`` for unreachable).

    Notes
    -----
    Cost of :func:`pair_distances`; only the k best pairs per place are held between chunks,
    memory O(T k + chunk pairs).

    Examples
    --------
    >>> homes = k_nearest(net, stops, homes, 3, cutoff=1000, speed_kmh=4.5)
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k_nearest: k must be a whole number >= 1, got {k!r}.")
    k = int(k)
    limit = _distance(cutoff, "cutoff", allow_none=True)
    if speed_kmh is not None:
        _speed(speed_kmh)
    walk = walking_time(rules, speed_kmh=speed_kmh)
    if id_column is not None and (not isinstance(facilities, gpd.GeoDataFrame) or id_column not in facilities):
        have = list(facilities.columns) if isinstance(facilities, gpd.GeoDataFrame) else []
        raise InputError(f"k_nearest: id_column {id_column!r} is not a column of facilities; it has {have}.")
    gen, nt = _pair_chunks(network, facilities, places, limit, reach=reach, settings=settings)
    best_p, best_f, best_d = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    for f, p, d in gen:
        pp, ff, dd = (np.concatenate(c) for c in ((best_p, p), (best_f, f), (best_d, d)))
        order = np.lexsort((ff, dd, pp))
        pp, ff, dd = pp[order], ff[order], dd[order]
        rank = np.arange(len(pp)) - np.searchsorted(pp, pp, side="left")
        keep = rank < k
        best_p, best_f, best_d = pp[keep], ff[keep], dd[keep]
    rank = np.arange(len(best_p)) - np.searchsorted(best_p, best_p, side="left")
    dist = np.full((nt, k), np.inf)
    dist[best_p, rank] = best_d
    src = np.full((nt, k), -1, dtype=np.int64)
    src[best_p, rank] = best_f
    has_cols = isinstance(facilities, gpd.GeoDataFrame)
    if id_column is None and has_cols and "osmid" in facilities:
        id_column = "osmid"
    labels = np.asarray(facilities[id_column] if id_column is not None else facilities.index, dtype=object)
    names = np.asarray(facilities["name"], dtype=object) if has_cols and "name" in facilities else None
    dist = np.where(np.isfinite(dist), dist, np.nan)  # unreachable: NaN, as in the layers
    out = _out(places)
    for i in range(k):
        has = src[:, i] >= 0
        out[f"nearest_{i + 1}_m"] = dist[:, i]
        out[f"nearest_{i + 1}_min"] = walk.minutes(dist[:, i])
        lab = np.full(nt, None, dtype=object)
        lab[has] = labels[src[has, i]]
        out[f"nearest_{i + 1}_facility"] = lab
        if names is not None:
            nm = np.full(nt, None, dtype=object)
            nm[has] = names[src[has, i]]
            out[f"nearest_{i + 1}_name"] = nm
    return out


def _values(layer: Layer, column, name: str, what: str) -> np.ndarray:
    """Per-row non-negative weights: 1 each (``column=None``), a column name, or an array."""
    n = len(layer)
    if column is None:
        return np.ones(n)
    if isinstance(column, str):
        if not isinstance(layer, gpd.GeoDataFrame) or column not in layer.columns:
            cols = list(layer.columns) if isinstance(layer, gpd.GeoDataFrame) else []
            raise InputError(f"{name}: no column {column!r} for the {what}; columns are {cols}.")
        values = pd.to_numeric(layer[column], errors="coerce").to_numpy(dtype=float)
        where = f"{name}[{column!r}]"
    else:
        values = np.asarray(column, dtype=float)
        where = f"{name} {what}"
        if values.shape != (n,):
            raise InputError(f"{where}: expected one number per row ({n}), got shape {values.shape}.")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError(
            f"{where}: {int(bad.sum())} of {n} values are missing, negative or not numbers "
            f"(first at row {int(np.flatnonzero(bad)[0])}); the {what} must be numbers >= 0."
        )
    return values


def gravity(
    network: Network,
    facilities: Layer,
    places: Layer,
    *,
    beta: float,
    cutoff: float | None = None,
    weight=None,
    decay: str = "exponential",
    min_distance: float = 1.0,
    reach: float = TOUCH,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Gravity (Hansen) accessibility of every place: the supply of the facilities it can reach,
    each discounted by its network distance.

    ``score_i = sum_j S_j f(d_ij)`` over facilities j with ``d_ij <= cutoff``, where ``S_j`` is the
    facility's ``weight`` (1 each by default) and

    * ``decay="exponential"``: ``f(d) = exp(-beta d)``, ``beta`` per metre (cityseer's
      ``beta``; ``beta = ln 2 / 400`` halves the weight every 400 m);
    * ``decay="power"``: ``f(d) = max(d, min_distance) ** -beta`` (distances below ``min_distance``
      metres count as ``min_distance``, so a facility at distance 0 does not weigh infinitely).

    Parameters
    ----------
    network, facilities, places
        As for :func:`pair_distances`.
    beta
        Decay parameter (>= 0): per metre for the exponential, the exponent for the power.
    cutoff
        Metres; farther facilities do not count. ``None``: every reachable facility.
    weight
        Supply of each facility: ``None`` (1 each), a column name of ``facilities`` or an array.

    Returns
    -------
    GeoDataFrame
        ``places`` with a column ``gravity``.

    Examples
    --------
    >>> homes = gravity(net, shops, homes, beta=math.log(2) / 400, cutoff=1500)
    """
    try:
        beta = float(beta)
    except (TypeError, ValueError) as err:
        raise InputError(f"gravity: beta must be a number >= 0, got {beta!r}.") from err
    if not (math.isfinite(beta) and beta >= 0):
        raise InputError(f"gravity: beta must be a finite number >= 0, got {beta!r}.")
    if decay not in ("exponential", "power"):
        raise InputError(f"gravity: decay must be 'exponential' or 'power', got {decay!r}.")
    floor = _distance(min_distance, "min_distance")
    if decay == "power" and floor <= 0:
        raise InputError("gravity: min_distance must be > 0 metres for the power decay.")
    limit = _distance(cutoff, "cutoff", allow_none=True)
    supply = _values(facilities, weight, "facilities", "weight")
    gen, nt = _pair_chunks(network, facilities, places, limit, reach=reach, settings=settings)
    score = np.zeros(nt)
    for f, p, d in gen:
        w = np.exp(-beta * d) if decay == "exponential" else np.maximum(d, floor) ** -beta
        score += np.bincount(p, weights=supply[f] * w, minlength=nt)
    out = _out(places)
    out["gravity"] = score
    return out


def two_step_fca(
    network: Network,
    supply: Layer,
    demand: Layer,
    catchment: float,
    *,
    supply_column=None,
    demand_column=None,
    decay: Callable[[np.ndarray], np.ndarray] | None = None,
    return_ratio: bool = False,
    reach: float = TOUCH,
    settings: Settings | None = None,
):
    """Two-step floating catchment area (2SFCA, Luo and Wang 2003): supply per resident at every
    demand place, as PySAL ``access.Access.two_stage_fca``.

    1. For each facility j: ``R_j = S_j / sum_i P_i w(d_ij)`` over demand places i within the
       catchment (``R_j = 0`` when none is);
    2. for each demand place i: ``A_i = sum_j R_j w(d_ij)`` over facilities j within the catchment.

    ``w`` is 1 (plain 2SFCA) or ``decay(d)`` (enhanced 2SFCA). The supply is conserved: ``sum_i
    P_i A_i`` equals the total supply of the facilities that have demand in their catchment.

    Parameters
    ----------
    network
        The walking network.
    supply
        Facilities (points, lines or polygons), any CRS.
    demand
        Places where people live (points; other geometries by their point nearest to the streets).
    catchment
        Metres: the catchment of both steps.
    supply_column, demand_column
        Supply of each facility (doctors, beds, m² of park) and people at each place: a column name,
        an array, or ``None`` for 1 each.
    decay
        Optional vectorised weight ``w(d)`` of a distance array in metres (e.g. ``lambda d: np.exp(-d / 300)``);
        values must lie in [0, 1].
    return_ratio
        Also return the facilities with their ratio ``R_j`` (column ``supply_ratio``) and the
        weighted demand in their catchment (``catchment_demand``).

    Returns
    -------
    GeoDataFrame, or (GeoDataFrame, GeoDataFrame)
        ``demand`` with a column named by what it counts: ``supply_per_resident`` with a
        ``demand_column`` (people at each place), ``supply_per_place`` without one (each place counts
        as one: a building is not one resident); with ``return_ratio``, also ``supply`` with
        ``supply_ratio`` and ``catchment_demand``.

    Notes
    -----
    One pass of :func:`pair_distances` at ``catchment``: each facility's pairs arrive together, so
    both steps run chunk by chunk without holding the pairs.

    Examples
    --------
    >>> homes = two_step_fca(net, clinics, homes, 1000, supply_column="doctors", demand_column="residents")
    """
    limit = _distance(catchment, "catchment")
    s_val = _values(supply, supply_column, "supply", "supply values")
    p_val = _values(demand, demand_column, "demand", "demand values")
    if decay is not None and not callable(decay):
        raise InputError(f"two_step_fca: decay must be a function of distance in metres or None, got {decay!r}.")
    gen, nt = _pair_chunks(network, supply, demand, limit, reach=reach, fac_name="supply", place_name="demand",
                           settings=settings)
    score = np.zeros(nt)
    ratio = np.zeros(len(supply))
    weighted = np.zeros(len(supply))
    for f, p, d in gen:
        if decay is None:
            w = np.ones(len(d))
        else:
            w = np.asarray(decay(d), dtype=float)
            if w.shape != d.shape or not np.all((w >= 0) & (w <= 1)):
                raise InputError("two_step_fca: decay(d) must return one weight in [0, 1] per distance.")
        weighted += np.bincount(f, weights=p_val[p] * w, minlength=len(supply))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(weighted > 0, s_val / weighted, 0.0)
        score += np.bincount(p, weights=r[f] * w, minlength=nt)
        ratio[np.unique(f)] = r[np.unique(f)]
    out = _out(demand)
    out["supply_per_resident" if demand_column is not None else "supply_per_place"] = score
    if not return_ratio:
        return out
    fac = _out(supply)
    fac["supply_ratio"] = ratio
    fac["catchment_demand"] = weighted
    return out, fac


# -- service areas --------------------------------------------------------------------------------
def _bands(bands, bands_min, speed_kmh, rules=None) -> np.ndarray:
    if bands_min is not None:
        if speed_kmh is not None:
            _speed(speed_kmh)
        walk = walking_time(rules, speed_kmh=speed_kmh)
        values = [walk.metres(_distance(b, "bands_min")) for b in np.atleast_1d(np.asarray(bands_min, dtype=object))]
    else:
        values = [_distance(b, "bands") for b in np.atleast_1d(np.asarray(bands, dtype=object))]
    out = np.unique(np.asarray(values, dtype=float))
    if len(out) == 0 or out[0] <= 0:
        raise InputError(f"service_areas: bands must be distances > 0 in metres, got {list(values)}.")
    return out


def reachable_intervals(
    network: Network, facilities: Layer, bands: Sequence[float], *, reach: float = TOUCH,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The street pieces each facility reaches within each band, exactly (partial edges included).

    Parameters
    ----------
    network, facilities
        As for :func:`pair_distances`.
    bands
        Distances in metres.

    Returns
    -------
    pandas.DataFrame
        ``facility`` (position in ``facilities``), ``band_m``, ``edge``, ``start``, ``end`` (metres
        from the edge's ``u`` end): disjoint, sorted intervals per (facility, band, edge). A point
        of an edge is in them iff its network distance from the facility is <= the band.

    Notes
    -----
    One bounded search per facility at the largest band (see the module notes); each reached node
    covers ``band - d`` metres into each of its edges, and a facility covers ``band - cost`` metres
    either way along its own edges. O(pairs log pairs) to merge.
    """
    bands = _bands(bands, None, None)
    sources, _ = _sources(network, facilities, name="facilities", reach=reach, settings=settings)
    fac, bi, (edge, start, end) = reach_intervals(network, sources, bands)
    return pd.DataFrame({"facility": fac, "band_m": bands[bi], "edge": edge, "start": start, "end": end})


def service_areas(
    network: Network,
    facilities: Layer,
    bands: Sequence[float] = (300, 500, 1000),
    *,
    merged: bool = False,
    width: float | None = None,
    speed_kmh: float | None = None,
    bands_min: Sequence[float] | None = None,
    rules: RuleSet | str | None = None,
    reach: float = TOUCH,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Service-area (isochrone) polygons per facility and per distance band (QGIS Service Area,
    OSMnx isochrone recipe), along the network.

    Each polygon is the union of the street pieces the facility reaches within the band (partial
    edges cut exactly where the band ends, :func:`reachable_intervals`), buffered by ``width``
    metres. With ``merged=True``, one polygon per band for all facilities together, from one
    multi-source pass (:meth:`urbancover.DistanceField.covered_intervals`).

    Parameters
    ----------
    network, facilities
        As for :func:`pair_distances`.
    bands
        Distances in metres (default 300, 500, 1000 m).
    merged
        One polygon per band over all facilities, instead of one per facility and band.
    width
        Buffer around the reached street pieces, metres; default
        :data:`urbancover.core.settings.service_area_width_m` (of ``settings``, default the current ones).
    speed_kmh, rules
        How minutes and metres convert: at ``speed_kmh`` when given, else the walking table of
        ``rules`` (default the shipped preset's: 5 min = 300 m, 10 = 500 m, 15 = 1000 m; see
        :func:`minutes`).
    bands_min
        Bands in walking minutes instead of ``bands``.

    Returns
    -------
    GeoDataFrame
        Columns ``facility`` (index label in ``facilities``; not with ``merged``), ``band_m``,
        ``minutes`` (walking minutes of the band), ``length_m`` (street metres reached) and Polygon /
        MultiPolygon geometry in the network's CRS, sorted by facility and band. A facility that
        reaches no street within a band (its access leg is longer) has no row for it.

    Notes
    -----
    Per facility: the searches of :func:`reachable_intervals`. Merged: one Dijkstra pass,
    O((V + E + K) log(V + K)). Geometry: one vectorised ``line_substrings`` and ``buffer`` over all
    pieces, and one ``union_all`` per group in GEOS; the union dominates on dense networks (a 1000 m
    band over a grid of 100 m blocks is a polygon with a hole per block): about 0.1 s per polygon of
    ~2 km² and 7 s per merged polygon of ~90 km² on a shared 2-core machine (benchmarks/access.py).

    Examples
    --------
    >>> areas = service_areas(net, stops, bands_min=[5, 10, 15])  # 300, 500, 1000 m
    >>> areas.explore(column="minutes")
    """
    bands = _bands(bands, bands_min, speed_kmh, rules)
    s = resolve(settings)
    width = _distance(s.service_area_width_m if width is None else width, "width")
    if width <= 0:
        raise InputError(f"service_areas: width must be > 0 metres, got {width}.")
    net = network
    if merged:
        field = distance_field(net, facilities, float(bands.max()), name="facilities", reach=reach, settings=s)
        parts = []
        for b in bands:
            e, a, z = field.covered_intervals(float(b))
            parts.append(pd.DataFrame({"band_m": np.full(len(e), b), "edge": e, "start": a, "end": z}))
        iv = pd.concat(parts, ignore_index=True)
        keys = ["band_m"]
    else:
        iv = reachable_intervals(net, facilities, bands, reach=reach, settings=s)
        keys = ["facility", "band_m"]
    iv = iv.sort_values(keys, kind="stable").reset_index(drop=True)
    group = iv.groupby(keys, sort=True).ngroup().to_numpy() if len(iv) else np.zeros(0, dtype=np.int64)
    head = iv.groupby(group)[keys].first().reset_index(drop=True) if len(iv) else pd.DataFrame({k: [] for k in keys})
    if len(iv):
        geom = piece_areas(net, iv["edge"].to_numpy(), iv["start"].to_numpy(), iv["end"].to_numpy(), group,
                           width, s.service_area_quad_segs)
        length = np.bincount(group, weights=(iv["end"] - iv["start"]).to_numpy(), minlength=len(head))
    else:
        geom, length = np.zeros(0, dtype=object), np.zeros(0)
    out = head.copy()
    if not merged:
        labels = np.asarray(facilities.index, dtype=object)
        out["facility"] = labels[out["facility"].to_numpy(dtype=np.int64)] if len(out) else []
    out["band_m"] = out["band_m"].astype(float)
    out["minutes"] = minutes(out["band_m"].to_numpy(), speed_kmh, rules=rules)
    out["length_m"] = length
    return gpd.GeoDataFrame(out, geometry=geom, crs=net.crs)
