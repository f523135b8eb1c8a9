"""Network distances from many facilities at once, with a cut-off, and edge coverage.

Definition of distance (PLAN_RULES.md, section A): from a place to a facility is

    access leg of the place  +  shortest path along the network between the two projections
    (along the edge geometry; when both lie on one edge the direct run along it counts)
    +  access leg of the facility.

Where places and facilities meet the network is decided in :mod:`urbancover.network.snap`; this package
only searches:

* :mod:`~urbancover.engine.field`: one multi-source Dijkstra pass from every facility of a category
  (:func:`distance_field`, :func:`network_distance`, :func:`edge_coverage`), O((V + E + K) log(V + K));
* :mod:`~urbancover.engine.bounded`: from each of many places, every node within a limit (siting's
  coverage sets);
* :mod:`~urbancover.engine.graph`: the CSR graph both build, the network plus virtual source nodes;
* :mod:`~urbancover.engine.straight`: straight-line distances, for comparison.
"""

from urbancover.engine.field import (
    DistanceField,
    distance_field,
    edge_coverage,
    nearest_facility,
    network_distance,
)
from urbancover.engine.straight import straight_line_distance, straight_line_intervals
from urbancover.network.snap import TOUCH

__all__ = [
    "TOUCH",
    "DistanceField",
    "distance_field",
    "edge_coverage",
    "nearest_facility",
    "network_distance",
    "straight_line_distance",
    "straight_line_intervals",
]
