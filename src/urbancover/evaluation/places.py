"""Every home and every public street piece with every distance rule: the ``homes`` and ``streets``
layers of a :class:`~urbancover.evaluation.analysis.Report` (``report.layers()["homes"]``), one place
to map, filter and chart, read from the rules' measurements (nothing is measured again).

``homes`` (the home footprints, one row per home of the evaluation, in the order of
``report.context.homes``): ``osmid``, ``element``, ``name``, ``building``, ``levels``, ``compound``
(row of ``report.compounds``; NULL (``<NA>``) for a home in no compound, never -1) and
``residents``; then, per distance rule whose demand is homes or their residents
(``residential_buildings`` or ``residents``):

* ``<rule>_m``: network metres to the nearest facility (for an ``all_of`` rule, to the farthest of
  its categories' nearest facilities, which decides whether the home is served); NaN when no
  facility is reachable, or when the rule does not count the home;
* ``<rule>_min``: the same in walking minutes, from the rule set's walking table
  (:mod:`urbancover.plan.walking`);
* ``<rule>_served``: every category within its threshold (+ the rule's tolerance). ``bool``; for a
  rule counting only the homes of old compounds (``homes_in = "old_compounds"``) pandas'
  nullable ``boolean``, ``<NA>`` for the homes it does not count;

and ``failed_rules`` (the rules a home fails, comma-separated, as on ``compounds``) and ``n_failed``.

``streets``: the public street pieces some rule counts (the union of the rules' ``streets`` demand
along the walking network; roads that are not walkable themselves, as the rules measure them, in
pieces of ``settings.road_piece_m``): ``edge``, ``start_m``, ``end_m`` (metres from the edge's ``u``
end; ``edge`` -1 and NaN for a piece of a road that is not walkable), ``length_m``, ``highway``,
``name``; per distance rule with street demand ``<rule>_m`` and ``<rule>_min`` (at the piece's
middle), ``<rule>_served`` and ``<rule>_demand`` (the rule counts this piece); ``failed_rules`` and
``n_failed`` (rules counting the piece that it fails).

Why these pieces: each street is cut at every point where any rule's served state changes (its
threshold crossings) and where any rule's demand starts or ends, and nowhere else. So along a piece
every rule is either served or not and counts it or not, the length of the pieces a rule counts and
serves is exactly its summary's street share, and a street is one piece where nothing changes (few
rows for a city). The distance of a piece is the one at its middle (it varies along the piece).

Missing distances: the engine's arrays (:class:`~urbancover.evaluation.measure.Measurement`,
:class:`~urbancover.engine.DistanceField`) hold ``inf`` for "nothing reachable"; every table
urbancover hands on (these layers, the rules' layers, :func:`urbancover.k_nearest`) holds NaN
(a file's NULL), and ``status``, ``_served`` or the facility columns say why.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core import intervals
from urbancover.evaluation.context import Context
from urbancover.evaluation.gaps import HOME_COLUMNS, finite, no_compound_null
from urbancover.evaluation.measure import Measurement, counts_homes, home_distances
from urbancover.network.walk import line_substrings

#: The names of the report's layers of every home and every street piece.
HOMES, STREETS = "homes", "streets"


def failed_rules(served: dict[str, np.ndarray], n: int, counted: dict[str, np.ndarray] | None = None):
    """``(failed_rules, n_failed)`` per row from ``{rule id: served}`` (boolean arrays of ``n`` rows;
    a missing value or a row not in ``counted[rule id]`` is not a failure): the rules each row
    fails, as ``"a, b"``, and how many.
    """
    failed = np.full(n, "", dtype=object)
    count = np.zeros(n, dtype=np.int64)
    for rid, ok in served.items():
        ok = pd.array(ok, dtype="boolean")
        fails = (~ok).fillna(False).to_numpy(dtype=bool)
        if counted is not None and rid in counted:
            fails &= counted[rid]
        failed = failed + np.where(fails, rid + ", ", "")
        count += fails
    return [f[:-2] for f in failed], count


def home_status(ctx: Context, m: Measurement) -> pd.DataFrame:
    """A rule's status at every home (rows of ``ctx.homes``, its index), the public per-home
    accessor (also :meth:`urbancover.Report.home_status`): ``osmid``, ``element``, ``network_m``
    (NaN: unreachable or not counted), ``minutes``, ``served`` (bool, or nullable ``boolean`` with
    ``<NA>`` for the homes the rule does not count) and ``counted``.
    """
    net, counted = home_distances(m, ctx)
    worst = net.max(axis=1) if net.shape[1] else np.full(len(net), np.nan)
    with np.errstate(invalid="ignore"):
        ok = (net <= m.limits).all(axis=1)
    served = ok if counted.all() else pd.array(np.where(counted, ok, None), dtype="boolean")
    homes = ctx.homes
    col = lambda k: homes[k].to_numpy() if k in homes else np.full(len(homes), None, dtype=object)  # noqa: E731
    metres = finite(worst)
    return pd.DataFrame({"osmid": col("osmid"), "element": col("element"), "network_m": metres,
                         "minutes": ctx.walk.minutes(metres), "served": served, "counted": counted}, index=homes.index)


def homes_layer(ctx: Context, results: dict) -> gpd.GeoDataFrame:
    """The ``homes`` layer (see the module docstring) from the rules' measurements."""
    homes = ctx.homes
    levels = pd.to_numeric(homes["building:levels"], errors="coerce") if "building:levels" in homes else np.nan
    out = homes.assign(levels=levels)
    out = out[[c for c in HOME_COLUMNS if c in out] + [homes.geometry.name]].reset_index(drop=True)
    if "compound" in out:
        out["compound"] = no_compound_null(out["compound"].to_numpy())
    served, counted = {}, {}
    cols = {}
    for rid, res in results.items():
        m = res.measurement
        if m is None or not counts_homes(m.rule):
            continue
        st = home_status(ctx, m)
        cols[f"{rid}_m"] = st["network_m"].to_numpy()
        cols[f"{rid}_min"] = st["minutes"].to_numpy()
        cols[f"{rid}_served"] = st["served"].array
        served[rid], counted[rid] = st["served"].array, st["counted"].to_numpy()
    out = out.assign(**cols)
    out["failed_rules"], out["n_failed"] = failed_rules(served, len(out), counted)
    return gpd.GeoDataFrame(out, geometry=homes.geometry.name, crs=ctx.crs)


def streets_layer(ctx: Context, results: dict) -> gpd.GeoDataFrame:
    """The ``streets`` layer (see the module docstring) from the rules' measurements.

    O(B log B) for the B break points of every rule (its demand's ends and threshold crossings),
    plus one field reading per rule and piece.
    """
    net = ctx.network
    rules = {rid: res.measurement for rid, res in results.items()
             if res.measurement is not None and res.measurement.streets is not None}
    be, bp = [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    covered = {}
    for rid, m in rules.items():
        covered[rid] = m.covered()
        for e, s, t in (m.streets, covered[rid]):
            be += [e, e]
            bp += [s, t]
    union = intervals.merge(*(np.concatenate(x) for x in zip(*[m.streets for m in rules.values()]))) if rules else None
    e = np.concatenate(be).astype(np.int64)
    p = np.concatenate(bp).astype(float)
    if len(e):
        p = np.clip(p, 0.0, net.length[e])
    order = np.lexsort((p, e))
    e, p = e[order], p[order]
    nxt = np.r_[e[1:] == e[:-1], False] if len(e) else np.zeros(0, dtype=bool)
    pe, ps, pn = e[nxt], p[nxt], p[np.r_[False, nxt[:-1]]] if len(e) else np.zeros(0)
    keep = pn - ps > 1e-6
    pe, ps, pn = pe[keep], ps[keep], pn[keep]
    mid = (ps + pn) / 2.0
    inside = intervals.holds(union, pe, mid) if union is not None else np.zeros(len(pe), dtype=bool)
    pe, ps, pn, mid = pe[inside], ps[inside], pn[inside], mid[inside]
    cols = {"edge": pe, "start_m": ps, "end_m": pn, "length_m": pn - ps,
            "highway": net.edge_values("highway", pe), "name": net.edge_values("name", pe)}
    # roads that are not walkable, measured in pieces at their middles: the same pieces for every
    # rule that selects the same road (one cut of a way), matched by their geometry
    # (a piece mapped twice, by two overlapping ways, is two pieces, as the rules count it)
    road_keys = {rid: _piece_keys(m.roads.geometry) for rid, m in rules.items() if m.roads is not None}
    keys = pd.MultiIndex.from_arrays([[], []])
    for k in road_keys.values():
        keys = keys.union(k)
    road_geom = shapely.from_wkb(keys.get_level_values(0).to_numpy()) if len(keys) else np.zeros(0, dtype=object)
    n_roads = len(keys)
    road_row, road_len = {}, np.zeros(n_roads)
    road_hw, road_name = np.full(n_roads, None, dtype=object), np.full(n_roads, None, dtype=object)
    for rid, m in rules.items():
        if m.roads is not None:
            rows = keys.get_indexer(road_keys[rid])
            road_row[rid] = rows
            road_len[rows], road_hw[rows], road_name[rows] = m.roads.length, m.roads.highway, m.roads.name
    cols = {k: np.concatenate([np.asarray(v), extra]) for k, v, extra in (
        ("edge", cols["edge"], np.full(n_roads, -1)), ("start_m", cols["start_m"], np.full(n_roads, np.nan)),
        ("end_m", cols["end_m"], np.full(n_roads, np.nan)), ("length_m", cols["length_m"], road_len),
        ("highway", cols["highway"], road_hw), ("name", cols["name"], road_name))}
    n = len(pe) + n_roads
    served, demand = {}, {}
    for rid, m in rules.items():
        d = np.full((n, len(m.checks)), np.nan)
        d[: len(pe)] = m.along(pe, mid) if len(pe) else np.zeros((0, len(m.checks)))
        dem = np.zeros(n, dtype=bool)
        dem[: len(pe)] = intervals.holds(m.streets, pe, mid)
        if rid in road_row:
            d[len(pe) + road_row[rid]] = m.roads.network_m
            dem[len(pe) + road_row[rid]] = True
        # served: the piece lies in the rule's covered intervals (what its summary measures; the
        # pieces break at their ends), a road piece by its own distance as the rule measures it
        ok = np.zeros(n, dtype=bool)
        ok[: len(pe)] = intervals.holds(covered[rid], pe, mid)
        if rid in road_row:
            ok[len(pe) + road_row[rid]] = (m.roads.network_m <= m.limits).all(axis=1)
        metres = finite(d.max(axis=1) if d.shape[1] else np.full(n, np.nan))
        cols[f"{rid}_m"] = metres
        cols[f"{rid}_min"] = ctx.walk.minutes(metres)
        cols[f"{rid}_served"] = ok
        cols[f"{rid}_demand"] = dem
        served[rid], demand[rid] = ok, dem
    cols["failed_rules"], cols["n_failed"] = failed_rules(served, n, demand)
    lines = line_substrings(net.lines(pe), ps, pn) if len(pe) else np.zeros(0, dtype=object)
    geom = np.concatenate([np.asarray(lines, dtype=object), np.asarray(road_geom, dtype=object)])
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(geom, crs=ctx.crs), crs=ctx.crs)


def _piece_keys(geoms: np.ndarray) -> pd.MultiIndex:
    """A key per road piece: its WKB and its rank among the pieces of the same geometry (0 for the
    first, 1 for a second piece mapped by an overlapping way ...): pieces match across rules, and
    duplicates stay apart.
    """
    wkb = pd.Series(shapely.to_wkb(geoms), dtype=object)
    return pd.MultiIndex.from_arrays([wkb.to_numpy(), wkb.groupby(wkb, sort=False).cumcount().to_numpy()])


