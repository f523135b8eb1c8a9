"""Properties every correct distance engine has, on the samples and on random small graphs.

* network distance >= straight-line distance;
* coverage never shrinks when the radius grows, and a cut-off only turns distances into inf;
* distances from a union of source sets are the minimum of the distances from each part
  (so adding a source never increases a distance);
* the order of source rows does not matter;
* giving the same places in EPSG:4326 or in the projected CRS gives the same distances;
* on random grid graphs (hypothesis), distances equal the networkx reference.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import CRS, TOUCH, X0, Y0, hand_reference, line, lines_gdf, points
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import urbancover as uc

pytestmark = pytest.mark.filterwarnings("ignore:.*from every walkable edge:UserWarning")


def random_points(net, n, rng):
    minx, miny, maxx, maxy = net.bounds
    return gpd.GeoSeries(shapely.points(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)), crs=net.crs)


@pytest.fixture(scope="module")
def places(shenzhen_net, shenzhen_osm):
    """Sources (random points and park/garden polygons) and targets on the Shenzhen sample."""
    rng = np.random.default_rng(2018)
    net = shenzhen_net
    f = shenzhen_osm.projected("features")
    parks = f[f.leisure.isin(["park", "garden"])].geometry.to_numpy()
    sources = gpd.GeoSeries(np.r_[random_points(net, 30, rng).to_numpy(), parks], crs=net.crs)
    targets = random_points(net, 400, rng)
    return sources, targets


# -- sample ------------------------------------------------------------------------------------
def test_network_distance_at_least_straight_line(shenzhen_net, places):
    sources, targets = places
    d = uc.network_distance(shenzhen_net, sources, targets)
    sl = uc.straight_line_distance(sources, targets, crs=shenzhen_net.crs)
    # straight line, independently: brute force over all sources
    brute = shapely.distance(targets.to_numpy()[:, None], sources.to_numpy()[None, :]).min(axis=1)
    np.testing.assert_allclose(sl, brute, atol=1e-6)
    fin = np.isfinite(d)
    assert fin.sum() > 300
    assert np.all(d[fin] >= sl[fin] - 1e-6)
    # and with a cut-off, straight-line distances beyond it are inf
    sl300 = uc.straight_line_distance(sources, targets, crs=shenzhen_net.crs, cutoff=300)
    assert np.array_equal(np.isinf(sl300), brute > 300)
    np.testing.assert_allclose(sl300[brute <= 300], brute[brute <= 300], atol=1e-6)


def test_coverage_grows_with_radius(shenzhen_net, places):
    sources, targets = places
    net = shenzhen_net
    full = uc.network_distance(net, sources, targets)
    radii = [0.0, 50.0, 150.0, 300.0, 500.0, 800.0, 1200.0]
    field = uc.distance_field(net, sources, cutoff=max(radii))
    shares, lengths, prev = [], [], None
    for r in radii:
        # an independent Dijkstra pass with cut-off r: exactly the full distances that are <= r
        d = uc.network_distance(net, sources, targets, cutoff=r)
        expected = np.where(full <= r, full, np.inf)
        np.testing.assert_allclose(d, expected, atol=1e-9)
        shares.append(np.mean(d <= r))
        cov = field.edge_coverage(r)
        lengths.append(cov["covered_length"].sum())
        # per edge, too, and the covered intervals at r lie inside those at the next radius
        if prev is not None:
            assert np.all(cov["covered_length"].to_numpy() >= prev["covered_length"].to_numpy() - 1e-9)
        prev = cov
        # the module-level function (its own pass with cut-off r) agrees with the shared field
        if r in (150.0, 500.0):
            own = uc.edge_coverage(net, sources, r)
            np.testing.assert_allclose(own["covered_length"], cov["covered_length"], atol=1e-6)
        assert np.all(cov["covered_length"] <= net.length + 1e-9)
        assert np.all((cov["covered_share"] >= 0) & (cov["covered_share"] <= 1 + 1e-12))
    assert np.all(np.diff(shares) >= 0) and shares[-1] > shares[1]
    assert np.all(np.diff(lengths) >= -1e-6) and lengths[-1] > lengths[1]
    # intervals are nested: every interval at 300 lies inside one at 500
    e3, a3, b3 = field.covered_intervals(300)
    e5, a5, b5 = field.covered_intervals(500)
    for e, a, b in zip(e3, a3, b3):
        sel = e5 == e
        assert np.any((a5[sel] <= a + 1e-9) & (b5[sel] >= b - 1e-9))


def test_union_of_sources_is_the_minimum(shenzhen_net, places):
    sources, targets = places
    net = shenzhen_net
    a, b = sources.iloc[::2], sources.iloc[1::2]
    da = uc.network_distance(net, a, targets)
    db = uc.network_distance(net, b, targets)
    dab = uc.network_distance(net, pd_concat(a, b), targets)
    np.testing.assert_allclose(dab, np.minimum(da, db), atol=1e-9)
    # adding one more source never increases any distance
    extra = random_points(net, 1, np.random.default_rng(1))
    dplus = uc.network_distance(net, pd_concat(sources, extra), targets)
    d = uc.network_distance(net, sources, targets)
    assert np.all(dplus <= d + 1e-9)


def pd_concat(a, b):
    return gpd.GeoSeries(np.r_[a.to_numpy(), b.to_numpy()], crs=a.crs)


def test_source_order_does_not_matter(shenzhen_net, places):
    sources, targets = places
    net = shenzhen_net
    d, s = uc.network_distance(net, sources, targets, return_source=True)
    perm = np.random.default_rng(4).permutation(len(sources))
    d2, s2 = uc.network_distance(net, sources.iloc[perm], targets, return_source=True)
    np.testing.assert_allclose(d2, d, atol=1e-9)
    # the reported source is the same facility (its position in the permuted input maps back),
    # unless two facilities are exactly as near (polygons overlapping a target give 0 for both)
    same = np.where(s2 >= 0, perm[np.maximum(s2, 0)], -1) == s
    assert np.mean(same) > 0.98
    # and the order of target rows neither
    tperm = np.random.default_rng(5).permutation(len(targets))
    np.testing.assert_allclose(uc.network_distance(net, sources, targets.iloc[tperm]), d[tperm], atol=1e-9)


def test_same_distances_in_wgs84_and_projected(shenzhen_osm, shenzhen_net, places):
    sources, targets = places
    net = shenzhen_net
    d = uc.network_distance(net, sources, targets)
    d84 = uc.network_distance(net, sources.to_crs(4326), targets.to_crs(4326))
    np.testing.assert_allclose(d84, d, atol=1e-3)
    assert np.array_equal(np.isinf(d84), np.isinf(d))
    # a network built from the ways in EPSG:4326 and one built from them already projected
    ways = shenzhen_osm.ways
    net84 = uc.walk_network(ways)
    netp = uc.walk_network(ways.to_crs(net.crs))
    assert net84.crs == netp.crs == net.crs  # the UTM zone of the data (EPSG:32650)
    assert net84.n_edges == netp.n_edges == net.n_edges
    np.testing.assert_allclose(net84.length.sum(), net.length.sum(), rtol=1e-9)
    for other in (net84, netp):
        np.testing.assert_allclose(uc.network_distance(other, sources, targets), d, atol=1e-3)


def test_same_distances_for_a_layer_without_node_ids_in_wgs84():
    # Lines without node ids are joined on coordinates; reprojecting them must not break joins.
    lines = [line((0, 0), (100, 0), (200, 0)), line((100, 0), (100, 150)), line((200, 0), (200, 90), (100, 150))]
    g = lines_gdf(*lines)
    netp = uc.walk_network(g, filter=None)
    net84 = uc.walk_network(g.to_crs(4326), filter=None)
    assert net84.crs.to_epsg() == 32650
    assert net84.n_edges == netp.n_edges and net84.n_nodes == netp.n_nodes
    src = points((10, 5), (190, 100))
    tg = points((100, 140), (150, -20), (205, 40), (-30, 0))
    dp = uc.network_distance(netp, src, tg)
    np.testing.assert_allclose(uc.network_distance(net84, src.to_crs(4326), tg.to_crs(4326)), dp, atol=1e-3)
    np.testing.assert_allclose(dp, hand_reference(lines, src, tg)[0], atol=1e-6)


# -- random grid graphs --------------------------------------------------------------------------
@st.composite
def grid_case(draw):
    nx_, ny = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    dx, dy = draw(st.floats(30, 150)), draw(st.floats(30, 150))
    jitter = st.floats(-0.3, 0.3)
    xy = {(i, j): (i * dx + draw(jitter) * dx, j * dy + draw(jitter) * dy) for i in range(nx_) for j in range(ny)}
    pairs = [((i, j), (i + 1, j)) for i in range(nx_ - 1) for j in range(ny)]
    pairs += [((i, j), (i, j + 1)) for i in range(nx_) for j in range(ny - 1)]
    keep = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    if not any(keep):
        keep[0] = True
    lines = []
    for (a, b), k in zip(pairs, keep):
        if not k:
            continue
        pa, pb = xy[a], xy[b]
        bend = draw(st.floats(-0.4, 0.4))
        mid = ((pa[0] + pb[0]) / 2 - bend * (pb[1] - pa[1]), (pa[1] + pb[1]) / 2 + bend * (pb[0] - pa[0]))
        pts = [pa, mid, pb] if abs(bend) > 0.05 else [pa, pb]
        if draw(st.booleans()):
            pts = pts[::-1]  # edges run either way
        lines.append(shapely.LineString([(X0 + x, Y0 + y) for x, y in pts]))
    w, h = (nx_ - 1) * dx, (ny - 1) * dy
    coord = st.tuples(st.floats(-0.3 * dx, w + 0.3 * dx), st.floats(-0.3 * dy, h + 0.3 * dy))
    srcs = draw(st.lists(coord, min_size=1, max_size=4))
    tgts = draw(st.lists(coord, min_size=1, max_size=8))
    box = None
    if draw(st.booleans()):
        cx, cy = draw(coord)
        hw, hh = draw(st.floats(3, 0.4 * dx)), draw(st.floats(3, 0.4 * dy))
        box = shapely.box(X0 + cx - hw, Y0 + cy - hh, X0 + cx + hw, Y0 + cy + hh)
    cutoff = draw(st.none() | st.floats(0, 2 * (w + h)))
    return lines, srcs, tgts, box, cutoff


def _unambiguous(p, lines):
    """The nearest edge of p is unique, or all nearest edges project p on the same spot."""
    d = shapely.distance(p, np.asarray(lines, dtype=object))
    near = np.flatnonzero(d <= d.min() + 1e-6)
    spots = [shapely.get_point(shapely.shortest_line(lines[k], p), 0) for k in near]
    return all(s.distance(spots[0]) < 1e-6 for s in spots)


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_case())
def test_random_grid_graphs_match_networkx(case):
    lines, srcs, tgts, box, cutoff = case
    src = [shapely.Point(X0 + x, Y0 + y) for x, y in srcs]
    tg = [shapely.Point(X0 + x, Y0 + y) for x, y in tgts]
    assume(all(_unambiguous(p, lines) for p in src + tg))
    if box is not None and box.intersects(shapely.MultiLineString(lines)):
        src.append(box)  # polygons meeting no edge have an ambiguous nearest point: not used
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    sources = gpd.GeoSeries(src, crs=CRS)
    targets = gpd.GeoSeries(tg, crs=CRS)
    got, got_src = uc.network_distance(net, sources, targets, cutoff=cutoff, return_source=True)
    ref, _ = hand_reference(lines, src, tg, cutoff=cutoff, touch=TOUCH)
    assert np.array_equal(np.isinf(got), np.isinf(ref)), (got, ref)
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], atol=1e-6)
    # the source reported is at the reported distance (single-source reference)
    for i in np.flatnonzero(fin):
        k = got_src[i]
        assert k >= 0
        dk, _ = hand_reference(lines, [src[k]], [tg[i]], touch=TOUCH)
        assert dk[0] == pytest.approx(got[i], abs=1e-6)
    assert np.all(got_src[~fin] == -1)
    # edge coverage at the cut-off radius: covered length of each edge is consistent with the
    # distances of its two ends (covered_from_u/v never exceed the covered length or the edge)
    if cutoff is not None and np.isfinite(cutoff):
        cov = uc.edge_coverage(net, sources, cutoff)
        cl = cov["covered_length"].to_numpy()
        assert np.all(cl <= net.length + 1e-9)
        assert np.all(cov["covered_from_u"].to_numpy() <= cl + 1e-9)
        assert np.all(cov["covered_from_v"].to_numpy() <= cl + 1e-9)


@pytest.mark.parametrize("side", [7.0, 50.0, 1000.0])
def test_union_by_tiles_has_the_area_of_one_union(side):
    """Random overlapping discs, boxes and a ring: the tiled pieces have the area of shapely's
    single union (cut to a clip polygon), and no two pieces share any area."""
    import shapely

    from urbancover.core.tiles import union_by_tiles

    rng = np.random.default_rng(11)
    polys = list(shapely.buffer(shapely.points(rng.uniform(0, 400, (80, 2))), rng.uniform(2, 40, 80), quad_segs=4))
    polys += [shapely.box(x, y, x + w, y + h) for x, y, w, h in rng.uniform([0, 0, 5, 5], [400, 400, 90, 60], (30, 4))]
    polys.append(shapely.Point(200, 200).buffer(150).difference(shapely.Point(200, 200).buffer(120)))
    clip = shapely.Polygon([(20, -10), (420, 40), (380, 390), (-5, 300)])
    pieces = union_by_tiles(polys, side, clip)
    want = shapely.intersection(shapely.union_all(polys), clip).area
    assert shapely.area(pieces).sum() == pytest.approx(want, rel=1e-9)
    tree = shapely.STRtree(pieces)
    a, b = tree.query(pieces, predicate="overlaps")
    assert shapely.area(shapely.intersection(pieces[a], pieces[b])).sum() == pytest.approx(0.0, abs=1e-6)
    assert len(union_by_tiles([], side)) == 0


def test_locate_finds_the_interval_starting_last_before_a_point():
    """intervals.locate against a brute-force scan, on random disjoint intervals of many edges."""
    from urbancover.core.intervals import locate, merge

    rng = np.random.default_rng(4)
    e = rng.integers(0, 50, 300)
    a = rng.uniform(0, 900, 300)
    iv = merge(e, a, a + rng.uniform(1, 60, 300))
    pe, pp = rng.integers(0, 52, 2000), rng.uniform(0, 1000, 2000)
    got = locate(iv, pe, pp)
    for k in range(len(pe)):
        cand = np.flatnonzero((iv[0] == pe[k]) & (iv[1] <= pp[k]))
        assert got[k] == (cand[np.argmax(iv[1][cand])] if len(cand) else -1)
    assert len(locate((np.zeros(0, int), np.zeros(0), np.zeros(0)), pe, pp)) == len(pe)
