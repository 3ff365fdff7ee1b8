"""The rule loader: every error reported with file:line, rule id and field; valid rules compile."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from phishguard.resources import shipped_dir
from phishguard.ruleset import RuleLoadError, load_ruleset

GOOD = """\
id: test.short
title: A test rule
category: url_structure
severity: low
weight: 0.3
match:
  in_list:
    list: shorteners
messages:
  ru: "короткая ссылка {host}"
  en: "short link {host}"
examples:
  match: ["bit.ly/x"]
  no_match: ["hello"]
"""


def make_rules(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "rules"
    (root / "lists").mkdir(parents=True)
    shutil.copy(shipped_dir("rules") / "lists" / "shorteners.yaml", root / "lists")
    for name, body in files.items():
        (root / name).write_text(textwrap.dedent(body), encoding="utf-8")
    return root


def errors_for(tmp_path: Path, files: dict[str, str]) -> list[str]:
    with pytest.raises(RuleLoadError) as exc:
        load_ruleset(make_rules(tmp_path, files))
    return exc.value.errors


def test_shipped_rules_load():
    from phishguard.loading import load_rules
    from phishguard.settings import Settings

    rs = load_rules(Settings())
    ids = {r.id for r in rs.rules}
    assert {"url.userinfo", "url.idn-mixed-script", "reputation.denylisted"} <= ids
    assert rs.version.startswith("r-") and len(rs.version) == 14


def test_good_rule_compiles(tmp_path):
    rs = load_ruleset(make_rules(tmp_path, {"a.yaml": GOOD}))
    rule = rs.get("test.short")
    assert rule.scope == "url" and rule.weight == 0.3 and rule.source == "rules/a.yaml:1"


def test_bad_weight_names_file_line_rule_and_field(tmp_path):
    (err,) = errors_for(tmp_path, {"a.yaml": GOOD.replace("weight: 0.3", "weight: 3")})
    assert err.startswith("rules/a.yaml:5: rule test.short: field 'weight':")


def test_unknown_matcher(tmp_path):
    (err,) = errors_for(tmp_path, {"a.yaml": GOOD.replace("in_list:", "in_lizt:")})
    assert "rules/a.yaml:7: rule test.short: field 'match': unknown matcher 'in_lizt'" in err


def test_unknown_list_and_bad_regex_reported_with_place(tmp_path):
    bad_regex = GOOD.replace("id: test.short", "id: test.rx").replace(
        "in_list:\n    list: shorteners", "regex:\n    pattern: '(unclosed'"
    )
    errs = errors_for(
        tmp_path,
        {"a.yaml": GOOD.replace("list: shorteners", "list: nope"), "b.yaml": bad_regex},
    )
    assert any(e.startswith("rules/a.yaml:7: rule test.short: field 'match.in_list'") and "unknown list 'nope'" in e for e in errs)
    assert any(e.startswith("rules/b.yaml:7: rule test.rx: field 'match.regex'") for e in errs)


def test_all_errors_are_collected_across_files(tmp_path):
    errs = errors_for(
        tmp_path,
        {
            "a.yaml": GOOD.replace("category: url_structure", "category: phishing"),
            "b.yaml": GOOD.replace("id: test.short", "id: Test.Bad").replace("severity: low", "severity: extreme"),
            "c.yaml": "id: x.y\ntitle: [unclosed\n",
        },
    )
    joined = "\n".join(errs)
    assert "rules/a.yaml:3: rule test.short: field 'category'" in joined
    assert "rules/b.yaml:1: rule Test.Bad: field 'id'" in joined
    assert "rules/b.yaml:4: rule Test.Bad: field 'severity'" in joined
    assert "rules/c.yaml:" in joined and "invalid YAML" in joined
    assert len(errs) == 4


def test_duplicate_ids(tmp_path):
    errs = errors_for(tmp_path, {"a.yaml": GOOD + "---\n" + GOOD})
    assert errs == ["rules/a.yaml:16: rule test.short: duplicate id (first at rules/a.yaml:1)"]


def test_missing_messages_and_unknown_field(tmp_path):
    body = GOOD.replace('  en: "short link {host}"\n', "") + "colour: red\n"
    errs = errors_for(tmp_path, {"a.yaml": body})
    assert any("field 'messages.en'" in e for e in errs)
    assert any("field 'colour'" in e for e in errs)


def test_overrides_change_weight_floor_and_enabled(tmp_path):
    root = make_rules(tmp_path, {"a.yaml": GOOD})
    rs = load_ruleset(root, overrides={"test.short": {"weight": 0.9, "floor": "fraud"}})
    r = rs.get("test.short")
    assert (r.weight, r.floor) == (0.9, "fraud")
    assert load_ruleset(root, overrides={"test.short": {"enabled": False}}).rules == ()


def test_override_of_unknown_rule_is_an_error(tmp_path):
    with pytest.raises(RuleLoadError, match="rule_overrides.no.such: no such rule"):
        load_ruleset(make_rules(tmp_path, {"a.yaml": GOOD}), overrides={"no.such": {"weight": 0.1}})


def test_missing_folder(tmp_path):
    with pytest.raises(RuleLoadError, match="rules folder not found"):
        load_ruleset(tmp_path / "nope")


def test_version_changes_with_content(tmp_path):
    root = make_rules(tmp_path, {"a.yaml": GOOD})
    v1 = load_ruleset(root).version
    (root / "a.yaml").write_text(GOOD.replace("0.3", "0.4"), encoding="utf-8")
    assert load_ruleset(root).version != v1
