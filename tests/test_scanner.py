"""The Scanner end to end on the shipped rules: verdict shape, limits, lists, thread safety."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phishguard.scanner import Scanner
from phishguard.settings import Settings
from phishguard.verdict import CATEGORIES, SEVERITIES

SPEC_KEYS = ["verdict", "score", "summary", "reasons", "urls", "models", "rules_version", "elapsed_ms"]


def test_clean_question_is_safe(scanner):
    v = scanner.scan("Здравствуйте, камера ещё продаётся?")
    assert v.verdict == "safe" and v.reasons == () and v.urls == ()
    assert v.summary == "No signs of fraud found."


def test_mixed_script_link_is_flagged_and_explained_in_both_languages(scanner):
    v = scanner.scan("Получите оплату: https://аvito.ru/pay/123", lang="ru")
    assert v.verdict in ("suspicious", "fraud")
    rules = {r.rule: r for r in v.reasons}
    r = rules["url.idn-mixed-script"]
    assert r.evidence == "аvito.ru"
    assert "xn--vito-43d.ru" in r.message["ru"] and "xn--vito-43d.ru" in r.message["en"]
    assert "алфавит" in r.message["ru"] and "alphabets" in r.message["en"]
    (u,) = v.urls
    assert u.host == "xn--vito-43d.ru" and u.display == "https://аvito.ru/pay/123"
    assert u.url == "https://xn--vito-43d.ru/pay/123"
    assert "url.idn-mixed-script" in u.findings
    assert v.summary == r.message["ru"] or v.summary in {x.message["ru"] for x in v.reasons}


def test_verdict_json_has_spec_shape(scanner):
    v = scanner.scan("https://avito.ru@safe-deal.top/pay", id="m-1", context={"chat_id": "c1"})
    d = json.loads(json.dumps(v.to_dict(), ensure_ascii=False))
    assert list(d) == ["id", *SPEC_KEYS[:-1], "context", "elapsed_ms"]
    assert d["id"] == "m-1" and d["context"] == {"chat_id": "c1"}
    assert d["verdict"] in ("safe", "suspicious", "fraud") and 0 <= d["score"] <= 1
    for r in d["reasons"]:
        assert set(r) == {"rule", "category", "severity", "weight", "evidence", "message"}
        assert r["category"] in CATEGORIES and r["severity"] in SEVERITIES and 0 <= r["weight"] <= 1
        assert set(r["message"]) == {"en", "ru"}
    (u,) = d["urls"]
    assert set(u) == {"url", "display", "host", "registered_domain", "brand", "official", "findings"}
    assert u["host"] == "safe-deal.top" and u["registered_domain"] == "safe-deal.top"


def test_id_and_context_absent_when_not_given(scanner):
    d = scanner.scan("привет").to_dict()
    assert "id" not in d and "context" not in d


def test_deny_list_from_settings_makes_fraud_and_covers_subdomains(make_scanner):
    s = make_scanner(deny_domains=["safe-deal-pay.com"])
    v = s.scan("Оплата: https://pay.safe-deal-pay.com/x", lang="ru")
    assert v.verdict == "fraud"
    assert v.reasons[0].rule == "reputation.denylisted" and v.reasons[0].category == "reputation"
    assert s.scan("https://safe-deal-pay.co/x").verdict == "safe"


def test_allow_list_drops_link_findings_but_keeps_the_note(make_scanner):
    text = "https://partner.top/track/1"
    plain = make_scanner().scan(text)
    assert "url.risky-tld" in {r.rule for r in plain.reasons}
    allowed = make_scanner(allow_domains=["partner.top"]).scan(text)
    assert [r.rule for r in allowed.reasons] == ["reputation.allowlisted"]
    assert allowed.verdict == "safe"


def test_rule_override_changes_the_verdict(make_scanner):
    text = "http://185.12.33.4/pay"
    assert make_scanner().scan(text).verdict == "suspicious"
    assert make_scanner(rule_overrides={"url.ip-host": {"weight": 0.1}}).scan(text).verdict == "safe"
    off = make_scanner(rule_overrides={"url.ip-host": {"enabled": False}}).scan(text)
    assert "url.ip-host" not in {r.rule for r in off.reasons}


def test_long_text_is_cut_with_a_degraded_reason(make_scanner):
    s = make_scanner(limits={"max_text_bytes": 1024})
    text = "привет " * 400 + "https://avito.ru@evil.top/x"
    v = s.scan(text)
    deg = [r for r in v.reasons if r.category == "degraded"]
    assert [r.rule for r in deg] == ["degraded.text-truncated"]
    assert "1024 of" in deg[0].message["en"]
    assert v.urls == ()  # the link was past the limit


def test_too_many_links_are_capped_with_a_degraded_reason(make_scanner):
    s = make_scanner(limits={"max_urls": 3})
    v = s.scan(" ".join(f"https://shop{i}.example.com/x" for i in range(10)))
    assert len(v.urls) == 3
    assert "degraded.too-many-urls" in {r.rule for r in v.reasons}


def test_lone_surrogates_and_nul_do_not_break_a_scan(scanner):
    v = scanner.scan("оплата \ud800 https://avito.ru@evil.top/\x00x")
    assert v.verdict != "safe"
    json.dumps(v.to_dict())  # serializable


def test_scan_many_equals_scan(scanner):
    texts = ["привет", "https://bit.ly/x", "https://аvito.ru/pay", ""]
    many = scanner.scan_many(texts)
    for t, v in zip(texts, many):
        one = scanner.scan(t)
        assert (v.verdict, v.score, [r.rule for r in v.reasons]) == (one.verdict, one.score, [r.rule for r in one.reasons])


def test_two_scanners_do_not_share_state(make_scanner):
    a = make_scanner(deny_domains=["evil-one.com"])
    b = make_scanner()
    assert a.scan("https://evil-one.com").verdict == "fraud"
    assert b.scan("https://evil-one.com").verdict == "safe"


def test_threads_get_the_same_answers(scanner):
    texts = ["https://аvito.ru/pay", "привет", "http://0x7f.1/x", "bit.ly/abc"] * 50
    expected = [scanner.scan(t).verdict for t in texts]
    results: list[list[str]] = []

    def work():
        results.append([scanner.scan(t).verdict for t in texts])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_scan_never_raises_and_evidence_comes_from_the_input(scanner, text):
    v = scanner.scan(text)
    assert 0.0 <= v.score <= 1.0 and v.verdict in ("safe", "suspicious", "fraud")
    derived = " ".join(u.display + " " + u.host for u in v.urls)
    for r in v.reasons:
        assert r.evidence in text or r.evidence in derived or r.category == "degraded", r


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["https://", "hxxp://", "аvito", "avito", ".", "[.]", "ru", "@", "/", " ", "xn--", "0x7f", "1", "\u200b", "．", "ы"]), max_size=40))
def test_scan_never_raises_on_url_shaped_noise(scanner, parts):
    text = "".join(parts)
    v = scanner.scan(text)
    for r in v.reasons:
        assert r.message["ru"] and r.message["en"]


def test_a_failing_rule_degrades_the_verdict_instead_of_failing_the_scan(make_scanner, caplog):
    from phishguard.ruleset.matchers import MATCHERS, Hit, MatcherSpec, NoParams

    def build(p, res):
        def run(view):
            if "boom" in view.text:
                raise RuntimeError("bug")
            yield Hit(evidence="x")

        return run

    MATCHERS["test_boom"] = MatcherSpec("test_boom", "text", NoParams, build, "")
    try:
        import shutil
        import tempfile
        from pathlib import Path

        from phishguard.resources import shipped_dir

        root = Path(tempfile.mkdtemp()) / "rules"
        shutil.copytree(shipped_dir("rules"), root)
        (root / "boom.yaml").write_text(
            "id: test.boom\ntitle: t\ncategory: scam_script\nseverity: low\nweight: 0.1\n"
            "match: {test_boom: {}}\nmessages: {ru: р, en: e}\nuntestable: test\n",
            encoding="utf-8",
        )
        s = make_scanner(rules_dir=str(root))
        v = s.scan("boom https://avito.ru@evil.top/x")
        rules = {r.rule: r for r in v.reasons}
        assert rules["degraded.rule-failed"].evidence == "test.boom"
        assert "url.userinfo" in rules and v.verdict != "safe"  # the rest still ran
        assert "test.boom failed" in caplog.text
    finally:
        del MATCHERS["test_boom"]
