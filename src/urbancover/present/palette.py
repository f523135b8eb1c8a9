"""The colours and classes of every map: one definition, read by the static maps
(:mod:`urbancover.report.static`), the interactive map and the GeoPackage's QGIS styles
(:mod:`urbancover.evaluation.styles`).

Streets are coloured by network distance over the threshold (``ratio``): green at a facility,
through yellow, to orange at the threshold (:data:`RAMP`, evenly spaced over 0 to 1); red beyond
it (:data:`BEYOND`) and dark red where no facility can be reached (:data:`UNREACHABLE`). What is
not served is red, facilities blue.
"""

from __future__ import annotations

__all__ = [
    "BEYOND", "COMPOUND_EDGE", "COMPOUND_FILL", "DISTANCE_CLASSES", "FACILITY", "FACILITY_FILL", "FAR", "HOME", "HOME_EDGE",
    "NEAR", "RAMP", "STREET", "UNREACHABLE", "UNSERVED_EDGE", "ZONE", "ramp_colour",
]

#: Near a facility, and at the threshold.
NEAR, FAR = "#1a9850", "#fdae61"
#: The colours from a facility (ratio 0) to the threshold (ratio 1), evenly spaced.
RAMP = (NEAR, "#a6d96a", "#ffffbf", FAR)
#: Beyond the threshold, and everything not served; no facility reachable.
BEYOND, UNREACHABLE = "#d7191c", "#7f0000"
#: Facilities (points and outlines) and their areas' fill.
FACILITY, FACILITY_FILL = "#2166ac", "#92c5de"
#: Homes, their outline, and the outline of homes not served.
HOME, HOME_EDGE, UNSERVED_EDGE = "#d9d9d9", "#8c8c8c", "#67000d"
#: Compounds (fill and dashed outline).
COMPOUND_FILL, COMPOUND_EDGE = "#f4f1ea", "#6e6e6e"
#: Streets that are not coloured by a distance (roads of the network-form rules, other streets).
STREET = "#555555"
#: Demonstration-zone candidates.
ZONE = "#6a3d9a"

#: The classes of network distance over the threshold of the street layers (a GIS's legend of
#: the gap map's continuous colours): ``(lower, upper, ramp position)``, within the threshold.
DISTANCE_CLASSES = ((0.0, 0.25, 0.125), (0.25, 0.5, 0.375), (0.5, 0.75, 0.625), (0.75, None, 0.875))


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def ramp_colour(t: float) -> str:
    """The colour of :data:`RAMP` at ``t`` (0 to 1, clipped), linear in RGB between its colours as
    matplotlib's ``LinearSegmentedColormap.from_list`` makes it.
    """
    t = min(max(float(t), 0.0), 1.0)
    n = len(RAMP) - 1
    k = min(int(t * n), n - 1)
    f = t * n - k
    a, b = _rgb(RAMP[k]), _rgb(RAMP[k + 1])
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b))
