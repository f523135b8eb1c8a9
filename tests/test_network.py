"""The network's CSR matrix (urbancover.network.csr_min) against a dense reference."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from urbancover.network import csr_min


def _dense_min(rows, cols, w, n):
    """n x n matrix of the lightest entry at each (row, col) (a NaN weight wins, as in np.minimum),
    and where there is an entry at all."""
    m = np.full((n, n), np.inf)
    np.minimum.at(m, (rows, cols), w)
    present = np.zeros((n, n), dtype=bool)
    present[rows, cols] = True
    return m, present


@pytest.mark.parametrize("seed", range(6))
def test_csr_min_keeps_the_lightest_of_duplicates(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    m = int(rng.integers(0, 600))
    rows = rng.integers(0, n, m)
    cols = rng.integers(0, n, m)
    w = rng.integers(0, 6, m).astype(float)  # many duplicates, zero weights among them
    if seed == 0 and m:
        rows[: min(m, 40)] = 0  # one long row (sorted another way than the short ones)
    if seed == 1 and m:
        w[0] = np.nan
    a = csr_min(rows, cols, w, n)
    assert a.shape == (n, n) and a.has_canonical_format  # sorted columns, no duplicates
    ref, present = _dense_min(rows, cols, w, n)
    stored = np.zeros((n, n), dtype=bool)
    r = np.repeat(np.arange(n), np.diff(a.indptr))
    stored[r, a.indices] = True
    np.testing.assert_array_equal(stored, present)  # explicit zeros are kept as entries
    np.testing.assert_array_equal(a.data, ref[r, a.indices])


def test_network_csr_gives_networkx_distances(shenzhen_net):
    """Dijkstra on Network.csr (scipy) equals networkx on the network's own edge list."""
    from scipy.sparse.csgraph import dijkstra

    net = shenzhen_net
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    for a, b, w in zip(net.u.tolist(), net.v.tolist(), net.length.tolist()):
        if a != b and (not g.has_edge(a, b) or g[a][b]["length"] > w):
            g.add_edge(a, b, length=w)
    src = [0, net.n_nodes // 2]
    got = dijkstra(net.csr, indices=src)
    for row, s in zip(got, src):
        ref = nx.single_source_dijkstra_path_length(g, s, weight="length")
        exp = np.full(net.n_nodes, np.inf)
        exp[list(ref)] = list(ref.values())
        np.testing.assert_allclose(row, exp, rtol=0, atol=1e-6)
        assert np.isfinite(exp).sum() > net.n_nodes / 2
