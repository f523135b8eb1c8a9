"""The choice of sites: set covering and maximal covering over a coverage matrix.

This module knows nothing of geometry: a sparse candidates x elements matrix and element weights
in, chosen rows out.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from urbancover.core.errors import InputError, require_number

#: products of A A^T computed per block of the dominance test (bounds memory to ~32 MB).
BLOCK_PRODUCTS = 1 << 22
#: products of the dominance test (sum over elements of the squared number of sites serving them)
#: beyond which the exact solver gets every site instead of the non-dominated ones.
DOMINANCE_WORK = 200_000_000


# -- choosing sites ------------------------------------------------------------------------------


@dataclass


class Selection:
    """Sites chosen by :func:`solve_covering`, in the order that serves the most first.

    Attributes
    ----------
    sites : ndarray
        Rows of the coverage matrix chosen, ordered by marginal gain (greedy order).
    gains : ndarray
        Weight each site newly serves, given the sites before it (all > 0).
    covered : float
        Total weight served by the sites.
    problem : str
        ``"LSCP"`` (fewest sites reaching ``goal``) or ``"MCLP"`` (best ``k`` sites).
    method : str
        ``"greedy"`` or ``"exact"``.
    optimal : bool or None
        ``True`` when the solver proved optimality; ``False`` when it stopped at the time limit;
        ``None`` for the greedy.
    min_sites_bound : int or None
        LSCP: no choice reaching the goal has fewer sites (a proof from the greedy's gains, or
        the exact optimum).
    max_covered_bound : float or None
        MCLP: no ``k`` sites serve more weight than this.
    guarantee : str
        The approximation guarantee in words.
    status : str
        What the solver said.
    """

    sites: np.ndarray
    gains: np.ndarray
    covered: float
    problem: str
    method: str
    optimal: bool | None
    min_sites_bound: int | None = None
    max_covered_bound: float | None = None
    guarantee: str = ""
    status: str = ""


def solve_covering(
    matrix,
    weights=None,
    *,
    goal: float | None = None,
    k: int | None = None,
    method: str = "greedy",
    solver: str = "highs",
    time_limit: float = 60.0,
) -> Selection:
    """Choose sites (rows of ``matrix``) that cover weighted elements (its columns).

    Parameters
    ----------
    matrix
        Boolean candidates x elements (scipy sparse or dense): ``matrix[c, e]`` when site ``c``
        serves element ``e``.
    weights
        Weight of each element (residents, metres; default 1 each), all >= 0.
    goal
        Location Set Covering: the weight to reach with the fewest sites. Default (and with ``k``
        None): everything some site covers.
    k
        Maximal Covering: the number of sites; the best ``k`` (fewer when fewer already cover
        all that can be covered). Give ``goal`` or ``k``, not both.
    method
        ``"greedy"``: repeatedly the site serving the most remaining weight (lazy evaluation with a
        heap). Its guarantee: MCLP serves at least ``1 - (1 - 1/k)^k`` (> 1 - 1/e = 63.2 %) of the
        best ``k`` sites; LSCP uses at most ``1 + ln(G / r)`` times the fewest sites, where ``G``
        is the goal and ``r`` what remained before the last site (Wolsey 1982), and at most
        ``H(largest set)`` times when all weights are equal and the goal is every coverable
        element (Johnson 1974). The result also carries an a-posteriori bound on the optimum from
        the greedy's own gains (``min_sites_bound`` / ``max_covered_bound``).
        ``"exact"``: the integer programme, after removing dominated sites and merging elements
        served by the same sites, warm-started (CBC) with the greedy.
    solver
        For ``"exact"``: ``"highs"`` (:func:`scipy.optimize.milp`, no extra dependency) or ``"cbc"``
        (PuLP with CBC: ``pip install pulp[cbc]``).
    time_limit
        Seconds the exact solver may run; then the best solution found is returned with
        ``optimal=False`` (never worse than the greedy).

    Returns
    -------
    Selection

    Notes
    -----
    Greedy: O(nnz log C) in practice (each site's gain is recomputed only when it reaches the top of
    the heap). Exact: NP-hard in general; set-cover instances of a district (thousands of sites) take
    seconds. Reduction: O(sum over elements of (sites serving it)^2) for the dominance test.
    """
    a = sp.csr_array(matrix, dtype=bool)
    a.sum_duplicates()
    a.sort_indices()
    n_c, n_e = a.shape
    w = np.ones(n_e) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n_e,) or not np.isfinite(w).all() or (w < 0).any():
        raise InputError(f"weights: need {n_e} finite weights >= 0 (one per column of the matrix), got shape {w.shape}.")
    if method not in ("greedy", "exact"):
        raise InputError(f"method must be 'greedy' or 'exact', not {method!r}.")
    if solver not in ("highs", "cbc"):
        raise InputError(f"solver must be 'highs' (scipy) or 'cbc' (PuLP), not {solver!r}.")
    time_limit = require_number(time_limit, "time_limit", positive=True)
    coverable = float(w[np.asarray(a.sum(axis=0)).ravel() > 0].sum())
    tol = 1e-9 * max(float(w.sum()), 1e-300)
    if goal is not None and k is not None:
        raise InputError("give either goal (fewest sites reaching it) or k (best k sites), not both.")
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a whole number of sites >= 1, got {k!r}.")
    else:
        goal = coverable if goal is None else float(goal)
        if not np.isfinite(goal) or goal < 0:
            raise InputError(f"goal must be a weight >= 0, got {goal}.")
        if goal > coverable + tol:
            raise InputError(
                f"goal {goal:g} is more than all candidate sites together serve ({coverable:g}); "
                "lower it, or add candidate sites."
            )
    greedy = _greedy(a, w, goal=goal, k=k, tol=tol, coverable=coverable)
    if method == "greedy":
        return greedy
    return _exact(a, w, greedy, goal=goal, k=k, tol=tol, solver=solver, time_limit=time_limit)


def _greedy(a: sp.csr_array, w: np.ndarray, *, goal, k, tol, coverable) -> Selection:
    indptr, indices = a.indptr, a.indices
    covered = np.zeros(a.shape[1], dtype=bool)
    gain0 = a.astype(float) @ w
    heap = [(-g, c) for c, g in enumerate(gain0) if g > 0]
    heapq.heapify(heap)

    def best():
        while heap:
            _, c = heapq.heappop(heap)
            cols = indices[indptr[c]:indptr[c + 1]]
            g = float(w[cols[~covered[cols]]].sum())
            if g <= 0:
                continue
            if not heap or g >= -heap[0][0] * (1 - 1e-12):
                return c, g
            heapq.heappush(heap, (-g, c))
        return None

    chosen, gains = [], []
    got = 0.0
    while (k is None or len(chosen) < k) and (goal is None or got < goal - tol):
        nxt = best()
        if nxt is None:
            break
        c, g = nxt
        chosen.append(c)
        gains.append(g)
        cols = indices[indptr[c]:indptr[c + 1]]
        covered[cols] = True
        got += g
    gains = np.asarray(gains)
    sel = Selection(np.asarray(chosen, dtype=np.int64), gains, got, "MCLP" if k is not None else "LSCP", "greedy", None)
    cum = np.r_[0.0, np.cumsum(gains)]
    if k is not None:
        after = best()
        g_next = np.r_[gains, after[1] if after else 0.0]  # best single gain at each step
        sel.max_covered_bound = float(min(coverable, np.min(cum + k * g_next)))
        factor = 1 - (1 - 1 / k) ** k
        sel.guarantee = (
            f"greedy: serves at least {factor:.1%} of what the best {k} sites serve (1 - (1 - 1/k)^k); "
            f"here at least {got / sel.max_covered_bound:.1%} of the optimum" if sel.max_covered_bound > 0 else
            "greedy: nothing can be served"
        )
        sel.status = "stopped: every coverable element is served" if after is None and len(chosen) < k else f"{len(chosen)} sites"
    else:
        n = len(chosen)
        if n == 0:
            sel.min_sites_bound = 0
            sel.guarantee = "greedy: the goal needs no new site"
        else:
            r = goal - cum[:n]  # what remained before each step
            lower = np.ceil(r / np.minimum(gains, r) - 1e-9)
            sel.min_sites_bound = int(max(1, lower.max()))
            factor = 1 + math.log(goal / r[-1]) if r[-1] > 0 else 1.0
            live = w[np.asarray(a.sum(axis=0)).ravel() > 0]
            if len(live) and live.min() == live.max() and goal >= coverable - tol:
                # unweighted, every coverable element: the classic H(largest set) bound holds too
                factor = min(factor, float(np.sum(1.0 / np.arange(1, np.diff(indptr).max() + 1))))
            sel.guarantee = (
                f"greedy: at most {factor:.2f} x the fewest sites (1 + ln(goal / weight left before the last site)); "
                f"the fewest is at least {sel.min_sites_bound}"
            )
        sel.status = f"{len(chosen)} sites"
    return sel


def _order(a: sp.csr_array, w: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chosen sites in greedy order with their marginal gains; sites that add nothing dropped."""
    sub = a[chosen]
    sel = _greedy(sub, w, goal=None, k=len(chosen), tol=0.0, coverable=0.0)
    return chosen[sel.sites], sel.gains


def _reduce(a: sp.csr_array, w: np.ndarray):
    """Drop sites whose set another site contains, and merge elements served by the same sites.

    Returns ``(matrix, weights, kept, rep)``: the reduced problem, the original rows it keeps, and
    for every original row a kept row that serves a superset of it.
    """
    n_c, n_e = a.shape
    size = np.diff(a.indptr)
    ai = a.astype(np.int32)
    at = ai.T.tocsr()
    col_count = np.diff(at.indptr)
    work = ai @ col_count.astype(np.int64)  # products each row of A A^T costs
    cum = np.cumsum(work)
    rep = np.arange(n_c)
    total_work = int(cum[-1]) if n_c else 0
    # rows of A A^T in blocks of about BLOCK_PRODUCTS products; skipped when the whole test would
    # cost more than DOMINANCE_WORK (the solver then sees every site)
    cuts = np.unique(np.r_[0, np.minimum(np.searchsorted(cum, np.arange(BLOCK_PRODUCTS, total_work, BLOCK_PRODUCTS)) + 1, n_c), n_c])
    if total_work > DOMINANCE_WORK:
        cuts = np.zeros(1, dtype=np.int64)
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        prod = (ai[lo:hi] @ at).tocoo()
        r, q, v = prod.row + lo, prod.col, prod.data
        dom = (q != r) & (v == size[r]) & ((size[q] > size[r]) | ((size[q] == size[r]) & (q < r)))
        r, q = r[dom], q[dom]
        order = np.lexsort((q, -size[q], r))
        r, q = r[order], q[order]
        first = np.r_[True, r[1:] != r[:-1]] if len(r) else np.zeros(0, bool)
        rep[r[first]] = q[first]
    while True:  # point every dominated row to a kept (maximal) one
        nxt = rep[rep]
        if np.array_equal(nxt, rep):
            break
        rep = nxt
    kept = np.flatnonzero((rep == np.arange(n_c)) & (size > 0))
    red = a[kept]
    # merge columns served by the same kept rows: two random 64-bit signatures per column
    rt = red.T.tocsr()
    rt.sort_indices()
    rng = np.random.default_rng(0)
    r1 = rng.integers(0, 2**63, size=len(kept), dtype=np.uint64)
    r2 = rng.integers(0, 2**63, size=len(kept), dtype=np.uint64)
    cnt = np.diff(rt.indptr)
    live = np.flatnonzero(cnt > 0)
    starts = rt.indptr[:-1][live]
    with np.errstate(over="ignore"):
        h1 = np.add.reduceat(r1[rt.indices], starts) if len(live) else np.zeros(0, np.uint64)
        h2 = np.add.reduceat(r2[rt.indices], starts) if len(live) else np.zeros(0, np.uint64)
    sig = np.column_stack([h1, h2, cnt[live].astype(np.uint64)])
    _, first, group = np.unique(sig, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    merged_w = np.bincount(group, weights=w[live], minlength=len(first))
    return red[:, live[first]], merged_w, kept, rep


def _exact(a, w, greedy: Selection, *, goal, k, tol, solver, time_limit) -> Selection:
    red, rw, kept, rep = _reduce(a, w)
    n_c, n_e = red.shape
    scale = float(rw.max()) if len(rw) else 1.0
    rw = rw / scale
    start = np.zeros(n_c)
    start[np.searchsorted(kept, np.unique(rep[greedy.sites]))] = 1.0  # the greedy, on kept rows
    problem = "MCLP" if k is not None else "LSCP"
    if n_c == 0 or (problem == "LSCP" and goal - tol <= 0):
        return dataclasses.replace(
            greedy, method="exact", optimal=True, guarantee="exact: optimal", status="no site serves anything more",
            min_sites_bound=None if problem == "MCLP" else len(greedy.sites),
            max_covered_bound=greedy.covered if problem == "MCLP" else None,
        )
    full = problem == "LSCP" and goal >= float(w[np.asarray(a.sum(axis=0)).ravel() > 0].sum()) - tol
    goal_r = None if goal is None else (goal - tol) / scale
    t0 = time.perf_counter()
    if solver == "highs":
        x, optimal, status = _solve_highs(red, rw, problem, full, goal_r, k, time_limit)
    else:
        x, optimal, status = _solve_cbc(red, rw, problem, full, goal_r, k, time_limit, start)
    elapsed = time.perf_counter() - t0
    chosen = kept[x] if x is not None else np.zeros(0, dtype=np.int64)
    # never worse than the greedy (a time-limited solver may return less)
    if x is None or _worse(a, w, chosen, greedy, problem, goal, tol):
        chosen, optimal = greedy.sites, False
        status += "; kept the greedy solution (the solver found nothing better in time)"
    sites, gains = _order(a, w, np.asarray(chosen, dtype=np.int64))
    sel = Selection(sites, gains, float(gains.sum()), problem, "exact", optimal, status=f"{status} ({elapsed:.2f} s)")
    if problem == "LSCP":
        sel.min_sites_bound = len(sites) if optimal else greedy.min_sites_bound
    else:
        sel.max_covered_bound = sel.covered if optimal else greedy.max_covered_bound
    sel.guarantee = "exact: optimal" if optimal else f"exact solver stopped at the time limit ({time_limit:g} s): not proven optimal"
    return sel


def _worse(a, w, chosen, greedy, problem, goal, tol) -> bool:
    cols = np.unique(a[chosen].indices) if len(chosen) else np.zeros(0, dtype=np.int64)
    got = float(w[cols].sum())
    if problem == "LSCP":
        return got < goal - tol or len(chosen) > len(greedy.sites)
    return got < greedy.covered - tol


def _solve_highs(red, rw, problem, full, goal_r, k, time_limit):
    from scipy.optimize import Bounds, LinearConstraint, milp

    n_c, n_e = red.shape
    at = sp.csr_array(red.T, dtype=float)
    opts = {"time_limit": float(time_limit), "mip_rel_gap": 0.0, "disp": False}
    if full:  # every element at least once: min sum x, A^T x >= 1
        res = milp(np.ones(n_c), integrality=np.ones(n_c), bounds=Bounds(0, 1),
                   constraints=[LinearConstraint(at, 1, np.inf)], options=opts)
    else:
        # x (sites, binary) then y (elements, 0..1): y <= A^T x
        link = sp.hstack([-at, sp.eye_array(n_e)], format="csr")
        cons = [LinearConstraint(link, -np.inf, 0)]
        if problem == "LSCP":
            # fewest sites; among them the most weight (worth < 1 site)
            c = np.r_[np.ones(n_c), -0.5 * rw / rw.sum()]
            cons.append(LinearConstraint(sp.csr_array(np.r_[np.zeros(n_c), rw][None, :]), goal_r, np.inf))
        else:
            c = np.r_[np.zeros(n_c), -rw]
            cons.append(LinearConstraint(sp.csr_array(np.r_[np.ones(n_c), np.zeros(n_e)][None, :]), 0, k))
        res = milp(c, integrality=np.r_[np.ones(n_c), np.zeros(n_e)], bounds=Bounds(0, 1), constraints=cons, options=opts)
    status = f"HiGHS: {res.message}"
    if res.x is None:
        return None, False, status
    return np.flatnonzero(res.x[:n_c] > 0.5), res.status == 0, status


def _solve_cbc(red, rw, problem, full, goal_r, k, time_limit, start):
    try:
        import pulp
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise InputError("solver='cbc' needs PuLP: pip install 'pulp[cbc]' (or use solver='highs').") from err
    n_c, n_e = red.shape
    prob = pulp.LpProblem("siting", pulp.LpMinimize if problem == "LSCP" else pulp.LpMaximize)
    add = getattr(prob, "add_variable", None)
    if add is None:  # PuLP < 3.3
        def add(name, lowBound=None, upBound=None, cat="Continuous"):
            return pulp.LpVariable(name, lowBound, upBound, cat)
    x = [add(f"x{i}", 0, 1, cat=pulp.LpBinary) for i in range(n_c)]
    at = sp.csr_array(red.T)
    members = np.split(at.indices, at.indptr[1:-1])
    if full:
        prob += pulp.LpAffineExpression([(v, 1.0) for v in x])
        for e, cs in enumerate(members):
            prob += pulp.LpAffineExpression([(x[c], 1.0) for c in cs]) >= 1, f"e{e}"
    else:
        y = [add(f"y{e}", 0, 1) for e in range(n_e)]
        for e, cs in enumerate(members):
            prob += pulp.LpAffineExpression([(y[e], 1.0)] + [(x[c], -1.0) for c in cs]) <= 0, f"e{e}"
        if problem == "LSCP":
            prob += pulp.LpAffineExpression([(v, 1.0) for v in x] + [(y[e], -0.5 * rw[e] / rw.sum()) for e in range(n_e)])
            prob += pulp.LpAffineExpression([(y[e], rw[e]) for e in range(n_e)]) >= goal_r, "goal"
        else:
            prob += pulp.LpAffineExpression([(y[e], rw[e]) for e in range(n_e)])
            prob += pulp.LpAffineExpression([(v, 1.0) for v in x]) <= k, "k"
        covered = np.zeros(n_e)
        covered[np.unique(sp.csr_array(red)[np.flatnonzero(start)].indices)] = 1.0
        for e in range(n_e):
            y[e].setInitialValue(covered[e])
    for i in range(n_c):
        x[i].setInitialValue(start[i])
    kw = {"msg": False, "timeLimit": float(time_limit), "gapRel": 0.0, "warmStart": True}
    cmd = pulp.COIN_CMD(**kw) if hasattr(pulp, "COIN_CMD") and pulp.COIN_CMD(msg=False).available() else None
    if cmd is None:
        with warnings.catch_warnings():  # PuLP >= 3.3 deprecates its bundled CBC in favour of pulp[cbc]
            warnings.simplefilter("ignore", DeprecationWarning)
            cmd = pulp.PULP_CBC_CMD(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prob.solve(cmd)
    status = f"CBC: {pulp.LpSolution.get(prob.sol_status, prob.sol_status)}"
    if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return None, False, status
    vals = np.array([v.value() or 0.0 for v in x])
    return np.flatnonzero(vals > 0.5), prob.sol_status == pulp.LpSolutionOptimal, status
