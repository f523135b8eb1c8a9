"""Coverage sets: which open demand each candidate site would serve within the threshold."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from urbancover.core import intervals
from urbancover.core.errors import InputError, require_number
from urbancover.core.intervals import ranges
from urbancover.core.settings import Settings
from urbancover.engine.bounded import Places, pair_distances, street_reach
from urbancover.network.snap import Snapped
from urbancover.network.walk import Network, line_substrings
from urbancover.present import Note
from urbancover.siting.candidates import as_snapped, candidate_places, snap_places

#: metres: a candidate serves a place only when it is at least this much within the threshold, so
#: the re-measured rule agrees whatever rounding the new sites' coordinates go through.
SPARE = 1e-6

#: metres: uncovered street pieces shorter than this are ignored (floating-point slivers).
SLIVER = 1e-5

Intervals = tuple[np.ndarray, np.ndarray, np.ndarray]


def coverage_matrix(
    network: Network, candidates: gpd.GeoDataFrame, demand, threshold: float, *, return_distance: bool = False,
    settings: Settings | None = None,
):
    """Which demand places each candidate site would serve within ``radius``.

    Parameters
    ----------
    network
        The walking network.
    candidates
        Sites: from :func:`candidate_sites` (placed by their ``edge``/``offset`` columns), or any
        GeoDataFrame of points (snapped like facilities: their access leg counts).
    demand
        GeoDataFrame/GeoSeries of places (points; other geometries by their point nearest to the
        streets), any CRS.
    threshold
        Threshold in metres: a site serves a place at network distance <= ``radius - SPARE``.
    settings
        The :class:`~urbancover.core.settings.Settings` to snap with; default
        :func:`urbancover.core.settings.current`.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean, candidates x demand. With ``return_distance``, also the ``(i, j, distance)``
        arrays of the covered pairs.

    Notes
    -----
    One cut-off Dijkstra search per place of the smaller of the two sets, restricted to the nodes
    within ``radius`` straight-line metres of it: O(S (V_r + E_r) log V_r) for S searches over
    neighbourhoods of V_r nodes and E_r edges, plus O(pairs) to join places to reached nodes.
    """
    threshold = require_number(threshold, "threshold", positive=True)
    cand = candidate_places(network, candidates, settings)
    dem = snap_places(network, demand, "demand", settings)
    i, j, d = pair_distances(network, cand, dem, threshold - SPARE)
    m = sp.csr_array((np.ones(len(i), dtype=bool), (i, j)), shape=(len(cand), len(dem)))
    return (m, (i, j, d)) if return_distance else m


def street_coverage(network: Network, candidates: gpd.GeoDataFrame, demand: Intervals, threshold: float):
    """Which pieces of street demand each candidate site would serve within ``radius``.

    The demand intervals are cut wherever some candidate's reach begins or ends, so each piece is
    served by a fixed set of candidates.

    Parameters
    ----------
    network
        The walking network.
    candidates
        Sites, as for :func:`coverage_matrix`.
    demand
        Disjoint street intervals ``(edge, start, end)`` (metres from each edge's ``u`` end), e.g.
        from :meth:`urbancover.evaluation.context.Context.street_intervals`.
    threshold
        Threshold in metres (a piece is served when all of it is within ``radius - SPARE``).

    Returns
    -------
    (scipy.sparse.csr_array, (edge, start, end))
        Boolean candidates x pieces, and the pieces (only those some candidate serves, and no
        shorter than :data:`SLIVER`).

    Notes
    -----
    The searches of :func:`coverage_matrix` (one per candidate), then O(I log I) for the I
    (candidate, edge) intervals they reach.
    """
    threshold = require_number(threshold, "threshold", positive=True)
    cand = candidate_places(network, candidates)
    return street_matrix(network, cand, demand, threshold - SPARE)


def street_matrix(network: Network, cand: Places, demand: Intervals, limit: float):
    """(candidates x pieces matrix, pieces): see :func:`street_coverage`."""
    site, reach = street_reach(network, cand, limit)
    ai, s, t = intervals.intersect(reach, demand, return_index=True)
    c, e = site[ai], reach[0][ai]
    # one line for all edges: edge e occupies [base[e], base[e] + length[e]]
    base = np.concatenate([[0.0], np.cumsum(network.length + 1.0)])
    gs, gt = base[e] + s, base[e] + t
    bps = np.unique(np.concatenate([gs, gt]))
    i0 = np.searchsorted(bps, gs)
    cnt = np.searchsorted(bps, gt) - i0
    piece = np.repeat(i0, cnt) + ranges(cnt)
    owner = np.repeat(c, cnt)
    used, col = np.unique(piece, return_inverse=True)
    p_len = bps[used + 1] - bps[used]
    p_edge = np.searchsorted(base, bps[used], side="right") - 1
    p_start = bps[used] - base[p_edge]
    long_enough = p_len > SLIVER
    keep_cols = np.flatnonzero(long_enough)
    new_col = np.full(len(used), -1)
    new_col[keep_cols] = np.arange(len(keep_cols))
    col = new_col[col]
    good = col >= 0
    matrix = sp.csr_array(
        (np.ones(int(good.sum()), dtype=bool), (owner[good], col[good])), shape=(len(cand), len(keep_cols))
    )
    pieces = (p_edge[keep_cols], p_start[keep_cols], p_start[keep_cols] + p_len[keep_cols])
    return matrix, pieces


@dataclass(eq=False)


class Problem:
    """A siting problem: coverage of the open demand elements by the candidate sites."""

    matrix: sp.csr_array  # candidates x open elements
    weights: np.ndarray
    elements: gpd.GeoDataFrame  # the open elements (geometry, attributes), one per column
    candidates: gpd.GeoDataFrame
    total: float
    served_before: float
    unit: str
    notes: list[str]
    #: open demand left out of the elements because no candidate reaches any of it (streets)
    unreached: float = 0.0


def demand_weights(demand, weights, n) -> np.ndarray:
    """Weights of the demand places: a column of ``demand``, an array, or 1 each; checked."""
    if weights is None:
        return np.ones(n)
    if isinstance(weights, str):
        if not isinstance(demand, gpd.GeoDataFrame) or weights not in demand:
            raise InputError(f"weights: demand has no column {weights!r}; give a column name of demand or an array.")
        weights = demand[weights].to_numpy()
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise InputError(f"weights: need {n} finite values >= 0 (one per demand place), got shape {w.shape}.")
    return w


def place_problem(network, feats, geoms, w, fld, threshold, cand, unit, *, snapped: Snapped | None = None,
                  served: np.ndarray | None = None, settings: Settings | None = None) -> Problem:
    """The siting problem of places: the open ones (not ``served``, by default not within ``radius``
    of ``fld``) and the candidates reaching each. ``snapped``: the places already on the network.
    """
    sites, cplaces = cand
    notes = []
    if snapped is None:
        dem = snap_places(network, gpd.GeoSeries(geoms, crs=network.crs), "demand", settings)
    else:
        dem = Places(snapped.edge, snapped.offset, snapped.access, np.asarray(geoms))
    n = len(geoms)
    if served is None:
        served = fld.at_snapped(as_snapped(dem), geoms=geoms) <= threshold if fld is not None else np.zeros(n, dtype=bool)
    total = float(w.sum())
    before = float(w[served].sum())
    open_rows = np.flatnonzero(~served & (w > 0))
    unsnapped = open_rows[dem.edge[open_rows] < 0]
    if len(unsnapped):
        notes.append(Note("siting.unsnapped", n=len(unsnapped), w=w[unsnapped].sum(), unit=unit))
    limit = threshold - SPARE
    i, j, _ = pair_distances(network, cplaces, dem.take(open_rows), limit)
    matrix = sp.csr_array((np.ones(len(i), dtype=bool), (i, j)), shape=(len(sites), len(open_rows)))
    elements = feats.iloc[open_rows].reset_index(drop=True)
    elements = elements.set_geometry(gpd.GeoSeries(geoms[open_rows], crs=network.crs))
    return Problem(matrix, w[open_rows], elements, sites, total, before, unit, notes)


def street_problem(network, demand: Intervals, fld, threshold, cand) -> Problem:
    """The siting problem of street demand: the open metres and the candidates reaching each piece."""
    sites, cplaces = cand
    demand = intervals.merge(*demand)
    total = intervals.total(demand)
    if fld is not None:
        covered = intervals.intersect(demand, fld.covered_intervals(threshold))
        before = intervals.total(covered)
        open_ = intervals.intersect(intervals.complement(*covered, network.length), demand)
    else:
        before, open_ = 0.0, demand
    matrix, pieces = street_matrix(network, cplaces, open_, threshold - SPARE)
    e, s, t = pieces
    geom = line_substrings(network.lines(e), s, t) if len(e) else np.zeros(0, dtype=object)
    cols = {"edge": e, "start": s, "end": t, "length": t - s}
    for c in ("highway", "name"):
        if (values := network.edge_values(c, e)) is not None:
            cols[c] = values
    elements = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(geom, crs=network.crs), crs=network.crs)
    unreached = max(0.0, intervals.total(open_) - float(np.sum(t - s)))
    return Problem(matrix, t - s, elements, sites, total, before, "street_m", [], unreached)
