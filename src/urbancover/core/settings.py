"""Settings in one place: one immutable :class:`Settings` object.

Every tunable default of the library lives here, like ``osmnx.settings``. Numbers that come from a
plan (thresholds, targets) are *not* settings: they belong to a rule set (see :mod:`urbancover.plan.rules`).

The settings are one frozen :class:`Settings` object, checked (types and ranges) when it is made.
:func:`current` returns the active one; every entry point (:func:`urbancover.evaluate`,
:func:`urbancover.read_osm`, :func:`urbancover.walk_network`, the access functions, the maps) takes
``settings=`` and defaults to it, and hands that object down (an evaluation through its
:class:`~urbancover.evaluation.context.Context`): nothing deeper reads this module. A batch task carries the
object to its worker process, and its done-marker records it.

Change settings for a block of code with :func:`override` (this thread only)::

    with urbancover.core.settings.override(max_snap_distance=300):
        report = urbancover.evaluate("extract.osm.pbf")

or pass an object: ``urbancover.evaluate(..., settings=urbancover.core.settings.current().replace(
max_snap_distance=300))``. Reading ``urbancover.core.settings.max_snap_distance`` gives the current value;
assigning it (``urbancover.core.settings.max_snap_distance = 300``, the older way) still works and
replaces the current object for the rest of the session (or of the ``override`` block it is in).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import numbers
import re
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from urbancover.core.errors import InputError


class _FrozenDict(dict):
    """A dict that cannot be changed (a setting's table), picklable and hashable."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("settings are immutable: use urbancover.core.settings.override(...) or Settings.replace(...).")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.items())))

    def __reduce__(self):
        return (_FrozenDict, (dict(self),))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


@dataclass(frozen=True)
class Settings:
    """Every tunable default of urbancover, immutable and checked when made.

    Make a changed copy with :meth:`replace` (or :func:`dataclasses.replace`); activate one for a
    block of code with :func:`urbancover.core.settings.override`; pass one to an entry point with
    ``settings=``. Each field is documented by the comment above it (the defaults below).
    """

    #: OSMnx ``network_type="walk"`` filter (osmnx 2.1, ``_overpass._get_network_filter``), as
    #: ``(key, regex)`` pairs: a way is walkable when it has a ``highway`` tag and, for every pair, the
    #: way's value for ``key`` does not match ``regex`` (unanchored, like Overpass ``!~``). Keeping the
    #: same filter makes our networks comparable with ``osmnx.graph_from_*(network_type="walk")``.
    walk_exclude: tuple[tuple[str, str], ...] = (
        ("area", "yes"),
        ("access", "private"),
        (
            "highway",
            "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|"
            "raceway|razed|rest_area|services",
        ),
        ("foot", "no"),
        ("service", "private"),
        ("sidewalk", "separate"),
        ("sidewalk:both", "separate"),
        ("sidewalk:left", "separate"),
        ("sidewalk:right", "separate"),
    )

    #: Tag keys of ways kept as columns of the street layer (all tags stay in the ``tags`` column).
    way_columns: tuple[str, ...] = (
        "highway", "name", "foot", "access", "area", "service", "sidewalk", "oneway", "bridge", "tunnel",
    )

    #: An OSM object becomes a feature (point, line or polygon) when it has one of these keys.
    feature_keys: tuple[str, ...] = (
        "amenity", "shop", "leisure", "landuse", "building", "public_transport", "highway", "natural",
        "waterway", "water", "emergency", "healthcare", "sport", "tourism", "place", "boundary",
        "entrance", "craft", "office", "railway", "bus", "barrier",
    )

    #: Keys that make a *node* a feature only with these values (a highway or barrier node is usually
    #: only a vertex of a street or fence; bus stops and gates matter).
    feature_node_values: dict[str, tuple[str, ...]] = _FrozenDict({
        "highway": ("bus_stop", "platform", "crossing", "elevator", "street_lamp"),
        "barrier": ("gate", "entrance", "turnstile", "kissing_gate", "lift_gate", "swing_gate", "sliding_gate",
                    "wicket_gate", "full-height_turnstile", "stile"),
    })

    #: A polygon facility (park, green) is reached from every point of a walkable street within this
    #: many metres of its outline: streets are mapped as centre lines and parks stop at the kerb, and OSM
    #: coordinates are rounded to about 1 cm, so "touching" needs a tolerance. Farther polygons are
    #: reached at the network point nearest to them, with that access leg.
    polygon_reach_m: float = 15.0

    #: Mapped entrances of polygon facilities (parks): a polygon with entrance nodes within
    #: ``entrance_tolerance_m`` of its outline is reached at those entrances only.
    entrance_selector: tuple[dict, ...] = ({"entrance": True}, {"barrier": ["gate", "entrance", "turnstile", "kissing_gate"]})
    entrance_tolerance_m: float = 2.0

    #: Barriers (PLAN_RULES rev 3, section G): an access leg (the straight line from a place to the
    #: walking network, or from the network to a point facility) may not cross the outline of these
    #: features. Walls, fences and similar ways (``barrier=*``, OSM wiki Key:barrier, "linear barriers";
    #: not the roadside ``guard_rail``/``kerb``/``jersey_barrier``, which sit on the street the leg reaches);
    #: water areas (``natural=water``, ``waterway=riverbank``/``dock``, ``landuse=reservoir/basin``);
    #: ``waterway=river/canal`` lines (not in a culvert or tunnel); railways (OSM wiki Key:railway: tracks of
    #: ``rail``, ``light_rail``, ``subway``, ``narrow_gauge``, ``monorail``, ``funicular``, ``preserved``;
    #: not ``tram``, laid in the street and crossed anywhere; not in a tunnel nor on a bridge, where they
    #: block nothing on the ground). Closed ways and areas block along their outline.
    barrier_selector: tuple[dict, ...] = (
        {"barrier": ["wall", "fence", "retaining_wall", "hedge", "city_wall", "wire_fence", "wood_fence", "ditch",
                     "hedge_bank"]},
        {"natural": ["water"], "tunnel": {"not": ["yes", "culvert", "building_passage"]}},
        {"waterway": ["riverbank", "dock"]},
        {"landuse": ["reservoir", "basin"]},
        {"waterway": ["river", "canal"], "tunnel": {"not": ["yes", "culvert", "building_passage"]}},
        {"railway": ["rail", "light_rail", "subway", "narrow_gauge", "monorail", "funicular", "preserved"],
         "tunnel": {"not": ["yes", "building_passage", "covered"]}, "bridge": {"not": ["yes", "viaduct"]}},
    )
    #: Openings in barriers: points (gates, entrances, level crossings) within
    #: :data:`entrance_tolerance_m` of a barrier. A place behind a barrier may walk straight to an
    #: opening and on from there (the opening's own access leg). Where a walkable way crosses a barrier
    #: the way is the opening (its edges are not access legs): nothing needs mapping.
    barrier_opening_selector: tuple[dict, ...] = (
        {"entrance": True},
        {"barrier": ["gate", "entrance", "turnstile", "kissing_gate", "lift_gate", "swing_gate", "sliding_gate",
                     "wicket_gate", "full-height_turnstile", "stile"]},
        {"railway": ["level_crossing", "crossing"]},
    )
    #: A barrier crossing within this many metres of either end of an access leg does not block it: a
    #: gate drawn on its wall, a fence along the kerb of the street the leg reaches, a wall mapped
    #: through the street's own node, and OSM's 1 cm rounding.
    barrier_end_tolerance_m: float = 2.0

    #: Tag keys of features kept as columns (all tags stay in the ``tags`` column).
    feature_columns: tuple[str, ...] = (
        "name", "amenity", "shop", "leisure", "landuse", "building", "building:levels", "public_transport",
        "bus", "highway", "natural", "waterway", "emergency", "healthcare", "sport", "access",
        "opening_hours", "cuisine", "start_date", "building:age", "admin_level", "boundary",
    )

    #: Points farther than this (metres) from every walkable edge are not snapped: their distance is
    #: ``inf`` and a warning says how many there were. ``None`` snaps every point however far.
    max_snap_distance: float | None = 1000.0

    #: The real network: a connected component of the walking network is part of it when it is the
    #: largest one or holds at least this many metres of street. Smaller components (a footway island
    #: through a building, an indoor ``highway=corridor``) are scraps: places and facilities are snapped
    #: to the real network instead, unless no street of it lies within ``island_snap_m`` of them (then
    #: they stay on their scrap, and a truly separate component stays unreachable). OSMnx keeps only
    #: the largest component unless ``retain_all=True``; QGIS's network cleaning drops small islands.
    main_component_m: float = 1000.0
    island_snap_m: float = 100.0

    #: ``building`` values that are homes.
    residential_building_values: tuple[str, ...] = (
        "residential", "apartments", "house", "detached", "semidetached_house", "terrace", "dormitory",
        "bungalow",
    )

    #: A ``building=yes`` inside one of these ``landuse`` polygons counts as a home.
    residential_landuse_values: tuple[str, ...] = ("residential",)

    #: A building that would be a home (by its ``building`` value, or ``building=yes`` inside residential
    #: land) is not one when it carries one of these single-use public functions as ``amenity``
    #: (PLAN_RULES.md rev 3, residents: a kindergarten or a toilet block in a compound houses nobody);
    #: shops on the ground floor (``shop=*``) do not change a home.
    home_excluded_amenities: tuple[str, ...] = (
        "kindergarten", "childcare", "school", "toilets", "community_centre", "clinic", "doctors", "hospital",
        "parking", "place_of_worship", "police", "fire_station", "townhall",
    )

    #: One facility, one count (PLAN_RULES.md rev 3, section G): a point of a facility category inside a
    #: polygon of the same category, or within this many metres of it (a toilet node at the door of its
    #: building, a bus stop node beside its platform way), is the same facility, unless both are named
    #: and the names differ.
    same_facility_m: float = 10.0

    #: Residents estimate (when no population layer is given): floors of a home without
    #: ``building:levels``, and gross floor area per resident (m²). China's urban average floor area per
    #: person is about 36-40 m² (2020 census); old compounds are often 6-storey walk-ups.
    default_building_levels: float = 6.0
    floor_area_per_person: float = 35.0

    #: Compounds: a compound is "old" when built before this year (``start_date`` / ``building:age``);
    #: compounds with no year count as old when ``assume_old_without_year`` is True (the analysed area is
    #: an old district by choice), and the result says so.
    old_compound_before_year: int = 2000
    assume_old_without_year: bool = True

    #: Street demand on roads that are not walkable themselves (a main road whose sidewalks are mapped
    #: as separate ways, PLAN_RULES rev 2 toilet rules): the road centre line is cut into pieces of at most
    #: this many metres, each measured at its middle from the nearest walkable point.
    road_piece_m: float = 10.0

    #: The HTML report embeds the interactive map only for networks of at most this many edges.
    #: Malta (47k edges, 11 distance rules) makes a map of about 9 MB that Chromium opens in a few
    #: seconds (benchmarks/results/outputs.md); twice that is still usable, beyond it a page holds more
    #: than a browser opens smoothly: the report then says where the layers are (the GeoPackage, and
    #: ``interactive_map`` for one rule or a few).
    report_interactive_max_edges: int = 100_000

    #: Static gap maps (urbancover.report.gap_map): street colours change at most every this many
    #: millimetres of paper, at the largest the map can be printed (the paper's long side): finer steps
    #: of the colour ramp are invisible, and a whole city's map is not cut into more pieces than its
    #: paper can show (Malta on A4: ~70 m instead of 25 m); a district's is unchanged (its pieces are
    #: already longer).
    map_piece_mm: float = 0.2
    #: In PDF and SVG maps, a layer of more than this many features (street pieces, polygons) is drawn
    #: as a raster image at the output's dpi (the rest stays vector): a city's 100k+ street pieces as
    #: vectors make a file of tens of megabytes that viewers open slowly.
    map_rasterize_min_features: int = 50_000

    #: The interactive map simplifies its lines (streets) by this many metres (Douglas-Peucker): under a
    #: pixel at street zoom (zoom 18 is about 0.5 m per pixel at 35° N); every coordinate is rounded to
    #: 1e-6° (about 0.1 m) besides.
    interactive_simplify_m: float = 0.5

    #: Side of the grid cells (metres) that sample residential land for gap polygons.
    gap_cell_m: float = 25.0

    #: Service areas (isochrones, :func:`urbancover.tools.access.service_areas`): the reached street pieces are
    #: buffered by this many metres on each side, like the ``edge_buff`` of OSMnx's isochrone recipe.
    service_area_width_m: float = 25.0
    #: Segments per quarter circle of the round ends and joins of those buffers (4: within 8 % of the
    #: width; the reached lengths are exact whatever this is).
    service_area_quad_segs: int = 4

    #: Before and after (urbancover.compare, urbancover.change): a home, compound or facility whose OSM id is not in the
    #: other evaluation is the same one when its point (a home's point on its footprint, as the rules
    #: measure it) lies within this many metres of one there that is not matched by id either (the
    #: nearest, one to one). A building redrawn or split from a way into a relation gets a new id but
    #: stays where it was (its point moves by a metre or two); 5 m is less than half the gap between the
    #: points of neighbouring homes, so a neighbour is never taken for it. Street demand is compared by
    #: location too: a point of one evaluation's streets within this distance of the other's.
    compare_match_m: float = 5.0
    #: ... the streets are compared at points at most this many metres apart (each point weighs the
    #: metres around it): the metres newly served or unserved are exact to about this step at each end
    #: of a change, and a city's 5 000 km of street make a million points.
    compare_street_step_m: float = 5.0

    # -- reading OSM extracts (urbancover.io.osm, urbancover.io.extent) --------------------------------
    #: Street vertices separated from the median street vertex by a gap wider than this (metres, along
    #: x or y) are lone outliers when their side holds at most ``extent_outlier_share`` of the vertices:
    #: they are left out of the default analysed area (a stray node at 0,0), and reported.
    extent_outlier_gap_m: float = 10_000.0
    extent_outlier_share: float = 0.01
    #: Without a header box, the default analysed area is the extent of the ways and areas at most
    #: ``extent_compact_m`` metres across (buildings, short streets: they lie where a bounding-box
    #: export is complete; long roads crossing its edge reach kilometres out), when there are at
    #: least ``extent_compact_min`` of them; else the streets' extent.
    extent_compact_m: float = 100.0
    extent_compact_min: int = 50
    #: The default analysed area (a lon/lat box) gets a vertex every this many degrees along its sides
    #: before it is reprojected, so its edges stay where the box's are (about 1 km).
    boundary_segment_deg: float = 0.01
    #: An extract whose ways miss locations for more than this share of their node references is
    #: reported as possibly truncated (a cut extract or a .pbf ending early). Extracts cut with
    #: ``osmium extract --strategy simple`` miss a few nodes at their edge, far below this.
    truncated_missing_share: float = 0.05
    #: ... and when at least this many references are missing (a hand-made file of ten nodes missing one
    #: is an edge case, not a cut file).
    truncated_missing_min: int = 20
    #: A .pbf whose last block holds only ways and is full (this many objects, the block size of
    #: libosmium and osmium-tool, or as many as the block before it) looks cut inside its way blocks:
    #: a complete file ends each type with a partly filled block and has its relations after its ways.
    #: A complete file without relations can end so too: the cut is reported only when what the lost
    #: objects leave behind shows (untagged nodes no way uses, beyond the two thresholds above, or
    #: untagged ways with no relation to hold them).
    truncated_full_block: int = 8000

    #: Ways that miss node locations are checked against the nodes the file holds after them (a file
    #: whose ways come before their nodes must be sorted first); at most this many distinct node ids
    #: (an even sample), each one lookup.
    order_check_max: int = 100_000

    #: Relations or ways named in a note on what an extract holds incomplete (the others are counted).
    incomplete_named: int = 5

    #: Edges per chunk when a pass over a big network's edges makes their LineStrings chunk by chunk
    #: (:meth:`urbancover.network.walk.Network.over_pairs`): ~25 MB of geometry alive at a time. A network
    #: of at most this many edges keeps its LineStrings and one STRtree (few, and faster to query).
    edge_chunk: int = 100_000

    #: Floors of a home without ``building:levels``, by its ``building`` value (China: houses and
    #: village houses 2-3, terraces 3, dormitories 5, apartment blocks of old districts mostly 6-storey
    #: walk-ups); any other value uses :data:`default_building_levels`.
    default_levels_by_building: dict[str, float] = _FrozenDict({
        "house": 2.0, "detached": 2.0, "semidetached_house": 2.0, "bungalow": 1.0, "terrace": 3.0,
        "dormitory": 5.0, "apartments": 6.0, "residential": 6.0, "yes": 6.0,
    })

    #: Plausible residents per km² of residential land (``landuse=residential``) in Chinese old
    #: districts (PLAN_RULES.md rev 2: roughly 10 000-40 000); a figure outside is flagged beside every
    #: per-resident result.
    plausible_residents_per_km2: tuple[float, float] = (10_000.0, 40_000.0)

    #: Built-up land, the analysed area when none is given (PLAN_RULES.md rev 3, section G: the extract's
    #: box holds hills and water): these ``landuse`` polygons, plus every building grown by
    #: ``built_up_buffer_m``.
    built_up_landuse_values: tuple[str, ...] = (
        "residential", "commercial", "retail", "industrial", "education", "institutional", "construction",
    )
    built_up_buffer_m: float = 50.0
    #: "Little built-up land": without a given area, the built-up land is the analysed area only when it
    #: holds at least this share of the walking network's vertices (where the streets are, and so where
    #: the extract's data is); below it the mapped buildings and landuse are patches of a district whose
    #: streets are mapped everywhere (common in Chinese OSM data) and the analysed area is the hull of the
    #: streets instead. A half: the built-up land must hold most of what is measured. Malta 2018 (a whole
    #: country with its rural roads and tracks): 72 %; the Shenzhen sample (streets everywhere, buildings
    #: in a few blocks): 32 %; the Shanghai sample (no buildings): 0 %.
    built_up_min_street_share: float = 0.5
    #: Built-up and residential land are united tile by tile (urbancover.core.tiles), on square tiles of this
    #: side in metres: one city-wide union of tens of thousands of overlapping polygons costs more than
    #: linearly in their number; many small ones don't.
    union_tile_m: float = 1000.0
    #: The tiles of such a union are worked through in blocks of about this many (polygon, tile) pairs:
    #: only one block's grown, repaired and cut polygons are in memory at a time (the 1M-segment synthetic
    #: city's built-up land held all 200 000 grown buildings and their cuts at once: +530 MB).
    union_block_pairs: int = 20_000
    #: Threads for the steps whose work is GEOS's, block by block, without Python in between (the
    #: tiled unions; the overlay of streets crossing polygons' outlines): shapely releases the GIL
    #: there, so the blocks run on several cores at once, with the same result as one after another
    #: (each block is its own; their pieces are put together in order). 0: every core this process
    #: may use (:func:`os.sched_getaffinity`); 1: one. A batch's local workers share the cores
    #: between them. Changes no result (a batch's done-marker ignores it).
    threads: int = 0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _check(f.name, getattr(self, f.name), f.default))

    def __hash__(self) -> int:
        return hash(json.dumps(self.as_dict(), sort_keys=True))

    def replace(self, **changes) -> Settings:
        """A copy with ``changes`` (checked; an unknown name is refused with the closest known one)."""
        _known(changes)
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """Every setting by name, as plain JSON-able values (lists for tuples, dicts for tables)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def changes(self) -> dict:
        """The settings that differ from the defaults, as in :meth:`as_dict` (``{}`` for the
        defaults): what a batch done-marker records, so a change re-runs its tasks.
        """
        default = Settings().as_dict()
        return {k: v for k, v in self.as_dict().items() if v != default[k]}


_FIELDS = frozenset(f.name for f in dataclasses.fields(Settings))
#: Settings that must be > 0 (the other numbers must be >= 0).
_POSITIVE = frozenset({
    "polygon_reach_m", "main_component_m", "default_building_levels", "floor_area_per_person", "road_piece_m",
    "map_piece_mm", "gap_cell_m", "service_area_quad_segs", "extent_outlier_gap_m", "boundary_segment_deg",
    "truncated_full_block", "order_check_max", "incomplete_named", "edge_chunk", "union_tile_m", "union_block_pairs",
    "compare_street_step_m",
})
#: Settings that are shares (0 to 1).
_SHARES = frozenset({"extent_outlier_share", "truncated_missing_share", "built_up_min_street_share"})


def _plain(value):
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _known(changes: Mapping) -> None:
    for name in changes:
        if name not in _FIELDS:
            close = difflib.get_close_matches(name, sorted(_FIELDS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InputError(f"settings: there is no setting {name!r}.{hint} The settings are the fields of "
                             "urbancover.core.settings.Settings.")


def _number(name: str, value, *, integer: bool = False, low: float | None = None, positive: bool | None = None):
    kinds = numbers.Integral if integer else numbers.Real
    what = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(value):
        raise InputError(f"settings.{name} must be {what}, got {value!r}.")
    value = int(value) if integer else float(value)
    if low is None:
        low_ok, bound = True, ""
    elif (name in _POSITIVE) if positive is None else positive:
        low_ok, bound = value > low, f"> {low:g}"
    else:
        low_ok, bound = value >= low, f">= {low:g}"
    if not low_ok or (name in _SHARES and value > 1):
        rng = "between 0 and 1" if name in _SHARES else bound
        raise InputError(f"settings.{name} must be {rng}, got {value!r}.")
    return value


def _strings(name: str, value, what: str = "") -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, set, frozenset)) or not all(
            isinstance(v, str) and v for v in value):
        raise InputError(f"settings.{name}{what} must be a list of non-empty strings, got {value!r}.")
    return tuple(value)


def _check(name: str, value, default):
    """``value`` of setting ``name`` in its stored form (tuples, frozen dicts, floats), or InputError."""
    if name == "max_snap_distance":
        return None if value is None else _number(name, value, low=0.0)
    if name == "walk_exclude":
        if not isinstance(value, (tuple, list)) or not all(
                isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(v, str) for v in p) for p in value):
            raise InputError(f"settings.walk_exclude must be a list of (key, regex) string pairs, got {value!r}.")
        pairs = tuple((key, pattern) for key, pattern in value)
        for key, pattern in pairs:
            try:
                re.compile(pattern)
            except re.error as e:
                raise InputError(f"settings.walk_exclude: the pattern {pattern!r} of {key!r} is not a regular expression ({e}).") from None
        return pairs
    if name in ("entrance_selector", "barrier_selector", "barrier_opening_selector"):
        if isinstance(value, Mapping) or not isinstance(value, (tuple, list)) or not all(
                isinstance(a, Mapping) and a and all(isinstance(k, str) for k in a) for a in value):
            raise InputError(f"settings.{name} must be a list of selector tables ({{key: value}}), got {value!r}.")
        return tuple(json.loads(json.dumps(dict(a))) for a in value)  # a copy: nothing shared with the caller
    if name == "plausible_residents_per_km2":
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise InputError(f"settings.{name} must be a (low, high) pair, got {value!r}.")
        lo, hi = (_number(name, v, low=0.0) for v in value)
        if lo > hi:
            raise InputError(f"settings.{name} must be a (low, high) pair with low <= high, got {value!r}.")
        return (lo, hi)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise InputError(f"settings.{name} must be True or False, got {value!r}.")
        return value
    if isinstance(default, (int, float)):
        return _number(name, value, integer=isinstance(default, int), low=0.0)
    if isinstance(default, Mapping):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) and k for k in value):
            raise InputError(f"settings.{name} must be a table with string keys, got {value!r}.")
        if name == "feature_node_values":
            return _FrozenDict({k: _strings(name, v, f"[{k!r}]") for k, v in value.items()})
        return _FrozenDict({k: _number(f"{name}[{k!r}]", v, low=0.0, positive=True) for k, v in value.items()})
    return _strings(name, value)


#: The settings of the session (replaced by assigning ``urbancover.core.settings.<name>``).
_session = Settings()
#: The settings of an :func:`override` block, per thread (and asyncio task); None outside one.
_active: ContextVar[Settings | None] = ContextVar("urbancover_settings", default=None)


def current() -> Settings:
    """The active :class:`Settings`: the innermost :func:`override` of this thread, else the session's."""
    active = _active.get()
    return _session if active is None else active


def resolve(settings: Settings | None) -> Settings:
    """``settings`` when given (it must be a :class:`Settings`), else :func:`current`: what an entry
    point's ``settings=None`` argument means.
    """
    if settings is None:
        return current()
    if not isinstance(settings, Settings):
        raise InputError(f"settings must be an urbancover.core.settings.Settings (e.g. urbancover.core.settings.current()"
                         f".replace(...)), not {type(settings).__name__}.")
    return settings


@contextmanager
def override(base: Settings | None = None, /, **changes) -> Iterator[Settings]:
    """Use ``base`` (default: the current settings) with ``changes`` inside a ``with`` block, in
    this thread; the settings before are back when it ends, however it ends.

    Yields the active :class:`Settings`. Unknown names are refused (with the closest known one)
    and values are checked before the block starts.

    Examples
    --------
    >>> with urbancover.core.settings.override(max_snap_distance=300):
    ...     report = urbancover.evaluate("extract.osm.pbf")  # doctest: +SKIP
    """
    active = resolve(base).replace(**changes)
    token = _active.set(active)
    try:
        yield active
    finally:
        _active.reset(token)


def _assign(name: str, value) -> None:
    """``urbancover.core.settings.<name> = value``: replace the current object by a copy with it."""
    global _session
    new = current().replace(**{name: value})
    if _active.get() is None:
        _session = new
    else:
        _active.set(new)  # until the override block ends


class _SettingsModule(types.ModuleType):
    """This module: ``urbancover.settings.<name>`` reads the current value, and assigning it
    replaces the current object (the older way to change a setting; :func:`override` is preferred).

    Each setting is a property of this class (a data descriptor, made below), so tools that save and
    restore a module attribute (``pytest``'s ``monkeypatch.setattr``, ``unittest.mock.patch``) read
    and write the current value through it; an unknown name is refused with a did-you-mean.
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _FIELDS or name.startswith("__") or name in self.__dict__:
            super().__setattr__(name, value)  # a setting: its property's setter (_assign)
        else:
            _known({name: value})

    def __dir__(self):
        return sorted(set(super().__dir__()) | _FIELDS)


def _setting_property(name: str) -> property:
    return property(lambda module: getattr(current(), name), lambda module, value: _assign(name, value),
                    doc=f"The current value of :attr:`Settings.{name}`.")


for _name in _FIELDS:
    setattr(_SettingsModule, _name, _setting_property(_name))
del _name

sys.modules[__name__].__class__ = _SettingsModule
