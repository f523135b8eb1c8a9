"""Every compiled kernel loaded at once, for processes that run many tasks (batch workers).

A run compiles only the kernels it calls, when it first calls them (:mod:`urbancover.core.compiled`),
and numba keeps them on disk. Workers started together on a fresh install would each miss that
cache and compile the same kernels side by side. :func:`load_kernels` calls every kernel once on
tiny inputs of the types the library passes, under a lock file in numba's cache folder: the first
process on the machine compiles, the others wait and then read the machine code from the cache.
Each process does it once; later calls return at once.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time

import geopandas as gpd
import numpy as np
import shapely

from urbancover.core.compiled import HAVE_NUMBA
from urbancover.io.utm import lonlat_to_utm
from urbancover.network.nearest import SegmentIndex, crossing_legs, legal_segments, nearest_segments, segments_within
from urbancover.network.snap import snap_xy
from urbancover.network.walk import walk_network

__all__ = ["load_kernels"]

_loaded: list = []


def load_kernels() -> float:
    """Load (or compile, once per machine) every compiled kernel in this process.

    Returns
    -------
    float
        Seconds spent: ~0.1 s when numba's cache holds them, the compile time on a fresh install
        (shown by the compile notice, :func:`urbancover.core.compiled.set_compile_notice`), 0 after
        the first call or without numba.
    """
    if _loaded or not HAVE_NUMBA:
        return 0.0
    t = time.perf_counter()
    with _machine_lock():
        _call_every_kernel()
    _loaded.append(True)
    return time.perf_counter() - t


def _call_every_kernel() -> None:
    # a network of two streets meeting at a node: the segment index (_segments, _grid, _order_by_cell),
    # the CSR matrix (_csr_min), snapping with a point on a node (_query, _on_edges)
    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (10, 0), (20, 0)]),
                                       shapely.LineString([(10, 0), (10, 10)])], crs=32650)
    net = walk_network(lines, filter=None)
    net.csr  # noqa: B018 - built when first read
    xy = np.array([[10.0, 0.0], [3.0, 4.0]])
    edge, offset, access = np.full(2, -1, dtype=np.int64), np.full(2, np.nan), np.full(2, np.inf)
    snap_xy(net, xy, np.arange(2), 100.0, edge, offset, access)
    index = net.segment_index
    many = np.column_stack([np.linspace(0, 20, 300), np.linspace(0, 10, 300)])
    nearest_segments(index, many)  # more points than cells: sorted by a counting sort (_order_by_cell)
    grid = np.arange(3000.0)
    short = SegmentIndex.from_lines(shapely.linestrings(np.stack([np.column_stack([grid, grid]),
                                                                  np.column_stack([grid + 0.5, grid])], axis=1)))
    nearest_segments(short, many)  # fewer points than cells: sorted by their cell's key (_cell_key)
    segments_within(index, xy, 5.0)  # (_line_bounds, _within)
    wall = SegmentIndex.from_lines([shapely.LineString([(5, -5), (5, 5)])])
    crossing_legs(wall, xy, xy[::-1], 0.5)  # (_legs_blocked, _blocked)
    legal_segments(index, wall, xy, np.zeros(2), 100.0, 0.5)  # (_nearest_legal)
    lon, lat = np.linspace(114.0, 114.1, 5000), np.linspace(22.5, 22.6, 5000)
    lonlat_to_utm(lon[:2], lat[:2], 50)  # lon/lat targets: the series (_forward)
    lonlat_to_utm(lon, lat, 50)  # and many of them, interpolated on a grid (_interpolate)


@contextlib.contextmanager
def _machine_lock():
    """An exclusive lock on a file in numba's cache folder (POSIX ``flock``; nothing elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    folder = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    path = os.path.join(folder, "urbancover-kernels.lock")
    try:
        os.makedirs(folder, exist_ok=True)
        f = open(path, "a")  # noqa: SIM115 - held for the block
    except OSError:
        path = os.path.join(tempfile.gettempdir(), f"urbancover-kernels-{getattr(os, 'getuid', lambda: 0)()}.lock")
        f = open(path, "a")  # noqa: SIM115
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
