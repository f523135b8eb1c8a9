"""urbancover: where the people of a city's old districts are not served.

Service-radius rules of old-district renewal plans (bus stop within 500 m, toilets within 300 m of
main streets, a park within 500 m ...) measured over the real street network of an OpenStreetMap
extract, reproducibly and offline.

>>> import urbancover
>>> net = urbancover.walk_network("data/sample/shenzhen_longgang.osm.bz2")
"""

import sys as _sys

from urbancover.change import Comparison, compare
from urbancover.core import settings
from urbancover.core.errors import (
    CRSError,
    InputError,
    NoWalkableWaysError,
    OSMReadError,
    TruncatedExtractWarning,
    UrbancoverError,
)
from urbancover.core.version import __version__  # noqa: F401 - urbancover.__version__
from urbancover.engine import (
    DistanceField,
    distance_field,
    edge_coverage,
    nearest_facility,
    network_distance,
    straight_line_distance,
)
from urbancover.evaluation.analysis import Report, evaluate
from urbancover.io import (
    OSMData,
    bd09_to_wgs84,
    detect_offset,
    gcj02_to_wgs84,
    read_layer,
    read_osm,
    to_wgs84,
    warn_if_offset,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from urbancover.network.snap import snap_points
from urbancover.network.walk import Network, from_networkx, walk_network
from urbancover.plan.rules import RuleSet, load_rules
from urbancover.siting import SitingResult, site_facilities
from urbancover.tools.access import (
    count_within,
    gravity,
    k_nearest,
    minutes,
    pair_distances,
    reachable_intervals,
    service_areas,
    two_step_fca,
)
from urbancover.tools.offset_effect import OffsetEffect, offset_effect
from urbancover.zones import find_zones, street_blocks

__all__ = [
    "CRSError",
    "Comparison",
    "DistanceField",
    "InputError",
    "Network",
    "NoWalkableWaysError",
    "OffsetEffect",
    "OSMData",
    "OSMReadError",
    "Report",
    "RuleSet",
    "SitingResult",
    "TruncatedExtractWarning",
    "UrbancoverError",
    "bd09_to_wgs84",
    "compare",
    "count_within",
    "detect_offset",
    "distance_field",
    "edge_coverage",
    "evaluate",
    "find_zones",
    "from_networkx",
    "gcj02_to_wgs84",
    "gravity",
    "k_nearest",
    "load_rules",
    "minutes",
    "nearest_facility",
    "offset_effect",
    "network_distance",
    "pair_distances",
    "reachable_intervals",
    "read_layer",
    "read_osm",
    "service_areas",
    "settings",
    "site_facilities",
    "snap_points",
    "straight_line_distance",
    "street_blocks",
    "to_wgs84",
    "two_step_fca",
    "walk_network",
    "warn_if_offset",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# ``urbancover.core.settings`` is public (``import urbancover.core.settings``, ``urbancover.core.settings.override``):
# the module lives in urbancover.core, one object under both names.
_sys.modules.setdefault("urbancover.core.settings", settings)
