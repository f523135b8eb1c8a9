"""A tiny hand-made city and a one-rule rule set, fast enough to evaluate many times in batch tests.

One street runs along y = 0 from x = 0 to x = 1000 m; a bus stop stands on it at ``stop_x``; two
20 x 20 m apartment blocks (same floors, so the same estimated residents) stand 20 m north of it,
home A at x = 90..110 and home B at x = 890..910. With the stop at x = 0 home A walks ~130 m
(served within 500 m) and home B ~930 m (not served): half the residents are served. With the
stop at x = 500 both walk ~430 m: all are served.
"""

from __future__ import annotations

from pathlib import Path

from osmfactory import square, write_osm

RULES = """[ruleset]
id = "tiny"
[[rule]]
id = "bus_stop_500"
kind = "radius"
threshold_m = 500
demand = ["residents"]
facilities = [{ highway = "bus_stop" }]
"""


def write_city(path: Path, stop_x: float = 0.0) -> Path:
    nodes = {1: (0, 0), 2: (500, 0), 3: (1000, 0), 9: (stop_x, 0.5, {"highway": "bus_stop"})}
    ways = [(1, [1, 2, 3], {"highway": "residential"})]
    for k, x0 in enumerate((90, 890)):
        ring = square(x0, 20, 20)
        ids = []
        for i, xy in enumerate(ring[:-1]):
            nodes[100 + 10 * k + i] = xy
            ids.append(100 + 10 * k + i)
        ways.append((100 + k, ids + [ids[0]], {"building": "apartments"}))
    return write_osm(Path(path), nodes, ways, bounds=(-100, -100, 1100, 200))


def write_rules(path: Path, target: float = 1.0) -> Path:
    Path(path).write_text(RULES + f"target = {target}\n", encoding="utf-8")
    return Path(path)
