"""The nearest-segment kernel (urbancover.network.nearest) against GEOS through shapely.

The reference for every point is independent of the kernel: ``STRtree.query_nearest(all_matches=True)``
gives GEOS's nearest distance and the set of edges at exactly that distance; the kernel must return
the same distance (to 1e-9 m: it uses GEOS's formulas, so in practice bit for bit), an edge of that
set, the lowest one (its documented tie rule), and the offset ``shapely.line_locate_point`` gives on
that edge.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely
from helpers import SHANGHAI, SHENZHEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import urbancover as uc
from urbancover.core.errors import InputError
from urbancover.network.nearest import SegmentIndex, nearest_segments


def _reference(lines: np.ndarray, xy: np.ndarray, max_distance=None):
    """GEOS's answer: (lowest nearest edge, its line_locate_point offset, distance), -1/NaN/inf if none."""
    n = len(xy)
    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    dist = np.full(n, np.inf)
    ok = np.isfinite(xy).all(axis=1)
    pts = shapely.points(xy[ok])
    present = np.flatnonzero(~(shapely.is_missing(lines) | shapely.is_empty(lines)))
    if len(present) == 0 or len(pts) == 0:
        return edge, offset, dist
    kw = {} if max_distance is None else {"max_distance": max_distance}
    (qi, ei), d = shapely.STRtree(lines[present]).query_nearest(pts, return_distance=True, all_matches=True, **kw)
    ei = present[ei]
    rows = np.flatnonzero(ok)[qi]
    # lowest edge among the exact ties of each point
    order = np.lexsort((ei, rows))
    rows, ei, d = rows[order], ei[order], d[order]
    first = np.r_[True, rows[1:] != rows[:-1]]
    rows, ei, d = rows[first], ei[first], d[first]
    edge[rows] = ei
    dist[rows] = d
    offset[rows] = shapely.line_locate_point(lines[ei], shapely.points(xy[rows]))
    return edge, offset, dist


def _check(lines, xy, max_distance=None):
    lines = np.asarray(lines, dtype=object)
    xy = np.asarray(xy, dtype=float)
    e, o, d = nearest_segments(SegmentIndex.from_lines(lines), xy, max_distance=max_distance)
    re, ro, rd = _reference(lines, xy, max_distance)
    np.testing.assert_array_equal(e, re)
    np.testing.assert_allclose(d, rd, rtol=0, atol=1e-9)
    np.testing.assert_allclose(o, ro, rtol=0, atol=1e-9)
    return e, o, d


def _random_network(rng, n_lines, extent=1000.0, snap=None):
    """Random polylines of 2-6 vertices (some repeated vertices); ``snap`` rounds the coordinates
    to a lattice so that many points are exactly equidistant from several edges."""
    lines = []
    for _ in range(n_lines):
        k = rng.integers(2, 7)
        start = rng.uniform(0, extent, 2)
        steps = rng.normal(0, extent / 20, (k - 1, 2))
        xy = np.vstack([start, start + np.cumsum(steps, axis=0)])
        if rng.random() < 0.1:
            xy = np.insert(xy, 1, xy[0], axis=0)  # a zero-length segment
        if snap:
            xy = np.round(xy / snap) * snap
        lines.append(shapely.LineString(xy))
    return np.array(lines, dtype=object)


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_match_geos(seed):
    rng = np.random.default_rng(seed)
    lines = _random_network(rng, 300)
    coords = shapely.get_coordinates(lines)
    xy = np.vstack([
        rng.uniform(-200, 1200, (3000, 2)),  # anywhere, also outside the network's bounds
        coords[rng.choice(len(coords), 300)],  # exactly on vertices (ties between edges)
        shapely.get_coordinates(shapely.line_interpolate_point(lines[:200], rng.uniform(0, 1, 200), normalized=True)),
    ])
    _check(lines, xy)


def test_lattice_networks_with_many_exact_ties():
    """Integer coordinates: points at lattice positions are often exactly equidistant from several
    edges, so the lowest-edge rule decides most answers."""
    rng = np.random.default_rng(7)
    lines = _random_network(rng, 200, extent=60, snap=1.0)
    xy = rng.integers(-5, 70, (3000, 2)).astype(float) + rng.choice([0.0, 0.5], (3000, 2))
    e, _, _ = _check(lines, xy)
    assert (e >= 0).all()


@pytest.mark.parametrize("path", [SHENZHEN, SHANGHAI], ids=["shenzhen", "shanghai"])
def test_samples_match_geos(path):
    net = uc.walk_network(path)
    lines = net.geometry
    rng = np.random.default_rng(0)
    minx, miny, maxx, maxy = net.edges.total_bounds
    coords = shapely.get_coordinates(lines)
    xy = np.vstack([
        np.column_stack([rng.uniform(minx - 100, maxx + 100, 5000), rng.uniform(miny - 100, maxy + 100, 5000)]),
        coords[rng.choice(len(coords), 1000)],
        shapely.get_coordinates(net.nodes.geometry.values),
    ])
    _check(lines, xy)


def test_max_distance_leaves_far_points_unanswered():
    rng = np.random.default_rng(3)
    lines = _random_network(rng, 100)
    xy = rng.uniform(-3000, 4000, (2000, 2))
    e, o, d = _check(lines, xy, max_distance=150.0)
    _, _, full = nearest_segments(SegmentIndex.from_lines(lines), xy)
    assert ((e == -1) == (full > 150.0)).all()
    assert (e == -1).any() and (e >= 0).any()
    assert np.isnan(o[e == -1]).all() and np.isinf(d[e == -1]).all()


def test_hand_worked_example():
    """Edge 0 runs (0,0) -> (10,0) -> (10,10) (length 20); edge 1 runs (0,5) -> (10,5).
    (3, 1): 1 m from edge 0 at offset 3, 4 m from edge 1 -> (0, 3, 1).
    (12, 7): 2 m east of edge 0's second segment, projection at (10, 7) -> offset 10 + 7 = 17.
    (5, 2.5): 2.5 m from both edges: the tie goes to edge 0, offset 5.
    (10, 5): on edge 0 (offset 15) and at edge 1's end (offset 10): distance 0 to both -> edge 0.
    (-3, 9): nearest point (0, 5) of edge 1 at 5 m (edge 0 is sqrt(9 + 81) away) -> (1, 0, 5).
    """
    lines = [shapely.LineString([(0, 0), (10, 0), (10, 10)]), shapely.LineString([(0, 5), (10, 5)])]
    e, o, d = nearest_segments(SegmentIndex.from_lines(lines), [(3, 1), (12, 7), (5, 2.5), (10, 5), (-3, 9)])
    assert e.tolist() == [0, 0, 0, 0, 1]
    np.testing.assert_allclose(o, [3, 17, 5, 15, 0])
    np.testing.assert_allclose(d, [1, 2, 2.5, 0, 5])


def test_edge_cases():
    lines = [None, shapely.LineString([(0, 0), (100, 0)]), shapely.LineString(), shapely.LineString([(50, 50), (50, 50)])]
    idx = SegmentIndex.from_lines(lines)
    assert idx.n_lines == 4 and idx.n_segments == 2
    xy = [(np.nan, 0), (0, np.inf), (1e9, 0), (-1e9, -1e9), (50, 49), (50, 50), (50, 51)]
    e, o, d = nearest_segments(idx, xy)
    assert e.tolist() == [-1, -1, 1, 1, 3, 3, 3]  # missing and empty lines are never nearest
    assert np.isnan(o[:2]).all() and np.isinf(d[:2]).all()
    assert o[2] == 100 and d[2] == 1e9 - 100
    assert o[3] == 0 and d[3] == pytest.approx(np.hypot(1e9, 1e9))
    np.testing.assert_allclose(d[4:], [1, 0, 1])  # the one-point line: distance to its point
    np.testing.assert_allclose(o[4:], 0)
    _check(lines, np.asarray(xy)[2:])
    # far points beyond max_distance, and no points at all
    assert nearest_segments(idx, [(1e9, 0)], max_distance=1e6)[0].tolist() == [-1]
    e, o, d = nearest_segments(idx, np.zeros((0, 2)))
    assert len(e) == len(o) == len(d) == 0


def test_empty_network_and_collinear_network():
    for lines in ([], [None, shapely.LineString()]):
        idx = SegmentIndex.from_lines(np.array(lines, dtype=object))
        e, o, d = nearest_segments(idx, [(0.0, 0.0), (5.0, 5.0)])
        assert e.tolist() == [-1, -1] and np.isnan(o).all() and np.isinf(d).all()
    # every segment on one horizontal line (a grid of zero height)
    lines = np.array([shapely.LineString([(10.0 * i, 0), (10.0 * i + 10, 0)]) for i in range(1000)], dtype=object)
    idx = SegmentIndex.from_lines(lines)
    assert idx.shape[1] == 1
    rng = np.random.default_rng(1)
    _check(lines, np.column_stack([rng.uniform(-100, 10100, 2000), rng.uniform(-50, 50, 2000)]))


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="LineString"):
        SegmentIndex.from_lines([shapely.MultiLineString([[(0, 0), (1, 0)], [(2, 0), (3, 0)]])])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # shapely's own note on the NaN
        nan_line = shapely.LineString([(0, 0), (np.nan, 1)])
    with pytest.raises(InputError, match="NaN"):
        SegmentIndex.from_lines([nan_line])
    idx = SegmentIndex.from_lines([shapely.LineString([(0, 0), (1, 0)])])
    with pytest.raises(InputError, match=r"\(n, 2\)"):
        nearest_segments(idx, np.zeros(3))
    with pytest.raises(InputError, match="max_distance"):
        nearest_segments(idx, [(0, 0)], max_distance=-1)


coord = st.integers(-20, 20).map(float)
point = st.tuples(coord, coord)


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.lists(point, min_size=2, max_size=5), min_size=1, max_size=12),
       pts=st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)).map(lambda p: (p[0] / 2, p[1] / 2)),
                    min_size=1, max_size=30))
def test_properties_on_small_lattice_networks(lines, pts):
    """Brute force over every edge with shapely.distance: the kernel's distance is the minimum, its
    edge the lowest at that distance, and the point at its offset along that edge is that far away."""
    geoms = np.array([shapely.LineString(ln) for ln in lines], dtype=object)
    xy = np.array(pts, dtype=float)
    e, o, d = nearest_segments(SegmentIndex.from_lines(geoms), xy)
    all_d = shapely.distance(shapely.points(xy)[:, None], geoms[None, :])
    best = all_d.min(axis=1)
    np.testing.assert_allclose(d, best, rtol=0, atol=1e-9)
    assert (e == np.argmax(all_d == best[:, None], axis=1)).all()
    length = shapely.length(geoms[e])
    assert ((o >= 0) & (o <= length + 1e-9)).all()
    foot = shapely.line_interpolate_point(geoms[e], o)
    np.testing.assert_allclose(shapely.distance(foot, shapely.points(xy)), d, rtol=0, atol=1e-6)


def _index_is_complete(lines):
    """Brute force over every (segment, cell) pair of the index's grid: each segment is listed in
    every cell whose closed box it meets, once, in segment order; segments are sorted by the cell of
    their midpoint; ``start`` is the length of the line before the segment, ``rank`` its position."""
    lines = np.asarray(lines, dtype=object)
    idx = SegmentIndex.from_lines(lines)
    (ox, oy), c, (nx, ny) = idx.origin, idx.cell, idx.shape
    segs = shapely.linestrings(np.stack([np.c_[idx.x0, idx.y0], np.c_[idx.x1, idx.y1]], axis=1))
    jj, ii = np.divmod(np.arange(nx * ny), nx)
    boxes = shapely.box(ox + ii * c, oy + jj * c, ox + (ii + 1) * c, oy + (jj + 1) * c)
    meets = shapely.intersects(segs[:, None], boxes[None, :])
    for cell in range(nx * ny):
        listed = idx.cell_items[idx.cell_start[cell]:idx.cell_start[cell + 1]]
        assert (np.diff(listed) > 0).all()
        assert set(np.flatnonzero(meets[:, cell])) <= set(listed.tolist()), cell
    key = (np.clip(np.floor(((idx.y0 + idx.y1) / 2 - oy) / c), 0, ny - 1) * nx
           + np.clip(np.floor(((idx.x0 + idx.x1) / 2 - ox) / c), 0, nx - 1))
    assert (np.diff(key) >= 0).all()
    # start and rank, from each line's own vertices
    for e in np.unique(idx.edge):
        xy = shapely.get_coordinates(lines[e])
        mine = np.flatnonzero(idx.edge == e)
        mine = mine[np.argsort(idx.rank[mine])]
        np.testing.assert_array_equal(idx.rank[mine], np.arange(len(xy) - 1))
        np.testing.assert_array_equal(np.c_[idx.x0[mine], idx.y0[mine]], xy[:-1])
        np.testing.assert_allclose(idx.start[mine], np.r_[0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))[:-1]],
                                   rtol=0, atol=1e-9)
    return idx


@pytest.mark.parametrize("seed", range(3))
def test_index_lists_every_segment_in_every_cell_it_meets(seed):
    rng = np.random.default_rng(seed)
    lines = _random_network(rng, 60, extent=300)
    lines[rng.random(len(lines)) < 0.1] = None  # missing lines: an id, no segment
    _index_is_complete(lines)


def test_index_of_lattice_lines_on_cell_boundaries():
    """Lines on a lattice of 0.1 m steps: many vertices fall on (or within rounding of) cell
    boundaries, where float floor division and floor(a / b) part ways."""
    rng = np.random.default_rng(11)
    lines = _random_network(rng, 80, extent=40, snap=0.1)
    lines = np.r_[lines, [shapely.LineString([(0, 0), (40, 0)]), shapely.LineString([(0, 0), (0, 40)])]]
    _index_is_complete(lines)


def test_floor_division_matches_python():
    """The grid's cell arithmetic (nearest._floordiv) is Python's ``a // b`` exactly, also where
    ``floor(a / b)`` is off by one (1.0 / 0.1 rounds to 10.0, but 1.0 // 0.1 is 9.0)."""
    from urbancover.network.nearest import _floordiv

    assert 1.0 // 0.1 == 9.0 and np.floor(1.0 / 0.1) == 10.0  # (the trap itself)
    assert _floordiv(1.0, 0.1) == 9.0
    rng = np.random.default_rng(5)
    b = rng.uniform(0.01, 200, 3000)
    k = rng.integers(-1000, 1000, 3000).astype(float)
    for a in (k * b, np.nextafter(k * b, np.inf), np.nextafter(k * b, -np.inf), rng.uniform(-1e5, 1e5, 3000)):
        got = np.array([_floordiv(x, y) for x, y in zip(a, b)])
        np.testing.assert_array_equal(got, [x // y for x, y in zip(a.tolist(), b.tolist())])


def test_lines_in_boxes_holds_every_line_that_meets_a_box(monkeypatch):
    """Random streets (long ones crossing many cells, short ones, a zero-length one) and random
    boxes (points, thin, large, some beyond the grid): every (box, line) pair whose shapes meet, as
    shapely says, is among the pairs; each pair once; sorted by line, then box; and the grid keeps
    most far-apart pairs out (it is an index, not everything)."""
    import numpy as np
    import shapely

    from urbancover.network.nearest import SegmentIndex, lines_in_boxes

    rng = np.random.default_rng(11)
    starts = rng.uniform(0, 1000, (300, 2))
    ends = starts + rng.normal(0, 60, (300, 2))
    ends[:5] = starts[:5] + rng.uniform(-900, 900, (5, 2))  # long streets
    ends[5] = starts[5]  # zero length
    mids = (starts + ends) / 2 + rng.normal(0, 10, (300, 2))
    lines = shapely.linestrings(np.stack([starts, mids, ends], axis=1))
    index = SegmentIndex.from_lines(lines)
    lo = rng.uniform(-100, 1100, (200, 2))
    size = rng.choice([0.0, 1.0, 30.0, 400.0], (200, 2))
    boxes = np.c_[lo, lo + size]
    boxes[0] = [-500.0, -500.0, -400.0, -400.0]  # beyond the grid: meets nothing
    boxes[1] = np.nan  # an empty geometry's bounds
    b, line = lines_in_boxes(index, boxes)
    polys = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
    want_b, want_l = shapely.STRtree(lines).query(polys, predicate="intersects")
    got = set(zip(b.tolist(), line.tolist()))
    assert set(zip(want_b.tolist(), want_l.tolist())) <= got
    assert len(got) == len(b)
    assert np.all(np.diff(line * 1000 + b) > 0)
    assert 1 not in set(b.tolist())
    assert len(got) < 0.2 * len(boxes) * len(lines)
    # the same pairs, in the same order, when the boxes are looked up a few cells at a time
    from urbancover.network import nearest

    monkeypatch.setattr(nearest, "_BOX_CELLS", 7)
    b2, line2 = lines_in_boxes(index, boxes)
    assert np.array_equal(b2, b) and np.array_equal(line2, line)
