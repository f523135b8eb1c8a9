"""Read OpenStreetMap extracts (.osm, .osm.bz2, .osm.gz, .osm.pbf) offline with pyosmium.

The reader makes one pass over the file (libosmium, C++) that keeps node locations in memory and
writes the objects that may matter as text; Python parses that text in bulk and builds the polygons
of closed ways as libosmium's area assembler does; libosmium assembles multipolygon relations. It
returns two layers:

* ``ways``: every way with a ``highway`` tag, as LineStrings with their tags and the ids of their
  nodes (the network module splits them where they share nodes);
* ``features``: every node, way or area with a key in :data:`urbancover.core.settings.feature_keys`
  (bus stops, toilets, parks, shops, buildings, landuse ...) as Points, LineStrings or (Multi)Polygons.

Both are in EPSG:4326 as read; :attr:`OSMData.crs` is the local UTM zone chosen from the data and
:meth:`OSMData.projected` gives metric copies.
"""

from __future__ import annotations

import io
import operator
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyproj
import shapely

from urbancover.core.errors import OSMReadError, TruncatedExtractWarning, warn
from urbancover.core.intervals import ranges
from urbancover.core.settings import Settings, current, resolve
from urbancover.io.crs import WGS84, transformer
from urbancover.io.extent import complete_extent, densified_box, street_extent
from urbancover.present import Note

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
        file header's box, else where the extract is complete: the extent of its ways and areas at
        most :data:`settings.extent_compact_m` across (see :func:`urbancover.io.extent.complete_extent`;
        the streets' extent when there are too few), without lone outliers. Across the antimeridian
        ``maxlon`` exceeds 180.
    crs : pyproj.CRS
        The UTM zone of the median walkable street vertex (of the features when there is no
        street), used for every distance.
    notes : list of str
        What the reader noticed: where the default area came from, outliers left out, signs of a
        truncated file, multipolygons/boundaries incomplete in the extract (left out, or assembled
        from their complete rings), objects marked deleted that were left out.
    """

    path: Path
    ways: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    bounds: tuple[float, float, float, float]
    crs: pyproj.CRS
    notes: list[str] = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)
    #: The settings it was read with (its columns, features and bounds depend on them).
    settings: Settings = field(default_factory=current, repr=False)

    def projected(self, layer: str) -> gpd.GeoDataFrame:
        """Return ``"ways"`` or ``"features"`` reprojected to :attr:`crs` (computed once, cached)."""
        if layer not in ("ways", "features"):
            raise ValueError(f"layer must be 'ways' or 'features', not {layer!r}")
        if layer not in self._cache:
            # only the geometry is new: the columns are shared with the EPSG:4326 layer (pandas'
            # copy-on-write keeps either from changing the other), not copied for a city's rows
            src = getattr(self, layer)
            out = src.copy(deep=False)
            out[src.geometry.name] = src.geometry.to_crs(self.crs)
            self._cache[layer] = out
        return self._cache[layer]

    def walkable(self, settings: Settings | None = None) -> np.ndarray:
        """Boolean per row of :attr:`ways`: open to pedestrians (:func:`walkable_mask`) under
        ``settings`` (default: those it was read with), computed once per extract and filter (the
        reader's extent, the walking network and the rules share it).
        """
        s = self.settings if settings is None else resolve(settings)
        key = ("walkable", s.walk_exclude) if s.walk_exclude != self.settings.walk_exclude else "walkable"
        if key not in self._cache:
            self._cache[key] = walkable_mask(self.ways["tags"], settings=s) if len(self.ways) else np.zeros(0, dtype=bool)
        return self._cache[key]

    @property
    def boundary(self) -> shapely.Polygon:
        """The extract's bounds as a polygon in EPSG:4326, densified (a vertex every
        :data:`settings.boundary_segment_deg` degrees) so that it keeps its shape when reprojected.
        """
        return densified_box(self.bounds, settings=self.settings)

    def __repr__(self) -> str:
        return (
            f"OSMData({self.path.name!r}: {len(self.ways)} highway ways, {len(self.features)} features in "
            f"EPSG:4326; metric crs EPSG:{self.crs.to_epsg()} via .projected())"
        )


def read_osm(path: str | os.PathLike, *, clip: Clip = None, strict: bool = False,
             settings: Settings | None = None) -> OSMData:
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
        :data:`settings.truncated_missing_share` of their nodes; or a .pbf holds nodes but no
        tagged way, or ends with its ways while untagged ways (the members of multipolygons) belong
        to no relation, or ends with a full block of ways, or with a full block of relations while
        many untagged ways belong to none, as one cut at a block boundary does):
        ``False`` (default) warns with
        :class:`~urbancover.core.errors.TruncatedExtractWarning` and adds a note; ``True`` raises
        :class:`OSMReadError`.
    settings
        The :class:`~urbancover.core.settings.Settings` to read with (columns, feature keys, walking
        filter, default area; kept as :attr:`OSMData.settings`); default
        :func:`urbancover.core.settings.current`.

    Returns
    -------
    OSMData
        The highway ways and the tagged features, in EPSG:4326, with the local UTM CRS.

    Raises
    ------
    OSMReadError
        The file is missing, is not OSM data, is truncated or corrupt (or, with ``strict``, looks
        cut short), holds no OSM objects or ways without any of their nodes, or its ways come
        before their nodes or are not sorted (``osmium sort`` fixes both). Any other exception is
        a bug of the reader.

    Warns
    -----
    TruncatedExtractWarning
        The extract looks cut short (see ``strict``).
    UserWarning
        Without a header box, street vertices far from all others were left out of the default
        area; multipolygon/boundary relations incomplete in the extract (a member way missing, or
        cut at its edge as ``osmium extract --strategy simple`` and Overpass cut them) were
        assembled from their complete rings or left out (named); objects marked deleted
        (``action="delete"``, ``visible="false"``) were left out. Each also in :attr:`OSMData.notes`.

    Notes
    -----
    One streaming pass of libosmium over the file, O(N + W) for N nodes and W way-node references,
    in C++: node locations (about 16 bytes per node), filters and an OPL text writer with the
    locations on the ways. Python then parses the tagged nodes and the ways that may be streets or
    features, column-wise (no Python step per node or per way node), and builds the polygons of
    closed ways vectorised, vertex for vertex as libosmium's assembler builds them; libosmium
    assembles the multipolygon relations that are features from the text of the relations and
    their member ways. The file is read once. The UTM zone is that of the median walkable street vertex, so stray
    nodes cannot move it. Features come in the order nodes, ways (by id), relations.

    Examples
    --------
    >>> import urbancover
    >>> osm = urbancover.read_osm("data/sample/shenzhen_longgang.osm.bz2")
    >>> osm.crs.to_epsg()
    32650
    """
    s = resolve(settings)
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
    # a file libosmium cannot read is the user's problem (OSMReadError, raised in _scan); any other
    # failure while reading is a bug and propagates as one
    ways_raw, feats_raw, header_box, stats = _scan(path, s)
    notes: list[str] = []
    for note in stats["notes"]:  # deleted objects left out, incomplete relations
        warn(note, UserWarning)
        notes.append(note)
    _check_truncation(path, stats, strict, notes, s)
    if len(ways_raw["osmid"]) == 0 and len(feats_raw["obj"]) == 0 and not feats_raw["relations"]["osmid"]:
        if stats["ways"] and (not stats["has_nodes"] or stats["missing"] == stats["refs"]):
            raise OSMReadError(
                f"{path}: holds {stats['ways']:,} way(s) but none of the nodes they use, so nothing has a location "
                "(as 'osmium getid' without -r writes); include the nodes, e.g. 'osmium getid -r'.")
        raise OSMReadError(f"{path}: holds no OSM ways or tagged features; is it an empty export?")

    ways = _ways_frame(ways_raw, clip_geom, s)
    features = _features_frame(feats_raw, clip_geom, s)
    walk = walkable_mask(ways["tags"], settings=s) if len(ways) else np.zeros(0, dtype=bool)
    bounds, crs = _extent(path, ways, walk, features, clip_geom, header_box, notes, s)
    osm = OSMData(path=path, ways=ways, features=features, bounds=bounds, crs=crs, notes=notes, settings=s)
    osm._cache["walkable"] = walk
    return osm


def _check_truncation(path: Path, stats: dict, strict: bool, notes: list[str], s: Settings) -> None:
    """Warn (or, with ``strict``, raise) when the extract looks cut short."""
    problem = None
    refs, missing = stats["refs"], stats["missing"]
    if missing >= s.truncated_missing_min and missing / refs > s.truncated_missing_share:
        problem = (f"its ways miss the locations of {missing:,} of their {refs:,} nodes ({missing / refs:.0%}), "
                   "as when the file ends before all its nodes or was cut without complete ways")
    elif stats["has_nodes"] and stats["tagged_ways"] == 0 and path.name.lower().endswith(".pbf"):
        problem = "it holds nodes but not one tagged way, as a .pbf cut after its node blocks does"
    elif path.name.lower().endswith(".pbf"):
        problem = _pbf_cut_in_ways(path, stats, s)
    if problem is None:
        return
    msg = Note("osm.truncated", path=str(path), problem=problem)
    if strict:
        raise OSMReadError(msg + " (strict=True refuses it.)")
    warn(msg, TruncatedExtractWarning)
    notes.append(msg)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[i]
        value |= (b & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if b < 0x80:
            return value, i


def _pbf_blobs(path: Path) -> list[tuple[int, int, str]]:
    """(offset, end, type) of every blob of a .pbf (``OSMHeader`` / ``OSMData``), from the
    4-byte lengths and BlobHeaders only: one seek per blob, nothing decompressed.

    Raises ValueError when the framing is broken (a length beyond the end of the file).
    """
    out = []
    size = path.stat().st_size
    with open(path, "rb") as fh:
        pos = 0
        while pos + 4 <= size:
            fh.seek(pos)
            hlen = int.from_bytes(fh.read(4), "big")
            header = fh.read(hlen)
            if len(header) < hlen:
                raise ValueError(f"BlobHeader at byte {pos} runs past the end of the file")
            kind, datasize, i = "", None, 0
            while i < len(header):  # protobuf fields: 1 type (string), 2 indexdata (bytes), 3 datasize
                key, i = _varint(header, i)
                if key & 7 == 0:
                    value, i = _varint(header, i)
                    if key >> 3 == 3:
                        datasize = value
                elif key & 7 == 2:
                    n, i = _varint(header, i)
                    if key >> 3 == 1:
                        kind = header[i:i + n].decode("ascii", "replace")
                    i += n
                else:
                    raise ValueError(f"BlobHeader at byte {pos}: unexpected protobuf wire type {key & 7}")
            if datasize is None:
                raise ValueError(f"BlobHeader at byte {pos} has no datasize")
            end = pos + 4 + hlen + datasize
            if end > size:
                raise ValueError(f"blob at byte {pos} runs past the end of the file")
            out.append((pos, end, kind))
            pos = end
    return out


def _block_counts(path: Path, header: tuple[int, int], block: tuple[int, int]) -> dict[str, int]:
    """Objects by type in one data block of a .pbf, read by libosmium from the header blob and
    that block alone.
    """
    with open(path, "rb") as fh:
        fh.seek(header[0])
        data = fh.read(header[1] - header[0])
        fh.seek(block[0])
        data += fh.read(block[1] - block[0])
    counts = {"node": 0, "way": 0, "relation": 0}
    for obj in osmium.FileProcessor(osmium.io.FileBuffer(data, "pbf")):
        counts[{"n": "node", "w": "way", "r": "relation"}[obj.type_str()]] += 1
    return counts


def _pbf_cut_in_ways(path: Path, stats: dict, s: Settings) -> str | None:
    """Why a .pbf looks cut inside or after its way blocks, or None.

    Writers fill blocks up to a fixed number of objects (libosmium and osmium-tool: 8000) and end
    each type with a partly filled block; ways are followed by the relation blocks. A file whose
    last block holds only ways has no relation after them. When some of its ways have no tags and
    belong to no multipolygon or boundary relation (``stats["orphan_ways"]``: an untagged way is
    in OSM the member of a relation), the relations were lost: the file was cut after (or inside)
    its way blocks, and the parks, landuse and boundaries mapped as relations are missing. A last
    block of ways that is full (:data:`settings.truncated_full_block` objects, or as many as the
    block before it) ended where a block boundary happened to fall: the later ways may be missing
    too, which the untagged nodes no way uses show. Reads the block headers and decodes the last
    two blocks only (and, for a full last block without orphan ways, one pass over the nodes and
    ways).
    """
    try:
        blobs = _pbf_blobs(path)
    except (OSError, ValueError):
        return None  # libosmium read the file; a framing this check cannot follow proves nothing
    data = [(a, b) for a, b, kind in blobs if kind == "OSMData"]
    header = next(((a, b) for a, b, kind in blobs if kind == "OSMHeader"), None)
    if header is None or len(data) < 2:
        return None
    last = _block_counts(path, header, data[-1])
    if last["relation"] and not last["node"] and not last["way"]:
        return _cut_in_relations(path, header, data, last["relation"], stats, s)
    if last["way"] == 0 or last["node"] or last["relation"]:
        return None
    if stats["orphan_ways"]:
        return (f"nothing follows its ways (its last block holds {last['way']:,} ways and no relation) although "
                f"{stats['orphan_ways']:,} of its ways have no tags and belong to no multipolygon or boundary (e.g. way "
                f"{stats['orphan_way']}): they are the members of relations it lost, as when a .pbf is cut after its "
                "way blocks; the parks, landuse and boundaries mapped as relations are missing from it")
    if last["way"] < s.truncated_full_block and last["way"] != sum(_block_counts(path, header, data[-2]).values()):
        return None
    # a complete file without relations can end on a full block too (its way count a multiple of
    # the block size): the cut shows in what the lost objects leave behind
    lost = _lost_object_traces(path, s)
    if lost is None:
        return None
    return (f"its last block holds {last['way']:,} ways, a full block, nothing follows it (a complete "
            "file ends each type with a partly filled block, and its relations come after its ways), "
            f"and {lost}, as when a .pbf is cut inside or after its way blocks")


def _cut_in_relations(path: Path, header, data: list, n_last: int, stats: dict, s: Settings) -> str | None:
    """Why a .pbf whose last block holds ``n_last`` relations looks cut inside its relation blocks,
    or None: that block is full (:data:`settings.truncated_full_block` objects, or as many as the
    block before it) and untagged ways that no multipolygon or boundary holds (the members of the
    relations lost after it) are more than :data:`settings.truncated_missing_share` of the
    untagged ways, and at least :data:`settings.truncated_missing_min`. A complete file has a few
    (mapping errors, members of other relation types): Malta's has 41 of 264.
    """
    if n_last < s.truncated_full_block and n_last != sum(_block_counts(path, header, data[-2]).values()):
        return None
    orphans, untagged = stats["orphan_ways"], stats["untagged_ways"]
    if orphans < s.truncated_missing_min or orphans <= s.truncated_missing_share * untagged:
        return None
    return (f"its last block holds {n_last:,} relations, a full block, nothing follows it, and {orphans:,} of its "
            f"{untagged:,} untagged ways belong to no multipolygon or boundary (e.g. way {stats['orphan_way']}): they are "
            "the members of relations it lost, as when a .pbf is cut inside its relation blocks; the parks, landuse "
            "and boundaries mapped by those relations are missing from it")


def _lost_object_traces(path: Path, s: Settings) -> str | None:
    """What objects lost from the end of a .pbf leave behind, or None: untagged nodes no way uses
    (the nodes of lost ways; more than :data:`settings.truncated_missing_share` of the untagged
    nodes, and at least :data:`settings.truncated_missing_min`), or untagged ways in a file without
    relations (the member rings of lost multipolygons). One pass over nodes and ways, made only for
    a file whose block structure already looks cut.
    """
    untagged_nodes, refs, untagged_ways = [], [], 0
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        if obj.is_node():
            if not len(obj.tags):
                untagged_nodes.append(obj.id)
        else:
            refs.append(np.fromiter((n.ref for n in obj.nodes), dtype=np.int64))
            untagged_ways += not len(obj.tags)
    nodes = np.asarray(untagged_nodes, dtype=np.int64)
    used = np.concatenate(refs) if refs else np.zeros(0, dtype=np.int64)
    orphans = int((~np.isin(nodes, used)).sum())
    if orphans >= s.truncated_missing_min and orphans > s.truncated_missing_share * len(nodes):
        return f"{orphans:,} of its {len(nodes):,} untagged nodes belong to no way (the nodes of ways it lost)"
    if untagged_ways:
        return (f"{untagged_ways:,} of its ways have no tags although it holds no relation (the member "
                "ways of relations it lost)")
    return None


def _extent(path, ways, walk, features, clip_geom, header_box, notes, s: Settings):
    """Bounds and UTM zone: the zone from the median walkable street vertex; the bounds from the
    clip, else the header box, else where the extract is complete (the compact ways' extent,
    :func:`urbancover.io.extent.complete_extent`), else the streets' extent; lone outliers left out.
    """
    lonlat = np.zeros((0, 2))
    if len(ways):
        lonlat = shapely.get_coordinates((ways[walk] if walk.any() else ways).geometry.values)
    if len(lonlat) == 0 and len(features):
        lonlat = shapely.get_coordinates(shapely.centroid(features.geometry.values))
    if len(lonlat) == 0:
        raise OSMReadError(f"{path}: holds no ways or features with locations.")
    ext = street_extent(lonlat[:, 0], lonlat[:, 1], settings=s)
    if clip_geom is not None:
        bounds = tuple(float(b) for b in clip_geom.bounds)
    elif header_box is not None:
        bounds = header_box
    else:
        shapes = np.r_[ways.geometry.values, features.geometry.values[features["element"].to_numpy() != "relation"]]
        core = complete_extent(shapes, settings=s)
        if core is not None:
            bounds = core[0].bounds
            far, km2 = ext.bounds, _box_km2(bounds, ext.crs, s)
            box = lambda b: f"{b[0]:.5f}, {b[1]:.5f}, {b[2]:.5f}, {b[3]:.5f}"  # noqa: E731
            farther = _box_km2(far, ext.crs, s) > 1.1 * km2
            note = Note("osm.no_bounds_compact", name=path.name, n=core[1], m=s.extent_compact_m, box=box(bounds), km2=km2,
                        far=box(far) if farther else "", far_km2=_box_km2(far, ext.crs, s) if farther else 0.0)
            notes.append(note)
            _outliers(path, core[0].outliers, "the others", notes, s)
            return tuple(map(float, bounds)), ext.crs
        bounds = ext.bounds
        if len(ways) and len(features):  # tagged nodes and ways near the streets belong to the area too
            near = features[features["element"] != "relation"]
            xy = shapely.get_coordinates(shapely.centroid(near.geometry.values))  # a long river adds its centre only
            if len(xy):
                to_m = transformer(WGS84, ext.crs)
                bx, by = to_m.transform(np.array([bounds[0], bounds[2]]), np.array([bounds[1], bounds[3]]))
                fx, fy = to_m.transform(xy[:, 0], xy[:, 1])
                gap = s.extent_outlier_gap_m
                ok = (fx > bx[0] - gap) & (fx < bx[1] + gap) & (fy > by[0] - gap) & (fy < by[1] + gap)
                if ok.any():
                    bounds = (min(bounds[0], xy[ok, 0].min()), min(bounds[1], xy[ok, 1].min()),
                              max(bounds[2], xy[ok, 0].max()), max(bounds[3], xy[ok, 1].max()))
        what = "streets'" if len(ways) else "features'"
        notes.append(Note("osm.no_bounds", name=path.name, min=s.extent_compact_min, m=s.extent_compact_m, what_en=what,
                          what_zh="道路" if len(ways) else "要素",
                          box=f"{bounds[0]:.5f}, {bounds[1]:.5f}, {bounds[2]:.5f}, {bounds[3]:.5f}"))
        _outliers(path, ext.outliers, "the other streets", notes, s)
    return tuple(map(float, bounds)), ext.crs


def _outliers(path: Path, n: int, others: str, notes: list[str], s: Settings) -> None:
    """Warn and note that ``n`` lone vertices were left out of the default area (when any)."""
    if n:
        msg = Note("osm.outliers", path=str(path), n=n, gap=s.extent_outlier_gap_m, others=others)
        warn(msg, UserWarning)
        notes.append(msg)


def _box_km2(bounds, crs, s: Settings) -> float:
    """Area of a lon/lat box in km², in the metric ``crs`` (its densified outline reprojected)."""
    ring = shapely.get_coordinates(densified_box(bounds, settings=s))
    x, y = transformer(WGS84, crs).transform(ring[:, 0], ring[:, 1])
    return float(shapely.area(shapely.Polygon(np.c_[x, y]))) / 1e6


def walkable_mask(tags, *, settings: Settings | None = None) -> np.ndarray:
    """Ways open to pedestrians (OSMnx ``network_type="walk"``) from their tag dicts: a ``highway``
    tag and no value matching :data:`urbancover.core.settings.walk_exclude`. One regex test per distinct
    value, not per way.
    """
    tags = list(tags)
    mask = np.fromiter(map(operator.methodcaller("__contains__", "highway"), tags), dtype=bool, count=len(tags))
    for key, pattern in resolve(settings).walk_exclude:
        rx = re.compile(pattern)
        values = list(map(operator.methodcaller("get", key), tags))
        bad = {v for v in set(values) if v is not None and rx.search(str(v)) is not None}
        if bad:
            mask &= ~pd.Series(values, dtype=object).isin(bad).to_numpy()
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


#: Where :func:`header_timestamp` found an extract's date, in the order it looks.
TIMESTAMP_KEYS = ("osmosis_replication_timestamp", "timestamp")


def header_timestamp(path: str | os.PathLike) -> tuple[str | None, str]:
    """The date of an extract's data from its file header, and where it came from.

    Returns ``(timestamp, source)``: the header's ``osmosis_replication_timestamp`` (Geofabrik and
    planet extracts), else its ``timestamp`` (as osmium writes it), with the key as ``source``; or
    ``(None, "none in the header")``. Only the header is read (milliseconds, whatever the file's
    size); the newest object timestamp would cost a pass over the file and is not looked for.
    """
    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    except Exception:  # noqa: BLE001 - an unreadable header has no date; read_osm says why it fails
        return None, "none in the header"
    try:
        header = reader.header()
        for key in TIMESTAMP_KEYS:
            value = header.get(key)
            if value:
                return str(value), key
    finally:
        reader.close()
    return None, "none in the header"


def _header_box(reader: osmium.io.Reader) -> tuple[float, float, float, float] | None:
    """The file header's box, unwrapped across the antimeridian, or None."""
    box = reader.header().box()
    if not box.valid():
        return None
    bl, tr = box.bottom_left, box.top_right
    minlon, maxlon = bl.lon, tr.lon
    if maxlon < minlon:  # a box across the antimeridian: unwrap it
        maxlon += 360.0
    return (minlon, bl.lat, maxlon, tr.lat)


# -- the reader: libosmium filters and writes text, Python parses it in bulk -------------------------
#
# One pass of libosmium (C++) over the file keeps every node location in an index and writes, as
# OPL text with the locations on the ways, the nodes and relations that may become features (key
# and tag filters) and every way. Python then parses that text column-wise: node references and
# coordinates with one numpy parse, tags as flat key/value arrays. No Python code runs per
# untagged node or per way node. Areas of closed ways are built with shapely in bulk exactly as
# libosmium's area assembler builds them (see _way_geometries); multipolygon relations, which are
# few, are assembled by libosmium from the text of the relations and their member ways.

_OPL_ESCAPE = re.compile(r"%([0-9a-fA-F]+)%")


def _opl_unescape(text: str) -> str:
    """Undo OPL's ``%hex%`` escapes (``%20%`` is a space), left to right in one regex pass."""
    return _OPL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "%" in text else text


def _node_feature_keys(s: Settings) -> set[str]:
    """Keys that make a way or relation a feature, and a node whatever their value."""
    return set(s.feature_keys) - set(s.feature_node_values)


def _separator_counts(fields: list[str], sep: str) -> np.ndarray:
    """Occurrences of the one-byte ``sep`` in each of ``fields``, counted on the bytes of the
    fields joined by newlines (which OPL fields never hold): O(total length) in numpy.
    """
    if not fields:
        return np.zeros(0, dtype=np.int64)
    raw = np.frombuffer("\n".join(fields).encode("utf-8"), dtype=np.uint8)
    ends = np.r_[np.flatnonzero(raw == 10), len(raw)]
    return np.diff(np.r_[0, np.searchsorted(np.flatnonzero(raw == ord(sep)), ends)])


class _Tags:
    """The tags of the objects of the OPL text as flat arrays: ``keys[i]``/``values[i]`` belong to
    object ``owner[i]``; ``code[i]`` numbers the distinct keys. Columns and tests over all objects
    are numpy operations, O(T) for T tags; ``dicts[i]`` is object i's tags as a dict once
    :meth:`make_dicts` built it (only the objects kept are worth one).
    """

    def __init__(self, fields: list[str]):
        self.n = len(fields)
        if fields and min(map(len, fields)) > 1:  # no untagged object
            tagged = np.ones(self.n, dtype=bool)
            body = [f[1:] for f in fields]
        else:
            tagged = np.fromiter((len(f) > 1 for f in fields), dtype=bool, count=self.n)
            body = [f[1:] for f in fields if len(f) > 1]
        counts = np.zeros(self.n, dtype=np.int64)
        counts[tagged] = _separator_counts(body, ",") + 1
        joined = ",".join(body)
        flat = joined.replace("=", ",").split(",") if joined else []  # separators in keys and values are escaped
        if "%" in joined:  # each distinct escaped token once
            plain = {t: _opl_unescape(t) for t in set(flat) if "%" in t}
            flat = [plain.get(t, t) for t in flat]
        # one string object per distinct key and per distinct value (a city's 650k "building" keys
        # are one str, not 650k): the tag dicts share them, ~90 bytes a tag less
        self.code, uniques = pd.factorize(np.array(flat[0::2], dtype=object), use_na_sentinel=False)
        vcode, vuniques = pd.factorize(np.array(flat[1::2], dtype=object), use_na_sentinel=False)
        del flat
        self.values = vuniques[vcode]
        self._keys, self._values = uniques[self.code].tolist(), self.values.tolist()
        self._start = (np.cumsum(counts) - counts).tolist()
        self._count = counts.tolist()
        self.dicts: list[dict | None] = [None] * self.n
        self._code_of = {k: i for i, k in enumerate(uniques)}
        self.owner = np.repeat(np.arange(self.n), counts)

    def make_dicts(self, objs) -> None:
        """Build the tag dicts of objects ``objs`` (one Python dict per object)."""
        k, v, start, count, dicts = self._keys, self._values, self._start, self._count, self.dicts
        for i in objs:
            a = start[i]
            dicts[i] = dict(zip(k[a:a + count[i]], v[a:a + count[i]]))

    def _key_mask(self, keys) -> np.ndarray:
        codes = [self._code_of[k] for k in keys if k in self._code_of]
        return np.isin(self.code, codes)

    def has_any(self, keys) -> np.ndarray:
        """Per object: has at least one of ``keys``."""
        out = np.zeros(self.n, dtype=bool)
        out[self.owner[self._key_mask(keys)]] = True
        return out

    def has_value(self, key: str, values) -> np.ndarray:
        """Per object: its ``key`` has one of ``values``."""
        m = self._key_mask([key])
        m[m] = np.isin(self.values[m].astype(str), list(values))
        out = np.zeros(self.n, dtype=bool)
        out[self.owner[m]] = True
        return out

    def column(self, key: str) -> np.ndarray:
        """Per object: the value of ``key`` or None (object array)."""
        out = np.full(self.n, None, dtype=object)
        m = self._key_mask([key])
        out[self.owner[m]] = self.values[m]
        return out


def _opl_refs(fields: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node ids, lon, lat of the ``N`` fields of ways (``Nn1x..y..,n2x..y..``) and the number of
    references of each way, parsed by pandas' C CSV parser after four C-level replacements turn
    the text into ``first,id,lon,lat`` rows. A reference without a location (``n5xy``) gets NaN.
    The text holds libosmium's fixed-point coordinates in decimal (at most 7 decimals), which the
    parser turns into the doubles ``osmium.osm.Location.lon`` gives. O(total length).
    """
    counts = np.zeros(len(fields), dtype=np.int64)
    body = [f for f in fields if len(f) > 1]
    if not body:
        e = np.zeros(0)
        return e.astype(np.int64), e, e, counts
    text = "".join(body).replace(",n", "\n0,").replace("Nn", "\n1,").replace("x", ",").replace("y", ",")
    rows = pd.read_csv(io.BytesIO(text[1:].encode("ascii")), header=None, names=["first", "id", "lon", "lat"],
                       dtype={"first": np.int8, "id": np.int64, "lon": float, "lat": float}, engine="c")
    starts = np.flatnonzero(rows["first"].to_numpy())
    counts[np.fromiter((len(f) > 1 for f in fields), dtype=bool, count=len(fields))] = np.diff(np.r_[starts, len(rows)])
    return rows["id"].to_numpy(), rows["lon"].to_numpy(), rows["lat"].to_numpy(), counts


_OPL_WIDTH = {"n": 4, "w": 3, "r": 3}  # fields of a node (id, tags, x, y), a way (id, tags, refs), a relation
_OPL_META = 2  # after the id, " v<version> d<V|D>" (add_metadata=version): ``dD`` marks a deleted object


class _OrderError(Exception):
    """The OPL text's ways are not sorted by id (raised by :func:`_opl_columns`)."""


def _opl_columns(text: str, hidden: dict[str, np.ndarray] | None = None) -> tuple[dict[str, list], int]:
    """The fields of the OPL lines by object type, column-wise: ``{"n": [ids, tags, x, y], ...}``,
    without the objects that are not data: deleted ones (``visible="false"``, an osmChange's
    ``<delete>``: libosmium's ``dD``) and those whose ids ``hidden`` gives by type (JOSM's
    ``action="delete"``). Returns the columns and the number of objects left out.

    A sorted file's text holds its nodes, then its ways, then its relations: each type's block is
    split by two C-level string operations (no Python step per line). A file with nodes after
    ways (libosmium's location handler reads it as it streams) is first regrouped line by line.

    Raises _OrderError when the ways are not sorted by id, which libosmium's area assembler
    refuses (``osmium::id_order``: 0 and negative ids first by absolute value).
    """
    starts = {k: 0 if text.startswith(k) else text.find("\n" + k) + 1 for k in "nwr"}  # 0: absent or first
    present = [k for k in "nwr" if starts[k] or text.startswith(k)]
    bounds = [starts[k] for k in present] + [len(text)]
    blocks = {k: text[lo:hi].rstrip("\n") for k, lo, hi in zip(present, bounds, bounds[1:])}
    cols = {k: _opl_block(k, b) for k, b in blocks.items()}
    if any(c is None for c in cols.values()):  # types interleaved: regroup the lines by type
        lines = text.rstrip("\n").split("\n")
        cols = {k: _opl_block(k, "\n".join([ln for ln in lines if ln.startswith(k)])) for k in present}
    out, dropped = {}, 0
    for k in "nwr":
        if k not in cols:
            out[k] = [np.zeros(0, dtype=np.int64)] + [[] for _ in range(_OPL_WIDTH[k] - 1)]
            continue
        *fields, visible = cols[k]
        gone = None
        if visible.count("dD"):
            gone = np.array(visible, dtype=object) == "dD"
        if hidden is not None and len(hidden.get(k, ())):
            gone = np.isin(fields[0], hidden[k]) | (gone if gone is not None else False)
        if gone is not None and gone.any():
            keep = np.flatnonzero(~gone)
            dropped += int(gone.sum())
            fields = [fields[0][keep]] + [[f[i] for i in keep.tolist()] for f in fields[1:]]
        out[k] = fields
    ids = out["w"][0]
    key = np.where(ids > 0, np.int64(1) << 62, 0) + np.abs(ids)
    bad = np.flatnonzero(key[1:] <= key[:-1])
    if len(bad):
        raise _OrderError(f"way {ids[bad[0] + 1]} out of order (after way {ids[bad[0]]})")
    return out, dropped


def _opl_block(kind: str, block: str) -> list | None:
    """The field columns of a block of OPL lines of one type (ids parsed; the version left out,
    the visibility flag last), or None when the block holds lines of another type (the file
    interleaves its types).
    """
    width = _OPL_WIDTH[kind] + _OPL_META
    tokens = block.replace("\n", " ").split(" ")
    cols = [tokens[c::width] for c in range(width)]
    ids = " ".join(cols[0])
    if len(tokens) != width * (block.count("\n") + 1) or (" " + ids).count(" " + kind) != len(cols[0]):
        return None
    ids = np.fromstring(ids.replace(kind, ""), dtype=np.int64, sep=" ")  # C parser
    return [ids, *cols[1 + _OPL_META:], cols[_OPL_META]]


def _filtered_opl(path: Path, idx, s: Settings) -> tuple[str, tuple | None]:
    """The libosmium pass: node locations into ``idx``; the nodes and relations that may matter
    and every way written as OPL text (locations on the ways), and the header box. Every way, so
    that multipolygon relations find their member ways (often untagged) in the text, and the
    file is read once. O(N + W) in C++.
    """
    node_keys = sorted(set(s.feature_node_values) | set(s.feature_keys))
    lh = osmium.NodeLocationsForWays(idx)
    lh.ignore_errors()
    fd, tmp = tempfile.mkstemp(suffix=".opl", prefix="urbancover-")
    os.close(fd)
    os.remove(tmp)
    try:
        writer = osmium.WriteHandler(osmium.io.File(tmp, "opl,locations_on_ways=true,add_metadata=version"))
        try:
            chain = [
                lh,
                osmium.filter.KeyFilter(*node_keys).enable_for(osmium.osm.NODE),
                osmium.filter.TagFilter(("type", "multipolygon"), ("type", "boundary")).enable_for(osmium.osm.RELATION),
                writer,
            ]
            with osmium.io.Reader(str(path), osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION) as reader:
                header_box = _header_box(reader)
                osmium.apply(reader, *chain)
        finally:
            writer.close()
        with open(tmp, encoding="utf-8") as fh:
            return fh.read(), header_box
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read_pass(path: Path, idx, s: Settings) -> tuple[str, tuple | None]:
    """:func:`_filtered_opl`, with what libosmium raises on a file it cannot read (a bad bz2 or
    pbf block, broken XML, a coordinate it cannot parse) turned into :class:`OSMReadError`. Only
    this pass over the user's file is guarded: a failure in the reader's own work on the text is a
    bug and propagates as one.
    """
    try:
        return _filtered_opl(path, idx, s)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as err:
        if "out of order" in str(err):
            raise OSMReadError(_unsorted_message(path, str(err))) from err
        raise OSMReadError(
            f"{path}: cannot be read as OSM data ({type(err).__name__}: {err}). The file may be truncated "
            "or corrupt, or not an OSM XML/PBF file: download or export it again."
        ) from err


def _unsorted_message(path: Path, what: str) -> str:
    return (f"{path}: its objects are not sorted by type and id ({what}), as files saved by editors such as "
            "JOSM often are; sort it first, e.g. 'osmium sort in.osm -o sorted.osm.pbf'.")


_ACTION_DELETE = re.compile(rb"""\baction\s*=\s*["']delete["']""")
_ELEMENT_ID = re.compile(rb"""<(node|way|relation)\b[^>]*?\sid\s*=\s*["'](-?\d+)["']""")


def _marked_deleted(path: Path) -> dict[str, np.ndarray]:
    """Ids by type (``"n"``, ``"w"``, ``"r"``) of the objects an OSM XML file marks
    ``action="delete"`` (JOSM's and other editors' files keep deleted objects until they are
    uploaded; libosmium ignores the attribute).

    A plain XML file is searched in place (``mmap``, C-level); a compressed one only when its
    first MiB shows an editor's file (``action=`` or ``generator="JOSM"``), as bulk extracts never
    carry the attribute and decompressing them twice would double the read. .pbf and .opl files
    have no such attribute (their deleted objects are ``visible=false``, which libosmium keeps).
    """
    name = path.name.lower()
    if name.endswith((".pbf", ".opl")):
        return {}
    found = []
    if name.endswith((".bz2", ".gz")):
        import bz2
        import gzip
        import zlib

        opener = bz2.open if name.endswith(".bz2") else gzip.open
        try:
            with opener(path, "rb") as fh:
                head = fh.read(1 << 20)
                if b"action=" not in head and not re.search(rb"""generator\s*=\s*["']JOSM""", head):
                    return {}
                carry = head
                while True:
                    chunk = fh.read(1 << 24)
                    buf = carry + chunk
                    cut = buf.rfind(b"<") if chunk else len(buf)  # keep a start tag whole
                    _find_deleted(buf[:cut], found)
                    if not chunk:
                        break
                    carry = buf[cut:]
        except (OSError, EOFError, zlib.error):
            return {}  # libosmium reports a broken file with its own message
    else:
        import mmap

        with open(path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return {}
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                if mm.find(b"action=") >= 0:
                    _find_deleted(mm, found)
    out: dict[str, list[int]] = {}
    for kind, oid in found:
        out.setdefault(kind, []).append(oid)
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


def _find_deleted(buf, found: list) -> None:
    """Append (type letter, id) of each start tag in ``buf`` holding ``action="delete"``."""
    for m in _ACTION_DELETE.finditer(buf):
        lt = buf.rfind(b"<", 0, m.start())
        el = _ELEMENT_ID.match(buf[lt:m.end()]) or _ELEMENT_ID.match(buf[lt:buf.find(b">", m.end()) + 1])
        if el is not None:
            found.append((el.group(1)[:1].decode(), int(el.group(2))))


def _scan(path: Path, s: Settings):
    """Read the file: raw columns of the highway ways, the features, the header box and reading
    statistics. See the comment above for the method; O(N + W) in C++ for N nodes and W way-node
    references, then O(K + R) numpy work for the K kept objects and their R node references.
    """
    idx = osmium.index.create_map("flex_mem")
    text, header_box = _read_pass(path, idx, s)
    has_nodes = idx.used_memory() > osmium.index.create_map("flex_mem").used_memory()  # an empty one
    notes: list[str] = []
    try:
        cols, deleted = _opl_columns(text, _marked_deleted(path))
    except _OrderError as err:
        raise OSMReadError(_unsorted_message(path, str(err))) from err
    del text
    has_nodes |= _locate_negative_nodes(path, cols["w"][2])
    if deleted:
        notes.append(Note("osm.deleted", path=str(path), n=deleted))
    n_nodes, n_ways = len(cols["n"][0]), len(cols["w"][0])
    ids = np.r_[cols["n"][0], cols["w"][0], cols["r"][0]]
    tags = _Tags(cols["n"][1] + cols["w"][1] + cols["r"][1])
    obj_feature = tags.has_any(_node_feature_keys(s))
    # a key in both feature_keys and feature_node_values (barrier) makes a way or relation a feature
    # whatever its value (walls, fences), a node only with the listed values (gates); highway ways
    # are the street layer
    way_keys = (set(s.feature_keys) & set(s.feature_node_values)) - {"highway"}
    if way_keys:
        obj_feature[n_nodes:] |= tags.has_any(sorted(way_keys))[n_nodes:]

    # nodes: features with a location
    node_feat = obj_feature[:n_nodes].copy()
    for key, values in s.feature_node_values.items():
        node_feat |= tags.has_value(key, values)[:n_nodes]
    xs, ys = cols["n"][2], cols["n"][3]
    located = np.fromiter((len(x) > 1 for x in xs), dtype=bool, count=n_nodes)
    node_sel = np.flatnonzero(node_feat & located)
    node_xy = np.array([(float(xs[i][1:]), float(ys[i][1:])) for i in node_sel.tolist()], dtype=float).reshape(-1, 2)

    # ways that are streets or features: node references with their locations
    is_hw = tags.has_any(["highway"])[n_nodes:n_nodes + n_ways]
    kept = np.flatnonzero(is_hw | obj_feature[n_nodes:n_nodes + n_ways])
    w_obj = n_nodes + kept  # object numbers of the kept ways
    tags.make_dicts(np.r_[node_sel, w_obj].tolist())
    refs_field = cols["w"][2]
    refs, lon, lat, counts = _opl_refs([refs_field[i] for i in kept.tolist()])
    _check_node_order(path, idx, refs[np.isnan(lon)], s)
    start = np.cumsum(counts) - counts
    w_tags = [tags.dicts[i] for i in w_obj.tolist()]
    hw = np.flatnonzero(is_hw[kept])
    hw_vert = np.repeat(start[hw], counts[hw]) + ranges(counts[hw])
    ways = {
        "osmid": ids[w_obj[hw]], "tags": [w_tags[i] for i in hw.tolist()], "n_nodes": counts[hw],
        "node_ids": refs[hw_vert], "lon": lon[hw_vert], "lat": lat[hw_vert],
        "columns": {k: tags.column(k)[w_obj[hw]] for k in s.way_columns},
    }
    lines_, polys, broken = _way_geometries(obj_feature[w_obj], refs, lon, lat, counts, start, w_tags)
    # tagged ways (not streets: those are cut into runs) that lost nodes at the extract's edge
    unlocated = np.zeros(len(kept), dtype=bool)
    unlocated[np.repeat(np.arange(len(kept)), counts)[np.isnan(lon)]] = True
    lost = np.flatnonzero(unlocated & obj_feature[w_obj] & ~is_hw[kept])
    if len(lost):
        notes.append(_lost_ways_note(path, ids[w_obj[lost]], [w_tags[i] for i in lost.tolist()], s))
    feats = _feature_rows(tags, ids, node_sel, node_xy, w_obj, lines_, polys)
    if broken:
        warn(
            f"{path}: {len(broken)} closed way(s) with an invalid outline (e.g. self-intersecting: way "
            f"{int(ids[w_obj[broken[0]]])}) were repaired with shapely.make_valid.", UserWarning,
        )
    rel = np.flatnonzero(obj_feature[n_nodes + n_ways:])
    if len(rel):
        rel_lines, member_lines, partial, incomplete = _complete_relations(path, idx, cols, rel, s)
        areas = _relation_areas(path, rel_lines, member_lines, feats) if rel_lines else set()
        if incomplete:
            first_rel = n_nodes + n_ways  # object number of the first relation
            tags.make_dicts([first_rel + r for r, *_ in incomplete.values()])
            rows = feats["relations"]
            for rid, (outer, inner) in partial.items():  # assembled from their complete rings
                geom = _ring_areas(outer, inner)
                if not geom.is_empty and geom.area > 0:
                    rows["osmid"].append(rid)
                    rows["tags"].append(tags.dicts[first_rel + incomplete[rid][0]])
                    rows["geoms"].append(geom)
                    areas.add(rid)
            notes += _incomplete_notes(path, {rid: (tags.dicts[first_rel + r], *v) for rid, (r, *v) in incomplete.items()},
                                       areas, s)
    # untagged ways in no multipolygon/boundary relation of the file: what lost relations leave
    untagged = np.flatnonzero(np.array(cols["w"][1], dtype=object) == "T") if n_ways else np.zeros(0, dtype=np.int64)
    w_members = _way_members(cols["r"][2])
    orphans = untagged[~np.isin(cols["w"][0][untagged], w_members)]
    stats = {"refs": int(len(refs)), "missing": int(np.isnan(lon).sum()), "tagged_ways": len(kept), "has_nodes": has_nodes, "ways": n_ways,
             "untagged_ways": len(untagged), "orphan_ways": len(orphans),
             "orphan_way": int(cols["w"][0][orphans[0]]) if len(orphans) else None, "notes": notes}
    return ways, feats, header_box, stats


def _label(t: dict, s: Settings) -> str:
    """A feature's kind and name from its tags: ``leisure=park, 'Name'``."""
    what = next((f"{k}={t[k]}" for k in s.feature_keys if k in t and k != "type"), "")
    return ", ".join(x for x in (what, repr(t["name"]) if "name" in t else "") if x)


def _lost_ways_note(path: Path, ids: np.ndarray, tags: list[dict], s: Settings) -> Note:
    """The note on tagged ways left out because nodes of theirs are not in the extract."""
    k = s.incomplete_named
    named = Note("osm.items", items=[Note("osm.way", wid=int(i), label=_label(t, s)) for i, t in zip(ids[:k].tolist(), tags[:k])],
                 more=len(ids) - k)
    return Note("osm.ways_lost", path=str(path), n=len(ids), named=named)


def _incomplete_notes(path: Path, incomplete: dict[int, tuple], areas: set[int], s: Settings) -> list[str]:
    """Notes naming the relations :func:`_complete_relations` found incomplete: those left out
    (nothing to assemble) and those assembled from their complete rings only. ``incomplete`` maps
    a relation id to (its tags, members missing, members without all locations, ways kept).
    """
    def named(rids):
        items = []
        for rid in rids[:s.incomplete_named]:
            t, missing, cut = incomplete[rid][:3]
            items.append(Note("osm.relation", rid=rid, type=t.get("type", ""), label=_label(t, s), missing=missing, cut=cut))
        return Note("osm.items", items=items, more=len(rids) - s.incomplete_named)

    notes = []
    dropped = [rid for rid in incomplete if rid not in areas]
    partial = [rid for rid in incomplete if rid in areas]
    if dropped:
        notes.append(Note("osm.relations_dropped", path=str(path), n=len(dropped), named=named(dropped)))
    if partial:
        notes.append(Note("osm.relations_partial", path=str(path), n=len(partial), named=named(partial)))
    return notes


def _way_members(fields: list[str]) -> np.ndarray:
    """Ids of the way members in relations' OPL member fields (``Mw5@outer,n7@label``), one regex
    pass over their joined text.
    """
    found = re.findall(r"(?:^|[M,])w(-?\d+)@", "\n".join(fields), flags=re.MULTILINE)
    return np.asarray(found, dtype=np.int64) if found else np.zeros(0, dtype=np.int64)


_NEGATIVE_REF = re.compile(r"n(-\d+)xy")


def _locate_negative_nodes(path: Path, refs_fields: list[str]) -> bool:
    """Write the locations of nodes with negative ids (objects an editor such as JOSM created and
    did not upload) into the ways' reference fields, in place; True when there were any.

    libosmium's location handler keeps positive ids only, so such nodes reach the text without
    a location (``n-5xy``). Only when the text holds one: one more pass over the file's nodes,
    in Python (editor files are small), for the negative ids.
    """
    hit = [i for i, f in enumerate(refs_fields) if "n-" in f]
    if not hit:
        return False
    wanted = {int(m) for i in hit for m in _NEGATIVE_REF.findall(refs_fields[i])}
    if not wanted:
        return False
    found = {}
    for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
        if node.id < 0 and node.id in wanted and node.location.valid():
            found[str(node.id)] = f"x{node.location.lon:.7f}y{node.location.lat:.7f}"
    for i in hit:
        refs_fields[i] = _NEGATIVE_REF.sub(lambda m: f"n{m.group(1)}{found.get(m.group(1), 'xy')}", refs_fields[i])
    return bool(found)


def _check_node_order(path: Path, idx, unlocated: np.ndarray, s: Settings) -> None:
    """Refuse a file whose ways come before nodes they use: libosmium locates a way's nodes as it
    streams, so such a node is in the file (its location is in ``idx`` after the pass) but its ways
    got none. Overpass's ``out; >; out skel;`` writes ways before their nodes, as do some editors.
    Nodes that are not in the file at all are those of an extract's edge, and fine.
    """
    if len(unlocated) == 0:
        return
    ids = np.unique(unlocated[unlocated > 0])  # (the index holds positive ids only)
    if len(ids) > s.order_check_max:  # an even sample: out-of-order files miss every later node
        ids = ids[np.linspace(0, len(ids) - 1, s.order_check_max).astype(np.int64)]
    for nid in ids.tolist():
        try:
            if not idx.get(nid).valid():  # in the file, but without a usable location
                continue
        except KeyError:
            continue
        raise OSMReadError(_unsorted_message(
            path, f"node {nid} comes after a way that uses it, so that way has no location there"))


def _complete_relations(path: Path, idx, cols: dict, rel: np.ndarray, s: Settings):
    """OPL lines of the feature relations ``rel`` (indices into ``cols["r"]``) and of their
    member ways, for libosmium's assembler, keeping only what it can assemble.

    A member way that is not in the file, or is there without the locations of all its nodes
    (``osmium extract --strategy simple``, Overpass ``way(bn)``, ``osmium getid`` without ``-r``
    cut it), would make libosmium refuse the text or never complete the relation. Of such an
    incomplete relation only the closed rings made of complete member ways are kept: the member
    ways are linked by their end nodes (per relation) and a connected group is a set of closed
    rings when each end node is shared an even number of times. Vectorised over the members.

    Returns the lines of the complete relations and of their member ways (for libosmium); per
    incomplete relation id with rings kept, the LineStrings of its kept outer and inner member ways
    (their area is :func:`_ring_areas`); and per incomplete relation id: (index into ``cols["r"]``,
    members missing, members without all locations, member ways kept).
    """
    r_ids, r_tags, r_members = cols["r"]
    w_ids, w_tag_fields, refs_field = cols["w"]
    tokens = [r_members[i][1:].split(",") if len(r_members[i]) > 1 else [] for i in rel.tolist()]
    n_tok = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    flat = [t for ts in tokens for t in ts]
    is_way = np.fromiter((t.startswith("w") for t in flat), dtype=bool, count=len(flat))
    tok_rel = np.repeat(np.arange(len(rel)), n_tok)
    m_rel = tok_rel[is_way]
    m_id = np.fromiter((int(t[1:].split("@", 1)[0]) for t, w in zip(flat, is_way) if w), dtype=np.int64,
                       count=int(is_way.sum()))
    where = pd.Index(w_ids).get_indexer(m_id) if len(w_ids) else np.full(len(m_id), -1)
    present = where >= 0
    uniq = np.unique(where[present])
    u_refs, u_lon, u_lat, u_counts = _opl_refs([refs_field[i] for i in uniq.tolist()])
    u_owner = np.repeat(np.arange(len(uniq)), u_counts)
    u_complete = u_counts >= 2
    u_complete[np.unique(u_owner[np.isnan(u_lon)])] = False
    _check_node_order(path, idx, u_refs[np.isnan(u_lon)], s)
    u_start = np.cumsum(u_counts) - u_counts
    m_u = np.full(len(m_id), -1)
    m_u[present] = np.searchsorted(uniq, where[present])
    complete = present.copy()
    complete[present] = u_complete[m_u[present]]
    missing = np.bincount(m_rel[~present], minlength=len(rel))
    cut = np.bincount(m_rel[present & ~complete], minlength=len(rel))
    bad_rel = (missing + cut) > 0
    keep = complete & ~bad_rel[m_rel]
    # incomplete relations: keep the complete member ways that close rings among themselves
    cand = np.flatnonzero(complete & bad_rel[m_rel])
    if len(cand):
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        u = m_u[cand]
        ends = np.c_[u_refs[u_start[u]], u_refs[u_start[u] + u_counts[u] - 1]]
        pairs = np.c_[np.repeat(m_rel[cand], 2), ends.ravel()]
        _, vert = np.unique(pairs, axis=0, return_inverse=True)
        vert = vert.reshape(-1, 2)
        nv = int(vert.max()) + 1
        graph = coo_matrix((np.ones(len(cand)), (vert[:, 0], vert[:, 1])), shape=(nv, nv))
        _, label = connected_components(graph, directed=False)
        degree = np.bincount(vert.ravel(), minlength=nv)
        open_comp = np.unique(label[degree % 2 == 1])
        keep[cand[~np.isin(label[vert[:, 0]], open_comp)]] = True
    kept_per_rel = np.bincount(m_rel[keep], minlength=len(rel))
    rel_lines = [f"r{r_ids[i]} {r_tags[i]} {r_members[i]}" for i in rel[~bad_rel].tolist()]
    whole = keep & ~bad_rel[m_rel]
    member_lines = [f"w{w_ids[i]} {w_tag_fields[i]} {refs_field[i]}" for i in np.unique(where[whole]).tolist()]
    # the kept ways of incomplete relations, as lines, with their roles
    part = np.flatnonzero(keep & bad_rel[m_rel])
    u = m_u[part]
    vert = np.repeat(u_start[u], u_counts[u]) + ranges(u_counts[u])
    lines = _ragged(shapely.GeometryType.LINESTRING, np.c_[u_lon[vert], u_lat[vert]],
                    np.repeat(np.arange(len(part)), u_counts[u])) if len(part) else np.zeros(0, dtype=object)
    roles = [t.split("@", 1)[1] if "@" in t else "" for t in (flat[i] for i in np.flatnonzero(is_way)[part].tolist())]
    inner = np.array([r == "inner" for r in roles], dtype=bool)
    partial = {int(r_ids[rel[j]]): (lines[(m_rel[part] == j) & ~inner], lines[(m_rel[part] == j) & inner])
               for j in np.flatnonzero(bad_rel & (kept_per_rel > 0)).tolist()}
    incomplete = {int(r_ids[rel[j]]): (int(rel[j]), int(missing[j]), int(cut[j]), int(kept_per_rel[j]))
                  for j in np.flatnonzero(bad_rel).tolist()}
    return rel_lines, member_lines, partial, incomplete


def _ring_areas(outer: np.ndarray, inner: np.ndarray) -> shapely.Geometry:
    """The area of closed rings given as lines (each group of ways closes): the rings filled and
    combined even-odd (a ring inside another is a hole, one inside that hole an island, as
    libosmium nests them), within the outer rings (an inner ring whose outer ring is not among
    them is not an area).
    """
    def filled(lines):
        faces = shapely.get_parts(shapely.polygonize(lines)) if len(lines) else np.zeros(0, dtype=object)
        return shapely.polygons(shapely.get_exterior_ring(faces)) if len(faces) else np.zeros(0, dtype=object)

    outer_rings, inner_rings = filled(outer), filled(inner)
    if len(outer_rings) == 0:
        return shapely.Polygon()
    area = shapely.Polygon()
    for ring in np.r_[outer_rings, inner_rings]:
        area = shapely.symmetric_difference(area, ring)
    area = shapely.intersection(area, shapely.union_all(outer_rings))
    parts = shapely.get_parts(area)
    parts = parts[shapely.get_dimensions(parts) == 2]
    return shapely.multipolygons(parts) if len(parts) != 1 else parts[0]


def _way_geometries(feature, refs, lon, lat, counts, start, w_tags):
    """Lines and polygons of the feature ways, built as libosmium builds them.

    A feature way closed by its node ids (and not ``area=no``) is an area candidate, never a line;
    other feature ways are lines of their located nodes with repeated locations dropped
    (``WKBFactory.create_linestring``), when all nodes are located and two distinct remain. An area
    is assembled as libosmium's ``MultipolygonManager.after_way`` does: more than 3 nodes, the first
    and last located at the same place, not ``area=no``; the ring drops repeated locations, runs
    counter-clockwise and starts at its smallest (lon, lat) vertex. A ring that is not a valid
    polygon (libosmium refuses those) is repaired with ``shapely.make_valid``. Vectorised, O(R) for
    R node references.

    Returns (way index, line) pairs, (way index, polygon) pairs as two (indices, geometries) tuples,
    and the indices of repaired ways.
    """
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object))
    fw = np.flatnonzero(feature & (counts >= 1))
    if len(fw) == 0:
        return empty, empty, []
    first, last = start[fw], start[fw] + counts[fw] - 1
    area_ok = np.array([w_tags[i].get("area") != "no" for i in fw.tolist()], dtype=bool)
    closed_id = refs[first] == refs[last]
    vert = np.repeat(first, counts[fw]) + ranges(counts[fw])
    owner = np.repeat(np.arange(len(fw)), counts[fw])
    complete = np.ones(len(fw), dtype=bool)
    np.logical_and.at(complete, owner, np.isfinite(lon[vert]))
    xy = np.c_[lon[vert], lat[vert]]
    rep = np.r_[False, (owner[1:] == owner[:-1]) & (xy[1:] == xy[:-1]).all(axis=1)]
    dxy, downer = xy[~rep], owner[~rep]
    n_pts = np.bincount(downer, minlength=len(fw))

    # lines
    line_ok = ~(closed_id & area_ok) & complete & (n_pts >= 2)
    sel = line_ok[downer]
    line_geoms = np.zeros(0, dtype=object)
    if line_ok.any():
        line_geoms = _ragged(shapely.GeometryType.LINESTRING, dxy[sel], downer[sel])
    lines = (fw[line_ok], line_geoms)

    # areas
    ends_ok = np.isfinite(lon[first]) & np.isfinite(lon[last])
    same_end = ends_ok & (lon[first] == lon[last]) & (lat[first] == lat[last])
    cand = (counts[fw] > 3) & same_end & area_ok
    good = cand & complete & (n_pts >= 4)
    poly_idx, poly_geoms, repaired = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object), []
    if good.any():
        sel = good[downer]
        pxy, powner = dxy[sel], downer[sel]
        rings_xy, ring_owner = _libosmium_rings(pxy, powner)
        polys = _ragged(shapely.GeometryType.POLYGON, rings_xy, ring_owner)
        valid = shapely.is_valid(polys)
        gidx = np.flatnonzero(good)
        keep = valid.copy()
        if (~valid).any():  # libosmium refuses these rings; the reader rebuilt them from all nodes
            bad = gidx[~valid]
            bsel = np.isin(owner, bad)
            fixed = shapely.make_valid(_ragged(shapely.GeometryType.POLYGON, xy[bsel], owner[bsel]),
                                       method="structure", keep_collapsed=False)
            ok = ~shapely.is_empty(fixed) & (shapely.get_dimensions(fixed) == 2)
            polys[~valid] = fixed
            keep[~valid] = ok
            repaired = fw[bad[ok]].tolist()
        poly_idx, poly_geoms = fw[gidx[keep]], polys[keep]
    return lines, (poly_idx, poly_geoms), repaired


def _ragged(kind, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
    """LineStrings, or Polygons of one ring, of the coordinates ``xy`` grouped by the equal
    consecutive values of ``group`` (shapely's ragged-array constructor: no index sort).
    """
    offsets = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1, len(group)].astype(np.int64)
    if kind == shapely.GeometryType.LINESTRING:
        return shapely.from_ragged_array(kind, xy, (offsets,))
    return shapely.from_ragged_array(kind, xy, (offsets, np.arange(len(offsets), dtype=np.int64)))


def _libosmium_rings(xy: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed rings (vertices grouped by ``owner``, first == last) rotated and turned as
    libosmium's assembler writes them: counter-clockwise, starting at the smallest (lon, lat)
    vertex. Vectorised and O(n) for n vertices (per-ring minima by ``reduceat``, no sort).
    """
    last_of = np.r_[owner[1:] != owner[:-1], True]
    open_xy, open_owner = xy[~last_of], owner[~last_of]  # drop the closing vertex
    first = np.flatnonzero(np.r_[True, open_owner[1:] != open_owner[:-1]])
    n = np.diff(np.r_[first, len(open_owner)])
    ring_first = np.repeat(first, n)
    local = np.arange(len(open_owner)) - ring_first
    # orientation: shoelace sum relative to each ring's first vertex (exact sign for small rings)
    rel = open_xy - open_xy[ring_first]
    nxt = ring_first + (local + 1) % np.repeat(n, n)
    cross = rel[:, 0] * rel[nxt, 1] - rel[nxt, 0] * rel[:, 1]
    ccw = np.add.reduceat(cross, first) > 0
    # smallest (lon, lat) vertex of each ring: its first occurrence
    lon, lat = open_xy[:, 0], open_xy[:, 1]
    is_min = lon == np.repeat(np.minimum.reduceat(lon, first), n)
    is_min &= lat == np.repeat(np.minimum.reduceat(np.where(is_min, lat, np.inf), first), n)
    cand = np.flatnonzero(is_min)
    ring_of = np.repeat(np.arange(len(n)), n)[cand]
    smallest = local[cand[np.r_[True, ring_of[1:] != ring_of[:-1]]]]
    # n + 1 output vertices per ring: from the smallest one, forwards or backwards, back to it
    n1 = n + 1
    step = ranges(n1)
    ring_n, shift = np.repeat(n, n1), np.repeat(smallest, n1)
    pos = np.where(np.repeat(ccw, n1), (shift + step) % ring_n, (shift - step) % ring_n)
    return open_xy[np.repeat(first, n1) + pos], np.repeat(open_owner[first], n1)


def _feature_rows(tags: _Tags, ids: np.ndarray, node_sel, node_xy, w_obj, lines, polys) -> dict:
    """Feature rows: nodes (file order), then ways by id, a way's line before its polygon.
    ``lines`` and ``polys`` index the kept ways, whose object numbers are ``w_obj``.
    """
    w_idx = np.r_[lines[0], polys[0]]
    w_geom = np.r_[lines[1], polys[1]] if len(w_idx) else np.zeros(0, dtype=object)
    order = np.argsort(w_idx, kind="stable")
    obj = np.r_[node_sel, w_obj[w_idx[order]]].astype(np.int64)
    geoms = np.r_[shapely.points(node_xy) if len(node_xy) else np.zeros(0, dtype=object), w_geom[order]]
    return {"tags": tags, "ids": ids, "obj": obj, "geoms": geoms, "n_node_rows": len(node_sel),
            "relations": {"osmid": [], "tags": [], "geoms": []}}


def _relation_areas(path: Path, rel_lines: list[str], way_lines: list[str], feats: dict) -> set[int]:
    """Polygons of the multipolygon/boundary relations in ``rel_lines`` (the caller passes only those
    that are features), assembled by libosmium from OPL text: the relations (its first pass), then
    their member ways with the locations on their nodes (its second pass). The file is not read again.
    Returns the ids of the relations libosmium assembled (those with invalid rings included: they
    are warned about here).
    """
    wkb = osmium.geom.WKBFactory()
    broken = []
    rows = feats["relations"]

    class _Areas(osmium.SimpleHandler):
        def area(self, a):
            if a.from_way():
                return
            tags = dict(a.tags)  # (only relations that are features were passed in)
            try:
                geom = wkb.create_multipolygon(a)
            except RuntimeError:
                broken.append(a.orig_id())
                return
            rows["osmid"].append(a.orig_id())
            rows["tags"].append(tags)
            rows["geoms"].append(geom)

    manager = osmium.area.AreaManager()
    buf = osmium.io.FileBuffer(("\n".join(rel_lines) + "\n").encode("utf-8"), "opl")
    with osmium.io.Reader(buf) as reader:
        osmium.apply(reader, manager.first_pass_handler())
    buf = osmium.io.FileBuffer(("\n".join(way_lines) + "\n").encode("utf-8"), "opl")
    with osmium.io.Reader(buf) as reader:
        osmium.apply(reader, manager.second_pass_handler(_Areas()))
    rows["geoms"] = list(shapely.from_wkb(rows["geoms"])) if rows["geoms"] else []
    if broken:
        warn(
            f"{path}: {len(broken)} multipolygon relation(s) with invalid rings (e.g. relation "
            f"{broken[0]}) could not be assembled and are left out; fix them in an OSM editor.",
            UserWarning,
        )
    return set(rows["osmid"]) | set(broken)


def _empty_frame(columns: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84)


def _ways_frame(raw: dict, clip_geom, s: Settings) -> gpd.GeoDataFrame:
    """Cut ways into runs of located (and, with a clip, inside) nodes and build LineStrings."""
    columns = ["osmid", *s.way_columns, "tags", "node_ids", "cut_start", "cut_end"]
    n_nodes = np.asarray(raw["n_nodes"], dtype=np.int64)
    if n_nodes.sum() == 0:
        return _empty_frame(columns)
    lon, lat = raw["lon"], raw["lat"]
    ok = np.isfinite(lon)
    ids = raw["node_ids"]
    way_of = np.repeat(np.arange(len(n_nodes)), n_nodes)
    if clip_geom is not None:
        shapely.prepare(clip_geom)
        ok[ok] = shapely.intersects_xy(clip_geom, lon[ok], lat[ok])
    # a run starts where a kept vertex follows a dropped one or a new way begins
    starts_way = np.r_[True, way_of[1:] != way_of[:-1]]
    run_start = ok & (starts_way | ~np.r_[False, ok[:-1]])
    run_id = (np.cumsum(run_start) - 1)[ok]
    counts = np.bincount(run_id, minlength=run_id.max() + 1 if len(run_id) else 0)
    vert_keep = (counts >= 2)[run_id]
    run_id = run_id[vert_keep]
    kept_idx = np.flatnonzero(ok)[vert_keep]
    if len(kept_idx) == 0:
        return _empty_frame(columns)
    run_idx = np.cumsum(np.r_[True, run_id[1:] != run_id[:-1]]) - 1  # run_id is sorted: renumber 0..
    geoms = _ragged(shapely.GeometryType.LINESTRING, np.c_[lon[kept_idx], lat[kept_idx]], run_idx)
    breaks = np.flatnonzero(np.diff(run_idx)) + 1
    first = kept_idx[np.r_[0, breaks]]
    way_idx = way_of[first]
    # ends of a run that are not the way's own ends: the extract (or the clip) cut the way there
    last = kept_idx[np.r_[breaks - 1, len(run_idx) - 1]]
    ends_way = np.r_[way_of[1:] != way_of[:-1], True]
    data = {"osmid": np.asarray(raw["osmid"], dtype=np.int64)[way_idx]}
    for key in s.way_columns:
        data[key] = raw["columns"][key][way_idx]
    all_tags = raw["tags"]
    data["tags"] = [all_tags[i] for i in way_idx.tolist()]
    kept_ids = ids[kept_idx]
    data["node_ids"] = [kept_ids[a:b] for a, b in zip(np.r_[0, breaks].tolist(), np.r_[breaks, len(kept_ids)].tolist())]
    data["cut_start"] = ~starts_way[first]
    data["cut_end"] = ~ends_way[last]
    frame = gpd.GeoDataFrame(data, geometry=geoms, crs=WGS84)
    # a run whose vertices all share one location has no length; drop it
    return frame[shapely.length(frame.geometry.values) > 0].reset_index(drop=True)


def _features_frame(raw: dict, clip_geom, s: Settings) -> gpd.GeoDataFrame:
    columns = ["element", "osmid", *s.feature_columns, "tags"]
    tags, obj, rel = raw["tags"], raw["obj"], raw["relations"]
    if len(obj) == 0 and not rel["osmid"]:
        return _empty_frame(columns)
    n_node_rows = raw["n_node_rows"]
    element = np.array(["node"] * n_node_rows + ["way"] * (len(obj) - n_node_rows) + ["relation"] * len(rel["osmid"]),
                       dtype=object)
    data = {"element": element, "osmid": np.r_[raw["ids"][obj], np.asarray(rel["osmid"], dtype=np.int64)]}
    for key in s.feature_columns:
        data[key] = np.r_[tags.column(key)[obj], np.array([t.get(key) for t in rel["tags"]], dtype=object)]
    data["tags"] = [tags.dicts[i] for i in obj.tolist()] + rel["tags"]
    geoms = np.r_[raw["geoms"], np.array(rel["geoms"], dtype=object)]
    single = shapely.get_type_id(geoms) == shapely.GeometryType.MULTIPOLYGON
    single &= shapely.get_num_geometries(geoms) == 1
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    frame = gpd.GeoDataFrame(data, geometry=geoms, crs=WGS84)
    if clip_geom is not None:
        frame = frame[shapely.intersects(frame.geometry.values, clip_geom)]
    return frame.reset_index(drop=True)
