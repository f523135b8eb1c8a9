"""The CSR graph a multi-source search runs on: the network plus one virtual node per source."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from urbancover.core.errors import InputError


def check_cutoff(cutoff) -> float:
    """A search bound in metres (``None``: no bound, ``inf``), or an :class:`InputError`."""
    if cutoff is None:
        return np.inf
    try:
        cutoff = float(cutoff)
    except (TypeError, ValueError) as err:
        raise InputError(f"cutoff must be a distance in metres, got {cutoff!r}.") from err
    if np.isnan(cutoff) or cutoff < 0:
        raise InputError(f"cutoff must be >= 0 metres (or None for no cut-off), got {cutoff}.")
    return cutoff


def with_virtual_arcs(base: sp.csr_matrix, source: np.ndarray, node: np.ndarray, weight: np.ndarray, k: int) -> sp.csr_matrix:
    """``base`` (n x n) with ``k`` extra rows: virtual source ``s`` (node ``n + s``) has an arc to
    ``node[i]`` weighing ``weight[i]`` for every ``i`` with ``source[i] == s``.

    Arcs to a node given as -1 (outside a subgraph) are dropped; of several arcs from one source to
    one node the lightest is kept. Virtual nodes have no incoming arcs, so a search started from them
    never passes through another source. Both the whole-network field
    (:func:`urbancover.engine.distance_field`) and the bounded searches
    (:mod:`urbancover.engine.bounded`) build their graphs here. O(E + A log A) for A arcs.
    """
    n = base.shape[0]
    source = np.asarray(source, dtype=np.int64)
    node = np.asarray(node, dtype=np.int64)
    weight = np.asarray(weight, dtype=float)
    ok = node >= 0
    source, node, weight = source[ok], node[ok], weight[ok]
    if len(source):
        key = source * max(n, 1) + node
        order = np.lexsort((weight, key))
        key = key[order]
        keep = order[np.r_[True, key[1:] != key[:-1]]]
        source, node, weight = source[keep], node[keep], weight[keep]
    counts = np.bincount(source, minlength=k)
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)])
    indices = np.concatenate([base.indices, node.astype(base.indices.dtype)])
    data = np.concatenate([base.data, weight])
    return sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))


def with_virtual_sources(
    base: sp.csr_matrix, u: np.ndarray, v: np.ndarray, to_u: np.ndarray, to_v: np.ndarray
) -> sp.csr_matrix:
    """``base`` with one virtual source per row of ``u``: arcs to ``u[k]`` (``to_u[k]``) and
    ``v[k]`` (``to_v[k]``); see :func:`with_virtual_arcs` (a loop edge, ``u == v``, keeps the
    lighter arc; an end of -1 gets none).
    """
    k = len(u)
    src = np.arange(k, dtype=np.int64)
    return with_virtual_arcs(base, np.r_[src, src], np.r_[u, v], np.r_[to_u, to_v], k)


def seed_arcs(network, s) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(u, v, to_u, to_v)`` of facility seeds (:class:`urbancover.network.snap.Seeds`): the two ends of each
    seed's edge and the cost to reach them (the seed's cost plus the run along the edge).
    """
    u, v = network.u[s.edge], network.v[s.edge]
    # offsets come from line_locate_point and may pass the stored length by rounding: clip, so no
    # weight is ever negative
    length = network.length[s.edge]
    to_u = s.cost + np.clip(s.start, 0.0, length)
    to_v = s.cost + np.clip(length - s.end, 0.0, length)
    return u, v, to_u, to_v
