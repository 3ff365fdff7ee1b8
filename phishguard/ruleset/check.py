"""``phishguard rules check``: load every rule, lint it, and run its inline examples.

An example is a chat message. A ``match`` example must make the rule fire (on the text, or on at
least one of the message's links); a ``no_match`` example must not. For page rules an example is an
HTML snippet, analyzed as if fetched from :data:`PAGE_EXAMPLE_URL` or from the URL named by a
leading ``<!-- url: https://... -->`` comment. Examples run through the real
pipeline (extraction, normalization, brand registry) with only that rule evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .engine import findings_for
from .loader import CompiledRule, RuleLoadError

if TYPE_CHECKING:
    from ..scanner import Scanner
    from ..settings import Settings

__all__ = ["CheckReport", "PAGE_EXAMPLE_URL", "check_rules", "page_example_url", "rule_fires"]

#: Where a page example is taken to come from unless it says otherwise (no brand's official domain).
PAGE_EXAMPLE_URL = "https://checkout-page.example.com/deal/1"
_URL_COMMENT = re.compile(r"\A\s*<!--\s*url:\s*(\S+)\s*-->")


def page_example_url(html: str) -> str:
    """The URL a page example is analyzed under.

    >>> page_example_url("<!-- url: https://www.avito.ru/ --><p>x</p>"), page_example_url("<p>x</p>")
    ('https://www.avito.ru/', 'https://checkout-page.example.com/deal/1')
    """
    m = _URL_COMMENT.match(html)
    return m.group(1) if m else PAGE_EXAMPLE_URL


@dataclass
class CheckReport:
    rules: int = 0
    examples: int = 0
    problems: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def rule_fires(scanner: "Scanner", rule: CompiledRule, text: str) -> bool:
    """Does ``rule`` alone fire on the message ``text``?"""
    if rule.scope == "message":  # composites judge what the other rules found
        return rule.id in {r.rule for r in scanner.scan(text).reasons}
    if rule.scope == "page":  # the example is HTML
        return bool(findings_for((rule,), scanner.page_view(text, page_example_url(text))))
    msg, links = scanner.views(text)
    if rule.scope == "text":
        return bool(findings_for((rule,), msg))
    return any(findings_for((rule,), link) for link in links)


def lint(rule: CompiledRule) -> list[str]:
    d = rule.doc
    out = []
    if d.untestable is None and (not d.examples.match or not d.examples.no_match):
        out.append(
            f"{rule.source}: rule {d.id}: field 'examples': needs at least one 'match' and one 'no_match' "
            "example (or 'untestable: <why, and which test covers it>')"
        )
    return out


def check_rules(settings: "Settings | None" = None) -> CheckReport:
    """Load, lint and run every example; problems are ``file:line: rule id: …`` lines."""
    from ..scanner import Scanner
    from ..settings import load_settings

    settings = settings if settings is not None else load_settings()
    report = CheckReport()
    try:
        scanner = Scanner(settings)
    except RuleLoadError as exc:
        report.problems.extend(exc.errors)
        return report
    for rule in scanner.ruleset.rules:
        report.rules += 1
        report.problems.extend(lint(rule))
        report.todo.extend(f"{rule.id}: {t}" for t in rule.doc.todo)
        for expected, texts in ((True, rule.doc.examples.match), (False, rule.doc.examples.no_match)):
            for text in texts:
                report.examples += 1
                if rule_fires(scanner, rule, text) != expected:
                    want = "match" if expected else "not match"
                    report.problems.append(f"{rule.source}: rule {rule.id}: example should {want}: {text!r}")
    return report
