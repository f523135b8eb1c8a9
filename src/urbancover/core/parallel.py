"""Work that GEOS does without the GIL, spread over threads.

shapely 2 releases the GIL inside its vectorised operations, so independent blocks of GEOS work
(the tiles of a union) run on several cores at once from plain threads: no process, no copy of the
geometries, the same result as one block after another. :data:`settings.threads` says how many.

>>> thread_map(lambda x: x * x, [1, 2, 3])
[1, 4, 9]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from urbancover.core.settings import Settings, resolve

__all__ = ["thread_count", "thread_map", "threaded"]


def thread_count(settings: Settings | None = None) -> int:
    """Threads to use: :data:`settings.threads`, or (0) the cores this process may use."""
    n = resolve(settings).threads
    if n:
        return int(n)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def thread_map(fn: Callable, items: Iterable, settings: Settings | None = None) -> list:
    """``[fn(item) for item in items]``, the calls spread over :func:`thread_count` threads; the
    results in the items' order, whichever finishes first. One thread (or one item): a plain loop.

    ``fn`` must be safe to run on several items at once: it must not change what the items share
    (shapely's reading operations are; :func:`shapely.prepare` on a shared geometry is not), nor
    enter ``warnings.catch_warnings`` (the process's warning filters, saved and restored by two
    threads at once, can stay "ignore" for good): :func:`shapely.is_valid` and
    :func:`shapely.total_bounds` do, so call them before.
    An exception in any call is raised here, after the calls already running have ended.
    """
    items = list(items)
    n = min(thread_count(settings), len(items))
    if n <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="urbancover") as pool:
        return list(pool.map(fn, items))


#: Fewest elements per thread for :func:`threaded` to split a call (below it a thread costs more
#: than it saves).
MIN_PER_THREAD = 2048


def threaded(fn: Callable, *arrays, settings: Settings | None = None) -> np.ndarray:
    """``fn(*arrays)`` for a function that works element by element (shapely's vectorised binary
    operations: ``shapely.intersection(a, b)``), on slices of the arrays on :func:`thread_count`
    threads, put together in order: the same array as one call. Short arrays: one call.

    >>> import shapely
    >>> a = shapely.points(np.arange(5000.0), 0.0)
    >>> bool((shapely.to_wkb(threaded(shapely.buffer, a, np.full(5000, 1.0))) == shapely.to_wkb(shapely.buffer(a, 1.0))).all())
    True
    """
    n = len(arrays[0])
    k = min(thread_count(settings), n // MIN_PER_THREAD)
    if k <= 1:
        return fn(*arrays)
    cuts = np.linspace(0, n, k + 1).astype(np.int64)
    parts = thread_map(lambda ab: fn(*(a[ab[0]:ab[1]] for a in arrays)), zip(cuts[:-1], cuts[1:]), settings)
    return np.concatenate(parts)
