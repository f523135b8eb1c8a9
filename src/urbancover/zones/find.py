"""The demonstration-zone search of plan clause IV.1 (:func:`find_zones`), on an evaluated report."""

from __future__ import annotations

import math
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError, warn
from urbancover.plan.selectors import describe
from urbancover.present import Note
from urbancover.zones.blocks import LEVELS, MIN_STRIP_M, TOL, as_metric, road_classes, street_blocks
from urbancover.zones.search import POLISH_MOVES, POLISH_TRIES, Budget, Problem, Search, climb, search_beam, search_exact

#: Default weight of one old compound in a zone's score, in the unit of the need term (residents
#: unserved, averaged over the distance rules): an old compound counts as much as 500 residents who
#: lack a service, about the residents of a small compound of 150-200 homes.
OLD_COMPOUND_WEIGHT: float = 500.0

_EMPTY_COLUMNS = ["rank", "area_km2", "n_blocks", "blocks", "old_compounds", "compound_names", "residents"]


def find_zones(
    report,
    *,
    level: str | list[str] | tuple[str, ...] = "tertiary",
    band_km2: tuple[float, float] = (0.8, 1.2),
    min_old_compounds: int = 3,
    weights: dict[str, float] | None = None,
    top: int = 5,
    blocks: gpd.GeoDataFrame | None = None,
    compounds: gpd.GeoDataFrame | None = None,
    before_year: int | None = None,
    assume_old: bool | None = None,
    min_compactness: float = 0.4,
    join_gap_m: float = 30.0,
    min_shared_m: float = 50.0,
    min_inside_share: float = 0.5,
    method: str = "auto",
    max_states: int = 100_000,
    beam_width: int = 2,
    polish: int = 20,
) -> gpd.GeoDataFrame:
    """Propose and rank demonstration zones (plan clause IV.1).

    A zone is a connected union of adjacent street blocks (:func:`street_blocks` at ``level``)
    whose area lies in ``band_km2``, holding at least ``min_old_compounds`` old compounds (a compound
    counts when most of its area lies inside). Valid zones are scored by the need the rules
    evaluation found inside them, and the ``top`` best that share no block are returned.

    Parameters
    ----------
    report
        What :func:`urbancover.evaluate` returned. Its distance rules with resident demand give
        the need; its compounds (with ``old``) the old compounds.
    level
        Road level enclosing the blocks (see :data:`LEVELS`), or a list of ``highway`` values.
    band_km2
        (min, max) area of a zone in km² (default 0.8-1.2 km², as the CLI's ``--band``).
    min_old_compounds
        Old compounds a zone must hold.
    weights
        Weights of the score: rule id -> weight per resident who lacks that rule's service in the
        zone, and ``"old_compounds"`` -> weight per old compound. Missing keys take the default:
        ``1 / R`` for each of the R distance rules (so the need term is the number of unserved
        residents averaged over the rules) and :data:`OLD_COMPOUND_WEIGHT` per old compound.
    top
        How many zones to return at most.
    blocks
        Street blocks to use (from :func:`street_blocks` with your own thresholds); default
        ``street_blocks(report, level)``.
    compounds, before_year, assume_old
        Re-derive the old compounds for the search (see :func:`urbancover.evaluation.demand.compounds`): a user
        layer (name, year_built, polygons), the cut-off year, and whether compounds with no year
        count as old (the proxy; ``False`` turns it off). Default: the report's compounds.
    min_compactness
        Least Polsby-Popper compactness ``4 pi A / P²`` of a zone (a square of blocks 0.79, a row of
        four 0.50, a row of ten 0.26), so that a zone is an area, not a corridor. P is the outline
        of its blocks: their perimeters less the boundaries they share (directly or across a strip),
        which leaves out the short ends of the strips a zone covers.
    join_gap_m
        Blocks whose boundaries run within this distance of each other (the road strip of a dual
        carriageway) are adjacent, and a zone covers the strip between its blocks.
    min_shared_m
        Blocks are adjacent when they share this length of boundary, directly or across a strip
        narrower than ``join_gap_m`` that holds no other block; blocks meeting only at a corner are
        not.
    min_inside_share
        Blocks with a smaller share of their area inside the report's analysed area are left out.
    method
        ``"exact"`` enumerates every connected union of blocks up to the band's top (each once);
        ``"beam"`` grows zones best-first from every block; ``"auto"`` (default) tries the exact
        enumeration and falls back to the beam search past ``max_states`` unions.
    max_states
        Unions the exact enumeration may visit under ``"auto"``.
    beam_width
        Sets kept per size and guide in the beam search.
    polish
        After the beam search, each zone is chosen as the best of this many candidates (the best
        that share no block with the zones already chosen), each first improved by hill-climbing
        (add a neighbouring block, or swap an edge block for one, while the score rises).

    Returns
    -------
    GeoDataFrame
        One row per zone, best first, in the report's CRS: ``rank``, ``area_km2``, ``n_blocks``,
        ``blocks`` (ids of :func:`street_blocks`), ``old_compounds``, ``compound_names`` (the old
        compounds counted), ``residents``, ``gap_<rule id>`` (residents lacking that rule's service),
        ``need``, ``score``, ``compactness``, ``reason`` (why it ranks where it does) and the zone's
        Polygon. ``attrs``: ``compound_source`` (which source gave the old compounds), ``level``,
        ``weights``, ``search`` (method, blocks, unions visited, valid candidates, seconds),
        ``diagnosis`` and ``failed`` (None when zones were found). When no zone meets the
        constraints the table is empty, ``attrs["failed"]`` names the constraint (``"blocks"``,
        ``"area"``, ``"old_compounds"``, ``"compactness"``), ``attrs["diagnosis"]`` says how close
        the best attempt came, and a warning repeats it.

    Notes
    -----
    Score of a zone: ``sum_r w_r x unserved residents_r + w_old x old compounds``. The search works
    on the block adjacency graph with additive per-block quantities (area, plus the road strip
    between adjacent blocks; need; old compounds; perimeter); the chosen zones are then measured
    exactly on their geometry (union of the blocks, closed over gaps narrower than ``join_gap_m``).

    Cost, for B blocks of degree d and at most n blocks per zone (band top / block area): the
    exact enumeration visits each connected set of at most n blocks once, O(B d^n) in the worst
    case, bounded by ``max_states`` under ``"auto"``; the beam search makes O(2 S n w F) set
    extensions for S seed blocks, beam width w and F neighbours of a set, each O(n + d); picking
    ``top`` zones from K candidates is O(K log K + top K) plus the hill-climbing, O(polish x POLISH_MOVES x
    POLISH_TRIES x n d) per zone. Measured: 0.07 s on the bundled sample (38 blocks, exact), 0.6 s
    on a 30 x 30 grid of 500 m blocks (exact), 5 s on a 30 x 30 grid of 200 m blocks (30 blocks
    per zone, beam). Building the blocks is O(L log L) for L road segments.

    Examples
    --------
    >>> report = urbancover.evaluate("data/sample/shenzhen_longgang.osm.bz2")
    >>> zones = find_zones(report, min_old_compounds=2)  # doctest: +SKIP
    >>> zones[["rank", "area_km2", "old_compounds", "score", "reason"]]  # doctest: +SKIP
    >>> find_zones(report).attrs["diagnosis"]  # doctest: +SKIP
    'best 1.00 km² enclosed area holds only 2 old compounds (need 3; ...'
    """
    t0 = time.perf_counter()
    ctx = report.context
    crs = ctx.crs
    lo, hi = _check_arguments(band_km2, min_old_compounds, top, method, min_shared_m, join_gap_m)
    comp_source, old_comp = _old_compounds(report, compounds, before_year, assume_old)
    names = _compound_names(old_comp)
    # the need: the distance rules' served residents, as measured by the evaluation
    rules = {rid: res for rid, res in report.results.items() if res.residents_served is not None}
    w = _weights(weights, list(rules))
    w_old = w["old_compounds"]
    level_name, given_blocks, geoms_all, ids_all, inside = _blocks_in_area(ctx, level, blocks, crs, min_inside_share)
    geoms = geoms_all[inside]
    base_attrs = {
        "compound_source": comp_source,
        "level": level_name,
        "band_km2": (lo / 1e6, hi / 1e6),
        "min_old_compounds": int(min_old_compounds),
        "weights": dict(w),
    }

    def fail(what: str, message: str, search: dict) -> gpd.GeoDataFrame:
        out = _empty(crs, rules)
        out.attrs.update(base_attrs, failed=what, diagnosis=message, search=search)
        warn(f"find_zones: no demonstration zone: {message}")
        return out

    search_info = {"method": None, "blocks": int(len(geoms)), "states": 0, "candidates": 0, "seconds": 0.0}
    if len(geoms) == 0:
        return fail("blocks", _no_blocks(geoms_all, given_blocks, level, level_name), search_info)
    if len(old_comp) < min_old_compounds:
        return fail("old_compounds", Note("zone.none.few_old", n=len(old_comp), source=comp_source, k=min_old_compounds),
                    search_info)
    pos_in_all = np.flatnonzero(inside)
    P, adjacent_pairs = _problem(
        geoms, geoms_all, pos_in_all, old_comp, ctx.population, rules, w, lo, hi, int(min_old_compounds), min_compactness,
        join_gap_m, min_shared_m,
    )
    S, used = _search(P, method, max_states, beam_width, search_info)
    search_info.update(method=used, adjacencies=int(adjacent_pairs), states=int(S.states), candidates=len(S.candidates))
    if not S.candidates:
        search_info["seconds"] = time.perf_counter() - t0
        what, message = _diagnose(P, S, len(old_comp), comp_source)
        return fail(what, message, search_info)
    rows, rejected = _pick(
        P, S, used, top, polish, pos_in_all, geoms_all, ids_all, join_gap_m, old_comp, names, ctx.population,
        {rid: res.residents_served for rid, res in rules.items()}, w, w_old, lo, hi, min_old_compounds, min_compactness,
    )
    search_info["rejected_on_exact_geometry"] = rejected
    search_info["seconds"] = time.perf_counter() - t0
    if not rows:
        return fail("area", Note("zone.none.geometry", n=len(S.candidates)), search_info)
    out = _table(rows, rules, crs, len(S.candidates), w_old, w)
    out.attrs.update(base_attrs, failed=None, diagnosis=None, search=search_info)
    return out


# -- the steps of find_zones -----------------------------------------------------------------------
def _check_arguments(band_km2, min_old_compounds, top, method, min_shared_m, join_gap_m) -> tuple[float, float]:
    """The zone area band in m², after checking every argument of :func:`find_zones`."""
    lo, hi = (float(b) * 1e6 for b in band_km2)
    if not (0 < lo <= hi):
        raise InputError(f"band_km2: give (min, max) zone area in km² with 0 < min <= max, not {band_km2!r}.")
    if min_old_compounds < 0 or top < 1:
        raise InputError("find_zones: min_old_compounds must be >= 0 and top >= 1.")
    if method not in ("auto", "exact", "beam"):
        raise InputError(f"method: use 'auto', 'exact' or 'beam', not {method!r}.")
    if min_shared_m < 0 or join_gap_m < 0:
        raise InputError("find_zones: join_gap_m and min_shared_m must be >= 0 (metres).")
    return lo, hi


def _old_compounds(report, compounds, before_year, assume_old) -> tuple[str, gpd.GeoDataFrame]:
    """(source sentence, old compounds in the area): the report's, or re-read with other settings."""
    from urbancover.evaluation import demand

    ctx = report.context
    if compounds is not None or before_year is not None or assume_old is not None:
        comp, comp_source = demand.compounds(ctx.osm, compounds, before_year=before_year, assume_old=assume_old,
                                             settings=ctx.settings)
        comp = comp.to_crs(ctx.crs)
        inside = ctx.area_inside(comp.geometry.values) > 0.5 * shapely.area(comp.geometry.values)
        comp = comp[inside].reset_index(drop=True)
    else:
        comp = report.compounds
        comp_source = _compound_source(report)
    old_comp = comp[comp["old"].to_numpy(dtype=bool)].reset_index(drop=True) if len(comp) else comp
    return comp_source, old_comp


def _blocks_in_area(ctx, level, blocks, crs, min_inside_share: float):
    """(level name, blocks given?, all block geometries, their ids, mask of those mostly in the area)."""
    level_name = level if isinstance(level, str) else "custom"
    given_blocks = blocks is not None
    if blocks is None:
        blocks = street_blocks(ctx, level)
    else:
        level_name = blocks.attrs.get("level", "given blocks")
        blocks = as_metric(blocks, crs, "blocks")
    geoms_all = blocks.geometry.values
    ids_all = blocks["block"].to_numpy() if "block" in blocks else np.arange(len(blocks))
    if len(geoms_all):
        share_in = ctx.area_inside(geoms_all) / shapely.area(geoms_all)  # by the area's pieces: a city's built-up land
        inside = share_in > min_inside_share
    else:
        inside = np.zeros(0, dtype=bool)
    return level_name, given_blocks, geoms_all, ids_all, inside


def _no_blocks(geoms_all, given_blocks, level, level_name) -> str:
    """Why there is no block to search, and what to do."""
    if len(geoms_all):
        why = f"{len(geoms_all)} blocks, none mostly inside the analysed area"
    elif given_blocks:
        why = "the blocks given are empty"
    else:
        why = (f"the roads of that level ({describe([{'highway': list(road_classes(level))}])}) enclose no "
               "block larger than the sliver thresholds")
    return (f"no street block enclosed by roads at level {level_name!r}: {why}. Choose a lower level "
            f"(one of {list(LEVELS)}) or check that the extract covers the district's roads.")


def _search(P: Problem, method: str, max_states: int, beam_width: int, info: dict) -> tuple[Search, str]:
    """Exact enumeration (within ``max_states`` under ``"auto"``), else beam search."""
    S = Search()
    used = method
    if method in ("auto", "exact"):
        try:
            search_exact(P, S, max_states if method == "auto" else math.inf)
            used = "exact"
        except Budget:
            S = Search()
            used = "beam"
            info["exact_gave_up_after"] = int(max_states)
    if used == "beam":
        search_beam(P, S, beam_width)
    return S, used


def _pick(P, S, used, top, polish, pos_in_all, geoms_all, ids_all, join_gap_m, old_comp, names, pop, served, w, w_old,
          lo, hi, min_old_compounds, min_compactness) -> tuple[list, int]:
    """Non-overlapping zones by score, each measured on its exact geometry (after the beam search,
    the best few candidates sharing no block with the zones taken are hill-climbed first).
    """
    order = sorted(S.candidates.items(), key=lambda kv: (-kv[1][0], -kv[1][1]))
    n_pool = max(polish, 1) if used == "beam" else 1
    taken: set = set()
    rows = []
    rejected = 0
    block_tree = shapely.STRtree(geoms_all)
    while len(rows) < top:
        order = [kv for kv in order if not (taken & kv[0])]
        if not order:
            break
        pool = order[:n_pool]
        if polish > 0 and used == "beam":
            climbed = [climb(P, S, key, sc[0], taken, POLISH_MOVES, POLISH_TRIES) + (k,) for k, (key, sc) in enumerate(pool)]
        else:
            climbed = [(key, sc[0], k) for k, (key, sc) in enumerate(pool)]
        key, _, k = max(climbed, key=lambda c: (c[1], -c[2]))
        ids = pos_in_all[np.array(sorted(key))]
        zone = _zone_geometry(geoms_all, ids, block_tree, join_gap_m)
        row = _measure(zone, _outline(P, key), old_comp, names, pop, served, w, w_old)
        if not (lo <= row["area_m2"] <= hi and row["old_compounds"] >= min_old_compounds and row["compactness"] >= min_compactness):
            rejected += 1
            order.pop(k)
            continue
        taken |= key
        row.update(n_blocks=len(ids), blocks=[int(b) for b in ids_all[ids]], geometry=zone)
        rows.append(row)
    return rows, rejected


def _compound_source(report) -> Note | str:
    return report.context.compound_source or Note("compounds.report")


def _compound_names(comp: gpd.GeoDataFrame) -> np.ndarray:
    names = comp["name"].to_numpy(dtype=object) if "name" in comp else np.full(len(comp), None, dtype=object)
    osmid = comp["osmid"].to_numpy() if "osmid" in comp else None
    out = []
    for i, n in enumerate(names):
        if isinstance(n, str) and n.strip():
            out.append(n)
        elif osmid is not None:
            out.append(Note("zone.unnamed_osm", osmid=osmid[i]))
        else:
            out.append(Note("zone.unnamed", i=i))
    return np.asarray(out, dtype=object)


def _weights(weights, rule_ids: list[str]) -> dict[str, float]:
    default = {rid: 1.0 / len(rule_ids) for rid in rule_ids}
    default["old_compounds"] = OLD_COMPOUND_WEIGHT
    if weights is None:
        return default
    unknown = sorted(set(weights) - set(default))
    if unknown:
        raise InputError(
            f"weights: no distance rule with resident demand named {unknown} in the report; the keys are "
            f"{list(default)}."
        )
    bad = {k: v for k, v in weights.items() if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0)}
    if bad:
        raise InputError(f"weights: weights must be finite numbers >= 0, got {bad}.")
    default.update({k: float(v) for k, v in weights.items()})
    return default


def _problem(geoms, all_geoms, pos_in_all, old_comp, pop, rules, w, lo, hi, k, min_compact, gap, min_shared) -> tuple[Problem, int]:
    """Per-block areas, perimeters, need and old compounds, and the adjacency with shared lengths.

    ``geoms`` are the blocks searched, ``all_geoms`` every block (``geoms = all_geoms[pos_in_all]``):
    no zone covers a block it does not hold.
    """
    B = len(geoms)
    area = shapely.area(geoms)
    perim = shapely.length(geoms)
    tree = shapely.STRtree(geoms)
    i, j, shared, seam = _adjacency(geoms, all_geoms, pos_in_all, gap)
    ok = shared >= max(min_shared, TOL)
    i, j, shared, seam = i[ok], j[ok], shared[ok], seam[ok]
    adj = [[] for _ in range(B)]
    for a, b, s, m in zip(i.tolist(), j.tolist(), shared.tolist(), seam.tolist()):
        adj[a].append((b, s, m))
        adj[b].append((a, s, m))
    # need: unserved residents per block and rule
    value = np.zeros(B)
    if len(pop) and rules:
        pi, bi = tree.query(pop.geometry.values, predicate="within")
        res = pop["residents"].to_numpy(dtype=float)
        for rid, r in rules.items():
            lack = ~r.residents_served[pi]
            value += w[rid] * np.bincount(bi[lack], weights=res[pi][lack], minlength=B)
    # old compounds: by the block holding most of each; the others tracked per block
    old_in = np.zeros(B, dtype=np.int64)
    split: list = [[] for _ in range(B)]
    cgeoms = shapely.make_valid(old_comp.geometry.values) if len(old_comp) else np.zeros(0, object)
    half = 0.5 * shapely.area(cgeoms) if len(cgeoms) else np.zeros(0)
    if len(cgeoms):
        ci, bi = tree.query(cgeoms, predicate="intersects")
        ov = shapely.area(shapely.intersection(cgeoms[ci], geoms[bi]))
        most = np.zeros(len(cgeoms), dtype=bool)
        for c, b, o in zip(ci.tolist(), bi.tolist(), ov.tolist()):
            if o > half[c]:
                old_in[b] += 1
                most[c] = True
        for c, b, o in zip(ci.tolist(), bi.tolist(), ov.tolist()):
            if not most[c] and o > 0:
                split[b].append((c, o))
    P = Problem(area=area, perim=perim, value=value, old_in=old_in, adj=adj, split=split, half=half,
                 w_old=w["old_compounds"], lo=lo, hi=hi, k=k, min_compact=min_compact)
    return P, len(i)


def _adjacency(geoms, all_geoms, pos_in_all, gap: float):
    """Pairs of blocks (i < j) whose boundaries run together, directly or across a strip narrower
    than ``gap`` that holds no other block, with the length they run together and the strip's area.

    The strip between a and b is closing(a u b) minus closing(a), closing(b) and every other
    block; each of its parts counts for the shorter of its contacts with a and with b, so a strip
    touching only one of them, and blocks meeting only at a corner, count (almost) nothing.
    """
    tree = shapely.STRtree(geoms)
    if gap > 0:
        i, j = tree.query(geoms, predicate="dwithin", distance=gap + TOL)
    else:
        i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    bd = shapely.boundary(geoms)
    shared = shapely.length(shapely.intersection(bd[i], shapely.buffer(geoms[j], TOL)))
    seam = np.zeros(len(i))
    if gap <= 0 or len(i) == 0:
        return i, j, shared, seam
    closed = _close(geoms, gap)
    fill = shapely.difference(_close(shapely.union(geoms[i], geoms[j]), gap), shapely.union(closed[i], closed[j]))
    # take out every other block the strip would cover
    fi, bi = shapely.STRtree(all_geoms).query(fill, predicate="intersects")
    other = (bi != pos_in_all[i][fi]) & (bi != pos_in_all[j][fi])
    fi, bi = fi[other], bi[other]
    if len(fi):
        order = np.argsort(fi, kind="stable")
        fi, bi = fi[order], bi[order]
        starts = np.flatnonzero(np.r_[True, fi[1:] != fi[:-1]])
        rows = fi[starts]
        blockers = [shapely.union_all(all_geoms[g]) for g in np.split(bi, starts[1:])]
        fill[rows] = shapely.difference(fill[rows], np.asarray(blockers, dtype=object))
    parts, pidx = shapely.get_parts(fill, return_index=True)
    # slivers of rounding along a shared boundary are no strip
    wide = 2 * shapely.area(parts) > MIN_STRIP_M * shapely.length(parts)
    parts, pidx = parts[wide], pidx[wide]
    if len(parts):
        grown = shapely.buffer(parts, TOL)
        contact = np.minimum(
            shapely.length(shapely.intersection(bd[i][pidx], grown)),
            shapely.length(shapely.intersection(bd[j][pidx], grown)),
        )
        shared = shared + np.bincount(pidx, weights=contact, minlength=len(i))
        seam = np.bincount(pidx, weights=np.where(contact > 0, shapely.area(parts), 0.0), minlength=len(i))
    return i, j, shared, seam


def _close(geoms, gap: float):
    """Morphological closing: fills gaps and notches narrower than ``gap``; keeps square corners."""
    r = gap / 2 + TOL
    return shapely.buffer(shapely.buffer(geoms, r, join_style="mitre"), -r, join_style="mitre")


def _zone_geometry(all_geoms: np.ndarray, ids: np.ndarray, tree: shapely.STRtree, gap: float) -> shapely.Geometry:
    """Union of the blocks ``all_geoms[ids]``, with the road strips narrower than ``gap`` between
    them, but no other block (``tree`` indexes ``all_geoms``).
    """
    union = shapely.union_all(all_geoms[ids])
    if gap <= 0:
        return union
    closed = _close(union, gap)
    others = np.setdiff1d(tree.query(closed, predicate="intersects"), ids)
    if len(others):
        closed = shapely.difference(closed, shapely.union_all(all_geoms[others]))
    zone = shapely.union(union, closed)
    parts = shapely.get_parts(zone)
    parts = parts[shapely.get_dimensions(parts) == 2]
    return shapely.union_all(parts) if len(parts) != 1 else parts[0]


def _outline(P: Problem, key) -> float:
    """Outline length of a set of blocks: their perimeters less twice what they share."""
    shared = sum(s for b in key for u, s, _ in P.adj[b] if u in key) / 2
    return float(sum(P.perim[b] for b in key) - 2 * shared)


def _measure(zone, perim, old_comp, names, pop, served, w, w_old) -> dict:
    """Exact area, old compounds (most of their area inside), residents and gaps of one zone;
    compactness from the outline ``perim`` of its blocks.
    """
    shapely.prepare(zone)
    area = zone.area
    row = {"area_m2": area, "compactness": 4 * math.pi * area / perim**2 if perim > 0 else 0.0}
    if len(old_comp):
        cg = shapely.make_valid(old_comp.geometry.values)
        cand = shapely.intersects(zone, cg)
        inside = np.zeros(len(cg), dtype=bool)
        inside[cand] = shapely.area(shapely.intersection(cg[cand], zone)) > 0.5 * shapely.area(cg[cand])
    else:
        inside = np.zeros(0, dtype=bool)
    row["old_compounds"] = int(inside.sum())
    row["compound_names"] = Note("names", items=[Note.plain(n) for n in names[inside]])
    if len(pop):
        at = shapely.contains(zone, pop.geometry.values)
        res = pop["residents"].to_numpy(dtype=float)
    else:
        at = np.zeros(0, dtype=bool)
        res = np.zeros(0)
    row["residents"] = float(res[at].sum())
    need = 0.0
    for rid, ok in served.items():
        g = float(res[at & ~ok].sum())
        row[f"gap_{rid}"] = g
        need += w[rid] * g
    row["need"] = need
    row["score"] = need + w_old * row["old_compounds"]
    return row


def _empty(crs, rules) -> gpd.GeoDataFrame:
    cols = _EMPTY_COLUMNS + [f"gap_{rid}" for rid in rules] + ["need", "score", "compactness", "reason"]
    return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _table(rows, rules, crs, n_valid, w_old, w) -> gpd.GeoDataFrame:
    rows = sorted(rows, key=lambda r: -r["score"])
    labels = {rid: (res.rule.name_en or rid) for rid, res in rules.items()}
    for k, r in enumerate(rows):
        r["rank"] = k + 1
        r["area_km2"] = r.pop("area_m2") / 1e6
        r["reason"] = _reason(r, rows[k - 1] if k else None, rules, labels, n_valid, w_old, w)
    cols = _EMPTY_COLUMNS + [f"gap_{rid}" for rid in rules] + ["need", "score", "compactness", "reason"]
    df = pd.DataFrame(rows)
    for col in ("compound_names", "reason"):  # notes, said in each output's language (pandas would keep plain strings)
        df[col] = pd.Series([r[col] for r in rows], index=df.index, dtype=object)
    return gpd.GeoDataFrame(df[cols], geometry=list(df["geometry"]), crs=crs)


def _reason(r, prev, rules, labels, n_valid, w_old, w) -> Note:
    """One short text: the compounds, the largest gaps, and why the zone ranks where it does."""
    n = r["old_compounds"]
    parts = [Note("zone.compounds", n=n, names=r["compound_names"])]
    if r["residents"] > 0 and rules:
        lacks = sorted(((w[rid] * r[f"gap_{rid}"], r[f"gap_{rid}"], rid) for rid in rules), reverse=True)
        shown = [Note("zone.lack", share=g / r["residents"], label=labels[rid], label_zh=rules[rid].rule.name_zh or labels[rid])
                 for _, g, rid in lacks[:3] if g > 0]
        parts.append(Note("zone.lacks", residents=r["residents"], shown=shown))
    elif rules:
        parts.append(Note("zone.no_residents"))
    parts.append(Note("zone.size", km2=r["area_km2"], n=r["n_blocks"]))
    score = Note("zone.score", score=r["score"], need=r["need"], n=n, w_old=w_old)
    if prev is None:
        parts.append(Note("zone.first", n_valid=n_valid, score=score))
    else:
        d_need = prev["need"] - r["need"]
        d_old = w_old * (prev["old_compounds"] - r["old_compounds"])
        why = (Note("zone.fewer_old", n=r["old_compounds"], prev=prev["old_compounds"]) if d_old > d_need
               else Note("zone.less_need", need=r["need"], prev=prev["need"]))
        parts.append(Note("zone.rank", rank=r["rank"], above=r["rank"] - 1, why=why, score=score))
    return Note("zone.reason", items=parts)


def _diagnose(P: Problem, S: Search, n_old: int, source: str) -> tuple[str, str]:
    """Which constraint failed, and how close the best attempt came."""
    lo, hi = P.lo / 1e6, P.hi / 1e6
    if S.in_band == 0:
        return "area", Note("zone.none.area", lo=lo, hi=hi, below=S.below / 1e6, above=S.above / 1e6)
    if S.best_old is None or S.best_old[0] < P.k:
        old, area = (S.best_old[0], S.best_old[1]) if S.best_old else (0, 0.0)
        return "old_compounds", Note("zone.none.old", km2=area / 1e6, old=old, k=P.k, n_old=n_old, source=source)
    c, area, old = S.best_compact
    return "compactness", Note("zone.none.compact", lo=lo, hi=hi, k=P.k, km2=area / 1e6, old=old, c=c, min_c=P.min_compact)
