"""Rule files: the preset holds the plan's numbers, and bad files are refused naming file, rule, field."""

import numpy as np
import pandas as pd
import pytest

import urbancover as uc
from urbancover.plan.rules import load_rules, presets
from urbancover.plan.selectors import select

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


def test_presets_cite_the_plan_and_nothing_unshipped():
    """A preset is shipped (and copied by ``rules copy``): it cites the plan's text and clauses, not
    the project's own digest (PLAN_RULES.md), which is not in the package."""
    from importlib import resources

    for name in presets():
        text = (resources.files("urbancover.plan.presets") / f"{name}.toml").read_text(encoding="utf-8")
        assert "PLAN_RULES" not in text, name
        rs = load_rules(name)
        assert rs.source and all(r.clause for r in rs), name
    assert "郑政办〔2018〕14号" in load_rules("zhengzhou-2018").name_zh


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
    from urbancover.plan.features import always_open
    from urbancover.plan.selectors import TagValues

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

    from urbancover.plan.selectors import TagValues

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


@pytest.mark.parametrize("rid", ["../../evil", "<b>bus</b>", "bus stop 500", "公交站点500米", "1st", "a/b", "x" * 65, ""])
def test_rule_ids_that_are_not_identifiers_are_refused_as_rules_check_refuses_them(tmp_path, rid, capsys):
    from urbancover.app.cli import main

    path = _write(tmp_path, GOOD_RULE.replace('id = "stops"', f"id = {rid!r}".replace("'", '"')))
    with pytest.raises(uc.InputError) as err:
        load_rules(path)
    if rid:  # an empty id is "missing", not "not an identifier"
        assert f"rule {rid!r}" in str(err.value) and "identifier" in str(err.value)
    # `rules check` gives the very message load_rules raises (it calls the library)
    assert main(["rules", "check", str(path)]) == 2
    assert capsys.readouterr().err.strip() == f"urbancover: error: {err.value}"


def test_category_names_and_ids_differing_in_case_are_refused(tmp_path):
    cats = GOOD_RULE.replace('kind = "radius"\nthreshold_m = 400\nfacilities = [{ highway = "bus_stop" }]',
                             'kind = "all_of"\ncategories = [{ name = "NAME", threshold_m = 300, facilities = '
                             '[{ shop = "x" }] }]')
    assert load_rules(_write(tmp_path, cats))["stops"].categories[0].name == "NAME"
    with pytest.raises(uc.InputError, match=r"category 'a\.b': the name must be an identifier"):
        load_rules(_write(tmp_path, cats.replace('"NAME"', '"a.b"')))
    two = cats.replace('name = "NAME", threshold_m = 300, facilities = [{ shop = "x" }] }',
                       'name = "Shop", threshold_m = 300, facilities = [{ shop = "x" }] }, '
                       '{ name = "shop", threshold_m = 300, facilities = [{ shop = "y" }] }')
    with pytest.raises(uc.InputError, match="used twice"):  # status_Shop and status_shop: one GeoPackage column
        load_rules(_write(tmp_path, two))
    case = GOOD_RULE + GOOD_RULE.split("[[rule]]")[1].replace('"stops"', '"Stops"').join(["\n[[rule]]", ""])
    with pytest.raises(uc.InputError, match="'stops' \\(rule #1\\) and 'Stops' \\(rule #2\\) differ only in case"):
        load_rules(_write(tmp_path, case))


def test_unknown_keys_suggest_the_known_one_in_load_rules_and_rules_check(tmp_path, capsys):
    from urbancover.app.cli import main

    path = _write(tmp_path, GOOD_RULE.replace("threshold_m = 400", "treshold_m = 400"))
    with pytest.raises(uc.InputError) as err:
        load_rules(path)
    assert "unknown field(s) ['treshold_m']" in str(err.value) and "did you mean 'threshold_m'?" in str(err.value)
    assert main(["rules", "check", str(path)]) == 2
    assert capsys.readouterr().err.strip() == f"urbancover: error: {err.value}"
    with pytest.raises(uc.InputError, match="did you mean 'speed_kmh'"):
        load_rules(_write(tmp_path, GOOD_RULE.replace("minutes = { 10 = 500 }", "speed_kmhh = 4")))
    with pytest.raises(uc.InputError, match="did you mean 'walking'"):
        load_rules(_write(tmp_path, GOOD_RULE.replace("[walking]", "[walkin]")))


def test_a_rule_set_built_in_python_is_checked_too():
    from dataclasses import replace

    rs = load_rules("zhengzhou-2018")
    bad = replace(rs, rules=(replace(rs.rules[0], id="../../evil"),) + rs.rules[1:])
    with pytest.raises(uc.InputError, match="'../../evil': the id must be an identifier"):
        load_rules(bad)
    with pytest.raises(uc.InputError, match="identifier"):  # before the extract is read: no such file needed
        uc.evaluate("no-such-extract.osm", bad)
