"""The functions that evaluate each rule kind, registered where they are written.

A rule kind is data in :data:`urbancover.plan.rules.KINDS` (its rule-file keys and flags: what a
rule file may say, checked when it is read); the function that evaluates it lives in the
evaluation layer and registers itself here with :func:`rule_kind`::

    @rule_kind("density")
    def density_rule(rule: Rule, ctx: Context) -> RuleResult: ...

so the dependency of an evaluation on its kinds is an import (``urbancover.evaluation.gaps``,
``urbancover.evaluation.indicators``), seen by the import graph, not a string resolved at run time.
"""

from __future__ import annotations

from collections.abc import Callable

from urbancover.plan.rules import KINDS, Rule

#: kind name -> ``(rule, ctx) -> RuleResult``; filled by :func:`rule_kind` as the kinds' modules load.
_REGISTRY: dict[str, Callable] = {}


def rule_kind(*names: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as the evaluator of the rule kinds ``names``.

    Raises
    ------
    ValueError
        A name that is not a kind of :data:`urbancover.plan.rules.KINDS`, or a kind registered twice.
    """

    def register(fn: Callable) -> Callable:
        for name in names:
            if name not in KINDS:
                raise ValueError(f"rule_kind: {name!r} is not a rule kind of urbancover.plan.rules.KINDS "
                                 f"({sorted(KINDS)}); add its entry there first.")
            if name in _REGISTRY and _REGISTRY[name] is not fn:
                raise ValueError(f"rule_kind: {name!r} is already evaluated by {_REGISTRY[name].__qualname__}.")
            _REGISTRY[name] = fn
        return fn

    return register


def evaluator(rule: Rule) -> Callable:
    """The function that evaluates ``rule``, ``(rule, ctx) -> RuleResult``.

    Raises
    ------
    LookupError
        Its kind has no registered function (a kind added to ``KINDS`` without one): a bug.
    """
    try:
        return _REGISTRY[rule.kind]
    except KeyError:
        raise LookupError(f"rule kind {rule.kind!r} has no evaluating function: register one with "
                          "@urbancover.evaluation.kinds.rule_kind.") from None


def registered() -> dict[str, Callable]:
    """Every registered kind and its function (a copy)."""
    return dict(_REGISTRY)
