"""Every shipped rule's inline examples: a rule whose examples fail is a failing test."""

from __future__ import annotations

import pytest

from phishguard.loading import load_rules
from phishguard.resources import shipped_dir
from phishguard.ruleset.check import check_rules, lint, rule_fires
from phishguard.settings import Settings

RULES = load_rules(Settings()).rules
CASES = [
    pytest.param(rule.id, expected, text, id=f"{rule.id}:{'match' if expected else 'no_match'}:{i}")
    for rule in RULES
    for expected, texts in ((True, rule.doc.examples.match), (False, rule.doc.examples.no_match))
    for i, text in enumerate(texts)
]


@pytest.mark.parametrize("rule_id, expected, text", CASES)
def test_rule_example(scanner, rule_id, expected, text):
    rule = scanner.ruleset.get(rule_id)
    assert rule_fires(scanner, rule, text) is expected, f"{rule.source}: {text!r}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_is_linted_clean(rule):
    assert lint(rule) == []


def test_rules_check_reports_all_green():
    report = check_rules(Settings())
    assert report.problems == []
    assert report.rules == len(RULES) and report.examples == len(CASES)


def test_rules_check_catches_a_failing_example(tmp_path):
    import shutil

    root = tmp_path / "rules"
    shutil.copytree(shipped_dir("rules"), root)
    body = (root / "url_structure.yaml").read_text(encoding="utf-8")
    body = body.replace('    - "https://avito.ru/pay"\n    - "т.е. завтра, и т.д."', '    - "https://avito.ru/pay"\n    - "hxxps://avito-pay[.]ru/x"', 1)
    (root / "url_structure.yaml").write_text(body, encoding="utf-8")
    report = check_rules(Settings(rules_dir=root))
    assert len(report.problems) == 1
    assert "rule url.defanged: example should not match: 'hxxps://avito-pay[.]ru/x'" in report.problems[0]
    assert report.problems[0].startswith("rules/url_structure.yaml:")
