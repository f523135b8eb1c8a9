"""The inputs of one evaluation, prepared once and shared by every rule.

A :class:`Context` holds the extract, the walking network, the analysed area, the demand layers
(homes, residents, compounds, area units) in the network's metric CRS, and a cache of what several rules
share (snapped layers, street networks, and the measurements of :mod:`urbancover.evaluation.measure`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError, warn
from urbancover.core.intervals import intersect, merge
from urbancover.core.settings import Settings, current, resolve
from urbancover.evaluation.demand import (
    Plausibility,
    built_up_pieces,
    home_rows,
    plausibility,
    population_points,
    residential_buildings,
    residential_land_km2,
)
from urbancover.evaluation.demand import compounds as compounds_from
from urbancover.evaluation.validate import check_area_choice, facility_layers, unit_layer, user_layer
from urbancover.io.crs import WGS84, require_crs, transformer
from urbancover.io.osm import OSMData
from urbancover.network.barriers import barriers_from
from urbancover.network.snap import Places, Snapped, parts_inside, snap_geometries, snap_places
from urbancover.network.walk import Network, walk_network
from urbancover.plan.selectors import GEOMETRY_KEY, TagValues, select
from urbancover.plan.walking import WalkingTime, walking_time
from urbancover.present import Note

#: What one evaluation computes once and its rules share (:meth:`Context.memo`): the families.
MEMO_FAMILIES = frozenset({
    "tag values", "snapped", "street network", "area intervals", "facility field", "demand places", "measurement",
    "gap grid", "home rows", "home places", "built-up land", "extract box", "area pieces", "area tree",
    "straight line", "selection",
})

T = TypeVar("T")
from urbancover.core.tiles import cut_by_pieces


@dataclass(eq=False)
class Context:
    """Everything a rule needs, in the network's CRS. Build it with :func:`make_context`.

    Attributes
    ----------
    homes : GeoDataFrame
        Residential buildings inside the area, with ``residents`` and ``compound`` (row in
        ``compounds`` or -1).
    population : GeoDataFrame
        Weighted points where residents live (``residents``, ``home``, ``compound``).
    compounds : GeoDataFrame
        Compounds inside the area (most of their area), with ``old``.
    units : GeoDataFrame or None
        Area units (subdistricts) with a ``unit`` name column, when known.
    """

    osm: OSMData
    network: Network
    area: shapely.Geometry
    features: gpd.GeoDataFrame
    homes: gpd.GeoDataFrame
    population: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    units: gpd.GeoDataFrame | None
    notes: list[str] = field(default_factory=list)
    residents_estimated: bool = True
    #: Residents per km² of residential land against the plausible range (demand.plausibility), once
    #: per evaluation; shown beside every per-resident result.
    residents_check: Plausibility | None = None
    compound_source: str = ""
    user_facilities: dict = field(default_factory=dict)
    #: Keep every OSM tag column on the place layers (``evaluate(..., osm_tags=True)``).
    osm_tags: bool = False
    #: What the evaluation computed once and shares, by (family, key): see :meth:`memo`.
    _memo: dict = field(default_factory=dict, repr=False)
    #: Called with a short message at the steps inside a rule (``evaluate(progress=True)`` shows it
    #: beside the rule on the bar, or as a log line off a terminal); None: silent.
    on_progress: Callable[[str], None] | None = field(default=None, repr=False)
    #: The settings of the evaluation (``evaluate(..., settings=)``): every rule reads these.
    settings: Settings = field(default_factory=current, repr=False)
    #: Where the analysed area comes from (PLAN_RULES.md section G): ``"user"`` (polygons given),
    #: ``"built-up"`` (the built-up land), ``"streets"`` (the hull of the streets) or ``"bounds"``
    #: (the extract's box, only when asked for: ``evaluate(area="bounds")``).
    area_source: str = "user"
    #: The note naming the analysed area and its size (also in :attr:`notes`): what the report's
    #: page, the CLI and the summary say of the area.
    area_note: Note | None = None
    #: Minutes <-> metres of the rule set evaluated (its ``[walking]`` table,
    #: :func:`urbancover.plan.walking.walking_time`): the ``*_min`` columns of the layers. None: the
    #: shipped preset's table (:attr:`walk`).
    walking: WalkingTime | None = None

    @property
    def walk(self) -> WalkingTime:
        """:attr:`walking`, or the shipped preset's table when the evaluation set none."""
        return self.walking if self.walking is not None else walking_time()

    def progress(self, message: str) -> None:
        """Report a step inside a rule to :attr:`on_progress`, when set."""
        if self.on_progress is not None:
            self.on_progress(message)

    @property
    def crs(self):
        """The network's metric CRS, in which every layer of the context is."""
        return self.network.crs

    @property
    def area_km2(self) -> float:
        """The analysed area in km²."""
        return self.area.area / 1e6

    def memo(self, family: str, key: Hashable, make: Callable[[], T]) -> T:
        """What ``make()`` returns, computed once per ``(family, key)`` in this evaluation and shared
        by every rule asking for it again.

        ``family`` is one of :data:`MEMO_FAMILIES` (what an evaluation shares: tag values, snapped
        places, street networks, distance fields, demand places, measurements, gap grids ...);
        ``key`` tells the members of a family apart (a selector as JSON, a layer name, a rule id).

        Raises
        ------
        ValueError
            An unknown ``family`` (a typo would silently share nothing).
        """
        if family not in MEMO_FAMILIES:
            raise ValueError(f"Context.memo: unknown family {family!r}; one of {sorted(MEMO_FAMILIES)}.")
        k = (family, key)
        if k not in self._memo:
            self._memo[k] = make()
        return self._memo[k]

    def memoized(self, family: str) -> list:
        """The keys of ``family`` computed so far in this evaluation, in the order they were made."""
        return [k for f, k in self._memo if f == family]

    @property
    def extract_box(self) -> shapely.Geometry:
        """The extract's bounds (:attr:`OSMData.boundary`) in the network's CRS, made once."""
        return self.memo("extract box", None,
                         lambda: gpd.GeoSeries([self.osm.boundary], crs=4326).to_crs(self.crs).iloc[0])

    def ways(self) -> gpd.GeoDataFrame:
        """The extract's highway ways (:attr:`OSMData.ways`) in the network's CRS: the extract's one
        projected copy (:meth:`OSMData.projected`), shared by the walking network and every street
        network and road measure, when the network is in the extract's CRS (as it is unless built
        in another); else reprojected here.
        """
        if self.crs.is_exact_same(self.osm.crs):
            return self.osm.projected("ways")
        return self.osm.ways.to_crs(self.crs)

    def built_up_land(self) -> np.ndarray:
        """The extract's built-up land (:func:`urbancover.evaluation.demand.built_up_pieces`, cut to
        the extract's bounds) as polygons along tiles, computed once per evaluation: it is the default
        analysed area, and the density rules' area under ``area="bounds"``.
        """
        return self.memo("built-up land", None,
                         lambda: built_up_pieces(self.features, self.extract_box, settings=self.settings))

    def area_pieces(self) -> np.ndarray:
        """The analysed area as an array of polygons whose union it is (the built-up land's tile
        pieces, else the area's parts): cutting lines by many small polygons costs far less than by
        one city-wide multipolygon (Malta's streets by its built-up land: 0.4 s against 8.8 s).
        """
        return self.memo("area pieces", None, lambda: shapely.get_parts(self.area))

    def cut_to_area(self, geoms) -> tuple[np.ndarray, np.ndarray]:
        """The parts of ``geoms`` inside the analysed area and the row each is of
        (:func:`urbancover.core.tiles.cut_by_pieces` over :meth:`area_pieces`): what
        ``shapely.intersection(geoms, ctx.area)`` gives, at a fraction of the cost when the area is a
        city's built-up land. The areas (lengths) of a row's parts add up to its area inside.
        """
        tree = self.memo("area tree", None, lambda: shapely.STRtree(self.area_pieces()))
        return cut_by_pieces(geoms, self.area_pieces(), tree)

    def area_inside(self, geoms) -> np.ndarray:
        """Area (m²) of each of ``geoms`` inside the analysed area (:meth:`cut_to_area`)."""
        parts, row = self.cut_to_area(geoms)
        return np.bincount(row, weights=shapely.area(parts), minlength=len(geoms))

    def tag_values(self, table: str) -> TagValues:
        """The :class:`~urbancover.plan.selectors.TagValues` of ``"features"``, ``"ways"`` (the
        extract's highway ways) or ``"edges"`` (the walking network's), read once per evaluation
        and shared by every selection over that table.
        """
        def make():
            frame = self._table(table, geometry=False)
            return TagValues(frame["tags"] if len(frame) else [])

        return self.memo("tag values", table, make)

    def select(self, table: str, selector) -> np.ndarray:
        """Boolean mask of the rows of ``table`` (see :meth:`tag_values`) matching ``selector``,
        matched once per evaluation (the gates' selector is asked for by every facility set).
        """
        def make():
            by_shape = any(GEOMETRY_KEY in alt for alt in selector)
            return select(self._table(table, geometry=by_shape), selector, values=self.tag_values(table))

        return self.memo("selection", (table, json.dumps(selector, sort_keys=True, default=str)), make).copy()

    def _table(self, table: str, geometry: bool = True):
        if table == "edges":  # the tags (and lines) a selection reads, not the edges' whole GeoDataFrame
            net = self.network
            tags = net.edge_values("tags")
            tags = tags if tags is not None else np.full(net.n_edges, None)
            if not geometry:  # (a big network's LineStrings are not made for a selection by tags)
                return pd.DataFrame({"tags": tags})
            return gpd.GeoDataFrame({"tags": tags}, geometry=net.geometry, crs=net.crs)
        tables = {"features": self.features, "ways": self.osm.ways}
        if table not in tables:
            raise ValueError(f"table must be one of {list(tables) + ['edges']}, not {table!r}")
        return tables[table]

    def facilities(
        self, selector, *, min_area_m2: float | None = None, inside: bool = False, user: str | None = None
    ) -> gpd.GeoDataFrame:
        """Features matching ``selector`` (whole extract, or only those meeting the area with
        ``inside``); polygons smaller than ``min_area_m2`` are dropped (points are kept only when
        ``min_area_m2`` is None, since their area is unknown). When the user gave a facility layer
        under the key ``user`` (a rule id, or ``rule.category``), that layer is used instead.
        """
        if user is not None and user in self.user_facilities:
            f = self.user_facilities[user]
        else:
            f = self.features[self.select("features", selector)]
        if min_area_m2 is not None:
            f = f[shapely.area(f.geometry.values) >= min_area_m2]
        if inside:
            f = f[shapely.intersects(f.geometry.values, self.area)]
        return f

    def snapped(self, key, geoms: np.ndarray | Places, *, name: str = "places", barriers: bool = True) -> Snapped:
        """Places (an array of geometries in the network's CRS, or :class:`~urbancover.network.snap.Places`
        given by their coordinates) snapped onto the network, once per ``key`` for the whole
        evaluation: every rule measuring the same demand layer reuses it. ``barriers=False``: their
        access legs may cross the network's barriers (the "no walls" comparison).
        """
        snap = snap_places if isinstance(geoms, Places) else snap_geometries
        return self.memo("snapped", (key, barriers),
                         lambda: snap(self.network, geoms, name=name, barriers=barriers, settings=self.settings))

    def street_network(self, selector) -> Network:
        """Network of the ways matching ``selector`` (e.g. the drivable roads), computed once (its
        edges are arrays until their LineStrings are read).
        """
        def make():
            ways = self.ways()[self.select("ways", selector)]
            return walk_network(ways, filter=None, crs=self.crs, settings=self.settings) if len(ways) else None

        return self.memo("street network", json.dumps(selector, sort_keys=True, default=str), make)

    def street_intervals(self, streets=None, streets_in=None, streets_near=None, near_m: float = 0.0):
        """Parts of the walking network that are street demand: inside the area, on edges matching
        ``streets``, inside polygons matching ``streets_in`` (with ``streets_near``: only the polygons
        that touch or lie within ``near_m`` of a feature matching it, and *every* path inside them: the
        riverside parks of PLAN_RULES rev 2), or, without ``streets_in``, within ``near_m`` of
        features matching ``streets_near``. Returns disjoint intervals ``(edge, start, end)``.
        """
        net = self.network
        out = self.memo("area intervals", None,  # the same for every street rule
                        lambda: merge(*parts_inside(net, self.area_pieces(), union=True)[:3]))
        if streets:
            rows = np.flatnonzero(self.select("edges", streets))
            out = intersect(out, (rows, np.zeros(len(rows)), net.length[rows]))
        near = self.facilities(streets_near).geometry.values if streets_near else None
        if streets_in:
            polys = self.facilities(streets_in).geometry.values
            polys = polys[shapely.get_dimensions(polys) == 2]
            if near is not None:  # the polygons near the features, whole
                hit, _ = shapely.STRtree(near).query(polys, predicate="dwithin", distance=near_m) if len(near) else ([], [])
                polys = polys[np.unique(hit).astype(np.int64)]
            out = intersect(out, merge(*parts_inside(net, polys, union=True)[:3]))
        elif near is not None:
            out = intersect(out, merge(*parts_inside(net, shapely.buffer(near, near_m), union=True)[:3]))
        return out


def make_context(
    osm: OSMData,
    network: Network | None = None,
    *,
    area=None,
    compounds: gpd.GeoDataFrame | None = None,
    population: gpd.GeoDataFrame | str | os.PathLike | None = None,
    population_column: str = "population",
    units: gpd.GeoDataFrame | None = None,
    units_column: str = "name",
    facilities: dict | None = None,
    valid_facility_keys: set | None = None,
    margin_needed: float = 0.0,
    checked_notes: list[str] | None = None,
    settings: Settings | None = None,
) -> Context:
    """Prepare the inputs of an evaluation (see :func:`urbancover.evaluate` for the parameters).

    ``checked_notes``: the notes of :func:`urbancover.evaluation.validate.check_inputs` when the layers given
    were checked by it before the extract was read (:func:`urbancover.evaluate` does); then only the
    checks that need the extract are left. None: every check is made here.
    """
    s = resolve(settings)
    net = network if network is not None else walk_network(osm, settings=s)
    # every user layer is checked the same way before use (urbancover.evaluation.validate)
    checked: list[str] = list(checked_notes or [])
    done = checked_notes is not None
    near_m = max(s.max_snap_distance or 0.0, margin_needed)
    if area is not None and not isinstance(area, str):
        area = user_layer(area, "area", osm, net, near_m, checked, checked=done)
    if compounds is not None:
        compounds = user_layer(compounds, "compounds", osm, net, near_m, checked, checked=done)
    if population is not None and not isinstance(population, (str, os.PathLike)):
        population = user_layer(population, "population", osm, net, near_m, checked, checked=done)
    if units is not None:
        units = user_layer(units, "units", osm, net, near_m, checked, checked=done)
    facilities = {
        key: user_layer(layer, f"facilities[{key!r}]", osm, net, near_m, checked, checked=done)
        if not (valid_facility_keys is not None and key not in valid_facility_keys) else layer
        for key, layer in (facilities or {}).items()
    }
    features = osm.projected("features")
    chosen = _area(area, osm, net, margin_needed, features, s)
    area_geom, notes = chosen.geom, chosen.notes
    notes.extend(checked)
    # the homes found once, in the projected features (the rules reading "home rows" share them)
    rows_of_homes = home_rows(features, s)
    homes_all = residential_buildings(features, settings=s, rows=rows_of_homes).to_crs(net.crs)
    homes = homes_all[shapely.intersects(area_geom, shapely.point_on_surface(homes_all.geometry.values))].reset_index(drop=True)
    comp, comp_source = compounds_from(osm, compounds, settings=s)
    comp = comp.to_crs(net.crs)
    pieces = chosen.cache["area pieces"] if "area pieces" in chosen.cache else shapely.get_parts(area_geom)
    parts, row = cut_by_pieces(comp.geometry.values, pieces)
    inside = np.bincount(row, weights=shapely.area(parts), minlength=len(comp)) > 0.5 * shapely.area(comp.geometry.values)
    comp = comp[inside].reset_index(drop=True)
    notes.append(Note("compounds", source=comp_source, n=len(comp), old=int(comp["old"].sum())))
    pop, pop_source = population_points(homes, population, column=population_column, settings=s)
    if population is not None:
        pop = pop[shapely.intersects(area_geom, pop.geometry.values)].reset_index(drop=True)
    notes.append(Note("residents", source=pop_source, total=pop["residents"].sum()))
    # residential land inside built-up land made of it is all of it (within the box): cut to the box,
    # not to a city's outline (Malta: 0.7 s less, the same km²)
    res_clip = _extract_if_inside(chosen, s)
    check = plausibility(float(pop["residents"].sum()), residential_land_km2(features, area_geom if res_clip is None else res_clip,
                                                                             settings=s), settings=s,
                         estimated=population is None)
    if check.ok is False:
        notes.append(check.message)
    homes = homes.assign(compound=_compound_of(homes, comp))
    if population is None:
        homes = homes.assign(residents=pop["residents"].to_numpy())
    else:
        w = np.zeros(len(homes))
        on_home = pop["home"].to_numpy() >= 0
        np.add.at(w, pop["home"].to_numpy()[on_home], pop["residents"].to_numpy()[on_home])
        homes = homes.assign(residents=w)
    pop = pop.assign(compound=_compound_of(pop, comp))
    if len(homes) == 0:
        notes.append(Note("homes.none"))
    units_gdf = unit_layer(units, units_column, net) if units is not None else None
    ctx = Context(
        osm=osm, network=net, area=area_geom, features=features, homes=homes, population=pop,
        compounds=comp, units=units_gdf, notes=notes, residents_estimated=population is None, residents_check=check,
        compound_source=comp_source, settings=s, area_source=chosen.source, area_note=chosen.note,
        user_facilities=facility_layers(facilities, valid_facility_keys, net, notes),
    )
    for family, value in chosen.cache.items():  # what choosing the area made: the rules share it
        ctx.memo(family, None, lambda value=value: value)
    ctx.memo("home rows", None, lambda: rows_of_homes[0])
    if net.barriers is None:  # walls, water, railways: what access legs may not cross (PLAN_RULES rev 3, G)
        net.barriers = barriers_from(features, net.crs, values=ctx.tag_values("features"), settings=s)
    if net.barriers:
        notes.append(Note("barriers.read", n=net.barriers.n_features, segments=net.barriers.index.n_segments,
                          openings=len(net.barriers.openings)))
    return ctx


def _compound_of(layer: gpd.GeoDataFrame, comp: gpd.GeoDataFrame) -> np.ndarray:
    """Row of the compound holding each feature's point on surface, -1 if none."""
    out = np.full(len(layer), -1, dtype=np.int64)
    if len(layer) and len(comp):
        pts = shapely.point_on_surface(layer.geometry.values)
        li, ci = shapely.STRtree(comp.geometry.values).query(pts, predicate="within")
        out[li] = ci
    return out


#: A user's analysed area with less than this share inside the extract's bounds (the box every
#: default and check of the extract uses, :attr:`OSMData.boundary`) is warned about: densities per
#: km² divide by the whole area but count only what the data hold.
AREA_COVERED_MIN = 0.9


@dataclass
class _Area:
    """The analysed area :func:`_area` chose: geometry, source, the note naming it, every note on
    it, and what it computed that the context keeps (the built-up land, the area's pieces).
    """

    geom: shapely.Geometry
    source: str
    note: Note
    notes: list
    cache: dict


def _extract_if_inside(chosen: _Area, s: Settings) -> shapely.Geometry | None:
    """The extract's box when the residential land lies inside the analysed area wherever it lies
    in the box (the area is the built-up land and every residential ``landuse`` value is a built-up
    one), else None.
    """
    if chosen.source == "built-up" and set(s.residential_landuse_values) <= set(s.built_up_landuse_values):
        return chosen.cache["extract box"]
    return None


def _street_share(net: Network, land: np.ndarray, box: shapely.Geometry) -> float:
    """Share of the walking network's vertices inside the extract's box that lie in ``land``."""
    xy = net.node_xy
    shapely.prepare(box)
    xy = xy[shapely.intersects_xy(box, xy[:, 0], xy[:, 1])] if len(xy) else xy
    if len(xy) == 0 or len(land) == 0:
        return 0.0
    # the tree over the points, the land's pieces the (prepared) queries: a point is tested against
    # a piece's indexed outline, not each piece's every vertex per point (Malta: 0.6 -> 0.43 s)
    _, hit = shapely.STRtree(shapely.points(xy)).query(land, predicate="intersects")
    return float(len(np.unique(hit))) / len(xy)


def _streets_hull(osm: OSMData, net: Network, built: np.ndarray, box: shapely.Geometry) -> shapely.Geometry:
    """The convex hull of the streets (every vertex of the extract's highway ways, walkable or not:
    a main road with separately mapped sidewalks is a street) and of what little built-up land there
    is (so that no mapped home beyond the outermost street is left out, and a district of one
    straight street still has an area), cut to the extract's box (a bounding-box export's long
    roads reach kilometres beyond it, a stray node anywhere).
    """
    lonlat = shapely.get_coordinates(osm.ways.geometry.values) if len(osm.ways) else np.zeros((0, 2))
    x, y = transformer(WGS84, net.crs).transform(lonlat[:, 0], lonlat[:, 1])
    xy = np.r_[np.c_[x, y].reshape(-1, 2), np.asarray(net.node_xy, dtype=float).reshape(-1, 2), shapely.get_coordinates(built)]
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) < 3:
        return shapely.Polygon()
    return shapely.intersection(convex_hull_of(xy), box)


#: Points per MultiPoint in :func:`convex_hull_of`.
HULL_CHUNK = 100_000


def convex_hull_of(xy: np.ndarray, chunk: int = HULL_CHUNK) -> shapely.Geometry:
    """The convex hull of the points ``xy`` ((n, 2) array), as ``shapely.convex_hull`` of one
    MultiPoint of them all gives it, made without that MultiPoint: the hull of each ``chunk`` of
    points, then the hull of those hulls' vertices. A vertex of the whole hull is a vertex of its
    chunk's hull (an extreme point of the whole is one of any part holding it), so the last hull
    sees every vertex it keeps and the same lowest point it starts from: the same polygon. A city's
    streets (the 1M-segment city: ~5 M vertices) then never make a MultiPoint of millions of
    points (1.4 GB and 22 s under load; now a chunk's at a time).
    """
    xy = _not_inside_octagon(np.asarray(xy, dtype=float).reshape(-1, 2), chunk)
    if len(xy) > chunk:
        xy = np.concatenate([shapely.get_coordinates(shapely.convex_hull(shapely.multipoints(xy[i:i + chunk])))
                             for i in range(0, len(xy), chunk)])
    return shapely.convex_hull(shapely.multipoints(xy))


def _not_inside_octagon(xy: np.ndarray, chunk: int = HULL_CHUNK) -> np.ndarray:
    """``xy`` without the points that lie well inside the octagon of its extreme points (lowest y,
    x - y, x, x + y, y, y - x, -x, -(x + y): support points in turn around the hull, so the octagon
    is inside the hull). A point inside it is inside the hull, never one of its vertices nor on
    its outline, so the hull of what is left is the hull of all (Akl-Toussaint). Points within a
    hair (1e-9 of the extent) of an edge are kept, so rounding never drops a vertex. A city's street
    vertices (millions) leave a few thousand: numpy passes over ``chunk`` points at a time (a few
    tens of MB alive) instead of a GEOS hull of every chunk.
    """
    if len(xy) < 64 or not np.isfinite(xy).all():
        return xy
    parts = range(0, len(xy), chunk)
    # the extreme points in the eight directions, chunk by chunk, then among the chunks' own
    cand = np.concatenate([_extremes(xy[i:i + chunk]) + i for i in parts])
    c = xy[cand]
    ext = cand[_extremes(c)]
    ext = ext[np.r_[True, ext[1:] != ext[:-1]]]  # a point extreme in two directions in turn: one corner
    ext = ext[np.r_[ext[:-1] != ext[0], True]] if len(ext) > 1 and ext[-1] == ext[0] else ext
    if len(np.unique(ext)) < 3:
        return xy
    x0, y0 = (float(v) for v in xy[ext].mean(axis=0))  # relative coordinates: small numbers, small rounding
    corners = xy[ext] - (x0, y0)
    tol = 1e-9 * float(np.ptp(corners, axis=0).max())
    edges = np.c_[corners, np.roll(corners, -1, axis=0)]
    if (np.hypot(edges[:, 2] - edges[:, 0], edges[:, 3] - edges[:, 1]) == 0).any():
        return xy
    keep = []
    for i in parts:
        px, py = xy[i:i + chunk, 0] - x0, xy[i:i + chunk, 1] - y0
        inside = np.ones(len(px), dtype=bool)
        for ax, ay, bx, by in edges:
            # left of the edge a -> b (the octagon runs counter-clockwise) by more than tol
            inside &= ((bx - ax) * (py - ay) - (by - ay) * (px - ax)) > tol * float(np.hypot(bx - ax, by - ay))
        keep.append(xy[i:i + chunk][~inside])
    return np.concatenate(keep)


def _extremes(xy: np.ndarray) -> np.ndarray:
    """Positions of the points extreme in the eight directions, in turn counter-clockwise from the
    lowest (the first such point where several are).
    """
    x, y = xy[:, 0], xy[:, 1]
    return np.array([np.argmin(y), np.argmax(x - y), np.argmax(x), np.argmax(x + y),
                     np.argmax(y), np.argmax(y - x), np.argmin(x), np.argmin(x + y)])


def _area(area, osm: OSMData, net: Network, need: float, features: gpd.GeoDataFrame, s: Settings) -> _Area:
    """The analysed area in the network's CRS, and notes on it (source and size, share inside the
    extract, margin for edge effects).

    Without a given area (or with ``"auto"``): the built-up land (:func:`built_up_pieces`) when it
    holds at least :data:`settings.built_up_min_street_share` of the street vertices, else the hull
    of the streets (PLAN_RULES.md section G: where the data is, never the extract's box); a name
    of :data:`urbancover.evaluation.validate.AREA_CHOICES` forces one. Cost: one tiled union of the built-up land (shared with
    every rule through :meth:`Context.built_up_land`) and one point-in-polygon test per street vertex.
    """
    notes: list = []
    cache: dict = {}
    extract = gpd.GeoSeries([osm.boundary], crs=4326).to_crs(net.crs).iloc[0]
    cache["extract box"] = extract
    if area is None or isinstance(area, str):
        choice = "auto" if area is None else check_area_choice(area)
        source, geom = choice, extract
        if choice in ("auto", "built-up", "streets"):
            built = built_up_pieces(features, extract, settings=s)
            cache["built-up land"] = built
            share = _street_share(net, built, extract)
            if choice == "built-up" and len(built) == 0:
                raise InputError("area='built-up': the extract maps no built-up land (no building, no landuse of "
                                 f"settings.built_up_landuse_values {list(s.built_up_landuse_values)}); name 'streets' or "
                                 "'bounds', or give polygons.")
            if choice == "built-up" or (choice == "auto" and len(built) and share >= s.built_up_min_street_share):
                geom = shapely.coverage_union_all(built)
                if not geom.is_valid:  # tile pieces whose shared edges do not match vertex for vertex
                    geom = shapely.union_all(built)
                cache["area pieces"] = built
                source = "built-up"
                note = Note("area.built_up", km2=geom.area / 1e6, buffer=s.built_up_buffer_m, share=share,
                            given=choice == "built-up")
            else:
                source = "streets"
                built_km2 = float(shapely.area(built).sum()) / 1e6
        if source == "streets":
            geom = _streets_hull(osm, net, built, extract)
            if choice == "streets":
                note = Note("area.streets_given", km2=geom.area / 1e6)
            else:
                note = Note("area.streets", km2=geom.area / 1e6, share=share, min_share=s.built_up_min_street_share,
                            built_km2=built_km2)
            if geom.is_empty or geom.area == 0:  # a line of streets: nothing else holds the data
                source, geom = "bounds", extract
        if source == "bounds":
            note = Note("area.bounds", km2=geom.area / 1e6, given=choice == "bounds")
        notes.append(note)
    else:
        source = "user"
        if isinstance(area, shapely.Geometry):
            area = gpd.GeoSeries([area], crs=4326)
        geom = require_crs(area, "area").to_crs(net.crs).geometry.union_all()
        if geom.is_empty or geom.area == 0:
            raise InputError("area: the analysed area is empty or has no area; give polygons.")
        note = Note("area.user", km2=geom.area / 1e6)
        notes.append(note)
    shapely.prepare(geom)
    covered = geom.intersection(extract).area / geom.area if source == "user" else 1.0
    if covered < AREA_COVERED_MIN:
        msg = Note("area.outside", share=100 * covered, km2=geom.area / 1e6, extract=osm.path.name)
        warn(msg, UserWarning)
        notes.append(msg)
    margin = extract.exterior.distance(geom) if extract.contains(geom) else 0.0
    if need > 0 and margin < need:  # only with distance rules evaluated: the others read no facility beyond
        notes.append(Note("area.margin", margin=margin, need=need))
    return _Area(geom, source, note, notes, cache)
