"""How results are said: the typed words of a result (:class:`Verdict`, :class:`Note`), the
catalogue of words in Chinese and English (:mod:`~urbancover.present.words`) and one formatter per
kind of number (:mod:`~urbancover.present.formats`).

This package sits low in the layer order (it imports only :mod:`urbancover.core.errors`): the
evaluation creates notes and verdicts with it, and every output says them with it.
"""

from urbancover.present.formats import LANGS, check_lang
from urbancover.present.notes import Note, Verdict, say

__all__ = ["LANGS", "Note", "Verdict", "check_lang", "say"]
