"""network_distance with lon/lat targets: projected by the compiled projection, the same distances
as with projected targets and as the networkx reference (issue 24, item 2)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import nxref
import pyproj
import pytest
import shapely

import urbancover as uc
import urbancover.network.snap as snap
from urbancover.core.compiled import HAVE_NUMBA


@pytest.fixture(scope="module")
def grid():
    """A 6 x 6 street grid (60 m blocks, jittered) in Shenzhen's UTM zone, 3 sources, and 5,000
    targets over it given in lon/lat (enough for the compiled projection)."""
    rng = np.random.default_rng(3)
    n = 6
    jj, ii = np.meshgrid(np.arange(n), np.arange(n))
    x = 800_000.0 + jj * 60.0 + rng.uniform(-5, 5, (n, n))
    y = 2_500_000.0 + ii * 60.0 + rng.uniform(-5, 5, (n, n))
    xy = np.column_stack([x.ravel(), y.ravel()])
    idx = np.arange(n * n).reshape(n, n)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    lines = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    net = uc.walk_network(gpd.GeoDataFrame(geometry=lines, crs=32650), filter=None)
    sources = gpd.GeoSeries(shapely.points([[800_030.0, 2_500_004.0], [800_250.0, 2_500_200.0],
                                            [800_100.0, 2_500_290.0]]), crs=32650)
    txy = np.column_stack([rng.uniform(799_990, 800_310, 5000), rng.uniform(2_499_990, 2_500_310, 5000)])
    lon, lat = pyproj.Transformer.from_crs(32650, 4326, always_xy=True).transform(txy[:, 0], txy[:, 1])
    lonlat = gpd.GeoSeries(shapely.points(np.column_stack([lon, lat])), crs=4326)
    return net, sources, lonlat


@pytest.mark.skipif(not HAVE_NUMBA, reason="without numba, pyproj projects")
def test_lonlat_targets_equal_projected_targets_and_the_networkx_reference(grid, monkeypatch):
    net, sources, lonlat = grid
    projected = lonlat.to_crs(net.crs)  # (pyproj)

    def no_pyproj(*a, **k):
        raise AssertionError("lon/lat -> UTM went through pyproj, not the compiled projection")

    monkeypatch.setattr(snap, "transformer", no_pyproj)
    got, src = uc.network_distance(net, sources, lonlat, cutoff=150.0, return_source=True)
    monkeypatch.undo()
    want, want_src = uc.network_distance(net, sources, projected, cutoff=150.0, return_source=True)
    assert np.isfinite(got).sum() > 2000 and np.isinf(got).any()  # (some beyond the cut-off)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    fin = np.isfinite(want)
    assert np.abs(got[fin] - want[fin]).max() <= 1e-6  # the projections differ by nanometres
    assert (src[fin] == want_src[fin]).mean() > 0.999  # (an exact tie between two sources may turn)
    # the independent reference (brute-force snapping, networkx Dijkstra) on 40 of them
    k = np.random.default_rng(0).choice(len(lonlat), 40, replace=False)
    ref, _ = nxref.reference(net.geometry, net.u, net.v, list(sources.values), list(projected.values[k]),
                             cutoff=150.0)
    np.testing.assert_array_equal(np.isfinite(got[k]), np.isfinite(ref))
    assert np.abs(got[k][np.isfinite(ref)] - ref[np.isfinite(ref)]).max() <= 1e-6
