"""Unions of many polygons, tile by tile.

A city's union of tens of thousands of overlapping polygons (grown buildings, landuse) in one
overlay costs more than linearly in their number: the result's outline grows with the city and
every merge step works on it. Cut to square tiles, each tile's union is small, and the pieces
(one or more per tile, no two sharing any area) have the union's area to rounding.

>>> import shapely
>>> pieces = union_by_tiles([shapely.box(0, 0, 3, 3), shapely.box(2, 0, 5, 3)], side=2.0)
>>> float(shapely.area(pieces).sum())
15.0
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["union_by_tiles"]


def union_by_tiles(polygons, side: float, clip: shapely.Geometry | None = None) -> np.ndarray:
    """The union of ``polygons``, cut to ``clip`` when given, as pieces along square tiles.

    Parameters
    ----------
    polygons
        Array-like of (multi)polygons, in a projected CRS.
    side
        Side of a tile, in the units of the coordinates.
    clip
        Optional area to cut the union to.

    Returns
    -------
    numpy.ndarray
        Polygons whose union is the union of ``polygons`` (within ``clip``); no two share any area.
        Empty when there is nothing.

    Notes
    -----
    One STRtree query pairs tiles and polygons, one vectorised intersection cuts each polygon to
    each tile it meets, then one small union per tile: about O(N) for N polygons of bounded size.
    """
    polygons = np.asarray(polygons, dtype=object)
    polygons = polygons[~(shapely.is_missing(polygons) | shapely.is_empty(polygons))]
    if len(polygons) == 0:
        return np.zeros(0, dtype=object)
    x0, y0, x1, y1 = shapely.total_bounds(polygons)
    gx, gy = (a.ravel() for a in np.meshgrid(np.arange(x0, x1, side), np.arange(y0, y1, side)))
    tiles = shapely.box(gx, gy, gx + side, gy + side)
    if clip is not None:
        tiles = shapely.intersection(tiles, clip)
    ti, pi = shapely.STRtree(polygons).query(tiles, predicate="intersects")  # prepares the tiles
    order = np.argsort(ti, kind="stable")
    ti, pi = ti[order], pi[order]
    # most polygons lie inside one tile: only those crossing a tile's edge are cut
    cut = polygons[pi]
    crossing = ~shapely.contains_properly(tiles[ti], cut)
    cut[crossing] = shapely.intersection(cut[crossing], tiles[ti[crossing]])
    first = np.flatnonzero(np.r_[True, ti[1:] != ti[:-1], True])
    pieces = np.array([shapely.union_all(cut[a:b]) for a, b in zip(first[:-1], first[1:])], dtype=object)
    pieces = shapely.get_parts(pieces)
    return pieces[shapely.get_dimensions(pieces) == 2]
