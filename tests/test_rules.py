"""Rule files: the preset holds the plan's numbers, and bad files are refused naming file, rule, field."""

import numpy as np
import pandas as pd
import pytest

import urbancover as uc
from urbancover.rules import load_rules, presets
from urbancover.selectors import select

GOOD_RULE = """
[ruleset]
id = "mine"

[walking]
minutes = { 10 = 500 }

[[rule]]
id = "stops"
kind = "radius"
threshold_m = 400
facilities = [{ highway = "bus_stop" }]
"""


def _write(tmp_path, text, name="rules.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_preset_holds_the_plan_numbers():
    assert "zhengzhou-2018" in presets()
    rule = load_rules("zhengzhou-2018")["bus_stop_500"]
    # PLAN_RULES.md, III.1: 公交站点500米全覆盖 -> 500 m, target 100 %
    assert rule.threshold == 500 and rule.target == 1.0 and rule.clause == "III.1"
    assert "500" in rule.text_zh


def test_user_file_loads_and_minutes_resolve(tmp_path):
    rs = load_rules(_write(tmp_path, GOOD_RULE))
    assert rs["stops"].threshold == 400
    text = GOOD_RULE.replace("threshold_m = 400", "minutes = 10")
    assert load_rules(_write(tmp_path, text))["stops"].threshold == 500
    text = GOOD_RULE.replace("threshold_m = 400", "minutes = 15").replace("minutes = { 10 = 500 }", "speed_kmh = 4.0")
    assert load_rules(_write(tmp_path, text))["stops"].threshold == pytest.approx(1000.0)  # 4 km/h x 15 min


@pytest.mark.parametrize(
    "change, words",
    [
        (("threshold_m = 400", "threshold_m = 400\ncolour = 'red'"), ["'stops'", "colour"]),
        (("threshold_m = 400", ""), ["'stops'", "threshold_m"]),
        (("threshold_m = 400", "threshold_m = -5"), ["'stops'", "threshold_m"]),
        (("threshold_m = 400", "threshold_m = '500'"), ["'stops'", "threshold_m"]),
        (("threshold_m = 400", "minutes = 7"), ["'stops'", "7 minutes"]),
        (("{ highway = \"bus_stop\" }", "{ highway = 5 }"), ["'stops'", "facilities", "highway"]),
        (("[{ highway = \"bus_stop\" }]", "[]"), ["'stops'", "facilities"]),
        (("kind = \"radius\"", "kind = \"nearby\""), ["'stops'", "kind"]),
        (("threshold_m = 400", "threshold_m = 400\ntarget = 1.5"), ["'stops'", "target"]),
        (("threshold_m = 400", "threshold_m = 400\ndemand = ['cats']"), ["'stops'", "demand"]),
        (("[ruleset]", "[rulesett]"), ["rulesett"]),
    ],
)
def test_bad_rule_files_are_refused_naming_file_rule_and_field(tmp_path, change, words):
    path = _write(tmp_path, GOOD_RULE.replace(*change))
    with pytest.raises(uc.InputError) as err:
        load_rules(path)
    msg = str(err.value)
    assert str(path) in msg
    for w in words:
        assert w in msg


def test_duplicate_ids_bad_toml_and_bad_encoding(tmp_path):
    with pytest.raises(uc.InputError, match="defined twice"):
        load_rules(_write(tmp_path, GOOD_RULE + "\n[[rule]]\nid = \"stops\"\nkind = \"radius\"\nthreshold_m = 1\nfacilities = [{ a = true }]\n"))
    with pytest.raises(uc.InputError, match="not valid TOML"):
        load_rules(_write(tmp_path, "[[rule]\nid = 1"))
    bad = tmp_path / "gbk.toml"
    bad.write_bytes("[ruleset]\nid = '郑州'\n".encode("gbk"))
    with pytest.raises(uc.InputError, match="UTF-8"):
        load_rules(bad)
    with pytest.raises(uc.InputError, match="no such rule file"):
        load_rules(tmp_path / "missing.toml")


def test_selector_semantics():
    f = pd.DataFrame({"tags": [
        {"amenity": "toilets"},
        {"amenity": "toilets", "access": "private"},
        {"amenity": "toilets", "access": "yes"},
        {"public_transport": "platform", "bus": "yes"},
        {"public_transport": "platform"},
    ]})
    toilets = [{"amenity": "toilets", "access": {"not": ["private", "customers"]}}]
    assert select(f, toilets).tolist() == [True, False, True, False, False]
    bus = [{"public_transport": "platform", "bus": "yes"}]
    assert select(f, bus).tolist() == [False, False, False, True, False]
    assert select(f, [{"access": False, "amenity": True}]).tolist() == [True, False, False, False, False]
    assert select(f, [{"amenity": ["toilets", "x"]}, {"bus": True}]).tolist() == [True, True, True, True, False]


def test_select_with_kept_tag_values_matches_a_fresh_read():
    """TagValues keep each key's values; selections through them equal plain ones and what each
    selector means, written out by hand, also when the first read of a key is of a few rows only
    (nothing is kept then)."""
    from urbancover.features import always_open
    from urbancover.selectors import TagValues

    rng = np.random.default_rng(3)
    keys = ["amenity", "access", "name", "highway", "opening_hours"]
    vals = {"amenity": ["toilets", "school", "clinic"], "access": ["private", "yes", "customers"],
            "name": ["第一小学", "育才中学", "社区卫生服务站"], "highway": ["bus_stop", "footway"],
            "opening_hours": ["24/7", "Mo-Fr 08:00-18:00"]}
    tags = [{k: str(rng.choice(vals[k])) for k in keys if rng.random() < 0.5} for _ in range(400)]
    f = pd.DataFrame({"tags": tags})
    cases = [
        ([{"amenity": "toilets", "access": {"not": ["private", "customers"]}}],
         lambda t: t.get("amenity") == "toilets" and t.get("access") not in ("private", "customers")),
        ([{"amenity": ["school"], "name": {"contains": ["小学"]}}, {"highway": "bus_stop"}],
         lambda t: (t.get("amenity") == "school" and "小学" in t.get("name", "")) or t.get("highway") == "bus_stop"),
        ([{"opening_hours": {"always_open": True}}], lambda t: always_open(t.get("opening_hours"))),
        ([{"name": {"regex": "中学$"}, "amenity": True}], lambda t: t.get("name", "").endswith("中学") and "amenity" in t),
        ([{"access": False, "amenity": "clinic"}], lambda t: "access" not in t and t.get("amenity") == "clinic"),
    ]
    tv = TagValues(f["tags"])
    for sel, means in cases + cases:  # the second round reads the kept columns
        expected = np.array([bool(means(t)) for t in tags])
        assert expected.any() and not expected.all()
        assert (select(f, sel, values=tv) == expected).all()
        assert (select(f, sel) == expected).all()
    assert set(tv._columns) <= set(keys)
    with pytest.raises(ValueError, match="rows"):
        select(f.iloc[:10], cases[0][0], values=tv)


def test_tag_values_sparse_and_dense_keys_read_as_the_dicts():
    """TagValues keeps a key most rows lack as (rows, values) and a common one as a column: either
    way, every read (all rows, some rows, before and after the key is kept) is what the dicts say."""
    import numpy as np

    from urbancover.selectors import TagValues

    rng = np.random.default_rng(3)
    tags = [{"building": "yes", **({"amenity": "toilets"} if i % 37 == 0 else {}), **({"shop": str(i)} if i % 5 == 0 else {})}
            for i in range(2000)]
    tv = TagValues(tags)
    for key in ("amenity", "building", "shop", "absent"):
        rows = rng.integers(0, len(tags), 300)
        before = tv.get(key, rows)  # not kept yet: read from the dicts
        full = tv.get(key)  # kept from now on
        after = tv.get(key, rows)
        again = tv.get(key)
        expected = np.array([t.get(key) for t in tags], dtype=object)
        assert list(full) == list(expected) and list(again) == list(expected), key
        assert list(before) == list(expected[rows]) and list(after) == list(expected[rows]), key
    assert isinstance(tv._columns["amenity"], tuple) and isinstance(tv._columns["building"], np.ndarray)
