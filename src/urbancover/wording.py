"""Words of the command line's table and the HTML report: kept for code that imports them from
here; the catalogue is :mod:`urbancover.present.words`, the formatters :mod:`urbancover.present.formats`.
"""

from __future__ import annotations

from urbancover.present import Note, say
from urbancover.present.formats import LANGS, check_lang, share, value
from urbancover.present.words import HEADERS, VERDICTS, target_text

__all__ = ["HEADERS", "LANGS", "VERDICTS", "check_lang", "fmt_share", "fmt_value", "note_text", "reason_text", "target_text"]

fmt_share = share
fmt_value = value


def note_text(note, lang: str = "en") -> str:
    """A note of the evaluation in ``lang`` (see :meth:`urbancover.present.Note.text`)."""
    return say(note, lang)


def reason_text(reason, lang: str = "en") -> str:
    """Why a rule is undetermined, in ``lang``."""
    return say(reason, lang) if isinstance(reason, (str, Note)) else ""
