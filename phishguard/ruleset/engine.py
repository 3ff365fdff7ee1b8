"""Run compiled rules over a message or a link and turn hits into findings.

Messages are templates with ``{name}`` placeholders filled from the hit: ``{evidence}`` always,
plus the matcher's variables (a variable may hold both languages: ``{"ru": …, "en": …}``). Only
plain names are substituted (no attribute access), so a template cannot reach into objects.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from ..verdict import Finding
from .loader import CompiledRule, RuleSet
from .matchers import GATES, FindingsView, Hit, LinkView, MessageView, PageView

__all__ = ["render_message", "run_text_rules", "run_link_rules", "run_message_rules", "run_page_rules", "findings_for"]

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
LANGS = ("ru", "en")
log = logging.getLogger("phishguard.rules")


def render_message(template: str, lang: str, values: dict) -> str:
    """Fill ``{name}`` placeholders; unknown names stay as written.

    >>> render_message("Это не {brand}: {detail}", "ru", {"brand": "avito.ru", "detail": {"ru": "буква", "en": "letter"}})
    'Это не avito.ru: буква'
    """

    def sub(m: re.Match[str]) -> str:
        v = values.get(m.group(1))
        if v is None:
            return m.group(0)
        if isinstance(v, dict):
            return str(v.get(lang) or v.get("en") or "")
        return str(v)

    return _PLACEHOLDER.sub(sub, template)


def _finding(rule: CompiledRule, hit: Hit) -> Finding:
    values = {"evidence": hit.evidence, **hit.vars}
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


def _gated(ruleset: RuleSet, msg: MessageView) -> list[CompiledRule]:
    """The text rules whose keyword gate lets this message through (see ``matchers.GATES``)."""
    keys: dict[str, frozenset] = {}
    out = []
    for rule, gate, anchors in ruleset.text_gates:
        if gate is not None:
            present = keys.get(gate)
            if present is None:
                present = keys[gate] = GATES[gate](msg)
            for a in anchors:  # a plain loop: a generator here costs more than the check itself
                if a.isdisjoint(present):
                    break
            else:
                out.append(rule)
            continue
        out.append(rule)
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


def run_text_rules(ruleset: RuleSet, msg: MessageView) -> list[Finding]:
    """Text rules, plus the signal rules when the scanner raised a signal (text cut, too many links)."""
    return _run(ruleset, _gated(ruleset, msg), msg, ruleset.signal_rules if msg.signals else ())


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
