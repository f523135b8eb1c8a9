"""Read OpenStreetMap extracts (.osm, .osm.bz2, .osm.gz, .osm.pbf) offline with pyosmium.

The reader makes one pass over the file (libosmium, C++), keeping node locations in memory and
assembling multipolygon relations and closed ways into polygons. It returns two layers:

* ``ways``: every way with a ``highway`` tag, as LineStrings with their tags and the ids of their
  nodes (the network module splits them where they share nodes);
* ``features``: every node, way or area with a key in :data:`urbancover.settings.feature_keys`
  (bus stops, toilets, parks, shops, buildings, landuse ...) as Points, LineStrings or (Multi)Polygons.

Both are in EPSG:4326 as read; :attr:`OSMData.crs` is the local UTM zone chosen from the data and
:meth:`OSMData.projected` gives metric copies.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pyproj
import shapely

from urbancover import settings
from urbancover.errors import OSMReadError, TruncatedExtractWarning
from urbancover.intervals import ranges
from urbancover.io.crs import WGS84
from urbancover.io.extent import densified_box, street_extent

_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf", ".osc", ".xml", ".xml.bz2")

Clip = tuple[float, float, float, float] | shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries | None


@dataclass(eq=False)
class OSMData:
    """What :func:`read_osm` read from one extract.

    Attributes
    ----------
    path : Path
        The file read.
    ways : GeoDataFrame
        Ways with a ``highway`` tag (EPSG:4326): ``osmid``, the columns of
        :data:`settings.way_columns`, ``tags`` (dict of all tags), ``node_ids`` (int64 array of the
        way's node ids, one per vertex) and LineString geometry. A way whose nodes are partly
        missing from the extract is cut into its complete runs (several rows, same ``osmid``);
        ``cut_start`` / ``cut_end`` say that a run's first / last vertex is not the way's own end
        (the extract cut the way there: not a dead end).
    features : GeoDataFrame
        Tagged nodes, ways and areas (EPSG:4326): ``element`` (node/way/relation), ``osmid``, the
        columns of :data:`settings.feature_columns`, ``tags`` and geometry.
    bounds : tuple
        (minlon, minlat, maxlon, maxlat) of the extract: the clip area if one was given, else the
        file header's box, else the extent of the streets without lone outliers (see
        :func:`urbancover.io.extent.street_extent`). Across the antimeridian ``maxlon`` exceeds 180.
    crs : pyproj.CRS
        The UTM zone of the median walkable street vertex (of the features when there is no
        street), used for every distance.
    notes : list of str
        What the reader noticed: where the default area came from, outliers left out, signs of a
        truncated file.
    """

    path: Path
    ways: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float]
    crs: pyproj.CRS
    notes: list[str] = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)

    def projected(self, layer: str) -> gpd.GeoDataFrame:
        """Return ``"ways"`` or ``"features"`` reprojected to :attr:`crs` (computed once, cached)."""
        if layer not in ("ways", "features"):
            raise ValueError(f"layer must be 'ways' or 'features', not {layer!r}")
        if layer not in self._cache:
            self._cache[layer] = getattr(self, layer).to_crs(self.crs)
        return self._cache[layer]

    @property
    def boundary(self) -> shapely.Polygon:
        """The extract's bounds as a polygon in EPSG:4326, densified (a vertex every
        :data:`settings.boundary_segment_deg` degrees) so that it keeps its shape when reprojected.
        """
        return densified_box(self.bounds)

    def __repr__(self) -> str:
        return (
            f"OSMData({self.path.name!r}: {len(self.ways)} highway ways, {len(self.features)} features in "
            f"EPSG:4326; metric crs EPSG:{self.crs.to_epsg()} via .projected())"
        )


def read_osm(path: str | os.PathLike, *, clip: Clip = None, strict: bool = False) -> OSMData:
    """Read an OSM extract from disk, without any network access.

    Parameters
    ----------
    path
        An ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.
    clip
        Optional study area: a ``(minlon, minlat, maxlon, maxlat)`` box, a shapely geometry in
        EPSG:4326, or a GeoDataFrame/GeoSeries in any CRS. Ways are cut to their runs of nodes
        inside it; features are kept when they intersect it.
    strict
        What to do with an extract that looks cut short (its ways miss more than
        :data:`settings.truncated_missing_share` of their nodes, or a .pbf holds nodes but no
        tagged way, as one cut at a block boundary does): ``False`` (default) warns with
        :class:`~urbancover.errors.TruncatedExtractWarning` and adds a note; ``True`` raises
        :class:`OSMReadError`.

    Returns
    -------
    OSMData
        The highway ways and the tagged features, in EPSG:4326, with the local UTM CRS.

    Raises
    ------
    OSMReadError
        The file is missing, is not OSM data, is truncated or corrupt (or, with ``strict``, looks
        cut short), or holds no OSM objects.

    Warns
    -----
    TruncatedExtractWarning
        The extract looks cut short (see ``strict``).
    UserWarning
        Without a header box, street vertices far from all others were left out of the default
        area (the count is in :attr:`OSMData.notes`).

    Notes
    -----
    One streaming pass of libosmium over nodes and ways, O(N + W) for N nodes and W way-node
    references, in C++: node locations (about 16 bytes per node), a key filter and a text writer;
    Python then parses only the tagged objects that may be streets or features, in bulk. A second
    pass assembles multipolygon relations, only when the file has some. The UTM zone is that of
    the median walkable street vertex, so stray nodes cannot move it.

    Examples
    --------
    >>> import urbancover
    >>> osm = urbancover.read_osm("data/sample/shenzhen_longgang.osm.bz2")
    >>> osm.crs.to_epsg()
    32650
    """
    path = Path(path)
    if not path.exists():
        raise OSMReadError(f"{path}: no such file. Give the path of an .osm, .osm.bz2 or .osm.pbf extract.")
    if path.is_dir():
        raise OSMReadError(f"{path}: is a folder, not an OSM extract file.")
    if path.stat().st_size == 0:
        raise OSMReadError(f"{path}: the file is empty (0 bytes). Download or export the extract again.")
    if not path.name.lower().endswith(_SUFFIXES):
        raise OSMReadError(
            f"{path}: unknown file type; urbancover reads OSM extracts ending in "
            f"{', '.join(_SUFFIXES[:4])}. Rename the file if it is one of these formats."
        )
    clip_geom = _clip_geometry(clip)
    stats = None
    try:
        if settings.osm_reader == "python":
            ways_raw, feats_raw, header_box = _scan(path)
            stats = {"refs": len(ways_raw["ok"]), "missing": int((~ways_raw["ok"]).sum()),
                     "tagged_ways": len(ways_raw["osmid"]) + feats_raw["element"].count("way"), "has_nodes": True}
        else:
            ways_raw, feats_raw, header_box, stats = _scan_fast(path)
    except OSMReadError:
        raise
    except Exception as err:  # libosmium raises RuntimeError/ValueError with its own message
        if "out of order" in str(err):
            raise OSMReadError(
                f"{path}: its objects are not sorted by type and id ({err}), as files saved by editors such as "
                "JOSM often are; sort it first, e.g. 'osmium sort in.osm -o sorted.osm.pbf'."
            ) from err
        raise OSMReadError(
            f"{path}: cannot be read as OSM data ({type(err).__name__}: {err}). The file may be truncated "
            "or corrupt, or not an OSM XML/PBF file: download or export it again."
        ) from err
    notes: list[str] = []
    _check_truncation(path, stats, strict, notes)
    if not ways_raw["osmid"] and not feats_raw["osmid"] and not ways_raw["n_nodes"]:
        raise OSMReadError(f"{path}: holds no OSM ways or tagged features; is it an empty export?")

    ways = _ways_frame(ways_raw, clip_geom)
    features = _features_frame(feats_raw, clip_geom)
    bounds, crs = _extent(path, ways, features, clip_geom, header_box, notes)
    return OSMData(path=path, ways=ways, features=features, bounds=bounds, crs=crs, notes=notes)


def _check_truncation(path: Path, stats: dict, strict: bool, notes: list[str]) -> None:
    """Warn (or, with ``strict``, raise) when the extract looks cut short."""
    problem = None
    refs, missing = stats["refs"], stats["missing"]
    if missing >= settings.truncated_missing_min and missing / refs > settings.truncated_missing_share:
        problem = (f"its ways miss the locations of {missing:,} of their {refs:,} nodes ({missing / refs:.0%}), "
                   "as when the file ends before all its nodes or was cut without complete ways")
    elif stats["has_nodes"] and stats["tagged_ways"] == 0 and path.name.lower().endswith(".pbf"):
        problem = "it holds nodes but not one tagged way, as a .pbf cut after its node blocks does"
    if problem is None:
        return
    msg = (f"{path}: possibly truncated: {problem}. Results from it may be wrong; download or export the "
           "extract again (and check its size or checksum).")
    if strict:
        raise OSMReadError(msg + " (strict=True refuses it.)")
    warnings.warn(msg, TruncatedExtractWarning, stacklevel=3)
    notes.append(msg)


def _extent(path, ways, features, clip_geom, header_box, notes):
    """Bounds and UTM zone: the zone from the median walkable street vertex; the bounds from the
    clip, else the header box, else the streets' extent without lone outliers.
    """
    lonlat = np.zeros((0, 2))
    if len(ways):
        walk = ways[walkable_mask(ways["tags"])]
        lonlat = shapely.get_coordinates((walk if len(walk) else ways).geometry.values)
    if len(lonlat) == 0 and len(features):
        lonlat = shapely.get_coordinates(shapely.centroid(features.geometry.values))
    if len(lonlat) == 0:
        raise OSMReadError(f"{path}: holds no ways or features with locations.")
    ext = street_extent(lonlat[:, 0], lonlat[:, 1])
    if clip_geom is not None:
        bounds = tuple(float(b) for b in clip_geom.bounds)
    elif header_box is not None:
        bounds = header_box
    else:
        bounds = ext.bounds
        if len(ways) and len(features):  # tagged nodes and ways near the streets belong to the area too
            near = features[features["element"] != "relation"]
            xy = shapely.get_coordinates(shapely.centroid(near.geometry.values))  # a long river adds its centre only
            if len(xy):
                to_m = pyproj.Transformer.from_crs(WGS84, ext.crs, always_xy=True)
                bx, by = to_m.transform(np.array([bounds[0], bounds[2]]), np.array([bounds[1], bounds[3]]))
                fx, fy = to_m.transform(xy[:, 0], xy[:, 1])
                gap = settings.extent_outlier_gap_m
                ok = (fx > bx[0] - gap) & (fx < bx[1] + gap) & (fy > by[0] - gap) & (fy < by[1] + gap)
                if ok.any():
                    bounds = (min(bounds[0], xy[ok, 0].min()), min(bounds[1], xy[ok, 1].min()),
                              max(bounds[2], xy[ok, 0].max()), max(bounds[3], xy[ok, 1].max()))
        what = "streets'" if len(ways) else "features'"
        notes.append(f"{path.name}: no <bounds> in the header; the default area is the {what} extent "
                     f"({bounds[0]:.5f}, {bounds[1]:.5f}, {bounds[2]:.5f}, {bounds[3]:.5f}).")
        if ext.outliers:
            msg = (f"{path}: {ext.outliers} lone vertex/vertices more than {settings.extent_outlier_gap_m:,.0f} m "
                   "from the other streets were left out of the default analysed area (stray nodes?).")
            warnings.warn(msg, UserWarning, stacklevel=3)
            notes.append(msg)
    return tuple(map(float, bounds)), ext.crs


def walkable_mask(tags) -> np.ndarray:
    """Ways open to pedestrians (OSMnx ``network_type="walk"``) from their tag dicts: a ``highway``
    tag and no value matching :data:`urbancover.settings.walk_exclude`. One regex test per distinct
    value, not per way.
    """
    tags = list(tags)
    mask = np.array(["highway" in t for t in tags], dtype=bool)
    for key, pattern in settings.walk_exclude:
        rx = re.compile(pattern)
        values = [t.get(key) for t in tags]
        bad = {v for v in set(values) if v is not None and rx.search(str(v)) is not None}
        if bad:
            mask &= ~np.array([v in bad for v in values], dtype=bool)
    return mask


def _clip_geometry(clip) -> shapely.Geometry | None:
    if clip is None:
        return None
    if isinstance(clip, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if clip.crs is None:
            raise OSMReadError("clip: the clip layer has no CRS; set it (e.g. .set_crs('EPSG:4326')).")
        geom = clip.to_crs(WGS84).geometry.union_all()
    elif isinstance(clip, shapely.Geometry):
        geom = clip
    else:
        try:
            minx, miny, maxx, maxy = (float(v) for v in clip)
        except (TypeError, ValueError) as err:
            raise OSMReadError(
                f"clip: expected (minlon, minlat, maxlon, maxlat), a shapely geometry or a GeoDataFrame, got {clip!r}"
            ) from err
        if not (minx < maxx and miny < maxy):
            raise OSMReadError(f"clip: box {clip!r} is empty; give (minlon, minlat, maxlon, maxlat).")
        geom = shapely.box(minx, miny, maxx, maxy)
    if geom.is_empty or geom.area == 0:
        raise OSMReadError("clip: the clip area is empty or has no area.")
    return geom


def _header_box(path: Path) -> tuple[float, float, float, float] | None:
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    bl, tr = box.bottom_left, box.top_right
    minlon, maxlon = bl.lon, tr.lon
    if maxlon < minlon:  # a box across the antimeridian: unwrap it
        maxlon += 360.0
    return (minlon, bl.lat, maxlon, tr.lat)


def _is_feature(tags: dict, element: str) -> bool:
    if element == "node":
        for key, values in settings.feature_node_values.items():
            if tags.get(key) in values:
                return True
    for key in settings.feature_keys:
        if key in tags and key not in settings.feature_node_values:
            return True
    return False


def _scan(path: Path):
    """One pass over the file; returns raw columns of ways and features and the header box."""
    header_box = _header_box(path)
    wkb = osmium.geom.WKBFactory()
    ways = {"osmid": [], "tags": [], "n_nodes": []}
    way_ids: list[np.ndarray] = []
    way_lon: list[float] = []
    way_lat: list[float] = []
    way_ok: list[bool] = []
    feats = {"element": [], "osmid": [], "tags": [], "wkb": []}
    broken: dict[int, dict] = {}  # closed ways libosmium could not make an area of -> their tags
    broken_relations: list[int] = []  # multipolygon relations it could not assemble

    # untagged objects (most nodes) stay in libosmium: the location cache and the area assembler
    # still see them, Python only sees what it keeps (every branch below skips untagged objects)
    processor = osmium.FileProcessor(str(path)).with_locations().with_areas().with_filter(osmium.filter.EmptyTagFilter())
    for obj in processor:
        if obj.is_node():
            if obj.tags and obj.location.valid():
                tags = dict(obj.tags)
                if _is_feature(tags, "node"):
                    feats["element"].append("node")
                    feats["osmid"].append(obj.id)
                    feats["tags"].append(tags)
                    feats["wkb"].append(wkb.create_point(obj.location))
        elif obj.is_way():
            if not obj.tags:
                continue
            tags = dict(obj.tags)
            if "highway" in tags:
                n = 0
                ids = []
                for nd in obj.nodes:
                    loc = nd.location
                    ok = loc.valid()
                    ids.append(nd.ref)
                    way_ok.append(ok)
                    way_lon.append(loc.lon if ok else np.nan)
                    way_lat.append(loc.lat if ok else np.nan)
                    n += 1
                way_ids.append(np.asarray(ids, dtype=np.int64))
                ways["osmid"].append(obj.id)
                ways["tags"].append(tags)
                ways["n_nodes"].append(n)
            if _is_feature(tags, "way"):
                if obj.is_closed() and _could_be_area(tags):
                    continue  # becomes a polygon in the area pass
                try:
                    geom = wkb.create_linestring(obj)
                except (osmium.InvalidLocationError, RuntimeError):
                    continue  # nodes missing from the extract, or fewer than 2 distinct locations
                feats["element"].append("way")
                feats["osmid"].append(obj.id)
                feats["tags"].append(tags)
                feats["wkb"].append(geom)
        elif obj.is_area():
            if not obj.tags:
                continue
            tags = dict(obj.tags)
            element = "way" if obj.from_way() else "relation"
            if not _is_feature(tags, element):
                continue
            try:
                geom = wkb.create_multipolygon(obj)
            except RuntimeError:
                if obj.from_way():
                    broken[obj.orig_id()] = tags  # e.g. a self-intersecting outline: repaired below
                else:
                    broken_relations.append(obj.orig_id())
                continue  # libosmium could not build a valid ring
            feats["element"].append(element)
            feats["osmid"].append(obj.orig_id())
            feats["tags"].append(tags)
            feats["wkb"].append(geom)
    if broken:
        repaired = _repair_outlines(path, broken)
        for wid, geom in repaired.items():
            feats["element"].append("way")
            feats["osmid"].append(wid)
            feats["tags"].append(broken[wid])
            feats["wkb"].append(geom)
        if repaired:
            warnings.warn(
                f"{path}: {len(repaired)} closed way(s) with an invalid outline (e.g. self-intersecting: "
                f"way {next(iter(repaired))}) were repaired with shapely.make_valid.",
                UserWarning, stacklevel=3,
            )
    if broken_relations:
        warnings.warn(
            f"{path}: {len(broken_relations)} multipolygon relation(s) with invalid rings (e.g. relation "
            f"{broken_relations[0]}) could not be assembled and are left out; fix them in an OSM editor.",
            UserWarning, stacklevel=3,
        )
    ways["node_ids"] = way_ids
    ways["lon"] = np.asarray(way_lon, dtype=float)
    ways["lat"] = np.asarray(way_lat, dtype=float)
    ways["ok"] = np.asarray(way_ok, dtype=bool)
    return ways, feats, header_box


def _repair_outlines(path: Path, broken: dict[int, dict]) -> dict[int, bytes]:
    """Polygons (WKB) of closed ways whose outline libosmium refused (a bow-tie, a ring touching
    itself), rebuilt from their nodes and repaired with ``shapely.make_valid``. A second pass over
    the file, made only when such ways exist; ways with nodes missing from the extract are skipped.
    """
    out = {}
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)).with_filter(osmium.filter.IdFilter(list(broken)))
    )
    for obj in processor:
        if obj.id not in broken or not all(nd.location.valid() for nd in obj.nodes):
            continue
        xy = [(nd.location.lon, nd.location.lat) for nd in obj.nodes]
        if len(xy) < 4 or xy[0] != xy[-1]:
            continue
        geom = shapely.make_valid(shapely.Polygon(xy), method="structure", keep_collapsed=False)
        if geom.is_empty or shapely.get_dimensions(geom) != 2:
            continue
        out[obj.id] = shapely.to_wkb(geom)
    return out


def _could_be_area(tags: dict) -> bool:
    """Whether libosmium's area assembler will turn a closed way with these tags into an area."""
    return tags.get("area") != "no"


def _ways_frame(raw: dict, clip_geom) -> gpd.GeoDataFrame:
    """Cut ways into runs of located (and, with a clip, inside) nodes and build LineStrings."""
    columns = ["osmid", *settings.way_columns, "tags", "node_ids", "cut_start", "cut_end"]
    n_nodes = np.asarray(raw["n_nodes"], dtype=np.int64)
    if n_nodes.sum() == 0:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    lon, lat, ok = raw["lon"], raw["lat"], raw["ok"].copy()
    ids = np.concatenate(raw["node_ids"])
    way_of = np.repeat(np.arange(len(n_nodes)), n_nodes)
    if clip_geom is not None:
        shapely.prepare(clip_geom)
        ok[ok] = shapely.intersects_xy(clip_geom, lon[ok], lat[ok])
    # a run starts where a kept vertex follows a dropped one or a new way begins
    starts_way = np.r_[True, way_of[1:] != way_of[:-1]]
    run_start = ok & (starts_way | ~np.r_[False, ok[:-1]])
    run_id = np.cumsum(run_start) - 1
    keep = ok
    run_id = run_id[keep]
    counts = np.bincount(run_id, minlength=run_id.max() + 1 if len(run_id) else 0)
    good_run = counts >= 2
    vert_keep = good_run[run_id]
    run_id = run_id[vert_keep]
    kept_idx = np.flatnonzero(keep)[vert_keep]
    if len(kept_idx) == 0:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    _, run_idx = np.unique(run_id, return_inverse=True)
    geoms = shapely.linestrings(np.c_[lon[kept_idx], lat[kept_idx]], indices=run_idx)
    first = kept_idx[np.r_[0, np.flatnonzero(np.diff(run_idx)) + 1]]
    way_idx = way_of[first]
    node_ids = np.split(ids[kept_idx], np.flatnonzero(np.diff(run_idx)) + 1)
    # ends of a run that are not the way's own ends: the extract (or the clip) cut the way there
    last = kept_idx[np.r_[np.flatnonzero(np.diff(run_idx)), len(run_idx) - 1]]
    ends_way = np.r_[way_of[1:] != way_of[:-1], True]
    tags = [raw["tags"][i] for i in way_idx]
    data = {"osmid": np.asarray(raw["osmid"], dtype=np.int64)[way_idx]}
    for key in settings.way_columns:
        data[key] = [t.get(key) for t in tags]
    data["tags"] = tags
    data["node_ids"] = node_ids
    data["cut_start"] = ~starts_way[first]
    data["cut_end"] = ~ends_way[last]
    frame = gpd.GeoDataFrame(data, geometry=geoms, crs=WGS84)
    # a run whose vertices all share one location has no length; drop it
    return frame[shapely.length(frame.geometry.values) > 0].reset_index(drop=True)


def _features_frame(raw: dict, clip_geom) -> gpd.GeoDataFrame:
    columns = ["element", "osmid", *settings.feature_columns, "tags"]
    if not raw["osmid"]:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)
    geoms = np.array(raw["geoms"], dtype=object) if raw.get("geoms") else shapely.from_wkb(raw["wkb"])
    single = shapely.get_type_id(geoms) == shapely.GeometryType.MULTIPOLYGON
    single &= shapely.get_num_geometries(geoms) == 1
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    data = {"element": raw["element"], "osmid": np.asarray(raw["osmid"], dtype=np.int64)}
    for key in settings.feature_columns:
        data[key] = [t.get(key) for t in raw["tags"]]
    data["tags"] = raw["tags"]
    frame = gpd.GeoDataFrame(data, geometry=geoms, crs=WGS84)
    if clip_geom is not None:
        frame = frame[shapely.intersects(frame.geometry.values, clip_geom)]
    return frame.reset_index(drop=True)



# -- the fast reader: libosmium filters and writes, Python parses text in bulk ----------------------
_OPL_ESCAPE = re.compile(r"%([0-9a-fA-F]+)%")
_TO_SPACE = str.maketrans(",nxy", "    ")
_MISSING = 999.0  # longitude written for a node reference without a location (never a real one)


def _opl_unescape(s: str) -> str:
    return _OPL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), s) if "%" in s else s


def _opl_tags(field: str) -> dict:
    if len(field) <= 1:
        return {}
    if "%" not in field:
        return dict(kv.split("=", 1) for kv in field[1:].split(","))
    out = {}
    for kv in field[1:].split(","):
        k, _, v = kv.partition("=")
        out[_opl_unescape(k)] = _opl_unescape(v)
    return out


def _opl_refs(fields: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node ids, lon, lat of the ``N`` fields of ways (``Nn1x..y..,n2x..y..``) in one numpy parse,
    and the number of references of each way. A reference without a location (``n5xy``) gets NaN.
    """
    counts = np.fromiter((f.count(",") + 1 if len(f) > 1 else 0 for f in fields), dtype=np.int64, count=len(fields))
    text = ",".join(f[1:] for f in fields if len(f) > 1)
    if not text:
        e = np.zeros(0)
        return e.astype(np.int64), e, e, counts
    text = text.replace("xy", f"x{_MISSING:g}y{_MISSING:g}")
    text = text.translate(_TO_SPACE)
    vals = np.fromstring(text, dtype=float, sep=" ").reshape(-1, 3)  # C parser, no Python per number
    ids = vals[:, 0].astype(np.int64)
    lon, lat = vals[:, 1].copy(), vals[:, 2].copy()
    bad = lon == _MISSING
    lon[bad] = np.nan
    lat[bad] = np.nan
    return ids, lon, lat, counts


def _scan_fast(path: Path):
    """One pass of libosmium over nodes and ways (node locations, a key filter and an OPL writer
    with locations on ways, all in C++), then a bulk parse in Python of only the tagged objects
    that may matter; multipolygon relations are assembled by libosmium in a second pass over ways
    only, made only when the file has such relations. No Python runs per untagged node or per way node.

    Returns the same raw columns as the Python reader, plus reading statistics.
    """
    header_box = _header_box(path)
    node_keys = sorted(set(settings.feature_node_values) | set(settings.feature_keys))
    way_keys = sorted({"highway", *settings.feature_keys})
    idx = osmium.index.create_map("flex_mem")
    lh = osmium.NodeLocationsForWays(idx)
    lh.ignore_errors()
    fd, tmp = tempfile.mkstemp(suffix=".opl", prefix="urbancover-")
    os.close(fd)
    os.remove(tmp)
    try:
        writer = osmium.WriteHandler(osmium.io.File(tmp, "opl,locations_on_ways=true,add_metadata=false"))
        try:
            nodes_f = osmium.filter.KeyFilter(*node_keys).enable_for(osmium.osm.NODE)
            ways_f = osmium.filter.KeyFilter(*way_keys).enable_for(osmium.osm.WAY)
            with osmium.io.Reader(str(path), osmium.osm.NODE | osmium.osm.WAY) as reader:
                osmium.apply(reader, lh, nodes_f, ways_f, writer)
        finally:
            writer.close()
        has_nodes = idx.used_memory() > 0
        with open(tmp, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    feats = {"element": [], "osmid": [], "tags": [], "wkb": [], "geoms": []}
    way_id, way_tags, way_refs = [], [], []
    for line in lines:
        f = line.split(" ")
        if line[0] == "n":
            tags = _opl_tags(f[1])
            if _is_feature(tags, "node") and len(f[2]) > 1:
                feats["element"].append("node")
                feats["osmid"].append(int(f[0][1:]))
                feats["tags"].append(tags)
                feats["geoms"].append((float(f[2][1:]), float(f[3][1:])))
        elif line[0] == "w":
            way_id.append(int(f[0][1:]))
            way_tags.append(_opl_tags(f[1]))
            way_refs.append(f[2])
    ids, lon, lat, counts = _opl_refs(way_refs)
    start = np.r_[0, np.cumsum(counts)[:-1]]
    points = shapely.points(np.c_[[g[0] for g in feats["geoms"]], [g[1] for g in feats["geoms"]]]) if feats["geoms"] else []
    feats["geoms"] = list(points)
    is_hw = np.array(["highway" in t for t in way_tags], dtype=bool)
    is_feat = np.array([_is_feature(t, "way") for t in way_tags], dtype=bool)
    # highway ways: the raw columns of the Python reader
    hw = np.flatnonzero(is_hw)
    hw_vert = np.repeat(start[hw], counts[hw]) + ranges(counts[hw])
    ways = {
        "osmid": [way_id[i] for i in hw], "tags": [way_tags[i] for i in hw], "n_nodes": [int(counts[i]) for i in hw],
        "node_ids": [ids[start[i]:start[i] + counts[i]] for i in hw],
        "lon": lon[hw_vert], "lat": lat[hw_vert], "ok": np.isfinite(lon[hw_vert]),
    }
    # feature ways: closed ones that may be areas become polygons, the others lines
    fw = np.flatnonzero(is_feat & (counts >= 2))
    if len(fw):
        closed = ids[start[fw]] == ids[start[fw] + counts[fw] - 1]
        area = closed & np.array([_could_be_area(way_tags[i]) for i in fw], dtype=bool)
        vert = np.repeat(start[fw], counts[fw]) + ranges(counts[fw])
        owner = np.repeat(np.arange(len(fw)), counts[fw])
        complete = np.ones(len(fw), dtype=bool)
        np.logical_and.at(complete, owner, np.isfinite(lon[vert]))
        xy = np.c_[lon[vert], lat[vert]]
        # drop repeated locations in a row, as libosmium's geometry factory does
        rep = np.r_[False, (owner[1:] == owner[:-1]) & (xy[1:] == xy[:-1]).all(axis=1)]
        xy, owner = xy[~rep], owner[~rep]
        n_pts = np.bincount(owner, minlength=len(fw))
        line_ok = complete & ~area & (n_pts >= 2)
        poly_ok = complete & area & (n_pts >= 4)
        sel = line_ok[owner]
        if line_ok.any():
            _, inv = np.unique(owner[sel], return_inverse=True)
            geoms = shapely.linestrings(xy[sel], indices=inv)
            for k, g in zip(np.flatnonzero(line_ok), geoms):
                feats["element"].append("way")
                feats["osmid"].append(way_id[fw[k]])
                feats["tags"].append(way_tags[fw[k]])
                feats["geoms"].append(g)
        sel = poly_ok[owner]
        if poly_ok.any():
            _, inv = np.unique(owner[sel], return_inverse=True)
            rings = shapely.linearrings(xy[sel], indices=inv)
            polys = shapely.orient_polygons(shapely.polygons(rings))  # outer rings CCW, as libosmium's
            valid = shapely.is_valid(polys)
            if (~valid).any():
                polys[~valid] = shapely.make_valid(polys[~valid], method="structure", keep_collapsed=False)
                warnings.warn(
                    f"{path}: {int((~valid).sum())} closed way(s) with an invalid outline (e.g. self-intersecting: "
                    f"way {way_id[fw[np.flatnonzero(poly_ok)[np.flatnonzero(~valid)[0]]]]}) were repaired with "
                    "shapely.make_valid.", UserWarning, stacklevel=3,
                )
            for k, g, v in zip(np.flatnonzero(poly_ok), polys, valid):
                if not v and (g.is_empty or shapely.get_dimensions(g) != 2):
                    continue
                feats["element"].append("way")
                feats["osmid"].append(way_id[fw[k]])
                feats["tags"].append(way_tags[fw[k]])
                feats["geoms"].append(g)
    _relation_areas(path, feats, idx)
    stats = {
        "refs": int(len(ids)), "missing": int((~np.isfinite(lon)).sum()),
        "tagged_ways": len(way_id), "has_nodes": has_nodes,
    }
    return ways, feats, header_box, stats


def _relation_areas(path: Path, feats: dict, idx) -> None:
    """Append the polygons of multipolygon/boundary relations that are features, assembled by
    libosmium. The relations are read first (few objects); the second pass over nodes and ways runs
    only when there are such relations and passes on only their member ways.
    """
    members: set[int] = set()
    wanted = False
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION).with_filter(
        osmium.filter.TagFilter(("type", "multipolygon"), ("type", "boundary"))
    ):
        if _is_feature(dict(rel.tags), "relation"):
            wanted = True
            members.update(m.ref for m in rel.members if m.type == "w")
    if not wanted:
        return
    wkb = osmium.geom.WKBFactory()
    broken = []

    class _Areas(osmium.SimpleHandler):
        def area(self, a):
            if a.from_way():
                return
            tags = dict(a.tags)
            if not _is_feature(tags, "relation"):
                return
            try:
                geom = wkb.create_multipolygon(a)
            except RuntimeError:
                broken.append(a.orig_id())
                return
            feats["element"].append("relation")
            feats["osmid"].append(a.orig_id())
            feats["tags"].append(tags)
            feats["geoms"].append(shapely.from_wkb(geom))

    manager = osmium.area.AreaManager()
    with osmium.io.Reader(str(path), osmium.osm.RELATION) as reader:
        osmium.apply(reader, manager.first_pass_handler())
    lh = osmium.NodeLocationsForWays(idx)  # the locations of the first pass: nodes are not read again
    lh.ignore_errors()
    only = osmium.filter.IdFilter(members).enable_for(osmium.osm.WAY)
    handler = _Areas()
    with osmium.io.Reader(str(path), osmium.osm.WAY) as reader:
        osmium.apply(reader, lh, only, manager.second_pass_handler(handler))
    if broken:
        warnings.warn(
            f"{path}: {len(broken)} multipolygon relation(s) with invalid rings (e.g. relation "
            f"{broken[0]}) could not be assembled and are left out; fix them in an OSM editor.",
            UserWarning, stacklevel=4,
        )
