"""The typed words of a result: :class:`Verdict` (pass, fail, undetermined, list) and :class:`Note`
(a code and its parameters, said in either language by the catalogue, :mod:`urbancover.present.words`).

A note is a ``str`` (its English sentence), so ``report.notes`` stays a list of sentences for
people and files, while every output renders it in its own language with :meth:`Note.text`:

>>> n = Note("area.user", km2=1.234)
>>> n, n.text("zh"), n.code
('analysed area: 1.23 km² given by the user.', '分析范围：用户给定，1.23 平方公里。', 'area.user')
>>> say("a plain note written elsewhere", "zh")  # a plain string is said as it is
'a plain note written elsewhere'
"""

from __future__ import annotations

import enum

__all__ = ["Note", "Verdict", "say"]


class Verdict(enum.StrEnum):
    """The verdict of a rule, set once by its kind: ``pass``, ``fail``, ``undetermined`` (nothing to
    measure: the row's ``reason`` says why; never a pass) or ``list`` (a list kind: candidates, no verdict).
    """

    PASS = "pass"
    FAIL = "fail"
    UNDETERMINED = "undetermined"
    LIST = "list"

    @classmethod
    def of(cls, passed: bool) -> Verdict:
        """PASS or FAIL for a comparison's outcome."""
        return cls.PASS if bool(passed) else cls.FAIL

    @property
    def passed(self) -> bool | None:
        """True, False, or None (undetermined or a list): the summary's ``passed`` column."""
        return {"pass": True, "fail": False}.get(self.value)

    def __str__(self) -> str:
        return self.value


class Note(str):
    """A note or a reason: a ``code`` of the catalogue and its ``params``; its ``str`` is the
    English sentence, :meth:`text` says it in ``"zh"`` or ``"en"``.

    ``Note.plain(text)`` wraps a sentence written elsewhere (no code in the catalogue): said as it
    is in every language.
    """

    code: str
    params: dict

    def __new__(cls, code: str, params: dict | None = None, /, **kw):
        """The note ``code`` with ``params`` (a dict, or keywords)."""
        from urbancover.present.words import render

        params = {**(params or {}), **kw}
        self = super().__new__(cls, render(code, params, "en"))
        self.code = code
        self.params = params
        return self

    @classmethod
    def plain(cls, text: str) -> Note:
        """A sentence without a code (said as it is in every language)."""
        return text if isinstance(text, Note) else cls("plain", text=str(text))

    def text(self, lang: str = "en") -> str:
        """The note in ``lang`` (``"zh"`` or ``"en"``)."""
        from urbancover.present.words import render

        return str(self) if lang == "en" else render(self.code, self.params, lang)

    def __reduce__(self):
        return (_note, (self.code, self.params))

    def __repr__(self) -> str:
        return str.__repr__(self)


def _note(code: str, params: dict) -> Note:
    return Note(code, params)


def say(note, lang: str = "en") -> str:
    """A note in ``lang``: a :class:`Note` by the catalogue, a plain string as it is, None as ``""``."""
    if note is None or (isinstance(note, float) and note != note):
        return ""
    if isinstance(note, Note):
        return note.text(lang)
    return str(note)
