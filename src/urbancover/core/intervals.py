"""Sets of intervals along edges, as parallel arrays ``(edge, start, end)`` (metres from ``u``).

Coverage along streets is a union of intervals per edge; these helpers combine such sets without
Python loops over edges.
"""

from __future__ import annotations

import numpy as np

Intervals = tuple[np.ndarray, np.ndarray, np.ndarray]


def ranges(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated (vectorised)."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def merge(edge: np.ndarray, start: np.ndarray, end: np.ndarray) -> Intervals:
    """Union of intervals per edge: disjoint ``(edge, start, end)`` sorted by edge and start.

    O(n log n) for n intervals (one sort and one running maximum).
    """
    edge, start, end = np.asarray(edge, dtype=np.int64), np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    keep = end > start
    edge, start, end = edge[keep], start[keep], end[keep]
    if len(edge) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    order = np.lexsort((start, edge))
    edge, start, end = edge[order], start[order], end[order]
    # shift each edge into its own stretch of the line so one running max serves all edges; the
    # comparison stays in the shifted values (a start equal to an end is still equal after the same
    # shift, whereas shifting back could round the end below it and leave touching parts apart)
    span = float(np.max(end)) + 1.0
    base = edge.astype(float) * span
    run_end = np.maximum.accumulate(end + base)
    new = np.r_[True, (edge[1:] != edge[:-1]) | (start[1:] + base[1:] > run_end[:-1])]
    group = np.cumsum(new) - 1
    g_end = np.full(group[-1] + 1, -np.inf)
    np.maximum.at(g_end, group, end)
    return edge[new], start[new], g_end


def total(intervals: Intervals) -> float:
    """Summed length of disjoint intervals."""
    return float(np.sum(intervals[2] - intervals[1]))


def overlap(a: Intervals, b: Intervals) -> float:
    """Length of the intersection of two sets of disjoint intervals: |A| + |B| - |A u B|."""
    union = merge(*(np.concatenate([x, y]) for x, y in zip(a, b)))
    return total(a) + total(b) - total(union)


def intersect(a: Intervals, b: Intervals, *, return_index: bool = False):
    """Intersection of two sets of intervals (``b`` disjoint), sorted like ``a``.

    Pairs every interval of ``a`` with those of ``b`` on the same edge (few per edge). With
    ``return_index``, returns ``(row of a, start, end)`` instead of ``(edge, start, end)``.
    """
    order = np.lexsort((b[1], b[0]))
    be, bs, bn = (np.asarray(x)[order] for x in b)
    lo = np.searchsorted(be, a[0], side="left")
    cnt = np.searchsorted(be, a[0], side="right") - lo
    ai = np.repeat(np.arange(len(a[0])), cnt)
    bi = np.repeat(lo, cnt) + ranges(cnt)
    start = np.maximum(a[1][ai], bs[bi])
    end = np.minimum(a[2][ai], bn[bi])
    keep = end - start > 1e-9
    if return_index:
        return ai[keep], start[keep], end[keep]
    return np.asarray(a[0])[ai][keep], start[keep], end[keep]


def locate(a: Intervals, edge: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """For points ``pos`` metres along edges ``edge``: the position in ``a`` (sorted by edge and
    start, as :func:`merge` returns) of the interval on the same edge that starts last at or before
    the point, -1 where there is none. O((n + k) log k) for n points and k intervals.

    >>> locate((np.array([0, 0, 2]), np.array([0.0, 5.0, 1.0]), np.array([2.0, 9.0, 3.0])),
    ...        np.array([0, 0, 1, 2]), np.array([1.0, 6.0, 1.0, 0.5]))
    array([ 0,  1, -1, -1])
    """
    ae, ast = np.asarray(a[0]), np.asarray(a[1], dtype=float)
    edge, pos = np.asarray(edge), np.asarray(pos, dtype=float)
    if len(ae) == 0 or len(edge) == 0:
        return np.full(len(edge), -1, dtype=np.int64)
    span = max(float(np.max(a[2])), float(np.max(pos)), 0.0) + 1.0  # each edge its own stretch of the line
    k = np.searchsorted(ae.astype(float) * span + ast, edge.astype(float) * span + pos, side="right") - 1
    same = (k >= 0) & (ae[np.maximum(k, 0)] == edge)
    return np.where(same, k, -1).astype(np.int64)


def holds(a: Intervals, edge: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Whether each point ``pos`` metres along edge ``edge`` lies in the interval of ``a`` (any
    order) that starts last at or before it on its edge: for disjoint intervals, in any of them,
    ends included. O((n + k) log k) for n points and k intervals (:func:`locate`).

    >>> holds((np.array([0, 0]), np.array([5.0, 0.0]), np.array([9.0, 2.0])), np.array([0, 0, 0, 1]),
    ...       np.array([1.0, 3.0, 9.0, 1.0])).tolist()
    [True, False, True, False]
    """
    de, ds, dn = (np.asarray(x) for x in a)
    if len(de) == 0 or len(edge) == 0:
        return np.zeros(len(edge), dtype=bool)
    o = np.lexsort((ds, de))
    k = locate((de[o], ds[o], dn[o]), edge, pos)
    return (k >= 0) & (dn[o][np.maximum(k, 0)] >= pos)


def complement(edge: np.ndarray, start: np.ndarray, end: np.ndarray, lengths: np.ndarray) -> Intervals:
    """The parts of every edge (``0..lengths[e]``) not in the disjoint sorted intervals given."""
    m = len(lengths)
    if len(edge) == 0:
        return np.arange(m), np.zeros(m), np.asarray(lengths, dtype=float).copy()
    # gaps before each interval, and after the last one of each edge
    first_of_edge = np.r_[True, edge[1:] != edge[:-1]]
    prev_end = np.where(first_of_edge, 0.0, np.r_[0.0, end[:-1]])
    last_of_edge = np.r_[edge[1:] != edge[:-1], True]
    touched = np.zeros(m, dtype=bool)
    touched[edge] = True
    bare = np.flatnonzero(~touched)
    g_edge = np.concatenate([edge, edge[last_of_edge], bare])
    g_start = np.concatenate([prev_end, end[last_of_edge], np.zeros(len(bare))])
    g_end = np.concatenate([start, lengths[edge[last_of_edge]], lengths[bare]])
    keep = g_end - g_start > 1e-9
    order = np.lexsort((g_start[keep], g_edge[keep]))
    return g_edge[keep][order], g_start[keep][order], g_end[keep][order]
