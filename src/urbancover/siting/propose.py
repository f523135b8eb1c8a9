"""Proposals: the fewest new facilities (or the best k) for a rule of a report, or for any demand."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError, require_number
from urbancover.core.settings import Settings
from urbancover.engine import DistanceField, distance_field
from urbancover.evaluation.measure import LAYER_UNITS as UNITS
from urbancover.io.osm import OSMData
from urbancover.network.snap import as_geometry
from urbancover.network.walk import Network
from urbancover.present import Note
from urbancover.siting.candidates import make_candidates
from urbancover.siting.coverage import Problem, demand_weights, place_problem, street_problem
from urbancover.siting.solve import solve_covering

# -- results -------------------------------------------------------------------------------------


@dataclass(eq=False)


class SitingResult:
    """Proposed sites for one demand layer, with what each one buys.

    Attributes
    ----------
    sites : GeoDataFrame
        One row per proposed site, in the order that serves the most first: ``order`` (1, 2 ...),
        the candidate's columns (``edge``, ``offset``, ``access``, street ``highway``/``name`` ...),
        ``<unit>_newly_served`` (what it newly serves given the sites before it),
        ``share_newly_served`` and ``cumulative_share`` (of all demand), geometry (network CRS).
    curve : DataFrame
        The marginal gain curve: ``n_sites`` (0 = existing facilities only), ``served`` and ``share``.
    newly_served : GeoDataFrame
        The demand the sites newly serve (places, or street pieces), with ``site``: the ``order``
        of the first site serving it.
    before, after : float
        Share of the demand served by the existing facilities, and with the sites added.
    attainable : float
        The largest share any number of candidate sites could reach.
    target : float or None
        Requested share (set covering); ``goal`` is what was aimed at: the target, capped at
        ``attainable``. ``None`` for maximal covering.
    k : int or None
        Number of sites asked for (maximal covering).
    problem, method : str
        ``"LSCP"``/``"MCLP"`` and ``"greedy"``/``"exact"``.
    optimal : bool or None
        Whether the exact solver proved optimality (``None``: greedy).
    min_sites_bound, max_share_bound
        No choice reaching the goal has fewer sites than ``min_sites_bound`` (LSCP); no ``k`` sites
        serve a larger share than ``max_share_bound`` (MCLP).
    guarantee : str
        The approximation guarantee of the method, in words.
    threshold : float
        The threshold (metres).
    unit : str
        What the weights count: ``residents``, ``buildings``, ``compounds`` or ``street_m``.
    total : float
        All demand (weight), reachable or not.
    rule_id : str or None
        The rule sited for, with ``facility_tags``: tags a new site needs to count as one of its
        facilities (for :func:`add_sites`).
    candidates : int
        Candidate sites considered.
    notes : list of str
        What the siting assumed or could not do.
    timings : dict
        Seconds spent on candidates, coverage sets and the choice.
    """

    sites: gpd.GeoDataFrame
    curve: pd.DataFrame
    newly_served: gpd.GeoDataFrame
    before: float
    after: float
    attainable: float
    target: float | None
    goal: float | None
    k: int | None
    problem: str
    method: str
    optimal: bool | None
    min_sites_bound: int | None
    max_share_bound: float | None
    guarantee: str
    threshold: float
    unit: str
    total: float
    rule_id: str | None = None
    facility_tags: dict | None = None
    candidates: int = 0
    notes: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def column(self) -> str:
        """Name of the column of :attr:`sites` holding what each site newly serves."""
        return f"{self.unit}_newly_served"

    def describe(self) -> str:
        """One sentence: how many sites bring the share from what to what."""
        what = self.rule_id or "the demand"
        return (
            f"{len(self.sites)} new site{' brings' if len(self.sites) == 1 else 's bring'} {what} "
            f"({self.unit.replace('_', ' ')} served) from {self.before:.1%} to {self.after:.1%}"
            + (f" (target {self.target:.0%})" if self.target is not None else f" (best {self.k})")
        )

    def __repr__(self) -> str:
        return f"SitingResult({self.describe()}; {self.problem} {self.method})"

    def plot_curve(self, ax=None):
        """Plot coverage against the number of new sites (matplotlib); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        c = self.curve
        ax.plot(c["n_sites"], 100 * c["share"], marker="o", label=f"{self.method} {self.problem}")
        if self.goal is not None:
            ax.axhline(100 * self.goal, linestyle="--", color="grey", label=f"goal {self.goal:.1%}")
        ax.set_xlabel("new sites")
        ax.set_ylabel(f"{self.unit.replace('_', ' ')} served (%)")
        ax.set_title(f"{self.rule_id or 'siting'}: within {self.threshold:g} m")
        ax.set_ylim(min(100 * self.before, 100) - 5, 102)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="lower right")
        return ax


def propose_sites(
    network: Network,
    demand,
    threshold: float,
    *,
    weights=None,
    existing=None,
    target: float | None = None,
    k: int | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    spacing: float = 50.0,
    within=None,
    near: float = 0.0,
    method: str = "greedy",
    solver: str = "highs",
    time_limit: float = 60.0,
    unit: str | None = None,
    settings: Settings | None = None,
) -> SitingResult:
    """New facility sites so that demand lies within ``radius`` of a facility.

    Parameters
    ----------
    network
        The walking network.
    demand
        Places (GeoDataFrame/GeoSeries of points, any CRS; polygons by their point on surface), or
        street demand as disjoint intervals ``(edge, start, end)`` of the network.
    threshold
        Threshold (metres).
    weights
        For places: a column name, an array, or None (1 each). Street demand weighs its metres.
    existing
        Existing facilities (GeoDataFrame, any geometry and CRS, or a :class:`DistanceField`):
        the demand they already serve is counted and left out of the choice.
    target
        Share (0-1] of all demand to reach with the fewest sites (set covering; default 1). Demand no
        candidate can reach is counted in the share but cannot be served: the goal is capped at
        the attainable share and a note says so.
    k
        Give it instead of ``target`` for the best ``k`` sites (maximal covering).
    candidates
        Candidate sites (points, any CRS; their access leg to the street counts). Default
        :func:`candidate_sites` with ``spacing``, ``within``, ``near``.
    spacing, within, near
        Passed to :func:`candidate_sites`.
    method, solver, time_limit
        See :func:`solve_covering`.
    unit
        Name of what the weights count (column ``<unit>_newly_served``); default ``"demand"``
        for places, ``"street_m"`` for streets.
    settings
        The :class:`~urbancover.core.settings.Settings` to snap with; default
        :func:`urbancover.core.settings.current`.

    Returns
    -------
    SitingResult

    Notes
    -----
    Cost: candidates O(V + L / spacing); coverage sets O(S (V_r + E_r) log V_r) for S cut-off
    searches (from the smaller of the open demand and the candidates, each over the V_r nodes
    within ``radius`` straight-line metres); then :func:`solve_covering`.
    """
    threshold = require_number(threshold, "threshold", positive=True)
    if isinstance(existing, DistanceField) or existing is None:
        fld = existing
    else:
        fld = distance_field(network, existing, threshold, name="existing", settings=settings)
    t0 = time.perf_counter()
    cand = make_candidates(network, candidates, spacing, within, near, settings)
    t1 = time.perf_counter()
    if isinstance(demand, tuple):
        prob = street_problem(network, tuple(np.asarray(x) for x in demand), fld, threshold, cand)
    else:
        geoms = as_geometry(demand, network.crs, "demand")
        # a building or compound is where it stands: its point on surface (as the rules measure it)
        area = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & (shapely.get_type_id(geoms) != shapely.GeometryType.POINT)
        if area.any():
            geoms = geoms.copy()
            geoms[area] = shapely.point_on_surface(geoms[area])
        w = demand_weights(demand, weights, len(geoms))
        feats = demand if isinstance(demand, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=demand)
        prob = place_problem(network, feats.to_crs(network.crs), geoms, w, fld, threshold, cand, unit or "demand",
                             settings=settings)
    t2 = time.perf_counter()
    return solve_problem(prob, threshold, target=target, k=k, method=method, solver=solver, time_limit=time_limit,
                  timings={"candidates": t1 - t0, "coverage": t2 - t1})


def solve_problem(
    prob: Problem, threshold, *, target, k, method, solver, time_limit, timings, rule_id=None, tags=None
) -> SitingResult:
    """Choose the sites of a problem (:func:`solve_covering`) and describe what each buys."""
    notes = list(prob.notes)
    total = prob.total
    if total <= 0:
        raise InputError("demand: it weighs nothing (no places, or all weights 0): there is nothing to site for.")
    w = prob.weights
    reach = np.asarray(prob.matrix.sum(axis=0)).ravel() > 0
    coverable = float(w[reach].sum())
    attainable = (prob.served_before + coverable) / total if total > 0 else np.nan
    unreachable = float(w[~reach].sum()) + prob.unreached
    if unreachable > 1e-9 * total:
        notes.append(Note("siting.unreachable", u=unreachable, unit=prob.unit, share=unreachable / total, threshold=threshold))
    if k is not None and target is not None:
        raise InputError("give either target (fewest sites reaching a share) or k (best k sites), not both.")
    goal_share = None
    goal_w = None
    if k is None:
        target = 1.0 if target is None else target
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
            raise InputError(f"target must be a share in (0, 1], got {target!r}.")
        goal_share = min(float(target), attainable)
        if goal_share < target - 1e-9:
            notes.append(Note("siting.target_unreachable", target=target, attainable=attainable))
        goal_w = max(0.0, min(goal_share * total - prob.served_before, coverable))
        if prob.served_before >= goal_share * total - 1e-9 * total:
            notes.append(Note("siting.no_site_needed", share=prob.served_before / total))
            goal_w = 0.0
    t0 = time.perf_counter()
    sel = solve_covering(prob.matrix, w, goal=goal_w, k=k, method=method, solver=solver, time_limit=time_limit)
    timings = dict(timings, choice=time.perf_counter() - t0)
    cum = np.r_[0.0, np.cumsum(sel.gains)]
    share = (prob.served_before + cum) / total
    sites = prob.candidates.iloc[sel.sites].reset_index(drop=True)
    sites.insert(0, "order", np.arange(1, len(sites) + 1))
    col = f"{prob.unit}_newly_served"
    sites[col] = sel.gains
    sites["share_newly_served"] = sel.gains / total
    sites["cumulative_share"] = share[1:]
    sites = sites.drop(columns=[c for c in ("node",) if c in sites])
    curve = pd.DataFrame({"n_sites": np.arange(len(cum)), "served": prob.served_before + cum, "share": share})
    # which site newly serves each element: the first one in order
    first = np.zeros(prob.matrix.shape[1], dtype=np.int64)
    for pos, c in enumerate(sel.sites[::-1]):
        first[prob.matrix[[c]].indices] = len(sel.sites) - pos
    hit = first > 0
    newly = prob.elements[hit].assign(site=first[hit]).reset_index(drop=True)
    mclp_bound = None
    if sel.max_covered_bound is not None:
        mclp_bound = (prob.served_before + sel.max_covered_bound) / total
    if method == "greedy" and k is None and len(sel.sites):
        notes.append(f"{sel.guarantee}.")
    return SitingResult(
        sites=sites, curve=curve, newly_served=newly, before=prob.served_before / total, after=float(share[-1]),
        attainable=attainable, target=None if k is not None else float(target), goal=goal_share, k=k,
        problem=sel.problem, method=method, optimal=sel.optimal, min_sites_bound=sel.min_sites_bound,
        max_share_bound=mclp_bound, guarantee=sel.guarantee, threshold=threshold, unit=prob.unit, total=total,
        rule_id=rule_id, facility_tags=tags, candidates=len(prob.candidates), notes=notes, timings=timings,
    )

# -- rules of a report ---------------------------------------------------------------------------


def site_facilities(
    report,
    rule_id: str,
    *,
    method: str = "greedy",
    target: float | None = None,
    k: int | None = None,
    demand: str | None = None,
    spacing: float = 50.0,
    within=None,
    near: float = 0.0,
    candidates: gpd.GeoDataFrame | None = None,
    solver: str = "highs",
    time_limit: float = 60.0,
) -> SitingResult:
    """Propose new facilities for one distance rule of an evaluated report.

    Parameters
    ----------
    report
        What :func:`urbancover.evaluate` returned (the rule must have been evaluated).
    rule_id
        A ``radius`` rule, e.g. ``"bus_stop_500"`` or ``"toilet_main_300"``.
    method
        ``"greedy"`` (default, with its guarantee) or ``"exact"`` (integer programme).
    target
        Share of demand to reach with the fewest sites; default the rule's target.
    k
        Instead of a target: the best ``k`` sites.
    demand
        The rule's demand layer to site for: ``residents`` (weighted by residents),
        ``residential_buildings``, ``compounds`` (one each) or ``streets`` (metres of street
        within the threshold, measured exactly). Default: the rule's first layer, the one its value
        measures.
    spacing, within, near, candidates
        Candidate sites, see :func:`candidate_sites` and :func:`propose_sites`.
    solver, time_limit
        For ``method="exact"``, see :func:`solve_covering`.

    Returns
    -------
    SitingResult
        With ``before`` equal to the report's value for that layer.

    Raises
    ------
    InputError
        The rule is not in the report, is not a ``radius`` rule, or does not measure ``demand``.

    Examples
    --------
    >>> report = urbancover.evaluate("data/sample/shenzhen_longgang.osm.bz2", only=["bus_stop_500"])
    >>> res = site_facilities(report, "bus_stop_500")
    >>> res.describe()  # doctest: +SKIP
    '4 new sites bring bus_stop_500 (residents served) from 37.7% to 100.0% (target 100%)'
    """
    if rule_id not in report.results:
        raise InputError(
            f"site_facilities: rule {rule_id!r} was not evaluated in this report (it has {sorted(report.results)}); "
            "evaluate it first, e.g. urbancover.evaluate(source, only=[rule_id])."
        )
    res = report.results[rule_id]
    rule, m = res.rule, res.measurement
    if m is None or len(m.checks) != 1:
        raise InputError(
            f"site_facilities: rule {rule_id!r} is a {rule.kind!r} rule; siting supports rules with one facility "
            "category within a distance (kind 'radius'). For an all_of rule, site each category with a radius rule "
            "of its own."
        )
    layer = rule.demand[0] if demand is None else demand
    if layer not in rule.demand:
        raise InputError(
            f"site_facilities: rule {rule_id!r} measures {list(rule.demand)}, not {layer!r}; pass demand= one of those."
        )
    check = m.checks[0]
    net = report.network
    threshold = check.threshold
    min_area = rule.params.get("facility_min_area_m2")
    # the facilities, demand and fields the evaluation measured (the user's layer included)
    fld = check.field
    t0 = time.perf_counter()
    cand = make_candidates(net, candidates, spacing, within, near, report.context.settings)  # the evaluation's
    t1 = time.perf_counter()
    # within the threshold as the rule reads it: at most threshold + the rule set's tolerance
    if layer == "streets":
        prob = street_problem(net, m.streets, fld, check.limit, cand)
    else:
        p = m.places[layer]
        keep = [c for c in p.features.columns if c not in ("tags", "demand_source")]
        prob = place_problem(net, p.features[keep], p.points, p.weights, fld, check.limit, cand, UNITS[layer],
                             snapped=p.snapped, served=m.served(layer))
    t2 = time.perf_counter()
    tags = facility_tags(check.selector)
    res = solve_problem(prob, threshold, target=rule.target if (target is None and k is None) else target, k=k, method=method,
                 solver=solver, time_limit=time_limit, timings={"candidates": t1 - t0, "coverage": t2 - t1},
                 rule_id=rule_id, tags=tags)
    if min_area is not None:
        res.notes.append(Note("siting.min_area", rule=rule_id, min_area=min_area))
    return res


def facility_tags(selector) -> dict | None:
    """Tags that make a new feature match a tag selector: its first alternative's plain values
    (a list gives its first value, ``true`` gives ``"yes"``; ``false`` and ``not`` conditions
    hold when the tag is absent). ``None`` if no alternative sets a tag.
    """
    for alt in selector:
        tags = {}
        for key, cond in alt.items():
            if cond is True:
                tags[key] = "yes"
            elif isinstance(cond, str):
                tags[key] = cond
            elif isinstance(cond, (list, tuple)) and cond:
                tags[key] = str(cond[0])
            # False and {not = [...]}: satisfied by leaving the tag out
        if tags:
            return tags
    return None


def add_sites(osm: OSMData, sites: gpd.GeoDataFrame, tags: Mapping[str, str]) -> OSMData:
    """A copy of ``osm`` with the sites added as tagged point features, to measure rules again.

    Parameters
    ----------
    osm
        What :func:`urbancover.read_osm` returned.
    sites
        Points in any CRS (e.g. ``SitingResult.sites``).
    tags
        OSM tags of the new features, e.g. ``SitingResult.facility_tags`` or
        ``{"highway": "bus_stop"}``.

    Returns
    -------
    OSMData
        Same ways; features with one more node per site (negative ``osmid``, as for new objects).
    """
    if not isinstance(osm, OSMData):
        raise InputError(f"add_sites: osm must be what urbancover.read_osm returned, not {type(osm).__name__}.")
    if not tags:
        raise InputError("add_sites: give the tags of the new facilities, e.g. {'highway': 'bus_stop'}.")
    geoms = as_geometry(sites, osm.features.crs, "sites")
    n = len(geoms)
    f = osm.features
    low = int(min(0, pd.to_numeric(f["osmid"], errors="coerce").min() if len(f) else 0))
    cols = {"element": ["node"] * n, "osmid": np.arange(low - 1, low - 1 - n, -1)}
    for c in f.columns:
        if c not in ("element", "osmid", "tags", f.geometry.name):
            cols[c] = [tags.get(c)] * n
    cols["tags"] = [dict(tags) for _ in range(n)]
    new = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(geoms, crs=f.crs), crs=f.crs)
    new = new.rename_geometry(f.geometry.name) if new.geometry.name != f.geometry.name else new
    features = pd.concat([f, new[f.columns]], ignore_index=True)
    return dataclasses.replace(osm, features=gpd.GeoDataFrame(features, geometry=f.geometry.name, crs=f.crs), _cache={})
