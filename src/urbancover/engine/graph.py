"""The CSR graph a multi-source search runs on: the network plus one virtual node per source."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from urbancover.errors import InputError


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


def with_virtual_sources(
    base: sp.csr_matrix, u: np.ndarray, v: np.ndarray, to_u: np.ndarray, to_v: np.ndarray
) -> sp.csr_matrix:
    """``base`` (n x n) with one extra row per source: a virtual node joined to nodes ``u`` and ``v``.

    Source ``k`` becomes node ``n + k`` with an arc to ``u[k]`` weighing ``to_u[k]`` and one to
    ``v[k]`` weighing ``to_v[k]``; an end given as -1 (outside a subgraph) gets no arc, and when
    ``u[k] == v[k]`` (a loop edge) the one arc takes the smaller weight. Virtual nodes have no
    incoming arcs, so a search started from them never passes through another source.

    Both the whole-network field (:func:`urbancover.engine.distance_field`) and the bounded searches
    (:mod:`urbancover.engine.bounded`) build their graphs here. O(E + K) to assemble.
    """
    n, k = base.shape[0], len(u)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    loop = u == v
    to_u = np.where(loop, np.minimum(to_u, to_v), to_u)
    has_u = u >= 0
    has_v = (v >= 0) & ~loop
    mask = np.column_stack([has_u, has_v]).ravel()
    cols = np.column_stack([u, v]).ravel()[mask]
    vals = np.column_stack([to_u, to_v]).ravel()[mask]
    counts = has_u.astype(np.int64) + has_v
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)])
    indices = np.concatenate([base.indices, cols.astype(base.indices.dtype)])
    data = np.concatenate([base.data, vals])
    return sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))


def seed_arcs(network, s) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(u, v, to_u, to_v)`` of facility seeds (:class:`urbancover.snap.Seeds`): the two ends of each
    seed's edge and the cost to reach them (the seed's cost plus the run along the edge)."""
    u, v = network.u[s.edge], network.v[s.edge]
    # offsets come from line_locate_point and may pass the stored length by rounding: clip, so no
    # weight is ever negative
    length = network.length[s.edge]
    to_u = s.cost + np.clip(s.start, 0.0, length)
    to_v = s.cost + np.clip(length - s.end, 0.0, length)
    return u, v, to_u, to_v
