"""The demonstration zone of plan clause IV.1: street blocks, and the search that proposes zones.

选定1平方公里左右围合区域作为示范区（包含3个以上老旧小区）: each district picks an area of about
1 km², enclosed by roads, that holds three or more old residential compounds. This module

* cuts the land into **street blocks**, the faces enclosed by the roads of a chosen level
  (:func:`street_blocks`), and
* searches unions of adjacent blocks for the zones that meet the clause and where the need measured
  by the rules evaluation is greatest, and explains each one (:func:`find_zones`).

Everything is in the metric CRS of the input (the report's network CRS for :func:`find_zones`).
See ``docs/zones.md`` for the method and its parameters.
"""

from urbancover.zones.blocks import LEVELS, WATER, road_classes, street_blocks
from urbancover.zones.find import OLD_COMPOUND_WEIGHT, find_zones
from urbancover.zones.search import POLISH_MOVES, POLISH_TRIES

__all__ = ["LEVELS", "OLD_COMPOUND_WEIGHT", "POLISH_MOVES", "POLISH_TRIES", "WATER", "find_zones", "road_classes", "street_blocks"]
