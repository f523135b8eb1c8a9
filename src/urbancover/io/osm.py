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
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pyproj
import shapely

from urbancover import settings
from urbancover.errors import OSMReadError
from urbancover.io.crs import WGS84, utm_crs

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
        file header's box, else the extent of the data.
    crs : pyproj.CRS
        The UTM zone at the centre of ``bounds``, used for every distance.
    """

    path: Path
    ways: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float]
    crs: pyproj.CRS
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
        """The extract's bounds as a polygon in EPSG:4326."""
        return shapely.box(*self.bounds)

    def __repr__(self) -> str:
        return (
            f"OSMData({self.path.name!r}: {len(self.ways)} highway ways, {len(self.features)} features, "
            f"crs=EPSG:{self.crs.to_epsg()})"
        )


def read_osm(path: str | os.PathLike, *, clip: Clip = None) -> OSMData:
    """Read an OSM extract from disk, without any network access.

    Parameters
    ----------
    path
        An ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.
    clip
        Optional study area: a ``(minlon, minlat, maxlon, maxlat)`` box, a shapely geometry in
        EPSG:4326, or a GeoDataFrame/GeoSeries in any CRS. Ways are cut to their runs of nodes
        inside it; features are kept when they intersect it.

    Returns
    -------
    OSMData
        The highway ways and the tagged features, in EPSG:4326, with the local UTM CRS.

    Raises
    ------
    OSMReadError
        The file is missing, is not OSM data, is truncated or corrupt, or holds no OSM objects.

    Notes
    -----
    One streaming pass, O(N + W + R) for N nodes, W way-node references and R relation members;
    node locations are kept in memory (about 16 bytes per node).

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
    try:
        ways_raw, feats_raw, header_box = _scan(path)
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
    if not ways_raw["osmid"] and not feats_raw["osmid"] and not ways_raw["n_nodes"]:
        raise OSMReadError(f"{path}: holds no OSM ways or tagged features; is it an empty export?")

    ways = _ways_frame(ways_raw, clip_geom)
    features = _features_frame(feats_raw, clip_geom)
    if clip_geom is not None:
        bounds = tuple(float(b) for b in clip_geom.bounds)
    elif header_box is not None:
        bounds = header_box
    else:
        both = [g for g in (ways.geometry, features.geometry) if len(g)]
        if not both:
            raise OSMReadError(f"{path}: holds no ways or features with locations.")
        b = np.array([g.total_bounds for g in both])
        bounds = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    crs = utm_crs((bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0)
    return OSMData(path=path, ways=ways, features=features, bounds=tuple(map(float, bounds)), crs=crs)


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
    return (bl.lon, bl.lat, tr.lon, tr.lat)


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

    processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
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
    the file, made only when such ways exist; ways with nodes missing from the extract are skipped."""
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
    geoms = shapely.from_wkb(raw["wkb"])
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

