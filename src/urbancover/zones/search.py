"""The search over unions of adjacent blocks: exact enumeration when small, beam search and hill
climbing otherwise. Knows blocks only as numbers, areas, adjacency and scores (no geometry).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

#: Hill-climbing after the beam search: at most this many moves per zone, and this many moves
#: tried (best estimated gain first) before a step gives up.
POLISH_MOVES: int = 100

POLISH_TRIES: int = 30


# --------------------------------------------------------------------------------- the search
@dataclass
class Problem:
    """Per-block quantities of a zone search (arrays indexed by block position)."""

    area: np.ndarray
    perim: np.ndarray
    value: np.ndarray  # weighted need of each block
    old_in: np.ndarray  # old compounds with most of their area in the block
    adj: list  # per block: list of (neighbour, shared boundary m, seam area m²)
    split: list  # per block: list of (compound, overlap m²) for old compounds no block holds most of
    half: np.ndarray  # half the area of each compound
    w_old: float
    lo: float
    hi: float
    k: int
    min_compact: float

    def __post_init__(self) -> None:
        self.nbrs = [[u for u, _, _ in a] for a in self.adj]
        self.gain = (self.value + self.w_old * self.old_in).tolist()
        # plain lists: indexing them in the search loops is several times faster than numpy
        self.area_l = self.area.tolist()
        self.perim_l = self.perim.tolist()
        self.value_l = self.value.tolist()
        self.old_l = self.old_in.tolist()


@dataclass
class Search:
    """What a search found: valid candidates and the best attempts at each constraint."""

    candidates: dict = field(default_factory=dict)  # frozenset of blocks -> (search score, compactness)
    states: int = 0
    in_band: int = 0
    best_old: tuple | None = None  # (old, area, blocks) of the in-band set with most old compounds
    best_compact: tuple | None = None  # (compactness, area, old) among in-band sets with enough compounds
    below: float = 0.0  # largest area reached below the band
    above: float = math.inf  # smallest area of a union that overshoots the band


class Budget(Exception):
    """The exact enumeration went past its state budget (the search falls back to the beam)."""


# a search state: (blocks, area, value, old compounds, perimeter, coverage of split compounds)
def _grow(P: Problem, st: tuple, b: int, S: Search):
    """The state ``st`` plus block ``b``, or None when it overshoots the band (noted in ``S``)."""
    blocks, area, value, old, perim, cov = st
    sh = 0.0
    seam = 0.0
    for u, s_len, s_area in P.adj[b]:
        if u in blocks:
            sh += s_len
            seam += s_area
    area2 = area + P.area_l[b] + seam
    if area2 > P.hi:
        if area2 < S.above:
            S.above = area2
        return None
    old2 = old + P.old_l[b]
    if P.split[b]:
        cov = dict(cov) if cov else {}
        for c, ov in P.split[b]:
            before = cov.get(c, 0.0)
            cov[c] = before + ov
            if before <= P.half[c] < before + ov:
                old2 += 1
    return (blocks | {b}, area2, value + P.value_l[b], old2, perim + P.perim_l[b] - 2.0 * sh, cov)


def _record(P: Problem, st: tuple, S: Search) -> None:
    S.states += 1
    blocks, area, value, old, perim, _ = st
    if area < P.lo:
        if area > S.below:
            S.below = area
        return
    S.in_band += 1
    if S.best_old is None or (old, -abs(area - (P.lo + P.hi) / 2)) > (S.best_old[0], -abs(S.best_old[1] - (P.lo + P.hi) / 2)):
        S.best_old = (old, area, blocks)
    if old < P.k:
        return
    compact = 4 * math.pi * area / perim**2 if perim > 0 else 0.0
    if compact < P.min_compact:
        if S.best_compact is None or compact > S.best_compact[0]:
            S.best_compact = (compact, area, old)
        return
    S.candidates[blocks] = (value + P.w_old * old, compact)


def _seed_state(P: Problem, b: int) -> tuple:
    old = P.old_l[b]
    cov = None
    if P.split[b]:
        cov = {}
        for c, ov in P.split[b]:
            cov[c] = ov
            if ov > P.half[c]:
                old += 1
    return (frozenset((b,)), P.area_l[b], P.value_l[b], old, P.perim_l[b], cov)


def search_exact(P: Problem, S: Search, max_states: int) -> None:
    """Every connected set of blocks whose area stays within the band's top, each visited once
    (ESU, Wernicke 2006: extend a set only by neighbours of higher index than its first block and
    not adjacent to the set before). Raises :class:`Budget` past ``max_states`` sets.
    """
    nbrs = P.nbrs
    for v in range(len(P.area)):
        if P.area[v] > P.hi:
            S.above = min(S.above, float(P.area[v]))
            continue
        st = _seed_state(P, v)
        _record(P, st, S)
        stack = [(st, [u for u in nbrs[v] if u > v], frozenset(nbrs[v]) | {v})]
        while stack:
            st, ext, hood = stack[-1]
            if not ext:
                stack.pop()
                continue
            w = ext.pop()
            child = _grow(P, st, w, S)
            if child is None:
                continue
            _record(P, child, S)
            if S.states > max_states:
                raise Budget
            new = [u for u in nbrs[w] if u > v and u not in hood]
            stack.append((child, ext + new, hood | frozenset(nbrs[w])))


def search_beam(P: Problem, S: Search, width: int) -> None:
    """Best-first growth from every seed block, twice: once guided by need per area, once by old
    compounds per area (both times multiplied by compactness), keeping the ``width`` best sets of each
    size. A set already grown under a guide (from another seed) is not grown again under it.
    Seeds: every block that holds part of an old compound (every zone holds one) when at least
    one is needed, else every block.
    """
    nbrs = P.nbrs
    guides = (
        lambda s: (s[2] + P.w_old * s[3]) / s[1] * _compact(s),
        lambda s: (min(s[3], P.k) / s[1] * _compact(s), s[2] + P.w_old * s[3]),
    )
    seeds = [v for v in range(len(P.area)) if P.k == 0 or P.old_in[v] or P.split[v]]
    for v in range(len(P.area)):
        if P.area[v] > P.hi:
            S.above = min(S.above, float(P.area[v]))
    for guide in guides:
        seen: set = set()
        for v in seeds:
            if P.area[v] > P.hi:
                continue
            start = _seed_state(P, v)
            _record(P, start, S)
            beam = [start]
            while beam:
                children = []
                for st in beam:
                    frontier = {u for b in st[0] for u in nbrs[b]} - st[0]
                    for w in frontier:
                        key = st[0] | {w}
                        if key in seen:
                            continue
                        child = _grow(P, st, w, S)
                        if child is None:
                            continue
                        seen.add(key)
                        _record(P, child, S)
                        children.append(child)
                beam = heapq.nlargest(width, children, key=guide)


def _state_of(P: Problem, blocks: frozenset) -> tuple:
    """The search state of a set of blocks, from scratch: O(n d) for n blocks of degree d."""
    shared = seam = 0.0
    old = 0
    cov: dict = {}
    for b in blocks:
        old += int(P.old_in[b])
        for u, s_len, s_area in P.adj[b]:
            if u in blocks:
                shared += s_len
                seam += s_area
        for c, ov in P.split[b]:
            cov[c] = cov.get(c, 0.0) + ov
    old += sum(1 for c, v in cov.items() if v > P.half[c])
    area = float(P.area[list(blocks)].sum()) + seam / 2
    perim = float(P.perim[list(blocks)].sum()) - shared
    return (blocks, area, float(P.value[list(blocks)].sum()), old, perim, cov or None)


def _connected(blocks: frozenset, nbrs: list) -> bool:
    start = next(iter(blocks))
    seen = {start}
    todo = [start]
    while todo:
        for u in nbrs[todo.pop()]:
            if u in blocks and u not in seen:
                seen.add(u)
                todo.append(u)
    return len(seen) == len(blocks)


def climb(P: Problem, S: Search, key: frozenset, score: float, forbidden: set, max_moves: int, tries: int) -> tuple:
    """Hill-climb one zone: add a neighbouring block, or swap a block on the edge of the zone for a
    neighbouring one (never a block in ``forbidden``), while the score rises and the zone stays
    connected, in the band, with enough old compounds and compact enough. Moves are tried best
    estimated gain first, at most ``tries`` per step, at most ``max_moves`` steps.
    Returns (blocks, score). O(max_moves x tries x n d) for n blocks of degree d.
    """
    nbrs = P.nbrs
    gain = P.gain
    cur, cur_score = key, score
    for _ in range(max_moves):
        frontier = {u for b in cur for u in nbrs[b]} - cur - forbidden
        edge = [r for r in cur if any(u not in cur for u in nbrs[r])]
        moves = [(gain[b], -1, b) for b in frontier if gain[b] > 0]
        moves += [(gain[b] - gain[r], r, b) for r in edge for b in frontier if gain[b] > gain[r]]
        moves.sort(key=lambda m: -m[0])
        for _, r, b in moves[:tries]:
            new = (cur - {r} if r >= 0 else cur) | {b}
            if r >= 0 and not _connected(new, nbrs):
                continue
            st = _state_of(P, new)
            S.states += 1
            st_score = st[2] + P.w_old * st[3]
            if P.lo <= st[1] <= P.hi and st[3] >= P.k and _compact(st) >= P.min_compact and st_score > cur_score + 1e-9:
                _record(P, st, S)
                cur, cur_score = new, st_score
                break
        else:
            break
    return cur, cur_score


def _compact(st: tuple) -> float:
    return 4 * math.pi * st[1] / st[4] ** 2 if st[4] > 0 else 0.0
