"""Network distances on the bundled OSM samples against an independent networkx computation.

The reference (nxref.py) takes only the edge geometries of the network (``net.edges``) and builds
its own graph: it finds each point's nearest edge by brute force, cuts edges at the projections
itself (measuring the pieces with shapely.ops.substring), adds the access legs as edges, and runs
networkx's multi-source Dijkstra from all sources at once.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import nxref
import pytest
import shapely

import urbancover as uc

TOL = 0.5  # metres

# random points in the extract box include some > 1000 m from any street (they must be inf)
pytestmark = pytest.mark.filterwarnings("ignore:.*from every walkable edge:UserWarning")


def random_points(net, n, rng, *, pad=0.0):
    # the extract's box (some ways run far beyond it, their far ends are sparse)
    minx, miny, maxx, maxy = net.bounds
    x = rng.uniform(minx - pad, maxx + pad, n)
    y = rng.uniform(miny - pad, maxy + pad, n)
    return gpd.GeoSeries(shapely.points(x, y), crs=net.crs)


def ref(net, sources, targets, **kw):
    # areas grown by 1 mm, as urbancover does (engine.TOUCH)
    return nxref.reference(net.geometry, net.u, net.v, list(sources), list(targets), touch=1e-3, **kw)


def assert_same(got, expected, tol=TOL):
    got, expected = np.asarray(got), np.asarray(expected)
    assert np.array_equal(np.isinf(got), np.isinf(expected)), (
        f"inf differs at {np.flatnonzero(np.isinf(got) != np.isinf(expected))[:10]}"
    )
    fin = np.isfinite(expected)
    diff = np.abs(got[fin] - expected[fin])
    assert diff.max(initial=0.0) <= tol, f"max difference {diff.max():.3f} m at {np.flatnonzero(fin)[np.argmax(diff)]}"


@pytest.mark.parametrize("sample", ["shenzhen", "shanghai"])
def test_random_points_match_networkx(sample, request):
    net = request.getfixturevalue(f"{sample}_net")
    rng = np.random.default_rng(20180514 if sample == "shenzhen" else 14)
    sources = random_points(net, 50, rng)
    targets = random_points(net, 300, rng)
    got, got_src = uc.network_distance(net, sources, targets, return_source=True)
    expected, exp_src = ref(net, sources, targets)
    assert_same(got, expected)
    # the nearest source agrees (exact ties between two sources are measure-zero here)
    agree = got_src == exp_src
    assert agree.all(), f"nearest source differs for {(~agree).sum()} targets"
    assert np.isfinite(expected).sum() > len(expected) / 2  # a real test, not inf == inf


@pytest.mark.parametrize("sample", ["shenzhen", "shanghai"])
def test_random_points_with_cutoff_match_networkx(sample, request):
    net = request.getfixturevalue(f"{sample}_net")
    rng = np.random.default_rng(7)
    sources = random_points(net, 40, rng)
    targets = random_points(net, 200, rng)
    expected, _ = ref(net, sources, targets, cutoff=300.0)
    got = uc.network_distance(net, sources, targets, cutoff=300.0)
    assert_same(got, expected)
    assert np.isfinite(expected).sum() > 10 and np.isinf(expected).sum() > 10  # the cut-off bites
    # the distance field answers the same
    field = uc.distance_field(net, sources, cutoff=300.0)
    assert_same(field.at(targets), expected)


def test_return_source_is_the_nearest_source(shanghai_net):
    # For every target, the reported source must be one whose own single-source reference
    # distance equals the minimum (ties allowed).
    net = shanghai_net
    rng = np.random.default_rng(99)
    sources = random_points(net, 8, rng)
    targets = random_points(net, 60, rng)
    got, src = uc.network_distance(net, sources, targets, return_source=True)
    per_source = np.column_stack([ref(net, [s], targets)[0] for s in sources])
    best = per_source.min(axis=1)
    assert_same(got, best)
    fin = np.isfinite(best)
    assert np.all(src[~fin] == -1)
    chosen = per_source[np.flatnonzero(fin), src[fin]]
    np.testing.assert_allclose(chosen, best[fin], atol=TOL)


def test_polygon_sources_match_networkx(shenzhen_net, shenzhen_osm):
    # Real park / garden / pitch polygons (and some random points) as facilities.
    net = shenzhen_net
    f = shenzhen_osm.projected("features")
    areas = f[f.leisure.isin(["park", "garden", "pitch"]) & f.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    assert len(areas) >= 10
    rng = np.random.default_rng(3)
    pts = random_points(net, 10, rng)
    sources = gpd.GeoSeries(np.r_[areas.geometry.to_numpy(), pts.to_numpy()], crs=net.crs)
    targets = random_points(net, 250, rng)
    # some targets inside the areas themselves
    inner = areas.geometry.representative_point().to_numpy()[:20]
    targets = gpd.GeoSeries(np.r_[targets.to_numpy(), inner], crs=net.crs)
    got = uc.network_distance(net, sources, targets)
    expected, _ = ref(net, sources, targets)
    assert_same(got, expected)
    assert np.all(got[-len(inner):] == 0.0)


def test_edge_coverage_matches_sampled_reference(shanghai_net):
    # Covered length of 40 random edges, radius 250 m from 15 random sources, against the share
    # of points sampled every 2 m along those edges whose reference distance is <= 250.
    net = shanghai_net
    rng = np.random.default_rng(5)
    sources = random_points(net, 15, rng)
    R = 250.0
    cov = uc.edge_coverage(net, sources, R)
    edges = rng.choice(net.n_edges, 40, replace=False)
    samples, owner = [], []
    for e in edges:
        g = net.geometry[e]
        n = max(1, int(g.length // 2.0))
        samples += list(shapely.line_interpolate_point(g, (np.arange(n) + 0.5) * g.length / n))
        owner += [e] * n
    d, _ = ref(net, sources, samples)
    owner = np.asarray(owner)
    nonzero = 0
    for e in edges:
        sel = owner == e
        step = net.length[e] / sel.sum()
        measured = (d[sel] <= R).mean() * net.length[e]
        assert cov["covered_length"].iloc[e] == pytest.approx(measured, abs=2 * step + 1e-6), e
        nonzero += 0 < measured < net.length[e]
    # node distances reported with the coverage are the reference distances of the nodes
    nodes = np.unique(np.r_[net.u[edges], net.v[edges]])
    dn, _ = ref(net, sources, list(net.nodes.geometry.iloc[nodes]))
    dn[dn > R] = np.inf
    got_u = cov["dist_u"].to_numpy()[edges]
    exp_u = dn[np.searchsorted(nodes, net.u[edges])]
    assert_same(got_u, exp_u, tol=1e-3)
    assert np.all(np.isfinite(cov["covered_length"])) and np.all(cov["covered_length"] <= net.length + 1e-9)


def test_snapping_matches_brute_force(shenzhen_net):
    # The access leg is the distance to the nearest edge (brute force over all edges; over the
    # real network's edges when the nearest is on a scrap of network and the real one is within
    # island_snap_m), and the offset locates the orthogonal projection on it.
    net = shenzhen_net
    rng = np.random.default_rng(11)
    pts = random_points(net, 200, rng)
    sn = uc.snap_points(net, pts, max_distance=None)
    d_all = shapely.distance(pts.to_numpy()[:, None], net.geometry[None, :])
    main = nxref.main_edges(net.geometry, net.u, net.v, uc.core.settings.main_component_m)
    nearest = d_all.argmin(axis=1)
    d_main = np.where(main[None, :], d_all, np.inf).min(axis=1)
    moved = ~main[nearest] & (d_main <= uc.core.settings.island_snap_m)
    expected = np.where(moved, d_main, d_all.min(axis=1))
    np.testing.assert_allclose(sn.access, expected, atol=1e-6)
    proj = shapely.line_interpolate_point(net.geometry[sn.edge], sn.offset)
    np.testing.assert_allclose(shapely.distance(proj, pts.to_numpy()), sn.access, atol=1e-6)
    assert np.all((sn.offset >= 0) & (sn.offset <= net.length[sn.edge] + 1e-9))
    # with the default limit (1000 m) the farther points are left unsnapped
    pts = random_points(net, 200, rng, pad=3000)
    with pytest.warns(UserWarning, match="1000"):
        lim = uc.snap_points(net, pts)
    d_all = shapely.distance(pts.to_numpy()[:, None], net.geometry[None, :])
    brute = d_all.min(axis=1)
    far = np.isinf(lim.access)
    assert far.any() and np.all(lim.edge[far] == -1) and np.all(np.isnan(lim.offset[far]))
    assert np.all(brute[far] > 1000) and np.all(brute[~far] <= 1000)
    d_main = np.where(main[None, :], d_all, np.inf).min(axis=1)
    moved = ~main[d_all.argmin(axis=1)] & (d_main <= uc.core.settings.island_snap_m)
    np.testing.assert_allclose(lim.access[~far], np.where(moved, d_main, brute)[~far], atol=1e-6)


def test_network_is_split_at_shared_nodes(shenzhen_osm, shenzhen_net):
    # Every edge runs from its u node to its v node; every OSM node id used by two walkable ways
    # (or twice by one) is a node of the network; and the total length equals that of the
    # walkable ways' distinct segments (each piece of street counted once).
    net = shenzhen_net
    nxy = shapely.get_coordinates(net.nodes.geometry.values)
    for e in range(net.n_edges):
        cs = shapely.get_coordinates(net.geometry[e])
        assert np.allclose(cs[0], nxy[net.u[e]]) and np.allclose(cs[-1], nxy[net.v[e]])
    ways = shenzhen_osm.ways[uc.network.walk.walkable(shenzhen_osm.ways)].to_crs(net.crs)
    uses = {}
    for ids in ways["node_ids"]:
        for i in ids:
            uses[int(i)] = uses.get(int(i), 0) + 1
    shared = {i for i, c in uses.items() if c > 1}
    assert shared <= set(net.nodes["osmid"].astype(int))
    segs = {}
    for ids, g in zip(ways["node_ids"], ways.geometry):
        cs = shapely.get_coordinates(g)
        for k in range(len(ids) - 1):
            if ids[k] != ids[k + 1]:
                segs[(min(ids[k], ids[k + 1]), max(ids[k], ids[k + 1]))] = math.dist(cs[k], cs[k + 1])
    assert net.length.sum() == pytest.approx(sum(segs.values()), rel=1e-9)


def test_lonlat_targets_match_networkx(shenzhen_net):
    """Targets given as lon/lat points (reprojected as coordinate arrays, snapped by the kernel) get
    the reference's distances for the same points reprojected by geopandas; nodes among them too."""
    net = shenzhen_net
    rng = np.random.default_rng(13)
    sources = random_points(net, 30, rng)
    on_nodes = net.nodes.geometry.values[np.unique(net.u[net.main_edges])[::7][:100]]
    metric = gpd.GeoSeries(np.r_[random_points(net, 200, rng).values, on_nodes], crs=net.crs)
    lonlat = metric.to_crs(4326)
    expected, exp_src = ref(net, sources, lonlat.to_crs(net.crs), cutoff=600.0)
    got, got_src = uc.network_distance(net, sources, lonlat, cutoff=600.0, return_source=True)
    assert_same(got, expected)
    assert (got_src == exp_src).all()
    assert np.isfinite(expected[-len(on_nodes):]).sum() > 25 and np.isinf(expected).sum() > 10
