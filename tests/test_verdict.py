from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from phishguard.verdict import CATEGORIES, Finding, Policy, combine


def f(category: str, weight: float, floor: str | None = None, rule: str = "x.y") -> Finding:
    return Finding(rule, category, "medium", weight, "ev", {"en": "e", "ru": "r"}, floor=floor)


def test_no_findings_is_safe_with_zero_score():
    c = combine([], Policy())
    assert (c.verdict, c.score) == ("safe", 0.0)


def test_independent_categories_reinforce_each_other():
    p = Policy()
    one = combine([f("card_request", 0.5)], p)
    two = combine([f("card_request", 0.5), f("lookalike_domain", 0.6)], p)
    assert one.verdict == "suspicious"
    assert two.score > one.score and two.verdict == "fraud"


def test_category_cap_keeps_many_weak_hints_weak():
    p = Policy(category_caps={"url_structure": 0.35})
    c = combine([f("url_structure", 0.3)] * 10, p)
    assert c.score == 0.35 and c.verdict == "safe"


def test_floor_raises_verdict_and_score_together():
    p = Policy(suspicious=0.4, fraud=0.75)
    c = combine([f("card_request", 0.1, floor="suspicious")], p)
    assert c.verdict == "suspicious" and c.score == 0.4
    c = combine([f("reputation", 0.2, floor="fraud")], p)
    assert c.verdict == "fraud" and c.score == 0.75


def test_spam_alone_never_makes_fraud_even_uncapped():
    p = Policy(category_caps={})
    c = combine([f("spam", 1.0), f("spam", 0.99)], p)
    assert c.verdict == "suspicious"
    # with another category it can
    assert combine([f("spam", 1.0), f("card_request", 0.6)], p).verdict == "fraud"


def test_thresholds_are_configuration():
    findings = [f("scam_script", 0.5)]
    assert combine(findings, Policy(suspicious=0.4, fraud=0.75)).verdict == "suspicious"
    assert combine(findings, Policy(suspicious=0.2, fraud=0.45)).verdict == "fraud"
    assert combine(findings, Policy(suspicious=0.6, fraud=0.9)).verdict == "safe"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(CATEGORIES),
            st.floats(min_value=0, max_value=1),
            st.sampled_from([None, "suspicious", "fraud"]),
        ),
        max_size=20,
    )
)
def test_score_in_range_and_verdict_consistent(items):
    p = Policy(category_caps={"url_structure": 0.6, "spam": 0.45})
    c = combine([f(cat, w, fl) for cat, w, fl in items], p)
    assert 0.0 <= c.score <= 1.0
    assert c.verdict == p.verdict_for(c.score)
    floors = {fl for _, _, fl in items if fl}
    if "fraud" in floors:
        assert c.verdict == "fraud"
    elif "suspicious" in floors:
        assert c.verdict != "safe"
