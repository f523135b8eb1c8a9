"""Progress bars that show where the user looks: a widget in Jupyter, text on a terminal, nothing
in a log file.

>>> from urbancover.core.progress import progress_bar
>>> bar = progress_bar(total=3, desc="steps")
>>> bar.update(3); bar.close()

Work deep in the library says where it is with :func:`tell` (and :func:`compiling` before numba
compiles): a no-op unless a display is open, a :class:`Steps` (``evaluate(progress=True)``, the
command line while it writes files), which shows the message on its bar or as a line on stderr.
"""

from __future__ import annotations

import contextvars
import sys
import time
from collections.abc import Callable

__all__ = ["Steps", "compiling", "in_notebook", "log_line", "progress_bar", "tell"]

#: The display open in this thread (or task) that :func:`tell` reports to, if any.
_DISPLAY: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar("urbancover_display", default=None)


def tell(message: str) -> None:
    """Report a step of the work in progress (``"layer homes_unserved"``) to the open display
    (:class:`Steps`): its bar's postfix on a terminal or in Jupyter, a line on stderr in a log. Does
    nothing when no display is open (a library call without ``progress``, ``-q``).
    """
    show = _DISPLAY.get()
    if show is not None:
        show(message)


def compiling(what: str = "the network kernels") -> None:
    """Tell the user that numba compiles ``what`` now, so the pause that follows is explained.

    For the compiled kernels to call just before a call that compiles (their first use after an
    install or a cleared cache: seconds, then cached on disk). Shown as :func:`tell` shows any step,
    so only while a display is open; each ``what`` once per process.
    """
    if what in _COMPILED or _DISPLAY.get() is None:
        return
    _COMPILED.add(what)
    tell(f"compiling {what} (first run only; cached afterwards)")


_COMPILED: set[str] = set()


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


class Steps:
    """A display of named steps: a tqdm bar on a terminal or in Jupyter; off a terminal (a log file,
    a batch worker) one line per step on stderr, so a long run shows where it is; or nothing
    (``show`` False). While open, what the library :func:`tell` s appears as a detail of the
    current step. ``total`` may be None (a count of steps without an end).
    """

    def __init__(self, total: int | None, show: bool, label: str = "", *, unit: str = "step"):
        self.bar = None
        self.lines = show and not in_notebook() and not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
        self.total, self.done, self.label, self.name = total, 0, label, ""
        if show and not self.lines:
            self.bar = progress_bar(total=total, unit=unit, leave=False)  # a terminal or a notebook
        self.started = False
        self._token = _DISPLAY.set(self.detail) if show else None

    def step(self, name: str) -> None:
        """Start the step ``name`` (the previous one is done)."""
        self.name = name
        if self.lines:
            self.done += 1
            log_line(self.label, f"step {self.done}/{self.total} {name}" if self.total else name)
        if self.bar is not None:
            if self.started:
                self.bar.update(1)
            self.started = True
            self.bar.set_description(name)

    def detail(self, message: str) -> None:
        """A step inside the current one (a rule's facilities, places, streets; a layer of a file)."""
        if self.lines:
            where = f"step {self.done}/{self.total} {self.name}" if self.total else self.name
            log_line(self.label, f"{where}: {message}" if where else message)
        if self.bar is not None:
            self.bar.set_postfix_str(message, refresh=True)

    def close(self) -> None:
        """The last step is done: the bar goes (tell() reports to the display open before)."""
        if self._token is not None:
            try:
                _DISPLAY.reset(self._token)
            except ValueError:  # closed in another context than opened: forget it there
                _DISPLAY.set(None)
            self._token = None
        if self.bar is not None:
            self.bar.update(1)
            self.bar.close()
            self.bar = None
