"""What forgetting a GCJ-02/BD-09 conversion costs: coverage with true and with offset facilities.

It measures network distances, so it lives above the engine (io never imports the engine).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from urbancover.core.errors import CRSError, InputError
from urbancover.core.settings import Settings
from urbancover.engine import network_distance
from urbancover.io.crs import CRS_FIX, WGS84
from urbancover.io.datum import FROM_WGS84, SYSTEM_LABEL, transform_geometries
from urbancover.io.layers import parse_crs


# -- what forgetting the conversion costs --------------------------------------------------------
@dataclass(frozen=True)
class OffsetEffect:
    """What :func:`offset_effect` found: coverage with the true facilities and with offset ones.

    Attributes
    ----------
    system : str
        The offset simulated (``"gcj02"`` or ``"bd09"``).
    threshold : float
        Service threshold, metres.
    shift_m : numpy.ndarray
        How far each facility moved (metres).
    distance_true, distance_offset : numpy.ndarray
        Network distance from each home to its nearest facility (``inf`` beyond the threshold), with
        the facilities where they are and where the unconverted coordinates put them.
    """

    system: str
    threshold: float
    shift_m: np.ndarray
    distance_true: np.ndarray
    distance_offset: np.ndarray

    @property
    def served_true(self) -> np.ndarray:
        """Homes within the threshold of the true facilities."""
        return self.distance_true <= self.threshold

    @property
    def served_offset(self) -> np.ndarray:
        """Homes within the threshold of the facilities left offset."""
        return self.distance_offset <= self.threshold

    @property
    def n_homes(self) -> int:
        """Number of homes measured."""
        return len(self.distance_true)

    @property
    def lost(self) -> int:
        """Homes served in truth that the offset layer reports as unserved."""
        return int((self.served_true & ~self.served_offset).sum())

    @property
    def gained(self) -> int:
        """Homes unserved in truth that the offset layer reports as served."""
        return int((~self.served_true & self.served_offset).sum())

    @property
    def changed(self) -> int:
        """Homes whose served status changes."""
        return self.lost + self.gained

    def summary(self) -> str:
        """The effect in one sentence."""
        return (
            f"leaving the facilities in {SYSTEM_LABEL[self.system]} (moved a median {np.median(self.shift_m):.0f} m) changes "
            f"{self.changed} of {self.n_homes} homes: {self.lost} served reported unserved, {self.gained} unserved "
            f"reported served; served {int(self.served_true.sum())} -> {int(self.served_offset.sum())} "
            f"within {self.threshold:g} m."
        )


def offset_effect(network, facilities, homes, threshold: float = 500.0, *, system: str = "gcj02",
                  settings: Settings | None = None) -> OffsetEffect:
    """The error of forgetting the conversion: coverage of ``homes`` by the true ``facilities``
    versus the same facilities left in GCJ-02 (or BD-09) and read as WGS 84.

    Parameters
    ----------
    network
        The walking network (:func:`urbancover.walk_network`).
    facilities
        The facilities at their true (WGS 84) positions, any CRS.
    homes
        Demand: points or polygons (a point on each surface is used), any CRS.
    threshold
        Service threshold in metres (500 for ``bus_stop_500``).
    system
        ``"gcj02"`` (AutoNavi/Tencent) or ``"bd09"`` (Baidu).
    settings
        The :class:`~urbancover.core.settings.Settings` to snap with; default
        :func:`urbancover.core.settings.current`.

    Returns
    -------
    OffsetEffect
        ``.changed``, ``.lost``, ``.gained`` and ``.summary()``.

    Notes
    -----
    Two one-pass network searches (see :func:`urbancover.network_distance`).
    """
    key = parse_crs(system)
    if not isinstance(key, str):
        raise InputError(f"offset_effect: system must be 'gcj02' or 'bd09', not {system!r}.")
    if not isinstance(facilities, (gpd.GeoDataFrame, gpd.GeoSeries)) or facilities.crs is None:
        raise CRSError(f"facilities: need a GeoDataFrame with a CRS; {CRS_FIX}.")
    true = facilities.to_crs(WGS84)
    shifted = true.copy()
    geom = transform_geometries(true.geometry.values, FROM_WGS84[key])
    if isinstance(shifted, gpd.GeoDataFrame):
        shifted[true.geometry.name] = gpd.GeoSeries(geom, index=true.index, crs=WGS84)
    else:
        shifted = gpd.GeoSeries(geom, index=true.index, crs=WGS84)
    a = shapely.get_coordinates(shapely.point_on_surface(true.geometry.values))
    b = shapely.get_coordinates(shapely.point_on_surface(geom))
    _, _, moved = pyproj.Geod(ellps="WGS84").inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    if not isinstance(homes, (gpd.GeoDataFrame, gpd.GeoSeries)) or homes.crs is None:
        raise CRSError(f"homes: need a GeoDataFrame with a CRS; {CRS_FIX}.")
    pts = gpd.GeoSeries(shapely.point_on_surface(homes.geometry.values), index=homes.index, crs=homes.crs)
    d_true = network_distance(network, true, pts, cutoff=threshold, settings=settings)
    d_off = network_distance(network, shifted, pts, cutoff=threshold, settings=settings)
    return OffsetEffect(key, float(threshold), np.asarray(moved), d_true, d_off)
