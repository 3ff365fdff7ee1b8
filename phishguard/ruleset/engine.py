"""Run compiled rules over a message or a link and turn hits into findings.

Messages are templates with ``{name}`` placeholders filled from the hit: ``{evidence}`` always,
plus the matcher's variables (a variable may hold both languages: ``{"ru": …, "en": …}``). Only
plain names are substituted (no attribute access), so a template cannot reach into objects.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

from ..verdict import Finding
from .loader import CompiledRule, RuleSet
from .matchers import (
    GATE_BATCHES,
    GATE_KEYS,
    GATE_PLANS,
    GATES,
    FindingsView,
    Hit,
    LinkView,
    MessageView,
    PageView,
)

__all__ = ["render_message", "run_text_rules", "run_link_rules", "run_message_rules", "run_page_rules", "findings_for"]

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
LANGS = ("ru", "en")
log = logging.getLogger("phishguard.rules")


def render_message(template: str, lang: str, values: dict) -> str:
    """Fill ``{name}`` placeholders; unknown names stay as written.

    >>> render_message("Это не {brand}: {detail}", "ru", {"brand": "avito.ru", "detail": {"ru": "буква", "en": "letter"}})
    'Это не avito.ru: буква'
    """
    if "{" not in template:  # most messages are static: no placeholder to fill
        return template

    def sub(m: re.Match[str]) -> str:
        v = values.get(m.group(1))
        if v is None:
            return m.group(0)
        if isinstance(v, dict):
            return str(v.get(lang) or v.get("en") or "")
        return str(v)

    return _PLACEHOLDER.sub(sub, template)


def _finding(rule: CompiledRule, hit: Hit) -> Finding:
    values = {"evidence": hit.evidence, **hit.vars} if hit.vars else {"evidence": hit.evidence}
    msgs = rule.doc.messages
    return Finding(
        rule=rule.id,
        category=rule.doc.category,
        severity=rule.doc.severity,
        weight=max(0.0, min(1.0, rule.weight * hit.strength)),
        evidence=hit.evidence,
        message={"en": render_message(msgs.en, "en", values), "ru": render_message(msgs.ru, "ru", values)},
        floor=rule.floor,
        brand=hit.brand,
    )


def findings_for(
    rules: Iterable[CompiledRule],
    view: MessageView | LinkView | FindingsView | PageView,
    failed: list[str] | None = None,
) -> list[Finding]:
    """All findings of ``rules`` on one view, one per rule (its strongest hit).

    With ``failed`` given, a rule that raises is recorded there (and logged) instead of failing
    the scan; without it (``rules check``, tests) the error propagates to the rule's author.
    """
    out: list[Finding] = []
    for rule in rules:
        best: Hit | None = None
        try:
            for hit in rule.fn(view):
                if best is None or hit.strength > best.strength:
                    best = hit
        except Exception:
            if failed is None:
                raise
            log.exception("rule %s failed (%s); the verdict is degraded", rule.id, rule.source)
            failed.append(rule.id)
            continue
        if best is not None:
            out.append(_finding(rule, best))
    return out


FAILED_RULE_ID = "degraded.rule-failed"


def _failure_finding(ruleset: RuleSet, failed: list[str]) -> Finding:
    ids = ", ".join(failed)
    try:
        rule = ruleset.get(FAILED_RULE_ID)
    except KeyError:
        return Finding(
            rule=FAILED_RULE_ID,
            category="degraded",
            severity="info",
            weight=0.0,
            evidence=ids,
            message={"ru": f"Не все проверки выполнены: ошибка в правилах {ids}.", "en": f"Not every check ran: rules {ids} failed."},
        )
    return _finding(rule, Hit(evidence=ids, vars={"detail": ids}))


#: Per rule set (by its ``text_gates``): the gate names, what :func:`_gated` answered for each
#: combination of gate keys, and the functions giving the keys (``GATE_KEYS``, else ``GATES``).
_GATE_MEMOS: dict[int, tuple[tuple, tuple[str, ...], dict[Any, tuple], tuple[Callable, ...]]] = {}
GATE_MEMO_SIZE = 4096  # combinations remembered per rule set; the memo starts afresh when full


def _gate_names(gates: tuple) -> tuple[str, ...]:
    """The gates the rules of ``gates`` (rule, gate name, anchors) name, each once, in order."""
    return tuple(dict.fromkeys(g for _, g, _ in gates if g is not None))


def _gated(ruleset: RuleSet, msg: MessageView) -> tuple[tuple[CompiledRule, Callable | None, tuple | None, Any], ...]:
    """The text rules whose keyword gate lets this message through (see ``matchers.GATES``), each with
    its fast path (:func:`_plan`).

    The answer depends only on the gates' keys, and messages repeat key combinations (most hold none of
    the anchor words), so it is memoised per rule set on the keys (``GATE_KEYS``' stand-ins: one int
    for ``near``; the key sets themselves are computed only on a miss).
    """
    gates = ruleset.text_gates
    entry = _GATE_MEMOS.get(id(gates))
    if entry is None or entry[0] is not gates:
        names = _gate_names(gates)
        entry = _GATE_MEMOS[id(gates)] = (gates, names, {}, tuple(GATE_KEYS.get(n) or GATES[n] for n in names))
        if len(_GATE_MEMOS) > 8:  # rule sets come and go in tests; keep the live few
            _GATE_MEMOS.clear()
            _GATE_MEMOS[id(gates)] = entry
    _, names, memo, key_fns = entry
    keys = key_fns[0](msg) if len(key_fns) == 1 else tuple(fn(msg) for fn in key_fns)
    rules = memo.get(keys)
    if rules is None:
        if len(memo) >= GATE_MEMO_SIZE:
            memo.clear()
        rules = memo[keys] = _plan(gates, {name: GATES[name](msg) for name in names})
    return rules


def _gate(gates: tuple, keys: dict[str, frozenset]) -> tuple[CompiledRule, ...]:
    """The rules of ``gates`` (rule, gate name, anchors) let through by the gate ``keys``: a gated rule
    needs every anchor to meet its gate's keys."""
    out = []
    for rule, gate, anchors in gates:
        if gate is not None:
            have = keys[gate]
            for a in anchors:
                if a.isdisjoint(have):
                    break
            else:
                out.append(rule)
            continue
        out.append(rule)
    return tuple(out)


_FIXED: dict[int, tuple] = {}  # id(rule) -> (rule, its finding's fixed fields, or False: placeholders)


def _plan(gates: tuple, keys: dict[str, frozenset]) -> tuple[tuple[CompiledRule, Callable | None, tuple | None, Any], ...]:
    """The rules let through by the gate ``keys`` (:func:`_gate`), each as ``(rule, evidence, fixed,
    prepared)``.

    A gated matcher may refine the gate: ``fn.prepare(keys)`` returns None when no message with these
    keys can match (the rule is dropped), else a value for ``fn.evidence(msg, prepared)`` (str or None:
    the evidence of its one hit). For such a rule whose messages have no placeholders, ``evidence`` is
    that function and ``fixed`` the finding's other fields (``Finding`` positional order, evidence and
    message left out), so :func:`run_text_rules` builds the finding directly — the same finding as
    ``_finding(rule, Hit(evidence))``. Other rules get ``(rule, None, None, None)`` and run as usual.
    Last, ``GATE_PLANS[gate]`` may replace the prepared values of each gate's rules (shared work).
    """
    out: list[tuple[CompiledRule, Callable | None, tuple | None, Any]] = []
    for rule in _gate(gates, keys):
        fn = rule.fn
        prepare = getattr(fn, "prepare", None)
        if prepare is None or not callable(getattr(fn, "evidence", None)):
            out.append((rule, None, None, None))
            continue
        prepared = prepare(keys[fn.gate])
        if prepared is None:
            continue
        fixed = _FIXED.get(id(rule))
        if fixed is None or fixed[0] is not rule:
            msgs = rule.doc.messages
            static = "{" not in msgs.en and "{" not in msgs.ru
            fixed = _FIXED[id(rule)] = (rule, static and (rule.id, rule.doc.category, rule.doc.severity,
                                                         max(0.0, min(1.0, rule.weight * 1.0)), msgs.en, msgs.ru, rule.floor))
            if len(_FIXED) > 4096:
                _FIXED.clear()
        if not fixed[1]:
            out.append((rule, None, None, None))
            continue
        out.append((rule, fn.evidence, fixed[1], prepared))
    for gate, share in GATE_PLANS.items():
        mine = [k for k, (rule, ev, _, _) in enumerate(out) if ev is not None and getattr(rule.fn, "gate", None) == gate]
        if mine:
            shared = share([out[k][3] for k in mine])
            for k, prepared in zip(mine, shared):
                out[k] = (*out[k][:3], prepared)
    return tuple(_batched(out)) if GATE_BATCHES else tuple(out)


def _batched(plan: list[tuple]) -> list[tuple]:
    """``plan`` with each run of consecutive fast-path rules of one gate that has ``GATE_BATCHES`` replaced
    by one entry ``(None, batch, (fixed, …), (the run's entries))``: one call per message for the run,
    findings in the same order (a run ends at any other rule, so rules keep their order)."""
    out: list[tuple] = []
    run: list[tuple] = []
    run_gate = None

    def flush() -> None:
        if run:
            fns = [rule.fn for rule, _, _, _ in run]
            batch = GATE_BATCHES[run_gate](fns, [prepared for _, _, _, prepared in run])
            out.append((None, batch, tuple(fixed for _, _, fixed, _ in run), tuple(run)))
            run.clear()

    for entry in plan:
        rule, ev = entry[0], entry[1]
        gate = getattr(rule.fn, "gate", None) if ev is not None else None
        if gate is None or gate not in GATE_BATCHES:
            flush()
            out.append(entry)
            continue
        if gate != run_gate:
            flush()
            run_gate = gate
        run.append(entry)
    flush()
    return out


def _run(ruleset: RuleSet, rules: Iterable[CompiledRule], view, extra: Iterable[CompiledRule] = ()) -> list[Finding]:
    """Findings of ``rules`` (then ``extra``) on ``view``; rules that fail become one degraded reason."""
    failed: list[str] = []
    found = findings_for(rules, view, failed)
    if extra:
        found.extend(findings_for(extra, view, failed))
    if failed:
        found.append(_failure_finding(ruleset, failed))
    return found


def _finding_maker() -> Callable[..., Finding]:
    """``Finding(rule, category, severity, weight, evidence, message, floor)`` (``brand`` None), built by
    setting the slots directly: the same object as the dataclass's ``__init__`` builds (it only assigns
    the fields, with ``object.__setattr__`` as the class is frozen), in half the time."""
    names = [f.name for f in fields(Finding)]
    assert names == ["rule", "category", "severity", "weight", "evidence", "message", "floor", "brand"], names
    assert not hasattr(Finding, "__post_init__")
    s0, s1, s2, s3, s4, s5, s6, s7 = (getattr(Finding, n).__set__ for n in names)
    new = object.__new__

    def make(rule: str, category: str, severity: str, weight: float, evidence: str, message: dict[str, str],
             floor: str | None) -> Finding:
        f = new(Finding)
        s0(f, rule)
        s1(f, category)
        s2(f, severity)
        s3(f, weight)
        s4(f, evidence)
        s5(f, message)
        s6(f, floor)
        s7(f, None)
        return f

    return make


_make_finding = _finding_maker()


def run_text_rules(ruleset: RuleSet, msg: MessageView) -> list[Finding]:
    """Text rules, plus the signal rules when the scanner raised a signal (text cut, too many links).

    The same findings as ``_run(ruleset, <gated rules>, msg, <signal rules>)``, with the fast path of
    :func:`_plan` for the rules that have one.
    """
    found: list[Finding] = []
    failed: list[str] = []
    make = _make_finding
    for rule, ev, fixed, prepared in _gated(ruleset, msg):
        if rule is None:  # a batch (``_batched``): the evidence of each of its rules, in one call
            try:
                evidences = ev(msg)  # type: ignore[misc]
            except Exception:  # noqa: BLE001 (logged per rule by _run_fast, which runs them one by one)
                _run_fast(prepared, msg, found, failed)
                continue
            for evidence, fx in zip(evidences, fixed):  # type: ignore[call-overload]
                if evidence is not None:
                    rid, category, severity, weight, en, ru, floor = fx
                    found.append(make(rid, category, severity, weight, evidence, {"en": en, "ru": ru}, floor))
            continue
        if ev is None:
            found += findings_for((rule,), msg, failed)
            continue
        _run_fast(((rule, ev, fixed, prepared),), msg, found, failed)
    if msg.signals and ruleset.signal_rules:
        found += findings_for(ruleset.signal_rules, msg, failed)
    if failed:
        found.append(_failure_finding(ruleset, failed))
    return found


def _run_fast(entries: Iterable[tuple], msg: MessageView, found: list[Finding], failed: list[str]) -> None:
    """Run fast-path plan entries (:func:`_plan`) one by one: a rule that raises is recorded in ``failed``."""
    for rule, ev, fixed, prepared in entries:
        try:
            evidence = ev(msg, prepared)
        except Exception:
            log.exception("rule %s failed (%s); the verdict is degraded", rule.id, rule.source)
            failed.append(rule.id)
            continue
        if evidence is not None:
            rid, category, severity, weight, en, ru, floor = fixed
            found.append(_make_finding(rid, category, severity, weight, evidence, {"en": en, "ru": ru}, floor))


def run_link_rules(ruleset: RuleSet, link: LinkView) -> list[Finding]:
    """Findings for one link; a firing ``suppresses_links`` rule (allow list) drops the others."""
    found = _run(ruleset, ruleset.link_rules, link)
    if ruleset.suppressors and any(f.rule in ruleset.suppressors for f in found):
        found = [f for f in found if f.rule in ruleset.suppressors or f.category == "degraded"]
    return found


def run_message_rules(ruleset: RuleSet, view: FindingsView) -> list[Finding]:
    """Composite rules, over what the text and link rules found."""
    return _run(ruleset, ruleset.message_rules, view)


def run_page_rules(ruleset: RuleSet, page: PageView) -> list[Finding]:
    """Page rules (rules/page.yaml) over a fetched or saved page."""
    failed: list[str] = []
    found = findings_for(ruleset.page_rules, page, failed)
    if failed:
        found.append(_failure_finding(ruleset, failed))
    return found
