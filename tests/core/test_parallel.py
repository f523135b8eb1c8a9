"""urbancover.core.parallel: thread_map runs calls at once and keeps the items' order."""

from __future__ import annotations

import threading
import time

import pytest

from urbancover.core.parallel import thread_count, thread_map
from urbancover.core.settings import Settings


def test_calls_run_at_once_and_results_keep_the_items_order():
    """Two threads: both calls must be inside fn together to pass the barrier (one thread would
    time out), and the first item, which finishes last, still comes first."""
    barrier = threading.Barrier(2, timeout=10)

    def fn(item):
        barrier.wait()
        time.sleep(0.05 if item == "a" else 0.0)
        return item.upper()

    assert thread_map(fn, ["a", "b"], Settings(threads=2)) == ["A", "B"]


def test_one_thread_is_a_plain_loop_and_errors_reach_the_caller():
    idents = set()
    assert thread_map(lambda x: idents.add(threading.get_ident()) or -x, range(4), Settings(threads=1)) == [0, -1, -2, -3]
    assert idents == {threading.get_ident()}
    with pytest.raises(ZeroDivisionError):
        thread_map(lambda x: 1 / x, [1, 0, 2], Settings(threads=2))


def test_zero_threads_is_every_core_this_process_may_use():
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert thread_count(Settings(threads=0)) == cores
    assert thread_count(Settings(threads=5)) == 5


def test_threaded_is_one_call_in_slices():
    """shapely.intersection of 9,000 pairs on three threads: the very geometries of one call, in
    order; a short array is one call (seen by counting the calls)."""
    import numpy as np
    import shapely

    from urbancover.core.parallel import threaded

    rng = np.random.default_rng(2)
    a = shapely.buffer(shapely.points(rng.uniform(0, 100, (9000, 2))), 3.0)
    b = shapely.buffer(shapely.points(rng.uniform(0, 100, (9000, 2))), 4.0)
    calls = []

    def inter(x, y):
        calls.append(len(x))
        return shapely.intersection(x, y)

    got = threaded(inter, a, b, settings=Settings(threads=3))
    assert calls == [3000, 3000, 3000]
    assert np.array_equal(shapely.to_wkb(got), shapely.to_wkb(shapely.intersection(a, b)))
    calls.clear()
    threaded(inter, a[:100], b[:100], settings=Settings(threads=3))
    assert calls == [100]
