"""Walking minutes <-> metres from a rule set's walking table (urbancover.plan.walking), worked by hand.

The shipped preset's table (GB 50180-2018): 5 min = 300 m, 10 min = 500 m, 15 min = 1000 m. Between
rows piecewise-linear (0 min = 0 m): 7.5 min = 300 + 0.5 x 200 = 400 m; 2.5 min = 150 m; 12 min =
500 + 0.4 x 500 = 700 m. Beyond the last row at its pace, 1000 m / 15 min: 20 min = 1000 + 5 x
1000 / 15 = 1333.3 m.
"""

import numpy as np
import pytest

import urbancover as uc
from urbancover.core.errors import InputError
from urbancover.plan.rules import parse_rules
from urbancover.plan.walking import WalkingTime, walking_time


def _rules(walking):
    rule = {"id": "r", "kind": "radius", "threshold_m": 100, "facilities": [{"amenity": "toilets"}]}
    return parse_rules({"ruleset": {"id": "t"}, "walking": walking, "rule": [rule]})


def test_preset_table_rows_between_and_beyond():
    w = walking_time()  # the shipped preset
    np.testing.assert_allclose(w.metres([5, 10, 15]), [300, 500, 1000])
    np.testing.assert_allclose(w.minutes([300, 500, 1000]), [5, 10, 15])
    assert w.minutes(400) == pytest.approx(7.5) and w.metres(7.5) == pytest.approx(400)
    assert w.minutes(150) == pytest.approx(2.5) and w.metres(12) == pytest.approx(700)
    assert w.metres(20) == pytest.approx(1000 + 5 * 1000 / 15)
    assert w.minutes(1000 + 5 * 1000 / 15) == pytest.approx(20)
    assert w.minutes(0) == 0.0
    out = w.minutes(np.array([np.inf, np.nan]))
    assert np.isinf(out[0]) and np.isnan(out[1])


def test_both_directions_are_inverse_and_increasing():
    w = walking_time()
    m = np.linspace(0, 3000, 301)
    mins = w.minutes(m)
    assert (np.diff(mins) > 0).all()
    np.testing.assert_allclose(w.metres(mins), m, atol=1e-9)


def test_a_rule_sets_own_table_and_speed():
    w = walking_time(_rules({"minutes": {5: 400, 10: 800}}))
    assert w.metres(7.5) == pytest.approx(600) and w.metres(15) == pytest.approx(1200)  # 80 m per minute beyond
    # a speed with a table: the pace beyond the last row (4.8 km/h = 80 m per minute)
    w = walking_time(_rules({"minutes": {10: 500}, "speed_kmh": 4.8}))
    assert w.metres(5) == pytest.approx(250) and w.metres(12) == pytest.approx(500 + 2 * 80)
    # a speed alone: at that speed
    assert walking_time(_rules({"speed_kmh": 6.0})).metres(10) == pytest.approx(1000)
    # a rule set with neither: the preset's table
    assert walking_time(_rules({})).minutes(400) == pytest.approx(7.5)


def test_a_speed_the_user_gives_replaces_the_table():
    w = walking_time(speed_kmh=4.5)  # 75 m per minute
    assert w.metres(10) == pytest.approx(750) and w.minutes(300) == pytest.approx(4.0)


def test_bad_tables_and_speeds_are_named():
    with pytest.raises(InputError, match="increase"):
        WalkingTime(((5, 300), (10, 250)))
    with pytest.raises(InputError, match="speed_kmh"):
        walking_time(speed_kmh=0)
    with pytest.raises(InputError, match="speed_kmh"):
        walking_time(speed_kmh="fast")


def test_uc_minutes_uses_the_table_without_a_speed():
    assert uc.minutes(400) == pytest.approx(7.5)
    assert uc.minutes(500, 3.0) == pytest.approx(10.0)  # a speed: at that speed


def test_a_rule_file_whose_table_shrinks_is_refused_when_loaded():
    with pytest.raises(InputError, match=r"metres must grow with the minutes.*5 = 300, 10 = 250"):
        _rules({"minutes": {5: 300, 10: 250}})
