"""Unions of many polygons, tile by tile, block by block.

A city's union of tens of thousands of overlapping polygons (grown buildings, landuse) in one
overlay costs more than linearly in their number: the result's outline grows with the city and
every merge step works on it. Cut to square tiles, each tile's union is small, and the pieces
(one or more per tile, no two sharing any area) have the union's area to rounding.

The tiles are worked through in blocks of about :data:`settings.union_block_pairs` (polygon, tile)
pairs: only a block's polygons are grown, repaired and cut at a time, so the memory a union needs
on top of its input and its result is bounded by the block, not by the city.

>>> import shapely
>>> pieces = union_by_tiles([shapely.box(0, 0, 3, 3), shapely.box(2, 0, 5, 3)], side=2.0)
>>> float(shapely.area(pieces).sum())
15.0
>>> pieces = union_by_tiles([shapely.box(0, 0, 1, 1)], side=2.0, grow=1.0)  # round corners: 1 + 4 + a 16-gon
>>> round(float(shapely.area(pieces).sum()), 2)
8.06
"""

from __future__ import annotations

import numpy as np
import shapely

from urbancover.core.intervals import ranges
from urbancover.core.parallel import thread_count, thread_map
from urbancover.core.settings import Settings, resolve

__all__ = ["cut_by_pieces", "union_by_tiles"]

#: Fewest (polygon, tile) pairs of a block split off to share a union among threads: below it, the
#: block's fixed cost (numpy steps, one prepared box per tile) outweighs what a thread gains.
_MIN_BLOCK_PAIRS = 500


def union_by_tiles(polygons, side: float, clip: shapely.Geometry | None = None, *, grow=0.0, quad_segs: int = 4,
                   block_pairs: int | None = None, settings: Settings | None = None) -> np.ndarray:
    """The union of ``polygons`` (some grown by ``grow``), cut to ``clip`` when given, as pieces
    along square tiles.

    Parameters
    ----------
    polygons
        Array-like of (multi)polygons, in a projected CRS; missing and empty ones are skipped.
        Invalid ones are repaired (:func:`shapely.make_valid`) unless grown.
    side
        Side of a tile, in the units of the coordinates.
    clip
        Optional area to cut the union to.
    grow
        Distance (one for all, or one per polygon; 0 or more) by which each polygon is grown
        (:func:`shapely.buffer`) before the union; 0 takes it as it is. Growing here, block by
        block, never holds every grown polygon at once.
    quad_segs
        Segments per quarter circle of a grown polygon's round corners.
    block_pairs
        About how many (polygon, tile) pairs a block of tiles holds; default
        :data:`settings.union_block_pairs`, or fewer on several threads (about a quarter of each
        thread's share, at least 500 pairs, so that a town's union is shared too). A tile is never
        split: one tile with more pairs is a block alone. The pieces are the same whatever the blocks.
    settings
        The :class:`~urbancover.core.settings.Settings` of that default and of
        :data:`settings.threads` (blocks run on that many threads at once); default
        :func:`urbancover.core.settings.current`.

    Returns
    -------
    numpy.ndarray
        Polygons whose union is the union of the (grown) ``polygons`` within ``clip``; no two share
        any area; one or more per tile, whatever the blocks. Empty when there is nothing.

    Notes
    -----
    The tiles a polygon's grown bounds meet are computed with numpy; their (polygon, tile) pairs,
    sorted by tile (row by row), are split into runs of about ``block_pairs``. For each block: its
    polygons are grown and repaired, each is tested against the (prepared) tiles it may meet, only
    those crossing a tile's edge are cut (intersection), then one small union per tile. A polygon
    near a block's edge is grown in each block it meets. Time about O(N) for N polygons of bounded
    size, divided among :data:`settings.threads` (GEOS runs without the GIL; the 1M-segment city's
    200 000 buildings: 14.7 s on one thread, 8.0 s on two, the same pieces); memory O(N) for the
    pairs and the result, plus O(``block_pairs``) geometries per thread at a time.
    """
    polygons = np.asarray(polygons, dtype=object).ravel()
    grow = np.broadcast_to(np.asarray(grow, dtype=float), polygons.shape)
    if not np.all(grow >= 0):
        raise ValueError("union_by_tiles: grow must be 0 or more (a distance in the coordinates' units), "
                         f"got {grow[~(grow >= 0)][0]!r}; shrink polygons with shapely.buffer before the union.")
    keep = ~(shapely.is_missing(polygons) | shapely.is_empty(polygons))
    polygons, grow = polygons[keep], grow[keep]
    if len(polygons) == 0:
        return np.zeros(0, dtype=object)
    bounds = shapely.bounds(polygons)
    x0, y0 = (_grown_low(polygons, grow, bounds[:, k], k, quad_segs) for k in (0, 1))
    bounds[:, :2] -= grow[:, None]  # the grown polygons lie within these bounds
    bounds[:, 2:] += grow[:, None]
    ncols = max(1, int(np.ceil((bounds[:, 2].max() - x0) / side)))
    # the tiles each polygon's bounds meet, widened by a hair so that rounding in the buffer never
    # leaves a polygon out of a tile it reaches (a pair too many is dropped by the intersects test)
    pad = side * 1e-6
    i0 = np.floor((bounds[:, 0] - pad - x0) / side).astype(np.int64).clip(0, ncols - 1)
    i1 = np.floor((bounds[:, 2] + pad - x0) / side).astype(np.int64).clip(0, ncols - 1)
    j0 = np.floor((bounds[:, 1] - pad - y0) / side).astype(np.int64).clip(0)
    j1 = np.floor((bounds[:, 3] + pad - y0) / side).astype(np.int64).clip(0)
    del bounds
    nx, n = i1 - i0 + 1, (i1 - i0 + 1) * (j1 - j0 + 1)
    poly = np.repeat(np.arange(len(polygons)), n)
    k = ranges(n)  # pair's rank among its polygon's tiles
    tile = (j0[poly] + k // nx[poly]) * ncols + i0[poly] + k % nx[poly]
    del k, nx, n, i0, i1, j0, j1
    order = np.argsort(tile, kind="stable")
    tile, poly = tile[order], poly[order]
    del order
    # blocks: runs of whole tiles, a new one whenever about block_pairs pairs have gone by
    step = resolve(settings).union_block_pairs if block_pairs is None else block_pairs
    threads = thread_count(settings)
    if threads > 1:  # blocks enough to keep every thread busy (a town's union fits one default block)
        step = min(step, max(_MIN_BLOCK_PAIRS, -(-len(tile) // (4 * threads))))
    starts = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])  # first pair of each tile
    block = starts // max(1, int(step))
    cuts = np.r_[starts[np.flatnonzero(np.r_[True, block[1:] != block[:-1]])], len(tile)]
    # which polygons to repair, tested here, before the threads: shapely.is_valid silences GEOS
    # inside a warnings.catch_warnings block, whose save and restore of the process's warning
    # filters, run on two threads at once, can leave every later warning ignored (a run lost its
    # barrier notes)
    repair = np.zeros(len(polygons), dtype=bool)
    as_is = np.flatnonzero(grow == 0)
    repair[as_is] = ~shapely.is_valid(polygons[as_is])
    # the blocks share nothing they change: on several threads (settings.threads), each one's GEOS
    # work runs without the GIL, and their pieces come back in the blocks' order, as one by one
    out = thread_map(lambda ab: _union_block(polygons, grow, repair, tile[ab[0]:ab[1]], poly[ab[0]:ab[1]], x0, y0, side,
                                             ncols, clip, quad_segs), zip(cuts[:-1], cuts[1:]), settings)
    pieces = np.concatenate(out)
    return pieces[shapely.get_dimensions(pieces) == 2]


def cut_by_pieces(geoms, pieces, tree: shapely.STRtree | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The parts of each geometry inside the union of ``pieces`` (polygons no two of which share
    any area, as :func:`union_by_tiles` makes them), and the row of the geometry each part is of.

    Cutting by a city's built-up land as one multipolygon makes every overlay walk its whole
    outline (Malta's roads by its built-up land: ~14 s); cut by the small pieces each geometry
    meets, it costs about what the geometries do. A geometry properly inside one piece, and a piece
    properly inside its polygon (a subdistrict's outline), are their own part (no overlay); parts
    of a lower dimension than their geometry (where it only touches a
    piece) are left out, so the areas (or lengths) of a geometry's parts add up to its area (length)
    inside the union. O(P log N) for P (geometry, piece) pairs, one vectorised overlay over the
    pairs that cross a piece's outline.

    Parameters
    ----------
    geoms
        Array-like of geometries (lines or polygons), in the pieces' CRS.
    pieces
        Array-like of polygons sharing no area.
    tree
        An STRtree over ``pieces``, when the caller keeps one.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The parts, and for each the position of its geometry in ``geoms``.

    Examples
    --------
    >>> parts, row = cut_by_pieces([shapely.box(0, 0, 4, 1), shapely.box(10, 0, 11, 1)],
    ...                            [shapely.box(0, 0, 2, 2), shapely.box(2, 0, 3, 2)])
    >>> row.tolist(), shapely.area(parts).tolist()
    ([0, 0], [2.0, 1.0])
    """
    geoms = np.asarray(geoms, dtype=object).ravel()
    pieces = np.asarray(pieces, dtype=object).ravel()
    if len(geoms) == 0 or len(pieces) == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    tree = tree if tree is not None else shapely.STRtree(pieces)
    gi, pi = tree.query(geoms, predicate="intersects")
    shapely.prepare(pieces)
    whole = shapely.contains_properly(pieces[pi], geoms[gi])
    parts = geoms[gi].copy()
    rest = np.flatnonzero(~whole)
    if len(rest) and (shapely.get_dimensions(geoms) == 2).any():  # pieces inside a polygon: themselves
        shapely.prepare(geoms)
        inner = shapely.contains_properly(geoms[gi[rest]], pieces[pi[rest]])
        parts[rest[inner]] = pieces[pi[rest[inner]]]
        rest = rest[~inner]
    parts[rest] = shapely.intersection(geoms[gi[rest]], pieces[pi[rest]])
    keep = ~shapely.is_empty(parts) & (shapely.get_dimensions(parts) == shapely.get_dimensions(geoms[gi]))
    return parts[keep], gi[keep].astype(np.int64)


def _union_block(polygons, grow, repair, tile, poly, x0, y0, side, ncols, clip, quad_segs) -> np.ndarray:
    """One block: its pairs ``(tile, poly)`` sorted by tile; the pieces of each tile's union."""
    ids, ti = np.unique(tile, return_inverse=True)
    mine, pi = np.unique(poly, return_inverse=True)
    g, d = polygons[mine], grow[mine]
    grown = d > 0
    g[grown] = shapely.buffer(g[grown], d[grown], quad_segs=quad_segs)
    bad = repair[mine]
    g[bad] = shapely.make_valid(g[bad])
    gx, gy = x0 + (ids % ncols) * side, y0 + (ids // ncols) * side
    tiles = shapely.box(gx, gy, gx + side, gy + side)
    if clip is not None:
        tiles = shapely.intersection(tiles, clip)
    shapely.prepare(tiles)
    hit = shapely.intersects(tiles[ti], g[pi])
    ti, pi = ti[hit], pi[hit]
    # most polygons lie inside one tile: only those crossing a tile's edge are cut
    cut = g[pi]
    crossing = ~shapely.contains_properly(tiles[ti], cut)
    cut[crossing] = shapely.intersection(cut[crossing], tiles[ti[crossing]])
    first = np.flatnonzero(np.r_[True, ti[1:] != ti[:-1], True])
    pieces = np.array([shapely.union_all(cut[a:b]) for a, b in zip(first[:-1], first[1:])], dtype=object)
    return shapely.get_parts(pieces)


def _grown_low(polygons, grow, low, axis: int, quad_segs: int) -> float:
    """The lowest x (``axis`` 0) or y (1) of the grown polygons, as :func:`shapely.buffer` makes
    them (the tiles start there, as they would from the grown polygons' bounds).

    A buffer's round corners are chords of the circle and its input is simplified by 1 % of the
    distance, so it reaches at least ``cos(pi / (4 quad_segs)) - 0.02`` of the distance beyond the
    polygon: only the few polygons that may reach lowest are grown here.
    """
    reach = np.cos(np.pi / (4 * quad_segs)) - 0.02
    can = np.flatnonzero(low - grow <= (low - grow * reach).min())
    d = grow[can]
    grown = shapely.buffer(polygons[can[d > 0]], d[d > 0], quad_segs=quad_segs)
    return float(np.r_[low[can[d == 0]], shapely.bounds(grown)[:, axis]].min())
