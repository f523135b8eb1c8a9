"""The settings object: frozen, checked when made, one active object (override per thread), the
older module attributes still working, and picklable for batch workers."""

import dataclasses
import pickle
import threading

import pytest

import urbancover
from urbancover.core import settings
from urbancover.core.errors import InputError
from urbancover.core.settings import Settings, current, override


def test_defaults_and_module_reads():
    s = Settings()
    # the documented defaults (docs/usage.md, docs/distances.md)
    assert (s.max_snap_distance, s.main_component_m, s.island_snap_m, s.polygon_reach_m) == (1000.0, 1000.0, 100.0, 15.0)
    assert (s.floor_area_per_person, s.default_building_levels, s.old_compound_before_year) == (35.0, 6.0, 2000)
    assert current() == s and s.changes() == {}
    assert settings.max_snap_distance == 1000.0 and urbancover.core.settings.walk_exclude == s.walk_exclude
    from urbancover.core.settings import floor_area_per_person
    assert floor_area_per_person == 35.0
    assert "max_snap_distance" in dir(settings)


def test_frozen_and_tables_immutable():
    s = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_snap_distance = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="immutable"):
        s.default_levels_by_building["house"] = 9.0
    with pytest.raises(TypeError, match="immutable"):
        s.feature_node_values.update(a=("b",))
    # a caller's table is copied, not shared
    sel = [{"barrier": ["gate"]}]
    t = Settings(entrance_selector=sel)
    sel[0]["barrier"].append("x")
    assert t.entrance_selector == ({"barrier": ["gate"]},)


@pytest.mark.parametrize("changes, message", [
    ({"max_snap_distanse": 300}, "no setting 'max_snap_distanse'. Did you mean 'max_snap_distance'"),
    ({"edge_chunk": 0}, "edge_chunk must be > 0"),
    ({"edge_chunk": 2.5}, "edge_chunk must be a whole number"),
    ({"floor_area_per_person": "70"}, "floor_area_per_person must be a number"),
    ({"floor_area_per_person": float("nan")}, "floor_area_per_person must be a number"),
    ({"island_snap_m": -1}, "island_snap_m must be >= 0"),
    ({"max_snap_distance": True}, "max_snap_distance must be a number"),
    ({"extent_outlier_share": 1.5}, "between 0 and 1"),
    ({"assume_old_without_year": 1}, "True or False"),
    ({"way_columns": "highway"}, "list of non-empty strings"),
    ({"walk_exclude": [("highway", "(")]}, "not a regular expression"),
    ({"plausible_residents_per_km2": (40_000, 10_000)}, "low <= high"),
    ({"default_levels_by_building": {"house": -2}}, r"default_levels_by_building\['house'\] must be > 0"),
])
def test_values_checked_when_made(changes, message):
    with pytest.raises(InputError, match=message):
        current().replace(**changes)
    with pytest.raises(InputError, match=message):
        with override(**changes):
            pass  # pragma: no cover
    assert current() == Settings()


def test_stored_forms():
    s = Settings(max_snap_distance=300, way_columns=["highway"], walk_exclude=[["foot", "no"]])
    assert s.max_snap_distance == 300.0 and isinstance(s.max_snap_distance, float)
    assert s.way_columns == ("highway",) and s.walk_exclude == (("foot", "no"),)
    assert Settings(max_snap_distance=None).max_snap_distance is None
    assert dataclasses.replace(s, edge_chunk=5).edge_chunk == 5
    with pytest.raises(InputError):
        dataclasses.replace(s, edge_chunk=-5)


def test_override_nests_restores_and_stays_in_its_thread():
    seen = {}

    def other():
        seen["other"] = current().floor_area_per_person

    with override(floor_area_per_person=70) as s:
        assert s is current() and settings.floor_area_per_person == 70.0
        with override(max_snap_distance=300):
            assert (current().floor_area_per_person, current().max_snap_distance) == (70.0, 300.0)
        assert current().max_snap_distance == 1000.0
        t = threading.Thread(target=other)
        t.start()
        t.join()
        with pytest.raises(RuntimeError):
            with override(gap_cell_m=5):
                raise RuntimeError
        assert current() is s
    assert current() == Settings() and seen["other"] == 35.0
    with override(Settings(gap_cell_m=5.0), edge_chunk=7) as s:
        assert (s.gap_cell_m, s.edge_chunk) == (5.0, 7)


def test_module_assignment_replaces_the_current_object(monkeypatch):
    before = current()
    monkeypatch.setattr(settings, "max_snap_distance", 300)
    assert current().max_snap_distance == 300.0 and before.max_snap_distance == 1000.0
    assert current().changes() == {"max_snap_distance": 300.0}
    with override(gap_cell_m=5):
        settings.edge_chunk = 9  # inside a block: until it ends
        assert (current().edge_chunk, current().max_snap_distance) == (9, 300.0)
    assert current().edge_chunk == 100_000
    with pytest.raises(InputError, match="Did you mean 'gap_cell_m'"):
        settings.gap_cel_m = 5
    with pytest.raises(InputError, match="must be > 0"):
        settings.gap_cell_m = 0
    monkeypatch.undo()
    assert current() == Settings()


def test_pickle_and_hash():
    s = Settings(floor_area_per_person=70, default_levels_by_building={"house": 3})
    back = pickle.loads(pickle.dumps(s))
    assert back == s and hash(back) == hash(s)
    assert s.changes() == {"floor_area_per_person": 70.0, "default_levels_by_building": {"house": 3.0}}
    assert hash(s) != hash(Settings())
