"""urbancover.core.tiles.union_by_tiles worked through in blocks: the same union as one shapely union,
whatever the blocks, with polygons grown inside it or before it."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.affinity

from urbancover.core import tiles
from urbancover.core.settings import Settings
from urbancover.core.tiles import union_by_tiles


def _field(seed=3):
    """Random discs over 600 m x 500 m, boxes, a long bar across every tile row and column's edge,
    and a ring; a clip that cuts some off."""
    rng = np.random.default_rng(seed)
    polys = list(shapely.buffer(shapely.points(rng.uniform(0, 600, 150), rng.uniform(0, 500, 150)),
                                rng.uniform(2, 45, 150), quad_segs=5))
    polys += [shapely.box(x, y, x + w, y + h) for x, y, w, h in rng.uniform([0, 0, 5, 5], [600, 500, 80, 50], (20, 4))]
    polys.append(shapely.Polygon([(-20, 10), (610, 480), (600, 495), (-30, 25)]))  # a diagonal bar over the whole field
    polys.append(shapely.Point(300, 250).buffer(200).difference(shapely.Point(300, 250).buffer(170)))
    clip = shapely.Polygon([(30, -20), (640, 60), (560, 520), (-10, 430)])
    return np.array(polys, dtype=object), clip


def _blocks_used(monkeypatch):
    """Counts the blocks union_by_tiles works through (wraps its per-block step)."""
    calls = []
    inner = tiles._union_block

    def counted(*a, **kw):
        calls.append(1)
        return inner(*a, **kw)

    monkeypatch.setattr(tiles, "_union_block", counted)
    return calls


def _no_shared_area(pieces):
    a, b = shapely.STRtree(pieces).query(pieces, predicate="overlaps")
    return shapely.area(shapely.intersection(pieces[a], pieces[b])).sum()


def _same_pieces(a, b) -> bool:
    wa, wb = (np.sort(shapely.to_wkb(shapely.normalize(p))) for p in (a, b))
    return len(wa) == len(wb) and bool(np.all(wa == wb))


@pytest.mark.parametrize("block_pairs", [1, 9, 60])
def test_a_union_in_blocks_is_one_shapely_union(block_pairs, monkeypatch):
    """Tiles of 40 m over the field, in many blocks (1 pair: each tile alone): the pieces cover
    exactly one shapely union cut to the clip (area, and symmetric difference ~0), no two share
    area, and they are the very pieces of the same union done in one block."""
    polys, clip = _field()
    blocks = _blocks_used(monkeypatch)
    pieces = union_by_tiles(polys, 40.0, clip, block_pairs=block_pairs)
    assert len(blocks) > 5
    whole = shapely.intersection(shapely.union_all(polys), clip)
    assert shapely.area(pieces).sum() == pytest.approx(whole.area, rel=1e-9)
    assert shapely.symmetric_difference(shapely.union_all(pieces), whole).area == pytest.approx(0, abs=whole.area * 1e-9)
    assert _no_shared_area(pieces) == pytest.approx(0, abs=1e-6)
    blocks.clear()
    one = union_by_tiles(polys, 40.0, clip, block_pairs=10**9, settings=Settings(threads=1))
    assert len(blocks) == 1
    assert _same_pieces(pieces, one)


def test_polygons_grown_in_blocks_are_the_union_of_the_grown_polygons(monkeypatch):
    """Buildings as rotated squares, half grown by 12 m (each grown once per block it meets), with
    landuse taken as it is: the same union as shapely's of the polygons grown beforehand, and the
    same pieces as union_by_tiles of those grown polygons (the tiles start at the same corner:
    a rotated square's buffer does not reach its bounds plus the distance)."""
    rng = np.random.default_rng(8)
    c = rng.uniform(0, 700, (300, 2))
    sq = shapely.box(-6, -6, 6, 6)
    polys = np.array([shapely.affinity.translate(shapely.affinity.rotate(sq, a), x, y) for (x, y), a in
                      zip(c, rng.uniform(0, 90, 300))], dtype=object)
    grow = np.where(np.arange(300) % 2 == 0, 12.0, 0.0)
    blocks = _blocks_used(monkeypatch)
    pieces = union_by_tiles(polys, 50.0, grow=grow, block_pairs=25)
    assert len(blocks) > 5
    grown = polys.copy()
    grown[grow > 0] = shapely.buffer(polys[grow > 0], 12.0, quad_segs=4)
    whole = shapely.union_all(grown)
    assert shapely.area(pieces).sum() == pytest.approx(whole.area, rel=1e-9)
    assert shapely.symmetric_difference(shapely.union_all(pieces), whole).area == pytest.approx(0, abs=whole.area * 1e-9)
    assert _no_shared_area(pieces) == pytest.approx(0, abs=1e-6)
    assert _same_pieces(pieces, union_by_tiles(grown, 50.0))


def test_invalid_polygons_are_repaired_and_bad_distances_refused():
    """A bow-tie (two triangles of 1 m² each, crossing at (1, 1)) counts as its two triangles,
    as shapely.make_valid reads it; a negative or NaN distance is refused, naming the argument."""
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    assert not bowtie.is_valid
    pieces = union_by_tiles([bowtie, None, shapely.Polygon()], 0.7)
    assert shapely.area(pieces).sum() == pytest.approx(2.0, rel=1e-12)
    grown = union_by_tiles([shapely.box(0, 0, 4, 4)], 3.0, grow=[1.0], quad_segs=8)
    assert shapely.area(grown).sum() == pytest.approx(16 + 16 + shapely.Point(0, 0).buffer(1, quad_segs=8).area, rel=1e-12)
    for bad in (-1.0, np.nan):
        with pytest.raises(ValueError, match="grow"):
            union_by_tiles([shapely.box(0, 0, 1, 1)], 1.0, grow=bad)
    assert len(union_by_tiles([None], 1.0)) == 0


def test_blocks_on_several_threads_give_the_same_pieces_in_the_same_order(monkeypatch):
    """settings.threads=3: the blocks run on three threads at once (seen from inside the block
    step), and the pieces are those of one thread, byte for byte and in the same order."""
    import threading
    import time

    polys, clip = _field()
    seen = set()
    inner = tiles._union_block

    def watched(*a, **kw):
        seen.add(threading.get_ident())
        time.sleep(0.002)  # (a block never so quick that one thread takes them all)
        return inner(*a, **kw)

    monkeypatch.setattr(tiles, "_union_block", watched)
    one = union_by_tiles(polys, 40.0, clip, block_pairs=9, settings=Settings(threads=1))
    assert len(seen) == 1
    seen.clear()
    three = union_by_tiles(polys, 40.0, clip, block_pairs=9, settings=Settings(threads=3))
    assert len(seen) > 1
    assert len(one) == len(three)
    assert bool(np.all(shapely.to_wkb(one) == shapely.to_wkb(three)))


def test_a_union_of_one_default_block_is_shared_among_threads(monkeypatch):
    """A town's union (fewer pairs than one default block) on two threads: split into blocks of at
    least 500 pairs, a quarter of a thread's share each, so both threads work; the same pieces in
    the same order as one block on one thread."""
    polys, clip = _field()
    polys = np.concatenate([polys] * 12)  # ~2 000 (polygon, tile) pairs on 40 m tiles
    blocks = _blocks_used(monkeypatch)
    one = union_by_tiles(polys, 40.0, clip, settings=Settings(threads=1))
    assert len(blocks) == 1
    blocks.clear()
    two = union_by_tiles(polys, 40.0, clip, settings=Settings(threads=2))
    assert 2 <= len(blocks) <= 8
    assert bool(np.all(shapely.to_wkb(one) == shapely.to_wkb(two)))


def test_no_thread_of_a_union_touches_the_warning_filters(monkeypatch):
    """Invalid polygons (a bow tie) and grown ones on three threads: no block enters
    warnings.catch_warnings (shapely.is_valid does; two threads saving and restoring the filters at
    once left them "ignore" and a run lost its later notes), and a warning after the union is
    still recorded."""
    import threading
    import warnings

    polys, clip = _field()
    bow = shapely.Polygon([(100, 100), (160, 160), (160, 100), (100, 160)])  # self-crossing: repaired
    polys = np.concatenate([polys, [bow] * 5])
    entered = []
    enter = warnings.catch_warnings.__enter__

    def spy(self):
        entered.append(threading.get_ident())
        return enter(self)

    monkeypatch.setattr(warnings.catch_warnings, "__enter__", spy)
    main = threading.get_ident()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        pieces = union_by_tiles(polys, 40.0, clip, grow=np.where(np.arange(len(polys)) % 3 == 0, 2.0, 0.0),
                                block_pairs=9, settings=Settings(threads=3))
        warnings.warn("after the union", UserWarning)
    assert set(entered) == {main}
    assert [str(w.message) for w in seen if str(w.message) == "after the union"] == ["after the union"]
    assert len(pieces) and shapely.is_valid(pieces).all()
