"""Candidate sites for new facilities, and places put on the network for siting."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import shapely

from urbancover.core.errors import InputError, require_number
from urbancover.core.intervals import ranges
from urbancover.core.settings import Settings
from urbancover.engine.bounded import Places
from urbancover.network.snap import Snapped, as_geometry, snap_geometries
from urbancover.network.walk import Network

# -- candidate sites -----------------------------------------------------------------------------


def candidate_sites(
    network: Network, spacing: float = 50.0, *, within=None, near: float = 0.0
) -> gpd.GeoDataFrame:
    """Candidate facility sites along the walkable streets.

    One site at every node (junction, corner, dead end) and, along every edge of length L, the
    ``ceil(L / spacing) - 1`` points that cut it into equal parts no longer than ``spacing``.

    Parameters
    ----------
    network
        The walking network.
    spacing
        Largest distance between two consecutive sites along a street (metres, > 0).
    within
        Optional GeoDataFrame/GeoSeries (any CRS, any geometry): keep only the sites within
        ``near`` metres of it: vacant lots, public land, the demonstration zone.
    near
        Metres (>= 0) a site may lie from ``within`` (a lot usually sits back from the street's
        centreline; 0 keeps the sites inside or on it).

    Returns
    -------
    GeoDataFrame
        Points in the network's CRS with ``edge``, ``offset`` (metres from the edge's ``u`` end),
        ``access`` (0: the site is on the street), ``node`` (network node, -1 between nodes) and the
        edge's ``highway`` and ``name`` when the network has them.

    Notes
    -----
    Vectorised (one ``line_interpolate_point`` call); O(V + L_total / spacing) sites, plus
    O(S log W) for the ``within`` query.
    """
    spacing = require_number(spacing, "spacing", positive=True)
    near = require_number(near, "near")
    m = network.n_edges
    length = network.length
    # one site per node, on an edge that ends there
    ends_node = np.concatenate([network.u, network.v])
    ends_edge = np.tile(np.arange(m), 2)
    ends_off = np.concatenate([np.zeros(m), length])
    node, first = np.unique(ends_node, return_index=True)
    # sites inside every edge: cut it into ceil(L / spacing) equal parts
    parts = np.maximum(1, np.ceil(length / spacing - 1e-9)).astype(np.int64)
    inner_edge = np.repeat(np.arange(m), parts - 1)
    inner_off = length[inner_edge] * (ranges(parts - 1) + 1) / parts[inner_edge]
    edge = np.concatenate([ends_edge[first], inner_edge])
    offset = np.concatenate([ends_off[first], inner_off])
    cols = {
        "edge": edge,
        "offset": offset,
        "access": np.zeros(len(edge)),
        "node": np.concatenate([node, np.full(len(inner_edge), -1)]),
    }
    for c in ("highway", "name"):
        if (values := network.edge_values(c, edge)) is not None:
            cols[c] = values
    geom = shapely.line_interpolate_point(network.lines(edge), offset)
    out = gpd.GeoDataFrame(cols, geometry=geom, crs=network.crs)
    if within is not None:
        out = out[near_layer(out.geometry.values, within, network, near)].reset_index(drop=True)
    return out


def near_layer(points: np.ndarray, layer, network: Network, near: float) -> np.ndarray:
    """Mask of the points within ``near`` metres of any geometry of ``layer``."""
    geoms = as_geometry(layer, network.crs, "within")
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    keep = np.zeros(len(points), dtype=bool)
    if len(geoms) == 0 or len(points) == 0:
        return keep
    tree = shapely.STRtree(geoms)
    if near > 0:
        hit, _ = tree.query(points, predicate="dwithin", distance=near)
    else:
        hit, _ = tree.query(points, predicate="intersects")
    keep[hit] = True
    return keep


def snap_places(network: Network, layer, name: str, settings: Settings | None = None) -> Places:
    """Snap a layer (points, or any geometry by its point nearest to the streets) quietly: the
    caller counts what could not be snapped.
    """
    geoms = as_geometry(layer, network.crs, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        s = snap_geometries(network, geoms, name=name, settings=settings)
    return Places(s.edge, s.offset, s.access, geoms)


def site_places(network: Network, sites: gpd.GeoDataFrame) -> Places:
    """Places of sites made by :func:`candidate_sites` on this network (no snapping needed)."""
    return Places(
        sites["edge"].to_numpy(dtype=np.int64), sites["offset"].to_numpy(dtype=float),
        sites["access"].to_numpy(dtype=float), sites.geometry.to_numpy(),
    )


def candidate_places(network: Network, candidates: gpd.GeoDataFrame, settings: Settings | None = None) -> Places:
    """The user's candidate sites (a GeoDataFrame of points) snapped onto the network."""
    if not isinstance(candidates, gpd.GeoDataFrame):
        raise InputError(
            f"candidates: expected a GeoDataFrame of sites (e.g. from candidate_sites), got {type(candidates).__name__}."
        )
    return snap_places(network, candidates, "candidates", settings)


def make_candidates(network, candidates, spacing, within, near, settings: Settings | None = None) -> tuple[gpd.GeoDataFrame, Places]:
    """(sites, their places): :func:`candidate_sites`, or the user's candidates kept near ``within``."""
    if candidates is None:
        sites = candidate_sites(network, spacing, within=within, near=near)
        return sites, site_places(network, sites)
    places = candidate_places(network, candidates, settings)
    sites = candidates.to_crs(network.crs).reset_index(drop=True)
    if within is not None:
        keep = near_layer(places.geometry, within, network, require_number(near, "near"))
        sites, places = sites[keep].reset_index(drop=True), places.take(np.flatnonzero(keep))
    return sites.assign(edge=places.edge, offset=places.offset, access=places.access), places


def as_snapped(p: Places) -> Snapped:
    """The places as :class:`urbancover.network.snap.Snapped` (what a distance field reads)."""
    return Snapped(p.edge, p.offset, p.access)
