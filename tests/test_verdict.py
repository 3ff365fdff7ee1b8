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


def test_spam_never_lifts_a_message_to_fraud():
    p = Policy(category_caps={})
    # spam + weaker hints (a messenger, an odd link): suspicious, not fraud
    assert combine([f("spam", 1.0), f("card_request", 0.6)], p).verdict == "suspicious"
    assert combine([f("spam", 0.35), f("off_platform", 0.3), f("url_structure", 0.46)], p).verdict == "suspicious"
    # fraud on its own stays fraud, and a floor still applies
    assert combine([f("spam", 1.0), f("lookalike_domain", 0.8)], p).verdict == "fraud"
    assert combine([f("spam", 1.0), f("reputation", 0.1, floor="fraud")], p).verdict == "fraud"


YIELDS = Policy(yields={"model.text": frozenset({"card_request", "scam_script"})})


def model(weight: float) -> Finding:
    return f("text_model", weight, rule="model.text")


def test_a_yielding_finding_adds_nothing_to_stronger_evidence_of_the_same_words():
    rule_alone = combine([f("card_request", 0.68)], YIELDS)
    both = combine([f("card_request", 0.68), model(0.6)], YIELDS)
    assert both == rule_alone
    # without the policy the two would count twice and convict
    assert combine([f("card_request", 0.68), model(0.6)], Policy()).verdict == "fraud"


def test_a_yielding_finding_adds_what_it_says_beyond_the_rules():
    c = combine([f("card_request", 0.2), model(0.6)], YIELDS)
    assert abs(c.score - 0.6) < 1e-12  # max of the two, not their noisy-OR (0.68)
    # against two categories it yields to, it is measured against both together
    c = combine([f("card_request", 0.3), f("scam_script", 0.3), model(0.6)], YIELDS)
    assert abs(c.score - 0.6) < 1e-12


def test_a_yielding_finding_counts_in_full_without_those_categories():
    alone = combine([model(0.6), f("url_structure", 0.45)], YIELDS)
    assert alone == combine([model(0.6), f("url_structure", 0.45)], Policy())
    assert alone.verdict == "fraud"


def test_yields_keep_floors_and_never_lower_the_score():
    c = combine([f("scam_script", 0.7), f("text_model", 0.1, floor="fraud", rule="model.text")], YIELDS)
    assert c.verdict == "fraud"


@given(st.lists(st.tuples(st.sampled_from(CATEGORIES), st.floats(min_value=0, max_value=1)), max_size=8),
       st.floats(min_value=0, max_value=1))
def test_yielding_is_monotone(items, w):
    """Adding a yielding finding never lowers the score, and never raises it above a plain noisy-OR."""
    base = [f(cat, wt) for cat, wt in items]
    before = combine(base, YIELDS).score
    after = combine([*base, model(w)], YIELDS).score
    plain = combine([*base, model(w)], Policy()).score
    assert before - 1e-9 <= after <= plain + 1e-9


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
