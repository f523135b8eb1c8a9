"""Progress bars that show where the user looks: a widget in Jupyter, text on a terminal, nothing
in a log file.

>>> from urbancover.core.progress import progress_bar
>>> bar = progress_bar(total=3, desc="steps")
>>> bar.update(3); bar.close()
"""

from __future__ import annotations

import sys
import time

__all__ = ["compiling", "in_notebook", "log_line", "progress_bar"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (notebook, JupyterLab, VS Code, ``nbconvert --execute``)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # pragma: no cover - a broken IPython
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_bar(**kwargs):
    """A ``tqdm.auto`` bar: a widget in Jupyter (text when ipywidgets is missing), text on a
    terminal, and disabled when the output is neither (a log file, a pipe), unless ``disable`` is
    given. Keyword arguments go to tqdm.
    """
    import warnings

    with warnings.catch_warnings():
        # tqdm.auto says once that it uses the notebook bar, or that ipywidgets is missing: the
        # bar shows either way
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    if "disable" not in kwargs:
        # tqdm's disable=None means "only on a terminal"; a kernel's output is no terminal but is seen
        kwargs["disable"] = False if in_notebook() else None
    return tqdm(**kwargs)


def log_line(label: str, message: str) -> None:
    """One progress line on stderr, for a log file or a batch worker: ``urbancover: 14:02:07 <label>: <message>``
    (no ``<label>:`` when ``label`` is empty).
    """
    prefix = f"{label}: " if label else ""
    print(f"urbancover: {time.strftime('%H:%M:%S')} {prefix}{message}", file=sys.stderr, flush=True)


def compiling(message: str = "compiling numba kernels (first run on this machine only, a few seconds)...") -> None:
    """The line shown when urbancover's numba kernels compile: once per process, on the first
    compile, which happens only on a fresh install (or after numba or urbancover changed); later
    runs load them from numba's on-disk cache. Called by :mod:`urbancover.core.compiled` (replace
    or silence it there with :func:`~urbancover.core.compiled.set_compile_notice`). Plain English:
    core sits below :mod:`urbancover.present.words`, so a front end in another language passes its own.
    """
    log_line("", message)
