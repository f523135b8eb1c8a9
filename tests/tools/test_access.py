"""Accessibility measures (urbancover.tools.access) against independent references.

The reference distance of every (facility, place) pair comes from nxref.py (shapely + networkx,
nothing from urbancover), run once per facility; counts, k nearest, gravity and 2SFCA are then
computed from that matrix with plain numpy (and 2SFCA with PySAL ``access`` when installed).
Service areas are checked on hand-worked streets and by sampling points along every edge.
Coordinates are local metres in EPSG:32650 (helpers.xy).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import TOUCH, box, geoms, hand_reference, line, lines_gdf, points, poly, pt

import urbancover as uc
from urbancover.core.errors import InputError
from urbancover.core.intervals import merge

TOL = 1e-6
# area facilities are met by streets within 1 mm of them: the reference grows them by the same 1 mm
POLY_TOL = 2e-3


# -- a small city: a 3 x 3 grid of 100 m blocks, a spur, and a street on its own -----------------
def grid_lines():
    out = []
    for y in (0, 100, 200):
        out += [line((0, y), (100, y)), line((100, y), (200, y))]
    for x in (0, 100, 200):
        out += [line((x, 0), (x, 100)), line((x, 100), (x, 200))]
    out.append(line((200, 200), (350, 260)))  # a spur
    out.append(line((1000, 1000), (1100, 1000)))  # another component
    return out


def facilities():
    return geoms(
        pt(30, 10),  # 10 m off the bottom street
        pt(150, 195),  # 5 m off the top street
        pt(210, 120),  # 10 m off the right street
        poly((150, 185), (180, 150), (150, 120), (120, 150)),  # a park touching no street: reached at (150, 200)
        box(40, 90, 60, 110),  # a square across the middle street: met on 20 m of it at cost 0
        pt(0, 0),  # on a corner
    )


def places():
    return points(
        (50, 40), (70, 5), (145, 160),  # the last one is inside the park
        (100, 100), (190, 210), (300, 245), (10, 180), (200, 0), (55, 95),  # (55, 95) inside the square
        (1050, 1010),  # on the other component: reaches nothing
    )


@pytest.fixture(scope="module")
def city():
    lines = grid_lines()
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    fac, pl = facilities(), places()
    # reference: one networkx run per facility -> K x T matrix
    ref = np.vstack([hand_reference(lines, fac.iloc[[k]], pl, touch=TOUCH)[0] for k in range(len(fac))])
    return net, fac, pl, ref


def test_reference_matrix_agrees_with_hand_values(city):
    # Hand-worked: place (50, 40) projects on the bottom street y=0 at x=50 (access 40). From the
    # corner (0, 0): 50 + 40 = 90. From facility 0 at (30, 10) -> (30, 0), access 10: 10 + 20 + 40 = 70.
    # The park's nearest point is its top corner (150, 185), 15 m below the top street: to the place
    # (190, 210), which projects at (190, 200) with access 10: 15 + 40 + 10 = 65.
    ref = city[3]
    assert ref[5, 0] == pytest.approx(90.0)
    assert ref[0, 0] == pytest.approx(70.0)
    assert ref[3, 4] == pytest.approx(65.0)
    # inside the park and inside the square: distance 0; the other component: inf everywhere
    assert ref[3, 2] == 0.0 and ref[4, 8] == 0.0
    assert np.isinf(ref[:, 9]).all()


@pytest.mark.parametrize("cutoff", [None, 250.0, 120.0])
def test_pair_distances_equal_networkx(city, cutoff):
    net, fac, pl, ref = city
    od = uc.pair_distances(net, fac, pl, cutoff=cutoff)
    lim = np.inf if cutoff is None else cutoff
    want = np.argwhere(np.isfinite(ref) & (ref <= lim))
    got = od[["facility", "place"]].to_numpy()
    assert sorted(map(tuple, got)) == sorted(map(tuple, want))
    np.testing.assert_allclose(od["distance_m"], ref[od["facility"], od["place"]], atol=TOL, rtol=0)


def test_pair_distances_min_over_facilities_is_network_distance(city):
    net, fac, pl, _ = city
    od = uc.pair_distances(net, fac, pl, cutoff=300)
    best = od.groupby("place")["distance_m"].min().reindex(range(len(pl)), fill_value=np.inf)
    np.testing.assert_allclose(best, uc.network_distance(net, fac, pl, cutoff=300), atol=TOL, rtol=0)


@pytest.mark.parametrize("cutoff", [None, 200.0])
def test_k_nearest_equal_sorted_reference(city, cutoff):
    net, fac, pl, ref = city
    k = 4
    out = uc.k_nearest(net, fac, pl, k, cutoff=cutoff, speed_kmh=4.5)
    lim = np.inf if cutoff is None else cutoff
    want = np.sort(np.where(ref <= lim, ref, np.inf), axis=0)[:k].T
    got = out[[f"nearest_{i}_m" for i in range(1, k + 1)]].to_numpy()
    np.testing.assert_allclose(got, np.where(np.isinf(want), np.nan, want), atol=TOL, rtol=0)
    assert np.array_equal(np.isnan(got), np.isinf(want))  # unreachable: NaN, as in the layers
    # the facility named is one at that distance; minutes at 4.5 km/h = 75 m per minute
    for i in range(1, k + 1):
        has = np.isfinite(out[f"nearest_{i}_m"]).to_numpy()
        f = out[f"nearest_{i}_facility"].to_numpy()[has].astype(int)
        np.testing.assert_allclose(ref[f, np.flatnonzero(has)], out[f"nearest_{i}_m"][has], atol=TOL)
        assert out[f"nearest_{i}_facility"][~has].isna().all()
        np.testing.assert_allclose(out[f"nearest_{i}_min"], out[f"nearest_{i}_m"] / 75.0)


def test_k_nearest_more_than_there_are(city):
    net, fac, pl, ref = city
    k = len(fac) + 2
    out = uc.k_nearest(net, fac, pl, k)
    got = out[[f"nearest_{i}_m" for i in range(1, k + 1)]].to_numpy()
    assert np.isnan(got[:, -2:]).all()
    np.testing.assert_array_equal(np.isfinite(got).sum(axis=1), np.isfinite(ref).sum(axis=0))


def test_count_within_equals_reference(city):
    net, fac, pl, ref = city
    out = uc.count_within(net, fac, pl, [100, 150.5, 300])
    for d, col in ((100, "count_100m"), (150.5, "count_150_5m"), (300, "count_300m")):
        np.testing.assert_array_equal(out[col], (ref <= d).sum(axis=0))
    assert list(out.index) == list(pl.index)


@pytest.mark.parametrize("decay", ["exponential", "power"])
def test_gravity_equals_reference(city, decay):
    net, fac, pl, ref = city
    supply = np.array([1.0, 2.0, 0.5, 3.0, 1.0, 4.0])
    beta = math.log(2) / 100 if decay == "exponential" else 1.5
    out = uc.gravity(net, fac.assign(jobs=supply), pl, beta=beta, cutoff=250, weight="jobs", decay=decay)
    with np.errstate(over="ignore", divide="ignore"):
        f = np.exp(-beta * ref) if decay == "exponential" else np.maximum(ref, 1.0) ** -beta
    want = (supply[:, None] * np.where(ref <= 250, f, 0.0)).sum(axis=0)
    np.testing.assert_allclose(out["gravity"], want, rtol=1e-9, atol=1e-12)


def test_gravity_hand_worked():
    """One street 0..1000 m, a shop on it at x=0 (weight 2) and x=1000 (weight 1); a home at x=400
    on the street: exp(-400 b) * 2 + exp(-600 b) * 1 with b = ln2/200: 2/4 + 1/8 = 0.625."""
    net = uc.walk_network(lines_gdf(line((0, 0), (1000, 0))), filter=None)
    out = uc.gravity(net, points((0, 0), (1000, 0)).assign(w=[2, 1]), points((400, 0)), beta=math.log(2) / 200, weight="w")
    assert out["gravity"].iloc[0] == pytest.approx(0.625)


def two_sfca_reference(ref, supply, pop, catchment, decay=None):
    w = np.where(ref <= catchment, 1.0 if decay is None else decay(np.where(np.isfinite(ref), ref, 0.0)), 0.0)
    load = (w * pop[None, :]).sum(axis=1)
    r = np.divide(supply, load, out=np.zeros_like(supply), where=load > 0)
    return (w * r[:, None]).sum(axis=0), r


@pytest.mark.parametrize("decay", [None, lambda d: np.exp(-d / 150.0)])
def test_two_step_fca_equals_numpy_reference(city, decay):
    net, fac, pl, ref = city
    supply = np.array([3.0, 1.0, 2.0, 5.0, 1.0, 2.0])
    pop = np.array([10.0, 20, 5, 40, 15, 8, 30, 12, 6, 50])
    homes, ratios = uc.two_step_fca(
        net, fac.assign(beds=supply), pl.assign(people=pop), 220,
        supply_column="beds", demand_column="people", decay=decay, return_ratio=True,
    )
    want, r = two_sfca_reference(ref, supply, pop, 220, decay)
    np.testing.assert_allclose(homes["supply_per_resident"], want, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(ratios["supply_ratio"], r, rtol=1e-9, atol=1e-15)
    # conservation: the people times their ratio add up to the supply of facilities with demand
    served = ratios["catchment_demand"].to_numpy() > 0
    assert (pop * homes["supply_per_resident"]).sum() == pytest.approx(supply[served].sum())


@pytest.mark.parametrize("decay", [None, lambda d: np.exp(-d / 150.0)])
def test_two_step_fca_equals_pysal_access(city, decay):
    access = pytest.importorskip("access")
    net, fac, pl, ref = city
    supply = np.array([3.0, 1.0, 2.0, 5.0, 1.0, 2.0])
    pop = np.array([10.0, 20, 5, 40, 15, 8, 30, 12, 6, 50])
    # PySAL gets the networkx reference distances as its cost table (origin = home, dest = facility)
    k, t = np.nonzero(np.isfinite(ref))
    cost = pd.DataFrame({"origin": [f"h{i}" for i in t], "dest": [f"s{j}" for j in k], "cost": ref[k, t]})
    demand_df = pd.DataFrame({"id": [f"h{i}" for i in range(len(pop))], "pop": pop})
    supply_df = pd.DataFrame({"id": [f"s{j}" for j in range(len(supply))], "beds": supply})
    acc = access.Access(
        demand_df=demand_df, demand_index="id", demand_value="pop", supply_df=supply_df, supply_index="id",
        supply_value="beds", cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost",
    )
    want = acc.two_stage_fca(name="fca", max_cost=220, weight_fn=decay)["fca_beds"]
    want = want.reindex(demand_df["id"]).fillna(0.0).to_numpy()
    homes = uc.two_step_fca(net, fac.assign(beds=supply), pl.assign(people=pop), 220,
                            supply_column="beds", demand_column="people", decay=decay)
    np.testing.assert_allclose(homes["supply_per_resident"], want, rtol=1e-9, atol=1e-15)


def test_two_step_fca_hand_worked():
    """Street 0..1000; clinics (2 doctors at x=0, 1 at x=1000); homes: 10 people at x=100, 30 at
    x=500, 20 at x=900; catchment 500 m. Clinic 0 reaches homes 0 and 1 (40 people): R = 2/40;
    clinic 1 reaches homes 1 and 2 (50 people): R = 1/50. A = [0.05, 0.05 + 0.02, 0.02]; and
    10 * 0.05 + 30 * 0.07 + 20 * 0.02 = 3 doctors."""
    net = uc.walk_network(lines_gdf(line((0, 0), (1000, 0))), filter=None)
    homes = uc.two_step_fca(net, points((0, 0), (1000, 0)).assign(d=[2, 1]),
                            points((100, 0), (500, 0), (900, 0)).assign(p=[10, 30, 20]), 500,
                            supply_column="d", demand_column="p")
    np.testing.assert_allclose(homes["supply_per_resident"], [0.05, 0.07, 0.02])


def test_two_step_fca_names_its_column_by_what_it_counts():
    """Without demand_column each place counts as one (not one resident): the same street, three
    places of one each; clinic 0 reaches places 0 and 1 (R = 2/2), clinic 1 places 1 and 2 (R = 1/2):
    A = [1, 1.5, 0.5] per place, in a column that says so."""
    net = uc.walk_network(lines_gdf(line((0, 0), (1000, 0))), filter=None)
    places = uc.two_step_fca(net, points((0, 0), (1000, 0)).assign(d=[2, 1]),
                             points((100, 0), (500, 0), (900, 0)), 500, supply_column="d")
    assert "supply_per_resident" not in places
    np.testing.assert_allclose(places["supply_per_place"], [1.0, 1.5, 0.5])


# -- properties on the Shenzhen sample -----------------------------------------------------------
@pytest.fixture(scope="module")
def sample(shenzhen_osm, shenzhen_net):
    f = shenzhen_osm.features
    stops = f[f["highway"] == "bus_stop"]
    homes = f[f["building"].notna()][["geometry"]].copy()
    homes["geometry"] = homes.geometry.representative_point()
    homes["residents"] = np.arange(len(homes)) % 7 + 1.0
    return shenzhen_net, stops, homes


def test_sample_k_nearest_first_is_network_distance(sample):
    net, stops, homes = sample
    out = uc.k_nearest(net, stops, homes, 3, cutoff=1500)
    d = uc.network_distance(net, stops, homes, cutoff=1500)
    np.testing.assert_allclose(out["nearest_1_m"], np.where(np.isinf(d), np.nan, d), atol=1e-6, rtol=0)
    k = out[["nearest_1_m", "nearest_2_m", "nearest_3_m"]].to_numpy()
    both = np.isfinite(k[:, 1:])
    assert (k[:, 1:][both] >= k[:, :-1][both]).all()
    assert both[:, 0].any()  # some homes have two stops within 1500 m


def test_sample_count_within_monotone_and_bounded(sample):
    net, stops, homes = sample
    ds = [200, 400, 800, 1600]
    out = uc.count_within(net, stops, homes, ds)
    c = out[[f"count_{d}m" for d in ds]].to_numpy()
    assert (np.diff(c, axis=1) >= 0).all() and (c <= len(stops)).all()
    # at least one facility within d  <=>  the nearest is within d
    d = uc.network_distance(net, stops, homes)
    for j, lim in enumerate(ds):
        np.testing.assert_array_equal(c[:, j] > 0, d <= lim)
    assert c[:, -1].sum() > c[:, 0].sum()  # the sample is not trivial


def test_sample_two_step_fca_conserves_supply(sample):
    net, stops, homes = sample
    homes_out, ratios = uc.two_step_fca(net, stops, homes, 800, demand_column="residents", return_ratio=True)
    served = ratios["catchment_demand"] > 0
    assert 0 < served.sum()
    total = (homes["residents"] * homes_out["supply_per_resident"]).sum()
    assert total == pytest.approx(float(served.sum()))


# -- service areas -------------------------------------------------------------------------------
def test_service_area_hand_worked_straight_street():
    """Street 0..1000 m; a stop 20 m off it at x=500. Within 300 m: 280 m either way along the street,
    [220, 780]; the polygon is that piece buffered by the width."""
    net = uc.walk_network(lines_gdf(line((0, 0), (1000, 0))), filter=None)
    stop = points((500, 20))
    iv = uc.reachable_intervals(net, stop, [300])
    assert len(iv) == 1
    assert (iv["start"].iloc[0], iv["end"].iloc[0]) == (pytest.approx(220.0), pytest.approx(780.0))
    sa = uc.service_areas(net, stop, [300, 10], width=10, speed_kmh=4.5)
    # the 10 m band is shorter than the access leg: no row for it
    assert list(sa["band_m"]) == [300.0] and list(sa["facility"]) == [0]
    assert sa["minutes"].iloc[0] == pytest.approx(4.0)  # 300 m at 75 m/min
    assert sa["length_m"].iloc[0] == pytest.approx(560.0)
    want = shapely.buffer(line((220, 0), (780, 0)), 10, quad_segs=uc.core.settings.service_area_quad_segs)
    assert shapely.symmetric_difference(sa.geometry.iloc[0], want).area < 1e-6 * want.area
    assert sa.crs == net.crs


def test_service_area_hand_worked_junction():
    """A T: bar (0,0)-(200,0)-(400,0), stem (200,0)-(200,300); a stop on the bar at x=100. Within
    250 m: the bar from 0 to 350 (100 back, 250 on), and 150 m up the stem: 500 m of street."""
    lines = [line((0, 0), (200, 0)), line((200, 0), (400, 0)), line((200, 0), (200, 300))]
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    sa = uc.service_areas(net, points((100, 0)), [250], width=5)
    assert sa["length_m"].iloc[0] == pytest.approx(500.0)
    want = shapely.buffer(shapely.MultiLineString([line((0, 0), (350, 0)), line((200, 0), (200, 150))]), 5,
                          quad_segs=uc.core.settings.service_area_quad_segs)
    assert shapely.symmetric_difference(sa.geometry.iloc[0], want).area < 1e-6 * want.area


def test_reachable_intervals_against_networkx_samples(city):
    """Every point sampled every 7 m along every edge is inside a facility's interval set for a band
    exactly when its networkx distance from the facility is within the band."""
    net, fac, _, _ = city
    bands = [60.0, 150.0, 260.0]
    iv = uc.reachable_intervals(net, fac, bands)
    # sample points on the edges (off the exact interval ends), as places on the network
    per_edge = [np.arange(0.5, L - 0.25, 7.0) for L in net.length]
    e = np.repeat(np.arange(net.n_edges), [len(x) for x in per_edge])
    t = np.concatenate(per_edge)
    sample = gpd.GeoSeries(shapely.line_interpolate_point(net.geometry[e], t), crs=net.crs)
    lines = list(net.geometry)
    for k in range(len(fac)):
        ref, _ = hand_reference(lines, fac.iloc[[k]], sample, touch=TOUCH, max_snap=None)
        for b in bands:
            sel = iv[(iv["facility"] == k) & (iv["band_m"] == b)]
            inside = np.zeros(len(t), dtype=bool)
            for row in sel.itertuples():  # test-side loop over a few intervals
                inside |= (e == row.edge) & (t >= row.start - 1e-9) & (t <= row.end + 1e-9)
            clear = np.abs(ref - b) > 1e-3  # not on the boundary of the band
            np.testing.assert_array_equal(inside[clear], (ref <= b)[clear], err_msg=f"facility {k}, band {b}")


def test_merged_service_areas_are_the_union_of_per_facility_ones(city):
    net, fac, _, _ = city
    bands = [80, 200]
    each = uc.service_areas(net, fac, bands, width=8)
    merged = uc.service_areas(net, fac, bands, width=8, merged=True)
    assert "facility" not in merged.columns and list(merged["band_m"]) == [80.0, 200.0]
    iv = uc.reachable_intervals(net, fac, bands)
    for b in bands:
        union = shapely.union_all(each.geometry[each["band_m"] == b].to_numpy())
        m = merged.geometry[merged["band_m"] == b].iloc[0]
        assert shapely.symmetric_difference(union, m).area < 1e-6 * m.area
        # street metres: the merged band is the union of the per-facility intervals
        sub = iv[iv["band_m"] == b]
        _, s, z = merge(sub["edge"].to_numpy(), sub["start"].to_numpy(), sub["end"].to_numpy())
        assert merged.loc[merged["band_m"] == b, "length_m"].iloc[0] == pytest.approx(float((z - s).sum()))


def test_service_areas_in_minutes_on_the_sample(sample):
    net, stops, _ = sample
    sa = uc.service_areas(net, stops, bands_min=[5, 10], speed_kmh=3.6)  # 60 m per minute
    assert sorted(sa["band_m"].unique()) == [300.0, 600.0]
    assert set(sa["minutes"]) == {5.0, 10.0}
    assert set(shapely.get_type_id(sa.geometry.values)) <= {3, 6}  # (Multi)Polygon only
    assert set(sa["facility"]) <= set(stops.index)
    # a stop's 10-minute area contains its 5-minute one (up to the buffers' polygonal round joins)
    wide = sa[sa["band_m"] == 600].set_index("facility").geometry
    for f, g in sa[sa["band_m"] == 300].set_index("facility").geometry.items():
        assert g.difference(wide[f]).area < 1e-3 * g.area
    # every number finite, so GeoDataFrame.explore(column=...) can classify them
    assert np.isfinite(sa[["band_m", "minutes", "length_m"]].to_numpy()).all()


# -- units and bad input -------------------------------------------------------------------------
def test_minutes():
    assert uc.minutes(500, 3.0) == pytest.approx(10.0)
    np.testing.assert_allclose(uc.minutes(np.array([300.0, np.inf]), 4.5), [4.0, np.inf])
    with pytest.raises(InputError, match="speed_kmh"):
        uc.minutes(100, 0)


def test_bad_inputs_are_named(city):
    net, fac, pl, _ = city
    with pytest.raises(InputError, match="k must be"):
        uc.k_nearest(net, fac, pl, 0)
    with pytest.raises(InputError, match="cutoff"):
        uc.k_nearest(net, fac, pl, 1, cutoff=-5)
    with pytest.raises(InputError, match="no column 'beds'"):
        uc.two_step_fca(net, fac, pl, 300, supply_column="beds")
    with pytest.raises(InputError, match=r"demand\['p'\]: 1 of 10 values"):
        uc.two_step_fca(net, fac, pl.assign(p=[1.0] * 9 + [-2.0]), 300, demand_column="p")
    with pytest.raises(InputError, match="decay"):
        uc.two_step_fca(net, fac, pl, 300, decay=lambda d: d)
    with pytest.raises(InputError, match="speed_kmh"):
        uc.service_areas(net, fac, bands_min=[5], speed_kmh=0)
    with pytest.raises(InputError, match="beta"):
        uc.gravity(net, fac, pl, beta=-1)
    with pytest.raises(InputError, match="places"):
        uc.count_within(net, fac, gpd.GeoDataFrame(geometry=[pt(0, 0)]), 100)  # no CRS
    with pytest.raises(InputError, match="places"):
        uc.count_within(net, fac, [(0, 0)], 100)


def test_no_facilities_gives_empty_results(city):
    net, _, pl, _ = city
    none = geoms()
    assert (uc.count_within(net, none, pl, 300)["count_300m"] == 0).all()
    assert np.isnan(uc.k_nearest(net, none, pl, 2)["nearest_2_m"]).all()
    sa = uc.service_areas(net, none, [300])
    assert len(sa) == 0 and sa.crs == net.crs


def test_results_do_not_depend_on_chunking(city, monkeypatch):
    """Facilities searched two at a time (three Dijkstra calls) give the same answers as all at once:
    k nearest kept across chunks, 2SFCA ratios complete per chunk."""
    from urbancover.engine import bounded

    net, fac, pl, ref = city
    monkeypatch.setattr(bounded, "CHUNK_MAX", 2)
    got = uc.k_nearest(net, fac, pl, 3)[["nearest_1_m", "nearest_2_m", "nearest_3_m"]].to_numpy()
    want = np.sort(ref, axis=0)[:3].T
    np.testing.assert_allclose(got, np.where(np.isinf(want), np.nan, want), atol=TOL, rtol=0)
    pop = np.arange(1.0, 11.0)
    homes = uc.two_step_fca(net, fac, pl.assign(p=pop), 220, demand_column="p")
    np.testing.assert_allclose(homes["supply_per_resident"], two_sfca_reference(ref, np.ones(6), pop, 220)[0], rtol=1e-9)


# -- minutes from the rule set's walking table (issue 23.2) ----------------------------------------
def test_service_areas_in_minutes_need_no_speed():
    """5, 10, 15 minutes are the preset's 300, 500, 1000 m (not 333/667/1000 m at 4 km/h): a stop
    20 m off a 3000 m street at x = 1500 reaches 280, 480 and 980 m either way."""
    net = uc.walk_network(lines_gdf(line((0, 0), (3000, 0))), filter=None)
    sa = uc.service_areas(net, points((1500, 20)), bands_min=[5, 10, 15], width=5)
    assert list(sa["band_m"]) == [300.0, 500.0, 1000.0] and list(sa["minutes"]) == [5.0, 10.0, 15.0]
    np.testing.assert_allclose(sa["length_m"], [560, 960, 1960], atol=1e-6)
    # 7.5 minutes lies between the rows: 400 m (piecewise-linear); a speed given: at that speed
    assert uc.service_areas(net, points((1500, 20)), bands_min=[7.5])["band_m"].tolist() == [400.0]
    assert uc.service_areas(net, points((1500, 20)), bands_min=[4], speed_kmh=4.5)["band_m"].tolist() == [300.0]


def test_k_nearest_names_facilities_by_id_and_gives_minutes(city):
    """The facilities' ``osmid`` and ``name`` (not their index labels); minutes from the walking
    table: 70 m (place 0 from facility 0, worked in test_reference_matrix_agrees_with_hand_values)
    is 70 / 300 x 5 minutes."""
    net, fac, pl, ref = city
    fac = fac.set_index(pd.Index([f"i{k}" for k in range(len(fac))])).assign(
        osmid=np.arange(100, 100 + len(fac)), name=[f"stop {k}" for k in range(len(fac))])
    out = uc.k_nearest(net, fac, pl, 2)
    assert out["nearest_1_m"][0] == pytest.approx(70.0)
    assert out["nearest_1_facility"][0] == 100 and out["nearest_1_name"][0] == "stop 0"
    assert out["nearest_1_min"][0] == pytest.approx(70 / 300 * 5)
    has = out["nearest_1_m"].notna().to_numpy()
    best = np.argmin(np.where(np.isfinite(ref), ref, np.inf), axis=0)
    ids = out["nearest_1_facility"].to_numpy()[has].astype(int)
    np.testing.assert_allclose(ref[ids - 100, np.flatnonzero(has)], ref[best[has], np.flatnonzero(has)], atol=TOL)
    assert out["nearest_1_facility"][~has].isna().all() and out["nearest_1_min"][~has].isna().all()
    by_label = uc.k_nearest(net, fac, pl, 1, id_column="name")
    assert by_label["nearest_1_facility"][0] == "stop 0"
    with pytest.raises(InputError, match=r"id_column 'ref' is not a column of facilities; it has \["):
        uc.k_nearest(net, fac, pl, 1, id_column="ref")
