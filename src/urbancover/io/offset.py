"""Offset detection: does a layer labelled WGS 84 sit where GCJ-02 or BD-09 points would?"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from urbancover.core.errors import CRSError, InputError, warn
from urbancover.io.crs import CRS_FIX, WGS84, transformer, utm_crs
from urbancover.io.datum import SYSTEM_LABEL, TO_WGS84
from urbancover.io.osm import OSMData
from urbancover.present import Note


# -- offset detection ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OffsetCheck:
    """What :func:`detect_offset` found.

    Attributes
    ----------
    name : str
        The layer's name in messages.
    n_points : int
        Points used (those within ``max_distance`` of a street under some hypothesis).
    median_m : dict
        Median distance (metres) from the points to their nearest street, as given (``"wgs84"``)
        and after treating them as ``"gcj02"`` or ``"bd09"`` and converting.
    shift_m : dict
        Median distance (metres) each conversion moves the points.
    likely : str
        ``"wgs84"`` (no offset found), ``"gcj02"`` or ``"bd09"``.
    flagged : bool
        Whether a conversion brings the points substantially closer to the streets.
    """

    name: str
    n_points: int
    median_m: dict = field(default_factory=dict)
    shift_m: dict = field(default_factory=dict)
    likely: str = "wgs84"
    flagged: bool = False

    @property
    def gain_m(self) -> float:
        """How much closer (metres, median) the likely conversion brings the points; 0 if none."""
        if not self.flagged:
            return 0.0
        return self.median_m["wgs84"] - self.median_m[self.likely]

    @property
    def message(self) -> Note:
        """What was found, in one sentence for a note or a warning (a :class:`~urbancover.present.Note`)."""
        given = self.median_m.get("wgs84", float("nan"))
        if not self.flagged:
            return Note("offset.none", name=self.name, given=given)
        return Note("offset.found", name=self.name, given=given, after=self.median_m[self.likely],
                    system=SYSTEM_LABEL[self.likely], likely=self.likely)


def _streets(streets) -> tuple[np.ndarray, pyproj.CRS]:
    """Street lines as a geometry array in a metric CRS, from a Network, OSMData or line layer."""
    if isinstance(streets, OSMData):
        return streets.projected("ways").geometry.to_numpy(), streets.crs
    if isinstance(streets, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if streets.crs is None:
            raise CRSError(f"streets have no coordinate reference system; {CRS_FIX}.")
        if len(streets) == 0:
            raise InputError("streets: the layer is empty; give the OSM streets of the area.")
        crs = streets.crs if streets.crs.is_projected else None
        if crs is None:
            minx, miny, maxx, maxy = streets.to_crs(WGS84).total_bounds
            crs = utm_crs((minx + maxx) / 2.0, (miny + maxy) / 2.0)
        return streets.to_crs(crs).geometry.to_numpy(), crs
    if hasattr(streets, "edges") and hasattr(streets, "crs") and hasattr(streets, "geometry"):  # a Network
        return np.asarray(streets.geometry), pyproj.CRS(streets.crs)
    raise InputError(
        f"streets: expected a Network, an OSMData or a GeoDataFrame of street lines, not {type(streets).__name__}."
    )


def detect_offset(
    points,
    streets,
    *,
    name: str = "layer",
    candidates: tuple[str, ...] = ("gcj02", "bd09"),
    max_distance: float = 1500.0,
    min_points: int = 5,
    min_gain_m: float = 10.0,
    max_ratio: float = 0.6,
) -> OffsetCheck:
    """Check whether a point layer labelled WGS 84 looks like GCJ-02 or BD-09 against OSM streets.

    Facilities such as bus stops, toilets or shops sit next to a street. If a layer is really in
    GCJ-02 or BD-09 but labelled WGS 84, its points are shifted a few hundred metres in one
    direction, so they sit farther from the streets than they should, and converting them brings
    them back. This compares the median distance from the points to their nearest OSM street as
    given with the median after each candidate conversion.

    Parameters
    ----------
    points
        GeoDataFrame or GeoSeries with a CRS (points; other geometries use a point on their surface).
    streets
        The OSM streets: a :class:`urbancover.Network`, an :class:`urbancover.OSMData`, or a
        GeoDataFrame of lines with a CRS.
    name
        The layer's name in the message.
    candidates
        Which conversions to try.
    max_distance
        Points farther than this (metres) from every street under every hypothesis are outside the
        streets' area and ignored; nearer ones count at most this distance.
    min_points
        Fewer usable points than this give no verdict (never flagged).
    min_gain_m, max_ratio
        A conversion is reported when it lowers the median by at least ``min_gain_m`` metres and to
        at most ``max_ratio`` times the median as given.

    Returns
    -------
    OffsetCheck

    Notes
    -----
    One STRtree nearest-street query per hypothesis: O(P log E) for P points and E street edges.
    The test is a heuristic: points deliberately away from streets (park centroids) raise the
    medians but not systematically one way, so they do not trigger it.
    """
    if not isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise InputError(f"{name}: expected a GeoDataFrame or GeoSeries, got {type(points).__name__}.")
    if points.crs is None:
        raise CRSError(f"{name} has no coordinate reference system; {CRS_FIX}.")
    lines, metric = _streets(streets)
    geoms = points.to_crs(WGS84).geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    not_point = shapely.get_type_id(geoms) != shapely.GeometryType.POINT
    if not_point.any():
        geoms = geoms.copy()
        geoms[not_point] = shapely.point_on_surface(geoms[not_point])
    xy = shapely.get_coordinates(geoms)
    lon, lat = xy[:, 0], xy[:, 1]
    to_metric = transformer(WGS84, metric)
    tree = shapely.STRtree(lines)
    geod = pyproj.Geod(ellps="WGS84")
    hyps = {"wgs84": (lon, lat)}
    for c in candidates:
        if c not in TO_WGS84:
            raise InputError(f"detect_offset: candidates must be among {sorted(TO_WGS84)}, not {c!r}.")
        hyps[c] = TO_WGS84[c](lon, lat)
    dist = {}
    for key, (x, y) in hyps.items():
        d = np.full(len(x), np.inf)
        if len(x):
            mx, my = to_metric.transform(np.atleast_1d(x), np.atleast_1d(y))
            (qi, _), dd = tree.query_nearest(
                shapely.points(mx, my), max_distance=max_distance, return_distance=True, all_matches=False
            )
            d[qi] = dd
        dist[key] = d
    used = np.zeros(len(lon), dtype=bool)
    for d in dist.values():
        used |= np.isfinite(d)
    n = int(used.sum())
    median = {k: float(np.median(np.minimum(d[used], max_distance))) if n else float("nan") for k, d in dist.items()}
    shift = {}
    for key, (x, y) in hyps.items():
        if key == "wgs84":
            continue
        if n:
            _, _, s = geod.inv(lon[used], lat[used], np.atleast_1d(x)[used], np.atleast_1d(y)[used])
            shift[key] = float(np.median(s))
        else:
            shift[key] = float("nan")
    likely, flagged = "wgs84", False
    if n >= min_points and candidates:
        best = min(candidates, key=lambda k: median[k])
        given = median["wgs84"]
        if given - median[best] >= min_gain_m and median[best] <= max_ratio * given:
            likely, flagged = best, True
    return OffsetCheck(name=name, n_points=n, median_m=median, shift_m=shift, likely=likely, flagged=flagged)


def warn_if_offset(points, streets, *, name: str = "layer", stacklevel: int | None = None, **kwargs) -> OffsetCheck:
    """Run :func:`detect_offset` and emit a :class:`UserWarning` when the layer looks offset, at the
    user's line (:func:`urbancover.core.errors.warn`; or ``stacklevel`` when given).

    The warning reads like "bus stops: points sit a median 43 m from the streets, 12 m after
    converting from GCJ-02: the layer is probably GCJ-02; pass crs='gcj02'". Returns the
    :class:`OffsetCheck` either way; ``kwargs`` go to :func:`detect_offset`.
    """
    check = detect_offset(points, streets, name=name, **kwargs)
    if check.flagged:
        if stacklevel is None:
            warn(check.message, UserWarning)
        else:
            warnings.warn(check.message, UserWarning, stacklevel=stacklevel)
    return check
