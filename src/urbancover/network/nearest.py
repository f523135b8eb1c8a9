"""Nearest street segment of many points, with a compiled kernel over a uniform grid of segments.

:func:`nearest_segments` answers, for every point, which edge (LineString) of a network is nearest,
the offset of the orthogonal projection along that edge from its first vertex, and the distance:
what ``shapely.STRtree.query_nearest`` + ``shapely.line_locate_point`` answer, about 10x faster (see
``benchmarks/snap.py``). The answer is exact against GEOS: distance and offset are computed with the
same floating-point formulas as GEOS (``Distance::pointToSegment``, ``LengthIndexOfPoint``), so they
agree to the last bits, not only to a tolerance.

The index (:class:`SegmentIndex`) holds every segment (pair of consecutive vertices) of every edge,
with its edge and the length of the edge before it, and a uniform grid whose cells list the segments
that pass through them. A query searches square rings of cells around the point's cell until no
unsearched cell can hold a nearer segment.

The kernels are compiled with numba (a dependency of urbancover). Without numba the same code runs
as plain Python: correct, but about 100x slower than shapely; :data:`HAVE_NUMBA` tells which, and
:mod:`urbancover.network.snap` uses the kernel only when it is compiled; the network's CSR
matrix (:func:`urbancover.network.walk.csr_min`) and the snapping helpers share :func:`compiled`.

Ties: when several edges are at the same distance from a point (a point on a shared node, or
equidistant between two streets), the edge with the **lowest index** wins, and within one edge the
first segment along it (as GEOS's ``line_locate_point`` does). Ties are exact floating-point ties.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from urbancover.core.compiled import HAVE_NUMBA, compiled
from urbancover.core.errors import InputError
from urbancover.core.intervals import ranges

__all__ = ["HAVE_NUMBA", "SegmentIndex", "compiled", "crossing_legs", "legal_segments", "lines_in_boxes",
           "nearest_segments", "segments_within"]

#: target mean number of segments per grid cell
_PER_CELL = 2.0
#: Grid cells of boxes looked up at a time by :func:`lines_in_boxes` (~2 segments each: ~10 MB per array).
_BOX_CELLS = 1 << 18


@dataclass(frozen=True, eq=False)
class SegmentIndex:
    """Every segment of a set of LineStrings, in a uniform grid.

    Build it with :meth:`from_lines`; query it with :func:`nearest_segments`. All arrays are read
    only by the queries, so one index serves any number of calls (and threads).

    Attributes
    ----------
    n_lines : int
        Number of lines (edges) the index was built from; edge ids are ``0..n_lines-1``.
    x0, y0, x1, y1 : numpy.ndarray
        Segment end points (float64), sorted by grid cell.
    edge : numpy.ndarray
        Edge id (position in the input) of each segment (int64).
    start : numpy.ndarray
        Length of the edge before the segment's first point (float64), summed along the edge as GEOS does.
    rank : numpy.ndarray
        Position of the segment along its edge (int64, 0 for the first).
    origin : tuple of float
        (x, y) of the grid's lower-left corner.
    cell : float
        Side of a square grid cell, in the units of the coordinates.
    shape : tuple of int
        (nx, ny) number of cells.
    cell_start, cell_items : numpy.ndarray
        Compressed lists: the segments through cell ``iy * nx + ix`` are
        ``cell_items[cell_start[c]:cell_start[c + 1]]``.
    """

    n_lines: int
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    edge: np.ndarray
    start: np.ndarray
    rank: np.ndarray
    origin: tuple[float, float]
    cell: float
    shape: tuple[int, int]
    cell_start: np.ndarray
    cell_items: np.ndarray

    @property
    def n_segments(self) -> int:
        """Number of segments indexed."""
        return len(self.x0)

    @classmethod
    def from_lines(cls, geoms, *, name: str = "lines") -> SegmentIndex:
        """Index the segments of LineStrings.

        Parameters
        ----------
        geoms
            Array-like of shapely LineStrings in a projected CRS (metres). Missing (None) and empty
            lines get an id but no segment: they are never nearest.
        name
            Name of the input in error messages.

        Returns
        -------
        SegmentIndex

        Raises
        ------
        InputError
            If a geometry is not a LineString, or a coordinate is not finite.

        Notes
        -----
        O(S + C) time and memory for S segments and C grid cells touched by them, C about S on a
        street network (cells are sized for ~2 segments each over the bounds of the data). A
        segment much longer than a cell is listed in every cell it crosses.

        Examples
        --------
        >>> import shapely
        >>> idx = SegmentIndex.from_lines([shapely.LineString([(0, 0), (10, 0), (10, 10)])])
        >>> idx.n_segments
        2
        """
        geoms = np.asarray(geoms, dtype=object)
        if geoms.ndim != 1:
            geoms = geoms.ravel()
        types = shapely.get_type_id(geoms)  # (-1: missing)
        odd = np.flatnonzero((types != shapely.GeometryType.LINESTRING) & (types != shapely.GeometryType.MISSING))
        odd = odd[~shapely.is_empty(geoms[odd])]  # (an empty geometry of any type has no segment)
        if len(odd):
            bad = odd[0]
            raise InputError(
                f"{name}: geometry {bad} is a {shapely.get_type_id(geoms[bad])!r} geometry type id, not a "
                "LineString; split multi-part lines into their parts (shapely.get_parts) first."
            )
        coords, line = shapely.get_coordinates(geoms, return_index=True)
        return cls.from_vertices(coords, line, len(geoms), name=name)

    @classmethod
    def from_vertices(cls, coords: np.ndarray, line: np.ndarray, n_lines: int, *, name: str = "lines") -> SegmentIndex:
        """Index lines given as their vertices: ``coords`` (V, 2) in order and ``line`` (V,), the
        line of each vertex (as ``shapely.get_coordinates(lines, return_index=True)`` gives them),
        for lines held as arrays (a Network's edges, :attr:`Network.vertices`); see :meth:`from_lines`.
        """
        if not np.isfinite(coords).all():
            raise InputError(f"{name}: a line has a NaN or infinite coordinate; drop or fix it first.")
        # segments (consecutive vertices of one line), with the length of their edge before them
        x0, y0, x1, y1, edge, start, rank, box = _segments(coords, np.asarray(line, dtype=np.int64))
        n = len(x0)
        if n == 0:
            empty_f, empty_i = np.zeros(0), np.zeros(0, dtype=np.int64)
            return cls(n_lines, empty_f, empty_f, empty_f, empty_f, empty_i, empty_f, empty_i,
                       (0.0, 0.0), 1.0, (1, 1), np.zeros(2, dtype=np.int64), empty_i)
        minx, miny, maxx, maxy = (float(b) for b in box)
        w = maxx - minx
        h = maxy - miny
        cell = max(math.sqrt(w * h * _PER_CELL / n), max(w, h) / (4.0 * n), 1e-6)
        nx = int(w // cell) + 1
        ny = int(h // cell) + 1
        # segments in order of the cell of their midpoint, so that neighbours in space are
        # neighbours in memory; then the lists of segments through each cell
        x0, y0, x1, y1, edge, start, rank, cell_start, cell_items = _grid(
            x0, y0, x1, y1, edge, start, rank, minx, miny, cell, nx, ny)
        return cls(n_lines, x0, y0, x1, y1, edge, start, rank, (minx, miny), float(cell),
                   (nx, ny), cell_start, cell_items)


def nearest_segments(
    index: SegmentIndex, xy, *, max_distance: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest edge of every point, the offset of its projection along it, and the distance.

    Parameters
    ----------
    index
        From :meth:`SegmentIndex.from_lines`.
    xy
        (n, 2) array of point coordinates, in the CRS of the index.
    max_distance
        Points farther than this from every edge get no answer (and cost little); ``None`` for no
        limit.

    Returns
    -------
    edge : numpy.ndarray
        int64 id of the nearest line, the lowest id on a tie; -1 where there is none (empty index,
        NaN coordinate, farther than ``max_distance``).
    offset : numpy.ndarray
        Distance along that line from its first vertex to the point's orthogonal projection (what
        ``shapely.line_locate_point`` returns); NaN where ``edge`` is -1.
    distance : numpy.ndarray
        Straight distance from the point to the line; ``inf`` where ``edge`` is -1.

    Notes
    -----
    Each point visits the cells around it in square rings until the nearest segment found is
    nearer than every cell not yet visited: O(k) for k segments near the point, about 10-30 on a
    street network, independent of the network's size. A point far outside the network visits up
    to every cell once (bounded by ``max_distance``). Compiled with numba when installed.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> idx = SegmentIndex.from_lines([shapely.LineString([(0, 0), (10, 0)]),
    ...                                shapely.LineString([(0, 5), (10, 5)])])
    >>> nearest_segments(idx, np.array([[3.0, 1.0], [4.0, 2.5]]))
    (array([0, 0]), array([3., 4.]), array([1. , 2.5]))
    """
    pts = np.asarray(xy, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InputError(f"points: expected an (n, 2) array of x, y coordinates, got shape {pts.shape}.")
    n = len(pts)
    limit = np.inf if max_distance is None else float(max_distance)
    if not limit >= 0:
        raise InputError(f"max_distance: expected a number >= 0 or None, got {max_distance!r}.")
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    dist = np.full(n, np.inf)
    if n == 0 or index.n_segments == 0:
        return edge, offset, dist
    px = np.ascontiguousarray(pts[:, 0])
    py = np.ascontiguousarray(pts[:, 1])
    nx, ny = index.shape
    # queries in the order of their grid cell, so that consecutive queries read the same segments
    # from cache (3-4x faster on a 1M-segment grid than in random order)
    if n >= nx * ny // 4:
        order = _order_by_cell(px, py, index.origin[0], index.origin[1], index.cell, nx, ny)
    elif n > 256:
        order = np.argsort(_cell_key(px, py, index.origin[0], index.origin[1], index.cell, nx, ny), kind="stable")
    else:
        order = None
    if order is not None:
        px, py = px[order], py[order]
    _query(px, py, index.x0, index.y0, index.x1, index.y1, index.edge, index.start, index.rank,
           index.origin[0], index.origin[1], index.cell, nx, ny, index.cell_start, index.cell_items,
           limit, edge, offset, dist)
    if order is not None:
        edge[order], offset[order], dist[order] = edge.copy(), offset.copy(), dist.copy()
    return edge, offset, dist


def lines_in_boxes(index: SegmentIndex, boxes) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (box, line) of every indexed line with a segment listed in a grid cell the box meets:
    every line that meets the box is among them (a cheap superset of what an STRtree query over the
    lines gives, without the lines' geometries or a tree).

    Parameters
    ----------
    index
        A :class:`SegmentIndex`.
    boxes
        (n, 4) array of (minx, miny, maxx, maxy), as :func:`shapely.bounds` gives them; a box with a
        NaN (an empty geometry's bounds) meets nothing.

    Returns
    -------
    box, line : numpy.ndarray
        int64 positions, each pair once, sorted by line, then by box.

    Notes
    -----
    A segment is listed in every cell it passes through (:meth:`SegmentIndex.from_lines`), and the
    cells of a box are taken with a rounding margin, so a point where a line meets the box lies in
    one of the box's cells, with its segment listed there. O(C + P log P) for the C cells the boxes
    meet and the P (box, segment) entries listed in them. numpy only (nothing to compile).

    Examples
    --------
    >>> import shapely
    >>> idx = SegmentIndex.from_lines([shapely.LineString([(0, 0), (10, 0)]), shapely.LineString([(50, 50), (60, 50)])])
    >>> lines_in_boxes(idx, [(2.0, -1.0, 3.0, 1.0), (49.0, 49.0, 70.0, 70.0)])  # two segments: one coarse cell
    (array([0, 1, 0, 1]), array([0, 0, 1, 1]))
    >>> lines_in_boxes(idx, [(200.0, 200.0, 300.0, 300.0)])  # beyond the grid: its nearest cell
    (array([0]), array([1]))
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    rows = np.flatnonzero(np.isfinite(b).all(axis=1))
    empty = np.zeros(0, dtype=np.int64)
    if index.n_segments == 0 or len(rows) == 0:
        return empty, empty
    nx, ny = index.shape
    (minx, miny), cell = index.origin, index.cell
    eps = cell * 1e-9

    def span(lo, hi, origin, n):
        a = np.clip(np.floor((lo - eps - origin) / cell), 0, n - 1).astype(np.int64)
        z = np.clip(np.floor((hi + eps - origin) / cell), 0, n - 1).astype(np.int64)
        return a, z

    i0, i1 = span(b[rows, 0], b[rows, 2], minx, nx)
    j0, j1 = span(b[rows, 1], b[rows, 3], miny, ny)
    w = i1 - i0 + 1
    nc = w * (j1 - j0 + 1)
    # boxes in batches of about _BOX_CELLS cells, so the (box, segment) entries alive at a time stay
    # bounded (a city's built-up pieces meet every cell); a box is never split
    batch = np.cumsum(nc) // _BOX_CELLS
    cuts = np.r_[0, np.flatnonzero(batch[1:] != batch[:-1]) + 1, len(rows)]
    keys = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        n = nc[lo:hi]
        at = np.repeat(np.arange(lo, hi), n)
        k = ranges(n)  # a cell's rank among its box's cells
        cell_id = (j0[at] + k // w[at]) * nx + i0[at] + k % w[at]
        del k
        first = index.cell_start[cell_id]
        count = index.cell_start[cell_id + 1] - first
        box = np.repeat(rows[at], count)
        del at, cell_id
        pos = np.repeat(first, count) + ranges(count)
        keys.append(np.unique(index.edge[index.cell_items[pos]] * np.int64(len(b)) + box))
        del pos, box
    key = np.sort(np.concatenate(keys)) if len(keys) > 1 else keys[0]  # a box's pairs are in one batch only
    return key % len(b), key // len(b)


def segments_within(index: SegmentIndex, xy, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts of the indexed lines within ``radius`` (straight-line) of any of the points.

    Parameters
    ----------
    index, xy
        The index and the (n, 2) points, as for :func:`nearest_segments`.
    radius
        Distance in the units of the coordinates (>= 0).

    Returns
    -------
    edge, start, end : numpy.ndarray
        One interval per (point, segment) pair that meet: the line's id and the part of it within
        ``radius`` of the point, as distances along the line from its first vertex (``start`` of a
        segment plus its length are summed as in the index, so a line's consecutive whole segments
        meet exactly). Neither sorted nor merged: :func:`urbancover.core.intervals.merge` unites them.

    Notes
    -----
    Exact discs (the segment's points at distance <= ``radius``, by the quadratic of the
    segment-circle intersection), not buffer polygons. Each point visits the grid cells its disc's
    bounding square overlaps and each segment listed there once: O(n k) for k segments near a
    point. Compiled with numba when installed.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> idx = SegmentIndex.from_lines([shapely.LineString([(0, 0), (10, 0), (20, 0)])])
    >>> segments_within(idx, np.array([[10.0, 3.0]]), 5.0)
    (array([0, 0]), array([ 6., 10.]), array([10., 14.]))
    """
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    radius = float(radius)
    if not radius >= 0:
        raise InputError(f"radius: expected a number >= 0, got {radius!r}.")
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
    if len(pts) == 0 or index.n_segments == 0:
        return empty
    px, py = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
    nx, ny = index.shape
    # each line's bounding box and length: a disc holding the whole box holds the whole line,
    # given once (on a city most lines near a point lie wholly in its disc)
    box, length = _line_bounds(index.x0, index.y0, index.x1, index.y1, index.edge, index.start, index.n_lines)
    box = box.reshape(4, index.n_lines)
    args = (px, py, radius, index.x0, index.y0, index.x1, index.y1, index.edge, index.start,
            index.origin[0], index.origin[1], index.cell, nx, ny, index.cell_start, index.cell_items,
            box[0], box[1], box[2], box[3], length)
    seen = np.full(index.n_segments, -1, dtype=np.int64)
    whole = np.full(index.n_lines, -1, dtype=np.int64)
    n = _within(*args, seen, whole, True, empty[0], empty[1], empty[2])
    edge, start, end = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)
    seen[:] = -1
    whole[:] = -1
    _within(*args, seen, whole, False, edge, start, end)
    return edge, start, end


def crossing_legs(barriers: SegmentIndex, a, b, tolerance: float) -> np.ndarray:
    """Boolean per leg (``a[i]`` to ``b[i]``, (n, 2) arrays): the leg crosses a segment of
    ``barriers`` farther than ``tolerance`` from both its ends (a leg along a segment, parallel to
    it, does not cross it). Each leg visits the grid cells along it: O(n k) for k segments near a
    leg. Compiled with numba when installed.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> wall = SegmentIndex.from_lines([shapely.LineString([(0, -5), (0, 5)])])
    >>> crossing_legs(wall, np.array([[-3.0, 0.0], [-3.0, 0.0]]), np.array([[3.0, 0.0], [-1.0, 0.0]]), 0.5)
    array([ True, False])
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    if len(a) == 0 or barriers.n_segments == 0:
        return np.zeros(len(a), dtype=bool)
    return _legs_blocked(np.ascontiguousarray(a[:, 0]), np.ascontiguousarray(a[:, 1]),
                         np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1]), float(tolerance),
                         *_grid_args(barriers))


def legal_segments(index: SegmentIndex, barriers: SegmentIndex, xy, nearest_m, limit: float | None, tolerance: float,
                   *, allowed: np.ndarray | None = None):
    """For each point, the nearest line of ``index`` whose leg (point to its orthogonal projection
    on the segment) does not cross ``barriers`` (:func:`crossing_legs`); see
    :func:`urbancover.network.barriers.nearest_legal`. Returns ``(edge, offset, distance, status)``: status
    0 where the plain nearest segment is legal, 1 where a farther one was taken, 2 where none within
    ``limit`` is legal (edge -1). ``nearest_m``: each point's distance to its nearest segment
    (:func:`nearest_segments`), where the search starts; ``allowed``: boolean per line, the lines
    that may be targets.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    dist = np.full(n, np.inf)
    status = np.full(n, 2, dtype=np.int64)
    if n == 0 or index.n_segments == 0:
        return edge, offset, dist, status
    lim = np.inf if limit is None else float(limit)
    ok = np.ones(index.n_lines, dtype=np.bool_) if allowed is None else np.asarray(allowed, dtype=np.bool_)
    nx, ny = index.shape
    _nearest_legal(np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1]),
                   np.ascontiguousarray(nearest_m, dtype=np.float64), lim, float(tolerance), ok,
                   index.x0, index.y0, index.x1, index.y1, index.edge, index.start, index.rank,
                   index.origin[0], index.origin[1], index.cell, nx, ny, index.cell_start, index.cell_items,
                   *_grid_args(barriers), edge, offset, dist, status)
    return edge, offset, dist, status


def _grid_args(ix: SegmentIndex):
    """A segment grid's arrays as the crossing kernels take them."""
    nx, ny = ix.shape
    return (ix.x0, ix.y0, ix.x1, ix.y1, ix.origin[0], ix.origin[1], ix.cell, nx, ny, ix.cell_start, ix.cell_items)


# -- kernels ---------------------------------------------------------------------------------------
# (Written for a short first compile, see urbancover.core.compiled: counters and flags carried
# round a loop start as np.int64(0) / np.bool_(True), not 0 / True, whose literal types make numba's
# type inference go round the loops again (2 rounds instead of 5-6, ~3x less typing); np.empty and
# loops rather than np.full/np.zeros/np.arange, two-argument min/max: each numpy function or
# min/max arity is one more compile.)
@compiled
def _segments(coords, line):
    """Segments of the lines (vertex k to k + 1 of one line), the length of each segment's edge
    before it (summed in order, as GEOS does), its rank along the edge, and the bounds
    (minx, miny, maxx, maxy) of the segments. O(vertices).
    """
    m = len(line)
    n = np.int64(0)
    for i in range(m - 1):
        if line[i + 1] == line[i]:
            n += 1
    x0, y0, x1, y1, start = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    edge, rank = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    bx0 = by0 = np.inf
    bx1 = by1 = -np.inf
    run = 0.0
    k = np.int64(0)
    s = np.int64(0)
    for i in range(m - 1):
        if line[i + 1] != line[i]:
            continue
        if s == 0 or line[i] != edge[s - 1]:
            run = 0.0
            k = np.int64(0)
        ax, ay, bx, by = coords[i, 0], coords[i, 1], coords[i + 1, 0], coords[i + 1, 1]
        x0[s], y0[s], x1[s], y1[s], edge[s] = ax, ay, bx, by, line[i]
        start[s] = run
        rank[s] = k
        dx = bx - ax
        dy = by - ay
        run += math.sqrt(dx * dx + dy * dy)
        k += 1
        bx0 = min(bx0, min(ax, bx))
        by0 = min(by0, min(ay, by))
        bx1 = max(bx1, max(ax, bx))
        by1 = max(by1, max(ay, by))
        s += 1
    return x0, y0, x1, y1, edge, start, rank, (bx0, by0, bx1, by1)


@compiled
def _zeros(n):
    """``np.zeros(n, dtype=np.int64)``, written with the np.empty every kernel uses (one numpy
    overload fewer to compile on a fresh install).
    """
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = 0
    return out


@compiled
def _crosses(ax, ay, bx, by, cx0, cy0, cx1, cy1):
    """Whether segment AB may pass through the box [cx0, cx1] x [cy0, cy1] (conservative: the
    line through AB passes within the box's half diagonal of its centre, with a margin).
    """
    dx = bx - ax
    dy = by - ay
    ln = math.sqrt(dx * dx + dy * dy)
    if ln == 0.0:
        return True
    mx = 0.5 * (cx0 + cx1)
    my = 0.5 * (cy0 + cy1)
    half = 0.5 * math.sqrt((cx1 - cx0) ** 2 + (cy1 - cy0) ** 2)
    d = abs((mx - ax) * dy - (my - ay) * dx) / ln
    return d <= half * (1.0 + 1e-9) + 1e-9


@compiled
def _cell_box(ax, ay, bx, by, minx, miny, cell, nx, ny):
    """Range of cells (i0, i1, j0, j1) of the bounding box of segment AB (with a rounding margin),
    and whether every cell of it is listed without a test (a box of at most 2 x 2 cells).
    """
    eps = cell * 1e-9
    i0 = max(0, min(nx - 1, np.int64(_floordiv(min(ax, bx) - eps - minx, cell))))
    i1 = max(0, min(nx - 1, np.int64(_floordiv(max(ax, bx) + eps - minx, cell))))
    j0 = max(0, min(ny - 1, np.int64(_floordiv(min(ay, by) - eps - miny, cell))))
    j1 = max(0, min(ny - 1, np.int64(_floordiv(max(ay, by) + eps - miny, cell))))
    return i0, i1, j0, j1, (i1 - i0 <= 1) and (j1 - j0 <= 1)


@compiled
def _floordiv(a, b):
    """``a // b`` for floats (Python's floor division, exact), ~10x faster where ``a / b`` is not
    within rounding of an integer: there ``floor(a / b)`` is the same number.
    """
    r = a / b
    f = r - math.floor(r)
    if abs(r) < 1e9 and 1e-6 < f < 1.0 - 1e-6:  # (the rounding error of r is below 1e-6 there)
        return math.floor(r)
    return a // b


@compiled
def _grid(x0, y0, x1, y1, edge, start, rank, minx, miny, cell, nx, ny):
    """The segments sorted by the cell of their midpoint (stable), and the compressed lists of the
    segments through each cell (in segment order). Two counting sorts, O(S + cells).
    """
    n = len(x0)
    mx, my = np.empty(n), np.empty(n)
    for k in range(n):  # (a loop, not array arithmetic: numba compiles a loop faster)
        mx[k] = (x0[k] + x1[k]) * 0.5
        my[k] = (y0[k] + y1[k]) * 0.5
    order = _order_by_cell(mx, my, minx, miny, cell, nx, ny)
    sx0, sy0, sx1, sy1, sstart = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    sedge, srank = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for k in range(n):
        o = order[k]
        sx0[k], sy0[k], sx1[k], sy1[k] = x0[o], y0[o], x1[o], y1[o]
        sedge[k], sstart[k], srank[k] = edge[o], start[o], rank[o]
    # count the segments through each cell, then list them
    cell_start = _zeros(nx * ny + 1)
    for s in range(n):
        i0, i1, j0, j1, single = _cell_box(sx0[s], sy0[s], sx1[s], sy1[s], minx, miny, cell, nx, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                if single or _crosses(sx0[s], sy0[s], sx1[s], sy1[s], minx + i * cell, miny + j * cell,
                                      minx + (i + 1) * cell, miny + (j + 1) * cell):
                    cell_start[j * nx + i + 1] += 1
    for c in range(nx * ny):
        cell_start[c + 1] += cell_start[c]
    fill = cell_start[:-1].copy()
    items = np.empty(cell_start[-1], dtype=np.int64)
    for s in range(n):
        i0, i1, j0, j1, single = _cell_box(sx0[s], sy0[s], sx1[s], sy1[s], minx, miny, cell, nx, ny)
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                if single or _crosses(sx0[s], sy0[s], sx1[s], sy1[s], minx + i * cell, miny + j * cell,
                                      minx + (i + 1) * cell, miny + (j + 1) * cell):
                    c = j * nx + i
                    items[fill[c]] = s
                    fill[c] += 1
    return sx0, sy0, sx1, sy1, sedge, sstart, srank, cell_start, items


@compiled
def _seg_distance(px, py, ax, ay, bx, by):
    """GEOS ``Distance::pointToSegment``, operation for operation."""
    if ax == bx and ay == by:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    dx = bx - ax
    dy = by - ay
    len2 = dx * dx + dy * dy
    r = ((px - ax) * dx + (py - ay) * dy) / len2
    if r <= 0.0:
        return math.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    if r >= 1.0:
        return math.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    s = ((ay - py) * dx - (ax - px) * dy) / len2
    return abs(s) * math.sqrt(len2)


@compiled
def _seg_measure(px, py, ax, ay, bx, by, start):
    """GEOS ``LengthIndexOfPoint::segmentNearestMeasure``: offset of the projection along the line."""
    dx = bx - ax
    dy = by - ay
    seglen = math.sqrt(dx * dx + dy * dy)
    if px == ax and py == ay:
        return start
    if px == bx and py == by:
        return start + seglen
    len2 = dx * dx + dy * dy
    if len2 <= 0.0:
        return start + seglen
    r = ((px - ax) * dx + (py - ay) * dy) / len2
    if r <= 0.0:
        return start
    if r <= 1.0:
        return start + r * seglen
    return start + seglen


@compiled
def _cell_key(px, py, minx, miny, cell, nx, ny):
    """Grid cell of each point, clamped into the grid (NaN: cell 0)."""
    n = len(px)
    key = _zeros(n)
    for q in range(n):
        fx = (px[q] - minx) / cell
        fy = (py[q] - miny) / cell
        if math.isfinite(fx) and math.isfinite(fy):
            cx = np.int64(max(0.0, min(nx - 1.0, math.floor(fx))))
            cy = np.int64(max(0.0, min(ny - 1.0, math.floor(fy))))
            key[q] = cy * nx + cx
    return key


@compiled
def _order_by_cell(px, py, minx, miny, cell, nx, ny):
    """Positions of the points sorted by grid cell (counting sort, O(n + cells))."""
    key = _cell_key(px, py, minx, miny, cell, nx, ny)
    first = _zeros(nx * ny + 1)
    for q in range(len(key)):
        first[key[q] + 1] += 1
    for c in range(nx * ny):
        first[c + 1] += first[c]
    order = np.empty(len(key), dtype=np.int64)
    for q in range(len(key)):
        order[first[key[q]]] = q
        first[key[q]] += 1
    return order


@compiled
def _query(px, py, x0, y0, x1, y1, seg_edge, seg_start, seg_rank, minx, miny, cell, nx, ny,
           cell_start, cell_items, limit, out_edge, out_offset, out_dist):
    gx1 = minx + nx * cell  # the grid covers [minx, gx1] x [miny, gy1]
    gy1 = miny + ny * cell
    for q in range(len(px)):
        x = px[q]
        y = py[q]
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        # distance from the point to the grid's box: nothing can be nearer
        ox = max(max(minx - x, 0.0), x - gx1)
        oy = max(max(miny - y, 0.0), y - gy1)
        if math.sqrt(ox * ox + oy * oy) > limit:
            continue
        # the point's cell, clamped into the grid (outside points start at the nearest cell)
        fx = (x - minx) / cell
        fy = (y - miny) / cell
        cx = np.int64(max(0.0, min(nx - 1.0, math.floor(fx))))
        cy = np.int64(max(0.0, min(ny - 1.0, math.floor(fy))))
        best = np.inf
        best_s = np.int64(-1)
        r = np.int64(0)
        rmax = max(max(cx, nx - 1 - cx), max(cy, ny - 1 - cy))
        while True:
            # cells at Chebyshev distance r from (cx, cy), inside the grid
            j0 = cy - r
            j1 = cy + r
            for j in range(max(j0, 0), min(j1, ny - 1) + 1):
                full = j == j0 or j == j1
                i = max(cx - r, 0)
                i_end = min(cx + r, nx - 1)
                while i <= i_end:
                    if full or i == cx - r or i == cx + r:
                        c = j * nx + i
                        for k in range(cell_start[c], cell_start[c + 1]):
                            s = cell_items[k]
                            d = _seg_distance(x, y, x0[s], y0[s], x1[s], y1[s])
                            if d < best or (d == best and (seg_edge[s] < seg_edge[best_s] or (
                                    seg_edge[s] == seg_edge[best_s] and seg_rank[s] < seg_rank[best_s]))):
                                best = d
                                best_s = s
                        i += 1
                    else:  # inner row of the ring: only its two ends
                        i = cx + r if cx + r <= i_end else i_end + 1
            if r >= rmax:
                break  # every cell visited
            # nearest point not yet covered by the visited block of cells
            bx0 = minx + (cx - r) * cell
            bx1 = minx + (cx + r + 1) * cell
            by0 = miny + (cy - r) * cell
            by1 = miny + (cy + r + 1) * cell
            gap = min(min(min(x - bx0 if cx - r > 0 else np.inf, bx1 - x if cx + r < nx - 1 else np.inf),
                          y - by0 if cy - r > 0 else np.inf), by1 - y if cy + r < ny - 1 else np.inf)
            # stop once every unvisited cell is farther than the best (ties included: strictly
            # farther, with a margin for rounding) or than the limit
            if gap > min(best, limit) * (1.0 + 1e-12) + 1e-9:
                break
            r += 1
        if best_s >= 0 and best <= limit and best < np.inf:  # (inf: a squared distance overflowed)
            out_edge[q] = seg_edge[best_s]
            out_dist[q] = best
            out_offset[q] = _seg_measure(x, y, x0[best_s], y0[best_s], x1[best_s], y1[best_s], seg_start[best_s])


@compiled
def _within(px, py, r, x0, y0, x1, y1, seg_edge, seg_start, minx, miny, cell, nx, ny, cell_start, cell_items,
            bx0, by0, bx1, by1, line_length, seen, whole, count_only, out_edge, out_start, out_end):
    """Count (or write) the parts of segments within ``r`` of each point; returns the count. A line
    whose bounding box lies in a point's disc is given whole once for that point (``whole``).
    """
    k = np.int64(0)
    r2 = r * r
    for q in range(len(px)):
        x = px[q]
        y = py[q]
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        i0 = max(0, math.floor((x - r - minx) / cell))
        i1 = min(nx - 1, math.floor((x + r - minx) / cell))
        j0 = max(0, math.floor((y - r - miny) / cell))
        j1 = min(ny - 1, math.floor((y + r - miny) / cell))
        for j in range(j0, j1 + 1):
            for i in range(i0, i1 + 1):
                c = j * nx + i
                for t in range(cell_start[c], cell_start[c + 1]):
                    s = cell_items[t]
                    if seen[s] == q:
                        continue
                    seen[s] = q
                    e = seg_edge[s]
                    if whole[e] == q:
                        continue
                    fx = max(abs(bx0[e] - x), abs(bx1[e] - x))
                    fy = max(abs(by0[e] - y), abs(by1[e] - y))
                    if fx * fx + fy * fy <= r2:  # the box's farthest corner is in the disc
                        whole[e] = q
                        if not count_only:
                            out_edge[k] = e
                            out_start[k] = 0.0
                            out_end[k] = line_length[e]
                        k += 1
                        continue
                    dx = x1[s] - x0[s]
                    dy = y1[s] - y0[s]
                    a = dx * dx + dy * dy
                    if a == 0.0:
                        continue
                    fx = x0[s] - x
                    fy = y0[s] - y
                    b = fx * dx + fy * dy  # half the linear coefficient
                    cc = fx * fx + fy * fy - r2
                    disc = b * b - a * cc
                    if disc <= 0.0:
                        continue
                    root = math.sqrt(disc)
                    ta = max((-b - root) / a, 0.0)
                    tb = min((-b + root) / a, 1.0)
                    if ta >= tb:
                        continue
                    if not count_only:
                        ln = math.sqrt(a)
                        out_edge[k] = e
                        out_start[k] = seg_start[s] + ta * ln
                        # a whole segment ends where the next one starts, to the last bit
                        out_end[k] = seg_start[s] + (ln if tb == 1.0 else tb * ln)
                    k += 1
    return k


@compiled
def _line_bounds(x0, y0, x1, y1, seg_edge, seg_start, m):
    """Bounding box (minx, miny, maxx, maxy: 4 rows of m, flat) and length of each line, from its
    segments in any order.
    """
    box = np.empty(4 * m)
    length = np.empty(m)
    for e in range(m):
        box[e] = np.inf
        box[m + e] = np.inf
        box[2 * m + e] = -np.inf
        box[3 * m + e] = -np.inf
        length[e] = 0.0
    for s in range(len(x0)):
        e = seg_edge[s]
        box[e] = min(min(box[e], x0[s]), x1[s])
        box[m + e] = min(min(box[m + e], y0[s]), y1[s])
        box[2 * m + e] = max(max(box[2 * m + e], x0[s]), x1[s])
        box[3 * m + e] = max(max(box[3 * m + e], y0[s]), y1[s])
        dx = x1[s] - x0[s]
        dy = y1[s] - y0[s]
        length[e] = max(length[e], seg_start[s] + math.sqrt(dx * dx + dy * dy))
    return box, length


@compiled
def _blocked(ax, ay, bx, by, tol, x0, y0, x1, y1, minx, miny, cell, nx, ny, cell_start, cell_items, seen, stamp):
    """Whether leg AB crosses a barrier segment more than ``tol`` from both its ends (``seen``:
    per-segment stamps, ``stamp`` this leg's, so a segment listed in several cells is tested once).
    """
    dx = bx - ax
    dy = by - ay
    ln = math.sqrt(dx * dx + dy * dy)
    if not ln > 2.0 * tol:
        return False
    i0, i1, j0, j1, single = _cell_box(ax, ay, bx, by, minx, miny, cell, nx, ny)
    for j in range(j0, j1 + 1):
        for i in range(i0, i1 + 1):
            if not single and not _crosses(ax, ay, bx, by, minx + i * cell, miny + j * cell,
                                           minx + (i + 1) * cell, miny + (j + 1) * cell):
                continue
            c = j * nx + i
            for k in range(cell_start[c], cell_start[c + 1]):
                s = cell_items[k]
                if seen[s] == stamp:
                    continue
                seen[s] = stamp
                ex = x1[s] - x0[s]
                ey = y1[s] - y0[s]
                den = dx * ey - dy * ex
                if den == 0.0:
                    continue  # parallel: running along a barrier is not crossing it
                wx = x0[s] - ax
                wy = y0[s] - ay
                t = (wx * ey - wy * ex) / den
                u = (wx * dy - wy * dx) / den
                if t < 0.0 or t > 1.0 or u < 0.0 or u > 1.0:
                    continue
                along = t * ln
                if along <= tol or ln - along <= tol:
                    continue
                return True
    return False


@compiled
def _legs_blocked(ax, ay, bx, by, tol, x0, y0, x1, y1, minx, miny, cell, nx, ny, cell_start, cell_items):
    out = np.empty(len(ax), dtype=np.bool_)
    seen = np.empty(len(x0), dtype=np.int64)  # (np.empty and a loop: np.full is one more compile)
    for s in range(len(x0)):
        seen[s] = -1
    for q in range(len(ax)):
        out[q] = _blocked(ax[q], ay[q], bx[q], by[q], tol, x0, y0, x1, y1, minx, miny, cell, nx, ny,
                          cell_start, cell_items, seen, q)
    return out


@compiled
def _nearest_legal(px, py, d0, limit, tol, allowed,
                   x0, y0, x1, y1, seg_edge, seg_start, seg_rank, minx, miny, cell, nx, ny, cell_start, cell_items,
                   bx0, by0, bx1, by1, bminx, bminy, bcell, bnx, bny, bcell_start, bcell_items,
                   out_edge, out_offset, out_dist, out_status):
    nseg = len(x0)
    seen = np.empty(nseg, dtype=np.int64)  # (np.empty and loops: np.full is one more compile)
    for s in range(nseg):
        seen[s] = -1
    bseen = np.empty(len(bx0), dtype=np.int64)
    for s in range(len(bx0)):
        bseen[s] = -1
    cand = np.empty(nseg, dtype=np.int64)
    cd = np.empty(nseg)
    stamp = np.int64(0)
    bstamp = np.int64(0)
    for q in range(len(px)):
        x = px[q]
        y = py[q]
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(d0[q])):
            continue
        lo = -1.0
        r = min(d0[q] * (1.0 + 1e-9) + 1e-9, limit)
        first = np.bool_(True)
        done = np.bool_(False)
        while not done:
            stamp += 1
            n = np.int64(0)
            i0 = max(0, math.floor((x - r - minx) / cell))
            i1 = min(nx - 1, math.floor((x + r - minx) / cell))
            j0 = max(0, math.floor((y - r - miny) / cell))
            j1 = min(ny - 1, math.floor((y + r - miny) / cell))
            for j in range(j0, j1 + 1):
                for i in range(i0, i1 + 1):
                    c = j * nx + i
                    for k in range(cell_start[c], cell_start[c + 1]):
                        s = cell_items[k]
                        if seen[s] == stamp:
                            continue
                        seen[s] = stamp
                        if not allowed[seg_edge[s]]:
                            continue
                        d = _seg_distance(x, y, x0[s], y0[s], x1[s], y1[s])
                        if d <= lo or d > r:
                            continue
                        cand[n] = s
                        cd[n] = d
                        n += 1
            # by distance, then lowest edge, then first segment along it (the plain kernel's ties)
            keys = cand[:n]
            o = _by_distance(keys, cd, seg_edge, seg_rank)
            for m in range(n):
                s = keys[o[m]]
                ax, ay, bx, by = x0[s], y0[s], x1[s], y1[s]
                ex = bx - ax
                ey = by - ay
                len2 = ex * ex + ey * ey
                t = 0.0 if len2 == 0.0 else ((x - ax) * ex + (y - ay) * ey) / len2
                t = min(max(t, 0.0), 1.0)
                bstamp += 1
                if _blocked(x, y, ax + t * ex, ay + t * ey, tol, bx0, by0, bx1, by1, bminx, bminy, bcell, bnx, bny,
                            bcell_start, bcell_items, bseen, bstamp):
                    first = False
                    continue
                out_edge[q] = seg_edge[s]
                out_dist[q] = cd[o[m]]
                out_offset[q] = _seg_measure(x, y, ax, ay, bx, by, seg_start[s])
                out_status[q] = 0 if first else 1
                done = True
                break
            if done:
                break
            first = False
            if r >= limit:
                out_status[q] = 2
                break
            lo = r
            r = min(max(2.0 * r, r + 20.0), limit)
    return 0


@compiled
def _before(i, j, keys, cd, seg_edge, seg_rank):
    """Whether candidate ``i`` comes before ``j``: nearer, then lower edge, then first along it
    (a total order: no two candidates are the same segment).
    """
    if cd[i] != cd[j]:
        return cd[i] < cd[j]
    a, b = keys[i], keys[j]
    if seg_edge[a] != seg_edge[b]:
        return seg_edge[a] < seg_edge[b]
    return seg_rank[a] < seg_rank[b]


@compiled
def _by_distance(keys, cd, seg_edge, seg_rank):
    """Positions ``0..n-1`` of the ``n = len(keys)`` candidates in :func:`_before` order: a heap sort, O(n log n),
    written out (numba's own argsort costs ~1 s of compiling per key type on a fresh install; the
    sift is written in, not a function of its own: each compiled function costs ~0.1 s on a fresh install).
    """
    n = len(keys)  # (not an argument: a literal 0 in the caller would compile a second specialisation)
    o = np.empty(n, dtype=np.int64)
    for i in range(n):
        o[i] = i
    start = n // 2  # heapify (sift each root from n // 2 - 1 down to 0), then pop the largest to the end
    end = n
    while end > 1:
        if start > 0:
            start -= 1
            root = start
        else:
            end -= 1
            o[0], o[end] = o[end], o[0]
            root = np.int64(0)
        while True:  # move o[root] down the max-heap o[:end]
            child = 2 * root + 1
            if child >= end:
                break
            if child + 1 < end and _before(o[child], o[child + 1], keys, cd, seg_edge, seg_rank):
                child += 1
            if not _before(o[root], o[child], keys, cd, seg_edge, seg_rank):
                break
            o[root], o[child] = o[child], o[root]
            root = child
    return o
