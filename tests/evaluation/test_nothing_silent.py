"""Nothing silent (issue 20 item 7): an area mostly outside the data is warned with its share, a
facility layer of no usable geometry is refused, and every warning reaches the user once: in the
report's notes, as one ``urbancover: warning:`` line of the CLI (also before an error), never raw.

The tiny city of ``tinycity.py``: a street along y = 0 from x = 0 to 1000 m, header box x -100..1100,
y -100..200 (local metres of EPSG:32650 from osmfactory's X0, Y0).
"""

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from faults import run_cli
from osmfactory import X0, Y0, write_osm
from tinycity import RULES, write_city, write_rules

import urbancover as uc
from urbancover.app.cli import main

SHENZHEN = Path(__file__).resolve().parents[2] / "data" / "sample" / "shenzhen_longgang.osm.bz2"
RAW = re.compile(r"^\S.*:\d+: \w*Warning: ", re.M)  # Python's default format: "file:line: Category: message"
DENSITY = RULES + """target = 1.0
[[rule]]
id = "stop_density"
kind = "density"
min_per_km2 = 1
facilities = [{ highway = "bus_stop" }]
"""


@pytest.fixture
def city(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    return write_city(inp / "city.osm", stop_x=700.0), write_rules(inp / "rules.toml")


def box(x0, y0, x1, y1):
    return gpd.GeoDataFrame(geometry=[shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)], crs=32650)


def test_an_area_half_outside_the_data_is_warned_with_the_share(city, tmp_path):
    extract, _ = city
    rules = tmp_path / "density.toml"
    rules.write_text(DENSITY, encoding="utf-8")
    # x 500..1700 of which 500..1100 lies inside the extract's box: 600 / 1200 = 50 % covered
    with pytest.warns(UserWarning) as record:
        report = uc.evaluate(extract, str(rules), area=box(500, -100, 1700, 200))
    said = [str(w.message) for w in record if "lies inside the extract" in str(w.message)]
    assert len(said) == 1 and "only 50.0 % of the analysed area (0.36 km²)" in said[0]
    assert record[0].filename == __file__  # at the user's call (stacklevel)
    assert sum(n == said[0] for n in report.notes) == 1
    # what it changes, as the warning says: the one stop (x = 700) per 0.36 km², half its 1 / 0.18 km²
    value = report.summary.loc["stop_density", "value"]
    assert value == pytest.approx(1 / 0.36, rel=1e-3) and value == pytest.approx(0.5 * 1 / 0.18, rel=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an area inside the data: no such warning
        inside = uc.evaluate(extract, str(rules), area=box(0, -100, 1000, 200), only=["stop_density"])
    assert not any("lies inside the extract" in n for n in inside.notes)


def test_a_facility_layer_of_no_usable_geometry_is_refused(city, tmp_path, capsys):
    extract, rules = city
    empty = tmp_path / "stops.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": ['
                     '{"type": "Feature", "properties": {"name": "a"}, "geometry": null},'
                     '{"type": "Feature", "properties": {"name": "b"}, "geometry": null}]}', encoding="utf-8")
    with pytest.raises(uc.InputError, match=r"facilities\['bus_stop_500'\] \(.*stops.geojson\): none of its 2 rows"):
        uc.evaluate(extract, str(rules), facilities={"bus_stop_500": uc.read_layer(empty)})
    code = main(["analyze", str(extract), "--rules", str(rules), "--out", str(tmp_path / "out"),
                 "--facilities", f"bus_stop_500={empty}"])
    err = capsys.readouterr().err
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("urbancover: error: ") and "bus_stop_500" in last and str(empty) in last
    assert not (tmp_path / "out" / "city.gpkg").exists()


def test_a_warning_before_an_error_is_printed_before_it(city, tmp_path, capsys):
    extract, rules = city
    # inputs are checked in the order area, compounds, population, units, facilities (before the
    # extract is read): the area's dropped row warns, then the units fail
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0 - 50, X0 + 1000, Y0 + 50), None], crs=32650)
    area.to_file(tmp_path / "area.gpkg")
    units = gpd.GeoDataFrame({"label": ["u"]}, geometry=[shapely.box(X0, Y0 - 50, X0 + 1000, Y0 + 50)], crs=32650)
    units.to_file(tmp_path / "units.gpkg")  # no 'name' column: an error after the area's warning
    code = main(["analyze", str(extract), "--rules", str(rules), "--out", str(tmp_path / "out"),
                 "--area", str(tmp_path / "area.gpkg"), "--units", str(tmp_path / "units.gpkg"), "--lang", "en"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    warned = [i for i, line in enumerate(lines) if line.startswith("urbancover: warning: ") and "1 of 2 rows" in line]
    assert len(warned) == 1 and lines[-1].startswith("urbancover: error: units") and warned[0] < len(lines) - 1
    # a population grid with a negative cell is refused (exit 2, as a population layer with a negative
    # count) before the extract is read, so the area's coverage (which needs the extract) is not
    # warned about: the error is the only line
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    with rasterio.open(tmp_path / "pop.tif", "w", driver="GTiff", height=1, width=3, count=1, dtype="float32",
                       crs="EPSG:32650", transform=from_origin(X0, Y0 + 100, 100, 100)) as dst:
        dst.write(np.array([[5, -2, 5]], dtype="float32"), 1)
    box(500, -100, 1700, 200).to_file(tmp_path / "area.gpkg")
    code = main(["analyze", str(extract), "--rules", str(rules), "--out", str(tmp_path / "out"),
                 "--area", str(tmp_path / "area.gpkg"), "--population", str(tmp_path / "pop.tif")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert not [line for line in lines if line.startswith("urbancover: warning: ")]
    assert lines[-1].startswith("urbancover: error: population grid")
    assert "pop.tif: 1 cell(s)" in lines[-1] and "-a_nodata -2" in lines[-1]


def test_each_warning_once_in_zones_and_analyze(city, tmp_path, capsys):
    extract, rules = city
    stops = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 500, Y0 + 1), None], crs=32650)
    stops.to_file(tmp_path / "stops.gpkg")
    for cmd in ("zones", "analyze"):  # zones prints no notes: the warning was lost there
        main([cmd, str(extract), "--rules", str(rules), "--out", str(tmp_path / cmd),
              "--facilities", f"bus_stop_500={tmp_path / 'stops.gpkg'}", "--lang", "en"])
        out = capsys.readouterr()
        text = out.out + out.err
        assert text.count("1 of 2 rows have no usable geometry") == 1, (cmd, text)
        assert not RAW.search(out.err)


def test_read_osm_warnings_are_notes_and_point_at_the_caller(tmp_path):
    # a bow-tie building (its outline crosses itself) is repaired, with a warning: at the line that
    # called read_osm (it pointed one frame above: "sys:1" from a script), and a note of the report
    nodes = {1: (0, 0), 2: (1000, 0), 11: (400, 100), 12: (600, 300), 13: (600, 150), 14: (400, 300)}
    ways = [(1, [1, 2], {"highway": "residential"}), (2, [11, 12, 13, 14, 11], {"building": "apartments"})]
    path = write_osm(tmp_path / "bowtie.osm", nodes, ways, bounds=(-50, -100, 1050, 400))
    with pytest.warns(UserWarning, match="invalid outline") as record:
        uc.read_osm(path)
    assert [w.filename for w in record] == [__file__]
    with pytest.warns(UserWarning, match="invalid outline") as record:
        report = uc.evaluate(path, write_rules(tmp_path / "r.toml"))
    said = [w for w in record if "invalid outline" in str(w.message)]
    assert len(said) == 1 and said[0].filename == __file__
    assert sum("invalid outline" in n for n in report.notes) == 1


def test_no_raw_warning_on_the_shenzhen_sample(tmp_path):
    # a facility GeoJSON whose features share an id (as some POI exports do): GDAL warns when reading
    # it; that warning was printed raw ("raw.py:200: RuntimeWarning: Several features ..."), in a
    # process of its own as a shell runs it (pytest would record it instead)
    stops = tmp_path / "stops.geojson"
    stops.write_text('{"type": "FeatureCollection", "features": ['
                     '{"type": "Feature", "id": 1, "properties": {}, "geometry": {"type": "Point", "coordinates": [114.20, 22.69]}},'
                     '{"type": "Feature", "id": 1, "properties": {}, "geometry": {"type": "Point", "coordinates": [114.21, 22.69]}}]}',
                     encoding="utf-8")
    run = run_cli(["analyze", SHENZHEN, "--out", tmp_path / "out", "--only", "bus_stop_500",
                   "--facilities", f"bus_stop_500={stops}"])
    err = run.stderr
    assert run.returncode == 0, err
    assert not RAW.search(err) and "UserWarning" not in err and "RuntimeWarning" not in err, err
    assert err.count("urbancover: warning: ") == err.count("Several features with id") == 1, err


def test_the_cli_says_a_warning_in_the_tables_language(city, tmp_path, capsys):
    """A warning that is a typed note (an area half outside the data) is said in --lang (zh by
    default), once: as a note beside the table."""
    extract, rules = city
    box(500, -100, 1700, 200).to_file(tmp_path / "half.gpkg")  # half of it outside the data
    for lang, said, other in (("zh", "只有 50.0% 的分析范围", "of the analysed area"),
                              ("en", "only 50.0 % of the analysed area", "的分析范围")):
        main(["analyze", str(extract), "--rules", str(rules), "--out", str(tmp_path / lang), "--area",
              str(tmp_path / "half.gpkg"), "--lang", lang])
        out = capsys.readouterr()
        text = out.out + out.err
        assert text.count(said) == 1 and other not in text, (lang, text)
